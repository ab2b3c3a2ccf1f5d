"""The landing page: the first place an operator looks, so per key what /metrics would say.

One table row per key; each column is a (heading, cell) pair in ``KEY_COLUMNS``, and a cell is a
function of one :class:`KeyRow` returning plain text (escaped when the table is built). To show
one more thing per key, add one pair.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter

from .. import __version__
from ..poll.state import KeyHealth


@dataclass(frozen=True, slots=True)
class KeyRow:
    """What the page knows about one key, at one moment."""

    name: str
    health: KeyHealth
    projects: int | None  # in the data served now; None when that key has none
    requests: float  # requests to Neon with this key since the exporter started
    now: float  # wall-clock time of the page
    uptime: float  # seconds since the exporter started


def _ago(now: float, then: float) -> str:
    seconds = max(0.0, now - then)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _at(now: float, then: float) -> str:
    return f"{time.strftime('%H:%M:%S UTC', time.gmtime(then))} ({_ago(now, then)})"


def _accepted(row: KeyRow) -> str:
    valid = row.health.valid
    return "unknown yet" if valid is None else ("yes" if valid else "no")


def _last_poll(row: KeyRow) -> str:
    h = row.health
    if not h.poll_attempted:
        return "pending (no poll attempt yet)"
    took = f"took {h.poll_duration:.2f} s" if h.poll_duration is not None else ""
    if h.poll_success:
        done = f"ok at {_at(row.now, h.last_success)}" if h.last_success is not None else "ok"
        return f"{done}, {took}" if took else done
    last = "never" if h.last_success is None else _at(row.now, h.last_success)
    return f"failed ({took}); last success: {last}" if took else f"failed; last success: {last}"


def _error(row: KeyRow) -> str:
    h = row.health
    if h.valid is False:
        when = f" at {_at(row.now, h.last_rejected)}" if h.last_rejected is not None else ""
        return f"key rejected by Neon (401){when}"
    return h.last_error or "-"


def _areas(row: KeyRow) -> str:
    """Each area's state and how long its requests took in the last poll that made any, as
    neon_exporter_collector_success and neon_exporter_collector_duration_seconds say them."""
    seconds = row.health.area_seconds

    def took(area: str) -> str:
        return f" {seconds[area]:.2f}s" if area in seconds else ""

    areas = row.health.areas
    return ", ".join(f"{a} {'ok' if ok else 'FAILING'}{took(a)}" for a, ok in areas.items()) or "-"


def _projects(row: KeyRow) -> str:
    return "-" if row.projects is None else str(row.projects)


def _detail_age(row: KeyRow) -> str:
    """Per detail kind: the age of its oldest piece, and projects with none of it yet."""
    parts = []
    for kind, (oldest, missing) in sorted(row.health.details.items()):
        age = "none yet" if oldest is None else f"oldest {_ago(row.now, oldest)}"
        parts.append(f"{kind}: {age}" + (f", {missing} projects without" if missing else ""))
    return "; ".join(parts) or "-"


def _requests(row: KeyRow) -> str:
    """Requests spent against the budget: an average since start, which is what the budget
    paces (the first poll of a large account spends its burst, then the rate settles)."""
    per_minute = row.requests / max(row.uptime / 60.0, 1.0)
    spent = f"{row.requests:.0f} since start, {per_minute:.0f}/min on average"
    budget = row.health.budget_per_minute
    return spent if budget is None else f"{spent}, budget {budget:.0f}/min"


KEY_COLUMNS: tuple[tuple[str, Callable[[KeyRow], str]], ...] = (
    ("key", lambda row: row.name),
    ("accepted by Neon", _accepted),
    ("last poll", _last_poll),
    ("error", _error),
    ("areas", _areas),
    ("projects", _projects),
    ("detail data age", _detail_age),
    ("requests to Neon", _requests),
)


def key_table(rows: list[KeyRow]) -> str:
    head = "".join(f"<th>{html.escape(heading)}</th>" for heading, _ in KEY_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell(row))}</td>" for _, cell in KEY_COLUMNS) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Neon exporter</title>
<style>body{{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}}
table{{border-collapse:collapse}}td,th{{padding:.2rem .8rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}}code{{background:#f3f3f3;padding:0 .2rem}}</style></head>
<body><h1>Neon exporter</h1><p>Version {version}. Prometheus exporter for the Neon
control plane.</p>
<ul><li><a href="metrics">/metrics</a>: the exposition</li>
<li><a href="healthz">/healthz</a>: alive</li>
<li><a href="readyz">/readyz</a>: every key has had its first poll attempt (successful or
not)</li></ul>
<h2>Keys</h2>{table}{demo}</body></html>
"""

# Not passed through str.format (it is inserted as a value): single braces.
_DEMO = """<h2>Demo mode</h2><p>This exporter polls a built-in simulated Neon API, not Neon.
To try your alerting, revoke the demo key: <code>neon_api_key_valid{key="demo"}</code>
drops to 0 at the next key check and <code>NeonApiKeyInvalid</code> fires.</p>
<form method="post" action="-/demo/revoke"><button>Revoke the demo key</button></form>
<form method="post" action="-/demo/restore"><button>Restore the demo key</button></form>
<p>Or from a shell: <code>curl -X POST http://HOST:PORT/-/demo/revoke</code> and
<code>.../-/demo/restore</code>.</p>"""


def page(rows: list[KeyRow], *, demo: bool) -> str:
    return _PAGE.format(version=__version__, table=key_table(rows), demo=_DEMO if demo else "")


def requests_per_key(counter: Counter) -> dict[str, float]:
    """neon_exporter_api_requests_total summed over routes and codes, per key."""
    out: dict[str, float] = {}
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = sample.labels["key"]
                out[key] = out.get(key, 0.0) + sample.value
    return out
