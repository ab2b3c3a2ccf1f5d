"""Every setting in one table: YAML field, flag, environment variable, parser, default, help.

``cli`` builds argparse from it, ``config`` folds flags > environment > YAML with it (and names
values as given, for errors), and :func:`markdown` renders the settings table of
docs/configuration.md (a test keeps the two equal). The collectors' flags and YAML mapping come
from the areas registry, which the caller passes in: this layer imports nothing above it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from . import parsers as p

Parser = Callable[[str, object], object]
Kind = Literal["value", "switch", "collectors", "keys"]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting as the user writes it. ``name`` is the YAML field (when ``yaml``), the Config
    attribute and the argparse dest. Errors name whichever of flag, variable or field the value
    came from."""

    name: str
    flag: str | None
    env: tuple[str, ...] = ()
    yaml: bool = True
    parse: Parser | None = None  # None: not folded from the table (a switch, or read elsewhere)
    default: str | bool | None = None  # as the user would write it; parsed by ``parse``
    help: str = ""  # markdown; one sentence for --help
    details: str = ""  # more, for docs/configuration.md only
    demo: str | None = None  # the default under --demo, when it differs
    demo_why: str = ""
    note: str = ""  # after the default in the docs
    kind: Kind = "value"
    restart_only: bool = False  # a reload cannot change it in a running process


_BUDGET_DETAILS = (
    ", all routes and the key probe included. Requests are paced by a token bucket (burst at "
    "most 10). Neon allows 700 per minute per account, shared with the Console and your "
    "automation; above 700 the exporter warns"
)
_COLLECTORS_HELP = (
    "one switch per area of the Neon API (`collectors: {usage: true}` in the file): see the "
    "areas table below for what each fetches and costs. Per-project requests are spent in "
    "rotation within the budget: see below"
)

# Areas refreshed on their own interval rather than at every rotation: (area, default, help).
# Each gets --collector.NAME.interval and the YAML field NAME_interval (a Config field of that
# name); the area declares ``Area.on_interval``, and tests/unit/test_config.py checks that
# every area on an interval has its setting.
AREA_INTERVALS: tuple[tuple[str, str, str], ...] = (
    ("usage", "15m", "how often usage is refreshed (Neon updates it about every 15 minutes)"),
    ("recoverable", "1h", "how often the list of deleted projects is refreshed"),
    ("shared", "1h", "how often the list of shared projects is refreshed"),
    ("spending_limit", "1h", "how often the organizations' spending limits are refreshed"),
    (
        "snapshots",
        "1h",
        "how often each project's snapshots are refreshed (backup schedules "
        "take them hourly at most often)",
    ),
    ("api_keys", "1h", "how often the lists of API keys are refreshed"),
    ("branch_usage", "15m", "how often usage per branch is refreshed"),
    ("account", "1h", "how often each key's account limits and standing are refreshed"),
    ("org_security", "1h", "how often the organizations' members and invitations are refreshed"),
    ("vpc_endpoints", "15m", "how often the organizations' VPC endpoints are refreshed"),
    ("deleted_branches", "1h", "how often each project's deleted branches are refreshed"),
    ("backup_coverage", "1h", "how often each project's default branch schedule is refreshed"),
    ("advisors", "1h", "how often each project's advisor findings are refreshed"),
)


def _interval(area: str, default: str, help: str) -> Setting:
    return Setting(
        f"{area}_interval",
        f"--collector.{area}.interval",
        parse=p.parse_duration,
        default=default,
        help=help,
    )


# One setting a line group reads better than one argument a line.
# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("config_file", "--config.file", ("NEON_EXPORTER_CONFIG",), yaml=False,
            help="the YAML file"),
    Setting("listen_address", "--web.listen-address", ("NEON_EXPORTER_LISTEN_ADDRESS",),
            parse=p.listen_address, default=":10049", restart_only=True,
            help="`[host]:port` to serve on; `:PORT` is every interface"),
    Setting("web_config_file", "--web.config.file", parse=p.path, restart_only=True,
            help="TLS (and mTLS), basic auth and response headers in the exporter-toolkit "
            "format that Go exporters use: see [web-configuration.md](web-configuration.md)",
            details=". Checked at start (exit 2 naming the field)"),
    Setting("enable_lifecycle", "--web.enable-lifecycle", yaml=False, default=False,
            kind="switch", restart_only=True,
            help="allow `POST /-/reload` (SIGHUP always reloads)"),
    Setting("api_url", "--neon.api-url", ("NEON_API_URL",), parse=p.api_url,
            default="https://console.neon.tech/api/v2",
            help="Neon API base URL; a URL ending in `/api/v1` selects the v1 API (the bare "
            "project array)"),
    Setting("max_requests_per_minute", "--neon.max-requests-per-minute", parse=p.budget,
            default="300", demo="20000", demo_why=", whose API is a local simulator",
            help="request budget per key", details=_BUDGET_DETAILS),
    Setting("max_concurrency", "--neon.max-concurrency", parse=p.concurrency, default="8",
            help="requests in flight per key"),
    Setting("request_timeout", "--neon.timeout", parse=p.parse_duration, default="10s",
            help="timeout of one request to Neon"),
    Setting("poll_interval", "--poll.interval", parse=p.parse_duration, default="60s",
            demo="15s", help="time between polls of a key"),
    Setting("poll_max_age", "--poll.max-age", parse=p.parse_duration, default="10m",
            note=", or 3 x poll interval if larger",
            help="a failing key's last good data is served this long, then dropped. Must be at "
            "least `poll.interval`"),
    Setting("key_check_interval", "--key-check.interval", parse=p.parse_duration,
            default="30s", demo="5s",
            help="time between cheap key probes (`GET /auth` on v2, `GET /projects` on v1)"),
    Setting("collectors", None, kind="collectors", restart_only=True, help=_COLLECTORS_HELP),
    Setting("projects_include", "--projects.include", parse=p.pattern,
            help="only projects whose name or id matches this regular expression (whole "
            "string): the others are neither fetched nor exported (their detail is not "
            "requested; deleted and shared projects are left out of those lists too)"),
    Setting("projects_exclude", "--projects.exclude", parse=p.pattern,
            help="leave out projects whose name or id matches this regular expression"),
    Setting("projects_org_ids", "--projects.org-ids", parse=p.id_list,
            help="only projects of these organizations (comma-separated ids)"),
    Setting("metrics_mode", "--metrics.mode", parse=p.metrics_mode, default="projects",
            restart_only=True,
            help="`projects`: series per project, endpoint, branch; `aggregate`: only counts "
            "and sums by state, region, Postgres version and size bucket (for fleets of tens "
            "of thousands of projects)", details=": see [deployment.md](deployment.md)"),
    *(_interval(*row) for row in AREA_INTERVALS),
    Setting("log_level", "--log.level", parse=p.log_level, default="info", restart_only=True,
            help="`debug`, `info`, `warning`, `error`"),
    Setting("log_format", "--log.format", parse=p.log_format, default="auto",
            restart_only=True,
            help="`json`, `console`, or `auto` (console on a terminal, JSON otherwise)"),
    Setting("keys", None, ("NEON_API_KEY", "NEON_API_KEY_FILE"), kind="keys",
            help="see below"),
    Setting("demo", "--demo", yaml=False, default=False, kind="switch", restart_only=True,
            help="serve against the built-in simulated Neon API, with every collector on "
            "(turn one off with its flag, e.g. `--no-collector.usage`)"),
)
# fmt: on

BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}
VALUES: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.parse is not None)
"""The settings folded from the table: flag, then variable, then YAML field."""
YAML_FIELDS = frozenset(s.name for s in SETTINGS if s.yaml)
RESTART_ONLY = tuple(s.name for s in SETTINGS if s.restart_only)


def default(setting: Setting, *, demo: bool = False) -> object:
    """The value of a setting's default (or of its demo default), parsed as if given."""
    raw = setting.demo if demo and setting.demo is not None else setting.default
    if setting.parse is None or not isinstance(raw, str):
        return raw
    return setting.parse(f"default of {setting.name}", raw)


def plain(text: str) -> str:
    """Markdown to --help text: no backticks, links as their text."""
    return re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", text).replace("`", "")


def _default_cell(setting: Setting, collectors: Mapping[str, bool]) -> str:
    if setting.kind == "collectors":
        return "`" + ", ".join(f"{n}: {str(on).lower()}" for n, on in collectors.items()) + "`"
    if setting.default is None:
        return "none"
    if setting.default is False:
        return "off"
    cell = f"`{setting.default}`{setting.note}"
    if setting.demo is not None:
        cell += f" (`{setting.demo}` in the demo{setting.demo_why})"
    return cell


def _flag_cell(setting: Setting, collectors: Mapping[str, bool]) -> str:
    if setting.kind == "collectors":
        return ", ".join(f"`--[no-]collector.{name}`" for name in collectors)
    return f"`{setting.flag}`" if setting.flag else ""


def markdown(collectors: Mapping[str, bool]) -> str:
    """The settings table of docs/configuration.md; ``collectors`` is each area's default."""
    rows = ["| YAML field | flag | env | default | meaning |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        cells = (
            f"`{s.name}`" if s.yaml else "",
            _flag_cell(s, collectors),
            ", ".join(f"`{e}`" for e in s.env),
            _default_cell(s, collectors),
            s.help + s.details,
        )
        rows.append("|" + "|".join(f" {c} " if c else " " for c in cells) + "|")
    return "\n".join(rows) + "\n"


def flag_help(setting: Setting) -> str:
    """One line for --help: the help, the default and the variable."""
    text = plain(setting.help)
    if setting.default not in (None, False):
        text += f", default {plain(_default_cell(setting, {}))}"
    if setting.env:
        text += f" (env {', '.join(setting.env)})"
    return text.replace("%", "%%")  # argparse formats help with %


__all__ = ["BY_NAME", "RESTART_ONLY", "SETTINGS", "VALUES", "YAML_FIELDS", "Setting", "markdown"]
