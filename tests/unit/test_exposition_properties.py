"""The served bytes, in all four formats, equal a straightforward rendering of the same view by
prometheus_client itself, over random worlds with every area's data and random changes.

The reference here is written apart from the renderer: it walks the view whole on every
render (no kept lines, no incremental update, no assembly, no cache), builds prometheus_client's
own metric families from the areas' declared samples and prints them with prometheus_client's
two exposition writers. What it shares with the renderer is only the declarations themselves
(the definition of every series) and the documented order: the layout's families in turn,
projects by id.
"""

from __future__ import annotations

import asyncio
import gzip
import random
import string
import subprocess
from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.openmetrics import exposition as om_format
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from exporter.areas import AREAS, advisors, branch_usage, layout, org_security, vpc_endpoints
from exporter.areas.account import Account
from exporter.areas.advisors import Advisors
from exporter.areas.backup_coverage import NOTHING, DefaultBackup
from exporter.areas.branch_usage import NOT_OFFERED, BranchUsage
from exporter.areas.org_security import OrgSecurity, Posture
from exporter.areas.vpc_endpoints import VpcEndpoint
from exporter.exposition.family import Family, ProjectData, go_float
from exporter.exposition.health import FAMILIES as HEALTH
from exporter.exposition.own import build_metrics
from exporter.exposition.serve import Exposition
from exporter.exposition.store import Layout
from exporter.neon.accounts import BILLING_STATES, Organization, User
from exporter.neon.members import Invitation, Member
from exporter.neon.metered import METRICS, MeteredUsage
from exporter.neon.models import (
    QUOTA_FIELDS,
    ApiKey,
    AuthDetails,
    Branch,
    BranchRecovery,
    Endpoint,
    Project,
    Quota,
    Usage,
)
from exporter.neon.operations import FailedOperation, Operations
from exporter.neon.snapshots import BranchSnapshots
from exporter.poll.state import AccountPiece, PollResult, State, View
from tests.support import coverage_paused

EVERY_AREA = tuple(a.name for a in AREAS)
KEYS = ("prod", "staging")
ORGS = ("org-a", "org-b", "org-c")
# Label values a user's names may hold: quotes, backslashes, newlines, non-ASCII.
NASTY = ('a"b', "back\\slash", "new\nline", "ünï", "", "plain")


def _text(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return rng.choice(NASTY)
    return "".join(rng.choice(string.ascii_lowercase + "-") for _ in range(rng.randint(1, 8)))


def _number(rng: random.Random) -> float | None:
    return rng.choice(
        [None, 0, 1, 0.25, 1234567.0, 1.7e9 + rng.random(), float(rng.randrange(10**12)), 1e16]
    )


def _int(rng: random.Random) -> int | None:
    return rng.choice([None, 0, 7, rng.randrange(10**12)])


def _project(rng: random.Random, pid: str) -> Project:
    quota = rng.choice([None, Quota(*(_int(rng) for _ in QUOTA_FIELDS))])
    return Project(
        pid,
        _text(rng),
        rng.choice(["aws-us-east-2", "azure-eastus2"]),
        "aws",
        rng.choice(["", "org-a", "org-b"]),
        rng.choice([14, 15, 16, 17]),
        _int(rng),
        state=rng.choice([None, "idle", "active", "init"]),
        pooler_enabled=rng.choice([None, True, False]),
        quota=quota,
        quota_reset_at=_number(rng),
        maintenance_starts_at=_number(rng),
        history_retention_seconds=_int(rng),
        active_time_seconds=_int(rng),
        deleted_at=_number(rng),
        recoverable_until=_number(rng),
        permission=rng.choice(["", "CAN_VIEW"]),
        integrations=tuple(sorted({_text(rng) for _ in range(rng.choice([0, 0, 1, 2]))})),
    )


def _endpoints(rng: random.Random, pid: str) -> tuple[Endpoint, ...]:
    return tuple(
        Endpoint(
            f"ep-{pid}-{j}",
            pid,
            f"br-{pid}",
            rng.choice(["read_write", "read_only"]),
            rng.choice(["idle", "active", "init"]),
            rng.choice([None, True, False]),
            rng.choice([0.25, 1.0]),
            rng.choice([2.0, 8.0]),
            rng.choice([None, 0.0, 300.0]),
            _number(rng),
        )
        for j in range(rng.randint(0, 2))
    )


def _branches(rng: random.Random, pid: str) -> tuple[Branch, ...]:
    return tuple(
        Branch(
            f"br-{pid}-{j}",
            pid,
            _text(rng),
            rng.choice(["ready", "init"]),
            j == 0,
            rng.random() < 0.5,
            _int(rng),
            expires_at=_number(rng),
            ttl_interval_seconds=_int(rng),
            # A deleted one a list may carry: never shown by the branches area.
            recovery=_recovery(rng) if rng.random() < 0.15 else None,
        )
        for j in range(rng.randint(0, 2))
    )


def _recovery(rng: random.Random) -> BranchRecovery:
    return BranchRecovery(
        1.7e9 + rng.randrange(10**6),
        1.7e9 + rng.randrange(10**7),
        rng.choice(["user", "ttl", _text(rng)]),
    )


def _deleted_branches(rng: random.Random, pid: str) -> tuple[Branch, ...]:
    return tuple(
        Branch(
            f"br-{pid}-gone-{j}",
            pid,
            _text(rng),
            rng.choice(["ready", "archived"]),
            False,
            False,
            _int(rng),
            recovery=_recovery(rng),
        )
        for j in range(rng.randint(0, 2))
    )


def _branch_usage(rng: random.Random, pid: str) -> BranchUsage:
    if rng.random() < 0.2:
        return NOT_OFFERED
    return BranchUsage(
        tuple(
            (
                f"br-{pid}-{j}",
                MeteredUsage(
                    tuple(
                        (m, rng.choice([0.0, float(rng.randrange(10**12)), 1e16]))
                        for m in branch_usage.METRICS
                        if rng.random() < 0.5
                    )
                ),
            )
            for j in range(rng.randint(0, 2))
        )
    )


def _backup(rng: random.Random, pid: str) -> DefaultBackup:
    if rng.random() < 0.2:
        return NOTHING
    return DefaultBackup(f"br-{pid}-0", rng.choice([True, False, None]))


def _advisors(rng: random.Random, pid: str) -> Advisors:
    if rng.random() < 0.25:
        return Advisors(False)
    cells = {
        (rng.choice([*advisors.LEVELS, "other"]), rng.choice([*advisors.CATEGORIES, "other"]))
        for _ in range(rng.randint(0, 3))
    }
    return Advisors(True, tuple((lv, c, rng.randint(1, 40)) for lv, c in sorted(cells)))


def _usage(rng: random.Random) -> Usage | MeteredUsage:
    if rng.random() < 0.5:
        return Usage(*(_number(rng) for _ in range(5)))
    return MeteredUsage(
        tuple((m, float(rng.randrange(10**9))) for m in METRICS if rng.random() < 0.7)
    )


def _operations(rng: random.Random) -> Operations:
    failed = tuple(
        FailedOperation(f"op-{i}", rng.choice(["start_compute", "apply_config"]), 1.7e9 + i)
        for i in range(rng.randint(0, 2))
    )
    return Operations(failed, (("start_compute", len(failed)),) if failed else (), _number(rng))


def _snapshots(rng: random.Random, pid: str) -> dict[str, BranchSnapshots]:
    return {
        f"br-{pid}-{j}": BranchSnapshots(
            rng.randint(1, 5), 1.7e9 + j, _int(rng), _int(rng), rng.choice([None, 86400.0])
        )
        for j in range(rng.randint(0, 2))
    }


def _api_keys(rng: random.Random) -> tuple[ApiKey, ...]:
    return tuple(
        ApiKey(
            rng.randrange(1000),
            _text(rng),
            rng.choice(["account", "org-a"]),
            _number(rng),
            _number(rng),
            rng.choice(["", "192.0.2.1"]),
            rng.choice(["", "", "p-01"]),
        )
        for _ in range(rng.randint(0, 3))
    )


def _listed(rng: random.Random, kind: str) -> tuple[Project, ...]:
    """Deleted or shared projects: not in the project list."""
    return tuple(_project(rng, f"{kind}-{rng.randrange(9)}") for _ in range(rng.randint(0, 2)))


def _organization(rng: random.Random, org_id: str) -> Organization:
    return Organization(
        org_id, rng.choice(["free", "scale", _text(rng)]), rng.choice([None, True, False])
    )


def _orgs(rng: random.Random) -> list[str]:
    return rng.sample(ORGS, rng.randint(0, 2))


def _account(rng: random.Random) -> Account:
    user = None
    if rng.random() < 0.7:  # a personal key
        user = User(
            rng.choice(["free_v3", "launch", _text(rng)]),
            _int(rng),
            _int(rng),
            rng.choice([None, 0.25, 16.0]),
            rng.choice(["", *BILLING_STATES, _text(rng)]),
        )
    return Account(user, tuple(_organization(rng, o) for o in _orgs(rng)))


_EMAILS = ("ada@example.com", "Ada@Example.COM", "bob@example.com")


def _email(rng: random.Random) -> str:
    return rng.choice(_EMAILS) if rng.random() < 0.7 else _text(rng)


def _posture(rng: random.Random, org_id: str) -> Posture:
    members = tuple(
        Member(
            f"u-{j}-{_text(rng)}",
            _email(rng),
            rng.choice([*org_security.ROLES, _text(rng)]),
            rng.choice([None, True, False]),
            rng.random() < 0.2,
        )
        for j in range(rng.randint(0, 3))
    )
    invitations = tuple(
        Invitation(_email(rng), rng.choice(org_security.ROLES), _number(rng))
        for _ in range(rng.randint(0, 2))
    )
    return Posture(
        org_id,
        None if rng.random() < 0.2 else members,  # None: not readable with this key
        None if rng.random() < 0.2 else invitations,
    )


def _org_security(rng: random.Random) -> OrgSecurity:
    orgs = _orgs(rng)
    readable = [o for o in orgs if rng.random() < 0.8]
    return OrgSecurity(
        tuple(_organization(rng, o) for o in readable), tuple(_posture(rng, o) for o in orgs)
    )


def _vpc_endpoints(rng: random.Random) -> tuple[VpcEndpoint, ...]:
    return tuple(
        VpcEndpoint(
            org,
            f"vpce-{org}-{j}",
            rng.choice(["aws-us-east-2", "azure-eastus2"]),
            _text(rng),
            rng.choice([*vpc_endpoints.STATES, _text(rng)]),
            _int(rng),
            tuple(sorted({f"p-{rng.randrange(40):02d}" for _ in range(rng.randint(0, 3))})),
        )
        for org in _orgs(rng)
        for j in range(rng.randint(0, 2))
    )


# Every area with data of its own, and how the world makes it (org_members_identity renders
# org_security's data; the project list is the world's projects).
DETAIL: dict[str, Callable[[random.Random, str], object]] = {
    "endpoints": _endpoints,
    "branches": _branches,
    "usage": lambda rng, pid: _usage(rng),
    "operations": lambda rng, pid: _operations(rng),
    "snapshots": _snapshots,
    "branch_usage": _branch_usage,
    "deleted_branches": _deleted_branches,
    "backup_coverage": _backup,
    "advisors": _advisors,
}
ACCOUNT: dict[str, Callable[[random.Random], object]] = {
    "recoverable": lambda rng: _listed(rng, "gone"),
    "shared": lambda rng: _listed(rng, "shared"),
    "spending_limit": lambda rng: {o: rng.choice([None, 50000, 1]) for o in _orgs(rng)},
    "api_keys": _api_keys,
    "account": _account,
    "org_security": _org_security,
    "vpc_endpoints": _vpc_endpoints,
}


class World:
    """Each key's projects and every area's data, changed step by step."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.projects: dict[str, dict[str, Project]] = {k: {} for k in KEYS}
        self.detail: dict[str, dict[str, Any]] = {}  # area -> pid -> detail
        self.account: dict[str, dict[str, Any]] = {k: {} for k in KEYS}  # key -> area -> value
        for _ in range(rng.randint(0, 6)):
            self.add()
        for key in KEYS:
            self.refresh_account(key)

    def add(self) -> None:
        rng = self.rng
        pid = f"p-{rng.randrange(40):02d}"
        for key in rng.sample(KEYS, rng.randint(1, 2)):
            self.projects[key][pid] = _project(rng, pid)
        for area, make in DETAIL.items():
            if rng.random() < 0.8:  # some detail not fetched yet
                self.detail.setdefault(area, {})[pid] = make(rng, pid)

    def refresh_account(self, key: str) -> None:
        rng = self.rng
        self.account[key] = {
            area: make(rng)
            for area, make in ACCOUNT.items()
            if rng.random() < 0.9  # some not fetched yet
        }

    def step(self) -> None:
        """Add, change or remove a project, change one area's data of a project or of a key,
        or change a key's account data whole."""
        rng, which = self.rng, self.rng.randrange(6)
        key = rng.choice(KEYS)
        if which == 0 or not self.projects[key]:
            self.add()
        elif which == 1:
            pid = rng.choice(sorted(self.projects[key]))
            self.projects[key][pid] = _project(rng, pid)
            self.detail.setdefault("endpoints", {})[pid] = _endpoints(rng, pid)
        elif which == 2:
            del self.projects[key][rng.choice(sorted(self.projects[key]))]
        elif which == 3:
            pid = rng.choice(sorted(self.projects[key]))
            area = rng.choice(sorted(DETAIL))
            self.detail.setdefault(area, {})[pid] = DETAIL[area](rng, pid)
        elif which == 4:
            area = rng.choice(sorted(ACCOUNT))
            self.account[key][area] = ACCOUNT[area](rng)
        else:
            self.refresh_account(key)

    def publish(self, state: State, at: float) -> None:
        for key in state.keys:
            projects = self.projects[key]
            detail = {
                area: {pid: v for pid, v in values.items() if pid in projects}
                for area, values in self.detail.items()
            }
            account = {area: AccountPiece(v, at) for area, v in self.account[key].items()}
            snapshot = PollResult(
                key, at, MappingProxyType(dict(projects)), detail, account=account
            )
            state.record_poll(key, snapshot, 0.5)
            state.record_key_answer(key, valid=self.rng.random() < 0.8)
            state.record_key_source(key, auth=AuthDetails("org-a", "api_key_org"))


# The reference: prometheus_client's own families and writers over the whole view.


def _metric(family: Family[Any], samples: list[tuple[tuple[str, ...], float]]) -> Metric:
    labels = list(family.labels)
    if family.kind == "info":
        metric: Metric = InfoMetricFamily(
            family.name.removesuffix("_info"), family.help, labels=labels
        )
        for values, _ in samples:
            metric.add_metric(list(values), {})  # type: ignore[attr-defined]
        return metric
    if family.kind == "counter":
        metric = CounterMetricFamily(family.name.removesuffix("_total"), family.help, labels=labels)
    else:
        metric = GaugeMetricFamily(family.name, family.help, labels=labels)
    for values, value in samples:
        metric.add_metric(list(values), value)
    return metric


def _samples(family: Family[Any], scope: str, view: View, areas: tuple[str, ...]) -> list[Any]:
    if scope == "view":
        return list(family.samples(view))
    out: list[Any] = []
    for pid in sorted(view.projects):
        detail = {a: view.of(a)[pid] for a in areas if pid in view.of(a)}
        out += family.samples(ProjectData(pid, view.projects[pid], detail))
    if scope == "sum":
        totals: dict[tuple[str, ...], float] = {}
        for values, value in out:
            totals[values] = totals.get(values, 0.0) + value
        return sorted(totals.items())
    return out


class Reference(Collector):
    def __init__(self, on: Layout, state: State) -> None:
        self.on, self.state = on, state

    def collect(self) -> Iterable[Metric]:
        view = self.state.view()
        for family, scope in self.on.families:
            if samples := _samples(family, scope, view, self.on.areas):
                yield _metric(family, samples)
        health = self.state.all_health()
        for family in HEALTH:
            if samples := list(family.samples(health)):
                yield _metric(family, samples)


def reference(on: Layout, state: State, live: CollectorRegistry, *, openmetrics: bool) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Reference(on, state))
    for collector in live._collector_to_names:  # the exporter's own counters, as registered
        registry.register(collector)
    if openmetrics:
        return bytes(om_format.generate_latest(registry))  # type: ignore[no-untyped-call]
    return bytes(text_format.generate_latest(registry))


async def _served_equal_reference(
    seed: int, steps: int, *, aggregate: bool | None = None
) -> list[bytes]:
    """The text bodies served, each step's; ``aggregate`` None: the seed decides."""
    rng = random.Random(seed)
    world = World(rng)
    state = State(keys=KEYS[: rng.randint(1, 2)], max_age=1e12, clock=lambda: 1.8e9)
    by_seed = rng.random() < 0.25
    on = layout(EVERY_AREA, aggregate=by_seed if aggregate is None else aggregate)
    metrics = build_metrics()
    exposition = Exposition(state, metrics, on)
    bodies = []
    for n in range(steps + 1):
        world.publish(state, 1.8e9 + n)
        metrics.count_request(state.keys[0], "/projects", "200")
        for openmetrics in (False, True):
            plain = await exposition.body(openmetrics=openmetrics, gzipped=False)
            packed = await exposition.body(openmetrics=openmetrics, gzipped=True)
            assert plain == reference(on, state, metrics.live, openmetrics=openmetrics)
            assert gzip.decompress(packed) == plain
            parse = parse_om if openmetrics else parse_text
            assert list(parse(plain.decode()))
            if not openmetrics:
                bodies.append(plain)
        world.step()
        if rng.random() < 0.2:  # a key joins or leaves
            state.set_keys(KEYS if len(state.keys) == 1 else KEYS[:1])
    return bodies


def test_the_world_has_data_for_every_area() -> None:
    """Every area with data of its own gets random data from the world; the rest render
    another's (api_keys_address, org_members_identity) or are the project list."""
    own = {a.name for a in AREAS if a.detail or (a.account_level and a.renders is None)}
    assert own == set(DETAIL) | set(ACCOUNT)
    assert {a.renders for a in AREAS if a.renders} <= set(ACCOUNT)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32), steps=st.integers(0, 5))
def test_served_bytes_equal_the_reference(seed: int, steps: int) -> None:
    """Every format of every step equals prometheus_client's rendering of the same view, and
    parses with prometheus_client's parsers."""
    with coverage_paused():
        asyncio.run(_served_equal_reference(seed, steps))


def test_a_rich_body_passes_promtool() -> None:
    """promtool check metrics finds nothing in a body with a sample of every family."""
    body = asyncio.run(_served_equal_reference(27, 3, aggregate=False))[-1]
    served = {line.split("{")[0].split(" ")[0] for line in body.decode().splitlines()}
    missing = {f.name for f, _ in layout(EVERY_AREA).families} - served
    assert not missing, f"the seed no longer makes a body with every family: {sorted(missing)}"
    proc = subprocess.run(
        ["promtool", "check", "metrics"],
        input=body,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_values_are_written_as_go_writes_them(value: float) -> None:
    """go_float agrees with prometheus_client's floatToGoString on every float."""
    assert go_float(value) == floatToGoString(value)  # type: ignore[no-untyped-call]
