#!/bin/sh
# Regenerates the JSON Schemas in this folder from Grafana's own TypeScript types, offline from
# the npm registry, so the dashboard test needs no npm (CI only reads the committed files).
#
#   dashboard.schema.json       the classic dashboard JSON model (what "Import dashboard" takes):
#                               type Dashboard of @grafana/schema raw/dashboard/x/types.gen.d.ts
#   panels/PLUGIN.schema.json   a panel plugin's `options` (type Options) and, where the plugin
#                               has one, its `fieldConfig.defaults.custom` (type FieldConfig), from
#                               raw/composable/PLUGIN/panelcfg/x/types.gen.d.ts
#
# Usage: sh grafana/schema/generate.sh   (needs node and npm; bump the versions below on purpose)
set -eu
SCHEMA_VERSION=13.2.3          # @grafana/schema
GENERATOR_VERSION=2.10.0       # ts-json-schema-generator
PLUGINS="timeseries stat bargauge piechart"

out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent \
  "@grafana/schema@$SCHEMA_VERSION" "ts-json-schema-generator@$GENERATOR_VERSION" typescript
# The panel types import '@grafana/schema' itself; "bundler" resolution follows its exports map.
printf '%s\n' '{"compilerOptions": {"module": "esnext", "moduleResolution": "bundler", "strict": true, "skipLibCheck": true}}' > tsconfig.json
raw=node_modules/@grafana/schema/dist/types/raw
# Objects get additionalProperties: false (the generator's default), so a misspelt field fails.
npx ts-json-schema-generator -f tsconfig.json --no-type-check \
  --path "$raw/dashboard/x/types.gen.d.ts" --type Dashboard -o "$out/dashboard.schema.json"
mkdir -p "$out/panels"
for plugin in $PLUGINS; do
  npx ts-json-schema-generator -f tsconfig.json --no-type-check \
    --path "$raw/composable/$plugin/panelcfg/x/types.gen.d.ts" --type Options FieldConfig \
    -o "$out/panels/$plugin.schema.json"
done
echo "@grafana/schema $SCHEMA_VERSION, ts-json-schema-generator $GENERATOR_VERSION" > "$out/VERSION"
