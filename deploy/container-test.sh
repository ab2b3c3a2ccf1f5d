#!/usr/bin/env bash
# Build the container image from ../Dockerfile and run it for real, without a Docker engine or a
# registry: podman (rootful, runc, chroot isolation) and a locally made base image.
#
#   sudo deploy/container-test.sh            # from the repository root, as root
#
# Steps:
#   1. The base image (the Dockerfile's FROM, python:3.11-slim-bookworm) cannot be pulled here, so a
#      stand-in is made with debootstrap (Debian bookworm minbase + python3 + python3-venv +
#      ca-certificates) and imported under that name. Podman's storage keeps it, so later runs on the
#      same machine reuse it; REBUILD_BASE=1 makes it again.
#   2. podman build --pull=never --isolation=chroot, with the host's CA bundle mounted for pip.
#   3. The image reports the version of exporter/__init__.py (`--version` and its OCI label).
#   4. Against the simulator on the host (python -m tests.sim), with the key mounted as a
#      read-only file and a read-only root filesystem, all capabilities dropped: /readyz turns 200,
#      /metrics (scraped from the host) shows the key valid and the simulator's projects, the
#      process runs as uid 10049 (not root), the key never appears in the container's logs, and the
#      image's HEALTHCHECK passes.
#   5. `--demo` serves metrics with no key at all.
#   6. Prints the image size and the container's idle memory (resident set after the first polls).
#
# Needs (Debian): podman runc debootstrap curl; the exporter installed in PYTHON's environment (for
# the simulator). Environment: PYTHON (default python3), IMAGE (default localhost/neon-exporter:test),
# KEEP_IMAGE=1 to keep the built image.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
IMAGE=${IMAGE:-localhost/neon-exporter:test}
BASE=docker.io/library/python:3.11-slim-bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
# runc cannot raise a limit above the caller's hard limit, and podman's defaults (nofile 1048576,
# nproc 4194304) are above what a CI sandbox allows: ask for no more than this shell has.
cap_limit() { local v=$1; [ "$v" = unlimited ] && v=$2; [ "$v" -gt "$2" ] && v=$2; echo "$v"; }
NOFILE=$(cap_limit "$(ulimit -Hn)" 65536)
NPROC=$(cap_limit "$(ulimit -Hu)" 32768)
ULIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")
EXPORTER_UID=10049
START=$(date +%s)

log() { printf '[container-test %3ss] %s\n' "$(($(date +%s) - START))" "$*"; }
fail() { log "FAIL: $*"; exit 1; }

for tool in podman runc debootstrap curl "$PYTHON"; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (apt-get install podman runc debootstrap curl)"
done
[ "$(id -u)" = 0 ] || fail "run as root (rootful podman; debootstrap needs root)"

WORK=$(mktemp -d)
CONTAINERS=()
SIM_PID=""
cleanup() {
  local c
  for c in "${CONTAINERS[@]}"; do podman rm --force --time 2 "$c" >/dev/null 2>&1 || true; done
  if [ -n "$SIM_PID" ]; then kill "$SIM_PID" 2>/dev/null || true; fi
  [ "${KEEP_IMAGE:-0}" = 1 ] || podman rmi --force "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_http() {  # URL [seconds]: until it answers 200
  local i
  for ((i = 0; i < ${2:-30} * 5; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  return 1
}

# 1. The base image stand-in.
if [ "${REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$BASE"; then
  log "making the base image $BASE with debootstrap"
  ROOTFS=$WORK/rootfs
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$ROOTFS" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
  # What python:3.11-slim leaves out too: package lists and caches, documentation, locales.
  rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* "$ROOTFS"/var/log/* \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* \
    "$ROOTFS"/usr/share/locale/*
  tar --numeric-owner -C "$ROOTFS" -c . |
    podman import --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' - "$BASE" >/dev/null
  rm -rf "$ROOTFS"
else
  log "reusing the base image $BASE"
fi

# 2. The image.
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' exporter/__init__.py)
[ -n "$VERSION" ] || fail "no __version__ in exporter/__init__.py"
BUILD_ARGS=(--build-arg "VERSION=$VERSION")
if [ -f "$CA_BUNDLE" ]; then
  BUILD_ARGS+=(--volume "$CA_BUNDLE:/run/host-ca.crt:ro" --build-arg PIP_CERT=/run/host-ca.crt)
fi
log "building $IMAGE (version $VERSION)"
podman build --pull=never --layers=false --isolation=chroot --format docker "${ULIMITS[@]}" \
  "${BUILD_ARGS[@]}" -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 ||
  { tail -40 "$WORK/build.log"; fail "podman build"; }
BUILD_DONE=$(date +%s)

# 3. One version everywhere.
# One-shot runs skip the HEALTHCHECK: podman would try to schedule it with systemd timers.
run() { podman run --rm --pull=never --no-healthcheck "${ULIMITS[@]}" "$@"; }
GOT=$(run "$IMAGE" --version)
[ "$GOT" = "neon-exporter $VERSION" ] || fail "--version printed '$GOT', expected 'neon-exporter $VERSION'"
LABEL=$(podman image inspect --format '{{ index .Labels "org.opencontainers.image.version" }}' "$IMAGE")
[ "$LABEL" = "$VERSION" ] || fail "image label version '$LABEL', expected '$VERSION'"
IMAGE_USER=$(podman image inspect --format '{{ .Config.User }}' "$IMAGE")
[ "$IMAGE_USER" = "$EXPORTER_UID:$EXPORTER_UID" ] || fail "image user '$IMAGE_USER'"
log "version $VERSION in --version and label; image user $IMAGE_USER"
# No compiler, no pip, no source tree in the final image.
# shellcheck disable=SC2016 # the script runs in the container's shell, not this one
run --entrypoint /bin/sh "$IMAGE" -c \
  'for f in /usr/bin/gcc /usr/bin/cc /opt/venv/bin/pip /src; do [ ! -e "$f" ] || { echo "$f"; exit 1; }; done' ||
  fail "the final image carries build-only files"

# 4. Against the simulator, with the key as a mounted secret file.
TOKEN="napi_containertest_$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$TOKEN" >"$WORK/neon-api-key"
# docs/deployment.md's recipe: the image's group (gid 10049, as its uid) reads it, nobody else,
# so the exporter starts without a key-file warning (checked below).
chgrp "$EXPORTER_UID" "$WORK/neon-api-key" && chmod 0440 "$WORK/neon-api-key"
"$PYTHON" -u -m tests.sim --host 127.0.0.1 --port 0 --key "ci=$TOKEN" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 50); do grep -q 'listening on http' "$WORK/sim.log" && break; sleep 0.2; done
SIM_URL=$(grep -o 'http://[^ ]*' "$WORK/sim.log" | head -1)
[ -n "$SIM_URL" ] || { cat "$WORK/sim.log"; fail "the simulator did not start"; }
SIM_URL=${SIM_URL%/}
case "$SIM_URL" in */api/v2) ;; *) SIM_URL=$SIM_URL/api/v2 ;; esac
log "simulator at $SIM_URL"

# Host networking: the container reaches the simulator on the host's loopback, and the host
# scrapes the container there. The HEALTHCHECK asks port 10049, so use it when it is free.
PORT=10049
"$PYTHON" -c 'import socket; socket.create_server(("127.0.0.1", 10049)).close()' 2>/dev/null ||
  fail "port 10049 is taken on this host; the image's HEALTHCHECK needs it"
# (podman logs an error that it cannot schedule the HEALTHCHECK without systemd: harmless,
# `podman healthcheck run` below runs it by hand.)
CID=$(podman run --detach --pull=never "${ULIMITS[@]}" --network host \
  --read-only --cap-drop ALL --security-opt no-new-privileges \
  --volume "$WORK/neon-api-key:/run/secrets/neon-api-key:ro" \
  --env NEON_API_KEY_FILE=/run/secrets/neon-api-key \
  "$IMAGE" --neon.api-url "$SIM_URL" --web.listen-address "127.0.0.1:$PORT" --poll.interval 5s 2>"$WORK/run.err") ||
  { cat "$WORK/run.err"; fail "podman run"; }
CONTAINERS+=("$CID")
wait_http "http://127.0.0.1:$PORT/readyz" 30 || { podman logs "$CID" | tail -20; fail "/readyz never turned 200"; }
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
grep -q '^neon_api_key_valid{key="default"} 1.0$' "$WORK/metrics.txt" ||
  { grep neon_api_key "$WORK/metrics.txt"; fail "the key is not valid in /metrics"; }
grep -q "^neon_exporter_build_info{.*version=\"$VERSION\"" "$WORK/metrics.txt" || fail "build_info lacks version $VERSION"
PROJECTS=$(grep -c '^neon_project_info{' "$WORK/metrics.txt" || true)
[ "$PROJECTS" -gt 0 ] || fail "no neon_project_info series"
log "scraped /metrics from the host: key valid, $PROJECTS projects, build_info version $VERSION"

PID=$(podman inspect --format '{{ .State.Pid }}' "$CID")
UIDS=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$PID/status")
[ "$UIDS" = "$EXPORTER_UID $EXPORTER_UID $EXPORTER_UID $EXPORTER_UID" ] || fail "process uids are '$UIDS'"
CMDLINE=$(tr '\0' ' ' <"/proc/$PID/cmdline")
log "process $PID runs as uid $EXPORTER_UID (not root): $CMDLINE"

podman healthcheck run "$CID" >/dev/null || fail "the image's HEALTHCHECK failed"
HEALTH_CMD=$(podman image inspect "$IMAGE" |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[0]["Healthcheck"]["Test"])')
log "HEALTHCHECK passes: $HEALTH_CMD"

# Idle memory: after a few polls, with nothing scraping.
sleep 12
RSS_KB=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
if podman logs "$CID" 2>&1 | grep -qF "$TOKEN"; then fail "the key appears in the container's logs"; fi
if podman logs "$CID" 2>&1 | grep -qF "is readable by"; then
  fail "the documented key-file recipe (chgrp, 0440) is warned about"
fi
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics.txt"
grep -q '^neon_exporter_poll_success{key="default"} 1.0$' "$WORK/metrics.txt" || fail "polls stopped succeeding"
podman rm --force --time 5 "$CID" >/dev/null 2>&1

# 5. Demo mode: no key at all.
DEMO_PORT=$(free_port)
CID=$(podman run --detach --pull=never --no-healthcheck "${ULIMITS[@]}" --network host --read-only \
  "$IMAGE" --demo --web.listen-address "127.0.0.1:$DEMO_PORT")
CONTAINERS+=("$CID")
wait_http "http://127.0.0.1:$DEMO_PORT/readyz" 30 || { podman logs "$CID" | tail -20; fail "demo /readyz"; }
curl -fsS "http://127.0.0.1:$DEMO_PORT/metrics" >"$WORK/demo.txt"
grep -q '^neon_project_info{' "$WORK/demo.txt" || fail "demo serves no projects"
podman rm --force --time 5 "$CID" >/dev/null 2>&1
log "--demo serves metrics with no key"

# 6. The numbers.
SIZE=$(podman image inspect --format '{{ .Size }}' "$IMAGE")
BASE_SIZE=$(podman image inspect --format '{{ .Size }}' "$BASE")
log "image size: $((SIZE / 1000000)) MB ($SIZE bytes; base image $((BASE_SIZE / 1000000)) MB, exporter layers $(((SIZE - BASE_SIZE) / 1000000)) MB)"
log "idle memory (VmRSS of the exporter process): $((RSS_KB / 1024)) MiB"
log "base image and build took $((BUILD_DONE - START))s; whole test $(($(date +%s) - START))s"
log "PASS"
