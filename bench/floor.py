"""The floor of rendering: the same series as the exporter's default areas (project list and
endpoints), formatted with plain f-strings straight from the view and compressed, with none of
the exporter's machinery (no families, no per-project data, no store).

    .venv/bin/python bench/floor.py --projects 10000

``bench/render.py`` imports it and reports the exporter's renderer as a ratio to it; run alone it
prints the floor's own figures. It knows the shape of the synthetic view of ``render.py`` (label
values that need no escaping) and writes the same bytes as the exporter's OpenMetrics body of the
polled part, which ``render.py`` checks, so the two do the same work.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from isal import isal_zlib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from exporter.neon.models import Endpoint  # noqa: E402
from exporter.poll.state import View  # noqa: E402

STATES = ("init", "active", "idle")  # exporter.neon.models.STATES, spelt out


def _go(x: float) -> str:
    """A float as Go writes it: Python's repr, but an exponent past seven integer digits."""
    s = repr(x)
    dot = s.find(".")
    if dot > 6 and s[0] != "-":
        return f"{s[0]}.{s[1:dot]}{s[dot + 1 :]}".rstrip("0.") + f"e+0{dot - 1}"
    return s


def _header(name: str, kind: str, text: str) -> str:
    return f"# HELP {name} {text}\n# TYPE {name} {kind}\n"


def _projects(view: View, ids: Sequence[str], help_: Callable[[str], str]) -> list[str]:
    p = view.projects
    eps = view.of("endpoints")
    info = "".join(
        f'neon_project_info{{org_id="{q.org_id}",pg_version="{q.pg_version}",'
        f'platform_id="{q.platform_id}",project_id="{i}",project_name="{q.name}",'
        f'region_id="{q.region_id}"}} 1.0\n'
        for i in ids
        for q in (p[i],)
    )
    size = "".join(
        f'neon_project_size_bytes{{project_id="{i}"}} {_go(float(s))}\n'
        for i in ids
        if (s := p[i].size_bytes) is not None
    )
    state = "".join(
        f'neon_project_state{{project_id="{i}",state="{s}"}} {"1.0" if s == cur else "0.0"}\n'
        for i in ids
        for cur in (_derived(eps.get(i)),)
        for s in STATES
    )
    pg = "".join(f'neon_project_pg_version{{project_id="{i}"}} {p[i].pg_version}.0\n' for i in ids)
    return [
        help_("neon_project_info") + info,
        help_("neon_project_size_bytes") + size,
        help_("neon_project_state") + state,
        help_("neon_project_pg_version") + pg,
    ]


def _derived(endpoints: tuple[Endpoint, ...] | None) -> str:
    states = {e.state for e in endpoints or ()}
    return "active" if "active" in states else "init" if "init" in states else "idle"


def _endpoints(view: View, ids: Sequence[str], help_: Callable[[str], str]) -> list[str]:
    eps = view.of("endpoints")
    each = [(i, e) for i in ids for e in eps.get(i, ())]
    info = "".join(
        f'neon_endpoint_info{{branch_id="{e.branch_id}",endpoint_id="{e.id}",'
        f'endpoint_type="{e.type}",project_id="{i}"}} 1.0\n'
        for i, e in each
    )
    state = "".join(
        f'neon_endpoint_state{{endpoint_id="{e.id}",project_id="{i}",state="{s}"}} '
        f"{'1.0' if s == e.state else '0.0'}\n"
        for i, e in each
        for s in STATES
    )
    out = [help_("neon_endpoint_info") + info, help_("neon_endpoint_state") + state]
    gauges: tuple[tuple[str, Callable[[Endpoint], float | None]], ...] = (
        ("autoscaling_limit_min_cu", lambda e: e.autoscaling_limit_min_cu),
        ("autoscaling_limit_max_cu", lambda e: e.autoscaling_limit_max_cu),
        ("suspend_timeout_seconds", lambda e: e.suspend_timeout_seconds),
        ("last_active_timestamp_seconds", lambda e: e.last_active_timestamp),
    )
    for name, value in gauges:
        lines = "".join(
            f'neon_endpoint_{name}{{endpoint_id="{e.id}",project_id="{i}"}} {_go(float(v))}\n'
            for i, e in each
            if (v := value(e)) is not None
        )
        out.append(help_(f"neon_endpoint_{name}") + lines)
    return out


def plain(view: View, helps: dict[str, str]) -> list[bytes]:
    """The OpenMetrics body of the polled part (without ``# EOF``) as one chunk per family.
    ``helps``: each family's header, by name (text the exporter declares, not work)."""
    ids = sorted(view.projects)
    per_key = "".join(
        f'neon_projects{{key="{k}"}} {float(n)}\n' for k, n in sorted(view.projects_per_key.items())
    )
    parts = [
        *_projects(view, ids, helps.__getitem__),
        helps["neon_projects"] + per_key,
        *_endpoints(view, ids, helps.__getitem__),
    ]
    return [s.encode() for s in parts]


def compressors() -> dict[str, Callable[[Sequence[bytes]], bytes]]:
    """gzip (one member) of a list of chunks, by library and level; zlib-ng when installed."""

    def by(module: Any, level: int) -> Callable[[Sequence[bytes]], bytes]:
        def compress(parts: Sequence[bytes]) -> bytes:
            c = module.compressobj(level, module.DEFLATED, 31)
            return b"".join([*(c.compress(p) for p in parts), c.flush()])

        return compress

    out = {"zlib 6": by(zlib, 6), "zlib 1": by(zlib, 1), "isal 1": by(isal_zlib, 1)}
    try:
        zlib_ng: Any = importlib.import_module("zlib_ng.zlib_ng")
    except ImportError:
        return out
    out["zlib-ng 1"] = by(zlib_ng, 1)
    return out


def floor(view: View, helps: dict[str, str]) -> dict[str, Any]:
    """CPU seconds to format the body, and to compress it with each compressor; its sizes."""
    started = time.process_time()
    parts = plain(view, helps)
    out: dict[str, Any] = {"format_s": time.process_time() - started, "parts": parts}
    out["plain_mb"] = sum(map(len, parts)) / 1e6
    for name, compress in compressors().items():
        started = time.process_time()
        body = compress(parts)
        out[f"{name} s"] = time.process_time() - started
        out[f"{name} MB"] = len(body) / 1e6
    return out


def main(argv: Sequence[str] | None = None) -> None:
    from render import helps_of, synthetic_view  # here: render imports this module

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, nargs="+", default=[10000])
    args = parser.parse_args(argv)
    for n in args.projects:
        figures = floor(synthetic_view(n), helps_of())
        figures.pop("parts")
        print(n, {k: round(v, 4) for k, v in figures.items()})


__all__ = ["compressors", "floor", "plain"]

if __name__ == "__main__":
    main()
