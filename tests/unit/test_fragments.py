"""The assembled snapshot part equals prometheus_client's own rendering of the same view.

The golden rule of the fragment cache: whatever was kept and re-rendered, the bytes served are
the bytes prometheus_client prints for the areas' collectors over the whole view, in both
formats (and gzip decodes to them), also after projects are added, changed and removed.
"""

from __future__ import annotations

import gzip
import random
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.openmetrics.exposition import generate_latest as om_latest

from exporter.areas import DETAIL_AREAS, frozen_registry
from exporter.assemble import Assembler
from exporter.fragments import Fragments, format_samples
from exporter.neon.models import Branch, Endpoint, Project, Usage
from exporter.state import View

ALL = tuple(a.name for a in DETAIL_AREAS)


def project(i: int, rng: random.Random) -> Project:
    # Names with the characters the formats escape, so escaping is compared too.
    name = rng.choice([f"p{i}", f'q"{i}', f"back\\slash{i}", f"new\nline{i}", f"ünï{i}"])
    return Project(
        f"proj-{i}",
        name,
        rng.choice(["aws-us-east-2", "azure-eastus2"]),
        "aws",
        rng.choice(["", "org-1"]),
        rng.choice([14, 15, 16, 17]),
        rng.choice([None, 0, rng.randrange(10**12)]),
        rng.choice([None, "idle", "active"]),
        rng.choice([None, True, False]),
    )


def endpoints(pid: str, rng: random.Random) -> tuple[Endpoint, ...]:
    return tuple(
        Endpoint(
            f"ep-{pid}-{j}",
            pid,
            f"br-{pid}",
            rng.choice(["read_write", "read_only"]),
            rng.choice(["init", "active", "idle"]),
            rng.choice([None, True, False]),
            0.25,
            rng.choice([1.0, 2.0, 7.5]),
            rng.choice([None, 0.0, 300.0]),
            rng.choice([None, 1.7e9 + rng.randrange(10**6), 1e21, float("inf")]),
        )
        for j in range(rng.randrange(3))
    )


def branches(pid: str, rng: random.Random) -> tuple[Branch, ...]:
    return tuple(
        Branch(f"br-{pid}-{j}", pid, f"b{j}", "ready", j == 0, False, rng.choice([None, 10**8]))
        for j in range(rng.randrange(3))
    )


def usage(rng: random.Random) -> Usage:
    return Usage(*(rng.choice([None, 0.0, 12345.5]) for _ in range(5)))


def make_view(
    projects: Mapping[str, Project], detail: Mapping[str, Mapping[str, Any]], keys: int = 2
) -> View:
    return View(
        MappingProxyType(dict(projects)),
        MappingProxyType({f"key-{k}": len(projects) - k for k in range(keys)}),
        MappingProxyType({a: MappingProxyType(dict(m)) for a, m in detail.items() if m}),
    )


def random_data(n: int, seed: int) -> tuple[dict[str, Project], dict[str, dict[str, Any]]]:
    rng = random.Random(seed)
    projects = {p.id: p for p in (project(i, rng) for i in range(n))}
    detail: dict[str, dict[str, Any]] = {"endpoints": {}, "branches": {}, "usage": {}}
    for pid in projects:
        if rng.random() < 0.8:
            detail["endpoints"][pid] = endpoints(pid, rng)
        if rng.random() < 0.5:
            detail["branches"][pid] = branches(pid, rng)
        if rng.random() < 0.5:
            detail["usage"][pid] = usage(rng)
    # Detail in another order than the list, as merging over keys can make it.
    detail["endpoints"] = dict(reversed(list(detail["endpoints"].items())))
    return projects, detail


def assert_same(frag: Fragments, asm: Assembler, view: View, areas: tuple[str, ...]) -> None:
    for _ in frag.update(view):
        pass
    registry = frozen_registry(view, areas=areas)
    text = generate_latest(registry)
    om = bytes(om_latest(registry))  # type: ignore[no-untyped-call]
    assert b"".join(asm.plain(view, openmetrics=False)) == text
    assert b"".join(asm.plain(view, openmetrics=True)) + b"# EOF\n" == om
    assert gzip.decompress(asm.gzipped(view, openmetrics=False)) == text
    assert gzip.decompress(asm.gzipped(view, openmetrics=True)) + b"# EOF\n" == om
    assert gzip.decompress(asm.gzipped(view, openmetrics=True, whole=True)) + b"# EOF\n" == om


@pytest.mark.parametrize("areas", [(), ("endpoints",), ALL])
def test_assembled_equals_prometheus_client_through_changes(areas: tuple[str, ...]) -> None:
    rng = random.Random(7)
    projects, detail = random_data(300, seed=1)
    frag = Fragments(areas)
    asm = Assembler(frag)
    assert_same(frag, asm, make_view(projects, detail), areas)
    assert frag.rendered == 300
    for step in range(6):
        before = frag.rendered
        changed = rng.sample(sorted(projects), 5)
        for pid in changed:  # changed list entries and detail
            projects[pid] = replace(projects[pid], size_bytes=step * 1000 + 1)
            detail["endpoints"][pid] = endpoints(pid, rng)
        for pid in rng.sample(sorted(projects), 3):  # removed
            del projects[pid]
            for m in detail.values():
                m.pop(pid, None)
        for i in range(4):  # added, some in the middle of the detail order
            new = project(1000 + step * 10 + i, rng)
            projects[new.id] = new
            detail["usage"][new.id] = usage(rng)
        assert_same(frag, asm, make_view(projects, detail, keys=1 + step % 3), areas)
        assert frag.rendered - before <= 5 + 4  # the changed and the new ones, no more


def test_families_without_samples_keep_their_headers() -> None:
    """Every project's usage unreported and every branch list empty: the collectors still
    yield those families (HELP/TYPE, no samples), and so does the assembled body."""
    rng = random.Random(3)
    projects = {p.id: p for p in (project(i, rng) for i in range(20))}
    detail: dict[str, dict[str, Any]] = {
        "usage": {pid: Usage() for pid in projects},
        "branches": {"proj-3": ()},
    }
    frag = Fragments(ALL)
    asm = Assembler(frag)
    assert_same(frag, asm, make_view(projects, detail), ALL)
    del detail["branches"]["proj-3"]
    assert_same(frag, asm, make_view(projects, detail), ALL)
    assert_same(frag, asm, make_view({}, {}), ALL)  # every project gone


def test_no_project_is_re_rendered_while_its_data_is_equal() -> None:
    projects, detail = random_data(50, seed=2)
    frag = Fragments(ALL)
    for _ in frag.update(make_view(projects, detail)):
        pass
    copies = {pid: replace(p) for pid, p in projects.items()}  # equal, not identical
    for _ in frag.update(make_view(copies, detail, keys=3)):
        pass
    assert frag.rendered == 50


def test_formats_refuse_what_the_two_formats_print_differently() -> None:
    family = GaugeMetricFamily("x", "doc", labels=["a"])
    family.add_metric(["1"], 1.0, timestamp=5.0)
    with pytest.raises(ValueError, match="timestamps"):
        format_samples(family)


def test_a_change_recompresses_only_the_blocks_it_touches() -> None:
    """The gzip body is kept as members per block and family: one project's new size
    recompresses that family's member of that project's block, not the body."""
    projects, detail = random_data(2000, seed=4)
    frag = Fragments(ALL)
    asm = Assembler(frag)
    assert_same(frag, asm, make_view(projects, detail), ALL)
    body = len(b"".join(asm.plain(make_view(projects, detail), openmetrics=True)))
    before = asm.compressed
    projects["proj-7"] = replace(projects["proj-7"], size_bytes=77)
    view = make_view(projects, detail)
    for _ in frag.update(view):
        pass
    assert gzip.decompress(asm.gzipped(view, openmetrics=True)) + b"# EOF\n" == bytes(
        om_latest(frozen_registry(view, areas=ALL))  # type: ignore[no-untyped-call]
    )
    assert 0 < asm.compressed - before < body / 100
