"""The settings table: docs/configuration.md shows it exactly, and it drives the defaults."""

from __future__ import annotations

import re
from pathlib import Path

from exporter.areas import COLLECTOR_DEFAULTS
from exporter.areas import markdown as areas_markdown
from exporter.cli import parse
from exporter.config.load import Config
from exporter.config.settings import SETTINGS, VALUES, default, markdown

CONFIG_DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_TABLE = re.compile(
    r"(<!-- generated from the table in exporter/config/settings\.py.*?-->\n)(.*?)"
    r"(<!-- end of the generated table -->)",
    re.DOTALL,
)


_AREAS = re.compile(
    r"(<!-- generated from the registry in exporter/areas/__init__\.py.*?-->\n)(.*?)"
    r"(<!-- end of the areas table -->)",
    re.DOTALL,
)


def _documented_table(pattern: re.Pattern[str] = _TABLE) -> str:
    match = pattern.search(CONFIG_DOC.read_text())
    assert match is not None, "docs/configuration.md lost a generated table's markers"
    return match.group(2)


def test_docs_settings_table_is_the_settings_table() -> None:
    """The doc's table is exactly what the table in settings.py renders (regenerate with
    ``python -m tests.unit.test_settings``)."""
    assert _documented_table() == markdown(COLLECTOR_DEFAULTS)


def test_docs_areas_table_is_the_registry() -> None:
    """Every area, its flag, default, request cost and meaning, as the registry says."""
    assert _documented_table(_AREAS) == areas_markdown()


def test_config_defaults_are_the_table_defaults() -> None:
    """A Config made in code and one folded from nothing given have the table's defaults."""
    _, folded = parse(["check"], {"NEON_API_KEY": "k" * 20})
    for setting in VALUES:
        if setting.name == "poll_max_age":
            continue  # derived: at least three poll intervals
        assert getattr(Config(), setting.name) == default(setting), setting.name
        assert getattr(folded, setting.name) == default(setting), setting.name


def test_demo_defaults_come_from_the_table() -> None:
    _, demo = parse(["--demo"], {})
    for setting in SETTINGS:
        if setting.demo is not None:
            assert getattr(demo, setting.name) == default(setting, demo=True), setting.name


def _rewrite() -> None:
    text = CONFIG_DOC.read_text()
    table = markdown(COLLECTOR_DEFAULTS)
    text = _TABLE.sub(lambda m: m.group(1) + table + m.group(3), text, count=1)
    areas = areas_markdown()
    CONFIG_DOC.write_text(_AREAS.sub(lambda m: m.group(1) + areas + m.group(3), text, count=1))


if __name__ == "__main__":
    _rewrite()
