"""The world of the simulated Neon control plane: projects, endpoints, id generation, changes."""

from __future__ import annotations

import random
from bisect import bisect_right, insort
from collections.abc import Collection
from datetime import datetime, timedelta
from itertools import islice

from exporter.simulator.model import (
    ADJECTIVES,
    BASE_TIME,
    ENDPOINT_STATES,
    GIB,
    NOUNS,
    REGION_IDS,
    REGION_WEIGHTS,
    SimBranch,
    SimEndpoint,
    SimProject,
    utcnow,
)


class World:
    """Projects, endpoints and id generation; the non-HTTP half of the simulator."""

    def __init__(self, seed: int, owner_id: str) -> None:
        self.rng = random.Random(seed)
        self.owner_id = owner_id
        self.projects: dict[str, SimProject] = {}
        self.sorted_ids: list[str] = []
        self.endpoints: dict[str, SimEndpoint] = {}
        # Listed in ``unavailable_project_ids`` instead of the v2 pages (as Neon does when it
        # cannot read them for a while).
        self.unavailable: frozenset[str] = frozenset()
        # Branch recovery (include_deleted) and the advisors on the plan; else they answer 403.
        self.branch_recovery = True
        self.advisors_plan = True
        self._used_ids: set[str] = set()
        self._next_role_id = 683636

    # -- ids -----------------------------------------------------------------------------------

    def new_id(self, prefix: str = "") -> str:
        rng = self.rng
        while True:
            words = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"
            ident = f"{prefix}{words}-{rng.randrange(1_000_000):06d}"
            if ident not in self._used_ids:
                self._used_ids.add(ident)
                return ident

    # -- generation ----------------------------------------------------------------------------

    def generate(self, count: int, endpoints_per_project: int, org_id: str | None) -> None:
        rng = self.rng
        now = utcnow()
        for _ in range(count):
            pid = self.new_id()
            created = BASE_TIME + timedelta(seconds=rng.randrange(500 * 86400))
            size = 0 if rng.random() < 0.1 else int(rng.random() ** 3 * 50 * GIB)
            project = SimProject(
                id=pid,
                name=pid if rng.random() < 0.5 else f"{rng.choice(NOUNS)}-{rng.choice(NOUNS)}",
                pg_version=rng.choices((14, 15, 16, 17), weights=(1, 2, 4, 3))[0],
                region_id=rng.choices(REGION_IDS, weights=REGION_WEIGHTS)[0],
                org_id=org_id,
                size_bytes=size,
                created_at=created,
                updated_at=max(created, now - timedelta(seconds=rng.randrange(30 * 86400))),
                owner_id=self.owner_id,
            )
            self._fill_usage(project)
            for index in range(endpoints_per_project):
                roll = rng.random()
                state = "active" if roll < 0.2 else "init" if roll < 0.23 else "idle"
                endpoint = self._add_endpoint(project, index, state, rng.random() < 0.3, now)
                if endpoint.last_active is not None:
                    endpoint.updated_at = max(endpoint.updated_at, endpoint.last_active)
                project.updated_at = max(project.updated_at, endpoint.updated_at)
            self._insert(project)

    def omit_pooler_fields(self, share: float, rng: random.Random) -> None:
        """Let about ``share`` of the projects' endpoints answer without the deprecated pooler
        fields. Its own generator, so the rest of the generated world does not shift."""
        for pid in self.sorted_ids:
            if rng.random() < share:
                for endpoint in self.projects[pid].endpoints:
                    endpoint.pooler_fields = False

    def _fill_usage(self, project: SimProject) -> None:
        rng = self.rng
        project.active_time_seconds = rng.randrange(3600 * 24 * 20)
        project.compute_time_seconds = project.active_time_seconds // 4
        project.written_data_bytes = rng.randrange(10 * GIB)
        project.data_transfer_bytes = rng.randrange(5 * GIB)
        project.data_storage_bytes_hour = project.size_bytes * rng.randrange(1, 24 * 30)

    def _add_endpoint(
        self, project: SimProject, index: int, state: str, pooler: bool, now: datetime
    ) -> SimEndpoint:
        rng = self.rng
        created = project.created_at + timedelta(seconds=index * 3600)
        if state == "active":
            last_active: datetime | None = now
        elif state == "idle" and rng.random() < 0.85:
            last_active = now - timedelta(seconds=rng.randrange(60, 14 * 86400))
        else:
            last_active = None
        endpoint = SimEndpoint(
            id=self.new_id("ep-"),
            project_id=project.id,
            branch_id=self.new_id("br-"),
            region_id=project.region_id,
            type="read_write" if index == 0 else "read_only",
            state=state,
            pooler_enabled=pooler,
            created_at=created,
            updated_at=max(created, project.updated_at),
            last_active=last_active,
            max_cu=rng.choice((1.0, 2.0, 4.0, 8.0)),
        )
        project.endpoints.append(endpoint)
        self.endpoints[endpoint.id] = endpoint
        return endpoint

    def _insert(self, project: SimProject) -> None:
        # One branch per endpoint (the first is the default ``main``), derived without the
        # random generator so the rest of the generated data does not shift.
        branch_ids = list(dict.fromkeys(ep.branch_id for ep in project.endpoints))
        if not branch_ids:
            branch_ids = [f"br-{project.id}"[:60]]
        for i, branch_id in enumerate(branch_ids):
            self._add_branch(project, branch_id, "main" if i == 0 else f"dev-{i}", i == 0)
        project.role_id = self._next_role_id
        self._next_role_id += 2
        self.projects[project.id] = project
        insort(self.sorted_ids, project.id)

    @staticmethod
    def _add_branch(project: SimProject, branch_id: str, name: str, default: bool) -> SimBranch:
        index = len(project.branches)
        created = project.created_at + timedelta(seconds=index * 60)
        branch = SimBranch(
            id=branch_id,
            project_id=project.id,
            name=name,
            default=default,
            created_at=created,
            updated_at=max(created, project.updated_at),
            logical_size=project.size_bytes // (index + 1) if project.size_bytes else None,
        )
        project.branches.append(branch)
        return branch

    # -- mutation ------------------------------------------------------------------------------

    def add_branches(self, project_id: str, count: int) -> list[str]:
        project = self.projects[project_id]
        start = len(project.branches)
        return [
            self._add_branch(
                project, f"br-{project_id}-{start + i:04d}"[-60:], f"b{start + i}", False
            ).id
            for i in range(count)
        ]

    def add_project(
        self,
        *,
        project_id: str | None,
        name: str | None,
        pg_version: int,
        region_id: str,
        org_id: str | None,
        size_bytes: int,
        endpoints: int,
        visible_to: Collection[str] | None,
        pooler_fields: bool = True,
    ) -> str:
        if project_id is None:
            project_id = self.new_id()
        elif project_id in self.projects:
            raise ValueError(f"project {project_id!r} already exists")
        else:
            self._used_ids.add(project_id)
        now = utcnow()
        project = SimProject(
            id=project_id,
            name=name if name is not None else project_id,
            pg_version=pg_version,
            region_id=region_id,
            org_id=org_id,
            size_bytes=size_bytes,
            created_at=now,
            updated_at=now,
            owner_id=self.owner_id,
            visible_to=None if visible_to is None else frozenset(visible_to),
        )
        for index in range(endpoints):
            self._add_endpoint(project, index, "idle", False, now)
            project.endpoints[-1].last_active = None
            project.endpoints[-1].updated_at = now
            project.endpoints[-1].pooler_fields = pooler_fields
        self._insert(project)
        return project_id

    def remove_project(self, project_id: str) -> None:
        project = self.projects.pop(project_id)
        index = bisect_right(self.sorted_ids, project_id) - 1
        del self.sorted_ids[index]
        for ep in project.endpoints:
            self.endpoints.pop(ep.id, None)

    def set_endpoint(
        self, endpoint_id: str, *, state: str | None, pooler_enabled: bool | None
    ) -> None:
        endpoint = self.endpoints[endpoint_id]
        if state is not None and state not in ENDPOINT_STATES:
            raise ValueError(f"unknown endpoint state {state!r}")
        now = utcnow()
        changed = False
        if state is not None and state != endpoint.state:
            if endpoint.state == "active" or state == "active":
                endpoint.last_active = now
            endpoint.state = state
            changed = True
        if pooler_enabled is not None and pooler_enabled != endpoint.pooler_enabled:
            endpoint.pooler_enabled = pooler_enabled
            changed = True
        if changed:
            endpoint.updated_at = now
            self.projects[endpoint.project_id].updated_at = now

    def set_project(self, project_id: str, *, size_bytes: int | None, name: str | None) -> None:
        project = self.projects[project_id]
        if size_bytes is not None:
            project.size_bytes = size_bytes
        if name is not None:
            project.name = name
        project.updated_at = utcnow()

    def churn(self, rng: random.Random) -> None:
        """Flip a few random endpoint states, so that a demo looks alive."""
        if not self.sorted_ids:
            return
        flips = max(1, len(self.endpoints) // 20)
        for _ in range(flips):
            project = self.projects[rng.choice(self.sorted_ids)]
            if not project.endpoints:
                continue
            endpoint = rng.choice(project.endpoints)
            if endpoint.state == "idle":
                new_state = "init" if rng.random() < 0.05 else "active"
            else:
                new_state = "idle" if endpoint.state == "active" else "active"
            self.set_endpoint(endpoint.id, state=new_state, pooler_enabled=None)
            if new_state == "active":
                project.size_bytes += rng.randrange(1024 * 1024)

    # -- queries -------------------------------------------------------------------------------

    def page(
        self, *, key_name: str, cursor: str | None, limit: int, org_id: str | None
    ) -> list[SimProject]:
        start = 0 if cursor is None else bisect_right(self.sorted_ids, cursor)
        out: list[SimProject] = []
        for pid in islice(self.sorted_ids, start, None):
            project = self.projects[pid]
            if pid in self.unavailable or not self._listed(project, key_name, org_id):
                continue
            out.append(project)
            if len(out) >= limit:
                break
        return out

    @staticmethod
    def _listed(project: SimProject, key_name: str, org_id: str | None) -> bool:
        if not project.visible(key_name):
            return False
        return org_id is None or project.org_id == org_id

    def unavailable_for(self, key_name: str, org_id: str | None) -> list[str]:
        return sorted(
            pid
            for pid in self.unavailable
            if (p := self.projects.get(pid)) is not None and self._listed(p, key_name, org_id)
        )

    def org_ids(self) -> set[str]:
        """The organizations the account belongs to: those of its projects."""
        return {p.org_id for p in self.projects.values() if p.org_id is not None}

    def visible_project(self, project_id: str, key_name: str) -> SimProject | None:
        project = self.projects.get(project_id)
        if project is None or not project.visible(key_name):
            return None
        return project
