"""The API key inventory (``--collector.api_keys``), what kind of key the exporter holds
(``neon_api_key_info``), and when its key file was read: over real sockets against the
simulator, with an injected wall clock where the refresh interval matters.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.service import Service
from tests.procs import sample
from tests.sim import Fault, Simulator
from tests.support import KEYS, Clock, families, key_files, make_config, served, value

ORG = "org-blue-123"
ON = {"endpoints": True, "api_keys": True}
HOUR = 3600.0


def listed(svc: Service) -> dict[str, dict[str, str]]:
    """api_key_name -> labels of its neon_listed_api_key_info sample."""
    out = {}
    for family in families(svc):
        if family.name == "neon_listed_api_key":
            for s in family.samples:
                out[s.labels["api_key_name"]] = s.labels
    return out


def runtime(url: str, tmp_path: Path, clock: Clock, **changes: object) -> Service:
    return Service(make_config(url, key_files(tmp_path), **changes), clock=clock)


async def test_inventory_of_a_personal_key_lists_account_and_organization_keys(
    tmp_path: Path,
) -> None:
    """A personal key: its account's keys (owner "account") and its organization's; three
    requests a refresh (organizations, personal list, one organization), none again within
    the hour, three again after it; creation and last use times as the simulator has them."""
    sim = Simulator(keys=KEYS, projects=3, seed=5, org_id=ORG)
    sim.key_book.seed_inventory()
    clock = Clock()
    async with served(sim) as url:
        svc = runtime(url, tmp_path, clock, collectors=ON)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            keys = listed(svc)
            assert {n: k["owner"] for n, k in keys.items()} == {
                "prod": "account",
                "staging": "account",
                "ci-deploy": "account",
                "old-laptop": "account",
                "terraform": ORG,
            }
            routes = ["/users/me/organizations", "/api_keys", "/organizations/{org_id}/api_keys"]
            assert [sim.count(r, "prod") for r in routes] == [1, 1, 1]
            laptop = sim.key_book.keys["old-laptop"]
            kid = keys["old-laptop"]["api_key_id"]
            assert kid == str(laptop.id)
            assert laptop.last_used_at is not None
            assert (
                value(svc, "neon_listed_api_key_created_timestamp_seconds", api_key_id=kid)
                == laptop.created_at.timestamp()
            )
            assert (
                value(svc, "neon_listed_api_key_last_used_timestamp_seconds", api_key_id=kid)
                == laptop.last_used_at.timestamp()
            )
            # "staging" made no request: never used, so no last-use series.
            staging = keys["staging"]["api_key_id"]
            assert (
                value(svc, "neon_listed_api_key_last_used_timestamp_seconds", api_key_id=staging)
                is None
            )
            assert (
                value(svc, "neon_exporter_collector_success", key="prod", collector="api_keys") == 1
            )

            clock.now += HOUR - 60
            assert await poller.poll("prod")
            assert [sim.count(r, "prod") for r in routes] == [1, 1, 1]
            clock.now += 60
            assert await poller.poll("prod")
            assert [sim.count(r, "prod") for r in routes] == [2, 2, 2]
            # The exporter's own key was used since: its last use moved.
            prod = keys["prod"]["api_key_id"]
            used = value(svc, "neon_listed_api_key_last_used_timestamp_seconds", api_key_id=prod)
            assert used == sim.key_book.keys["prod"].last_used_at.timestamp()  # type: ignore[union-attr]


async def test_an_organization_key_lists_its_organization_only_and_says_what_it_is(
    tmp_path: Path,
) -> None:
    """An organization key: GET /auth says api_key_org (served as neon_api_key_info from the
    key check, one /auth request per check, nothing more); the inventory skips the personal
    list and lists the organization's keys: two requests a refresh."""
    sim = Simulator(keys=KEYS, projects=3, seed=5, org_id=ORG, org_keys={"prod": ORG})
    async with served(sim) as url:
        svc = runtime(url, tmp_path, Clock(), collectors=ON)
        async with svc.pollers() as poller:
            await poller.check_key("prod")
            assert sim.count("/auth", "prod") == 1
            assert (
                value(
                    svc, "neon_api_key_info", key="prod", auth_method="api_key_org", account_id=ORG
                )
                == 1
            )
            assert await poller.poll("prod")
            assert sim.count("/auth", "prod") == 1  # the area used the probe's answer
            assert sim.count("/api_keys", "prod") == 0
            assert sim.count("/users/me/organizations", "prod") == 1
            assert {n: k["owner"] for n, k in listed(svc).items()} == {"prod": ORG}


async def test_personal_key_info_before_any_key_check(tmp_path: Path) -> None:
    """A poll before the first key check asks /auth once for the area, and that answer is
    served too."""
    sim = Simulator(keys=KEYS, projects=2, seed=5)
    async with served(sim) as url:
        svc = runtime(url, tmp_path, Clock(), collectors=ON)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            labels = {"key": "prod", "auth_method": "api_key_user", "account_id": sim.account_id}
            assert value(svc, "neon_api_key_info", **labels) == 1
            assert sim.count("/auth", "prod") == 1


@pytest.mark.parametrize("status", [500, 404])
async def test_failing_key_list_keeps_projects_and_its_last_inventory(
    tmp_path: Path, status: int
) -> None:
    """GET /api_keys answers 500 or 404: the poll succeeds with every project, the inventory
    keeps its last data and says it is failing; the next good refresh clears that."""
    sim = Simulator(keys=KEYS, projects=3, seed=5)
    clock = Clock()
    async with served(sim) as url:
        svc = runtime(url, tmp_path, clock, collectors=ON, poll_max_age=4 * HOUR)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            before = listed(svc)
            assert before
            clock.now += HOUR
            sim.inject(Fault(status=status, route="/api_keys", times=None))
            assert await poller.poll("prod")
            assert value(svc, "neon_projects", key="prod") == 3
            assert listed(svc) == before
            success = {"key": "prod", "collector": "api_keys"}
            assert value(svc, "neon_exporter_collector_success", **success) == 0
            sim.clear_faults()
            assert await poller.poll("prod")  # failing: due again at once
            assert value(svc, "neon_exporter_collector_success", **success) == 1


async def test_address_only_with_the_further_opt_in_and_never_a_secret(tmp_path: Path) -> None:
    """The last address is served only with api_keys_address; a key created through the API
    is listed, and neither its token nor any configured key is ever in the exposition."""
    sim = Simulator(keys=KEYS, projects=2, seed=5)
    _, token = sim.key_book.create("rotated")
    async with served(sim) as url:
        svc = runtime(url, tmp_path, Clock(), collectors=ON)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            assert "rotated" in listed(svc)
            text = svc.exposition.rendered().decode()
            assert "neon_listed_api_key_last_used_address" not in text
        svc = runtime(url, tmp_path, Clock(), collectors={**ON, "api_keys_address": True})
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
            prod = listed(svc)["prod"]["api_key_id"]
            address = {"api_key_id": prod, "address": "127.0.0.1"}
            assert value(svc, "neon_listed_api_key_last_used_address_info", **address) == 1
            text = svc.exposition.rendered().decode()
    for secret in (token, *KEYS.values()):
        assert secret not in text
        assert secret[:8] not in text


async def test_key_file_read_time_moves_when_the_file_is_rewritten(tmp_path: Path) -> None:
    """neon_api_key_file_read_timestamp_seconds: set at the first read, unchanged while the
    file is, later once a rewritten file has been read for the next request."""
    sim = Simulator(keys=KEYS, projects=2, seed=5)
    async with served(sim) as url:
        svc = runtime(url, tmp_path, Clock())
        async with svc.pollers() as poller:
            started = time.time()
            await poller.check_key("prod")
            first = value(svc, "neon_api_key_file_read_timestamp_seconds", key="prod")
            assert first is not None
            assert first >= started
            await poller.check_key("prod")
            assert value(svc, "neon_api_key_file_read_timestamp_seconds", key="prod") == first
            written = time.time()
            (tmp_path / "prod.key").write_text(KEYS["staging"] + "\n")
            await poller.check_key("prod")
            read = value(svc, "neon_api_key_file_read_timestamp_seconds", key="prod")
            assert read is not None
            assert read >= written
            assert sim.count("/auth", "staging") == 1  # the new key was the one sent


async def test_simulator_creates_and_revokes_keys_over_http(tmp_path: Path) -> None:
    """POST /api_keys answers a new token that works at once; DELETE /api_keys/{id} revokes
    a key: 401 from then on, and no longer listed."""
    sim = Simulator(keys=KEYS, projects=1, seed=5)
    async with served(sim) as url:
        created = await _call(url, "POST", "/api_keys", KEYS["prod"], {"key_name": "next"})
        new_token = created["key"]
        keys = await _call(url, "GET", "/api_keys", new_token)
        assert {k["name"] for k in keys} == {"prod", "staging", "next"}
        prod_id = next(k["id"] for k in keys if k["name"] == "prod")
        revoked = await _call(url, "DELETE", f"/api_keys/{prod_id}", new_token)
        assert revoked["revoked"] is True
        with pytest.raises(urllib.error.HTTPError) as denied:
            await _call(url, "GET", "/api_keys", KEYS["prod"])
        assert denied.value.code == 401
        keys = await _call(url, "GET", "/api_keys", new_token)
        assert {k["name"] for k in keys} == {"staging", "next"}


async def _call(url: str, method: str, path: str, token: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    return await asyncio.to_thread(_open, req)


def _open(req: urllib.request.Request) -> Any:
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


async def test_a_key_that_cannot_list_organizations_keeps_the_personal_keys(
    tmp_path: Path,
) -> None:
    """/users/me/organizations answers 403 (a key that may not list organizations): the
    personal keys are still served, and the area says it is failing."""
    sim = Simulator(keys=KEYS, projects=2, seed=5)
    sim.inject(Fault(status=403, route="/users/me/organizations", times=None))
    async with served(sim) as url:
        svc = runtime(url, tmp_path, Clock(), collectors=ON)
        async with svc.pollers() as poller:
            assert await poller.poll("prod")
        text = b"".join(await svc.exposition.chunks(openmetrics=False, gzipped=False)).decode()
    owners = {
        s.labels["owner"]
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "neon_listed_api_key_info"
    }
    assert owners == {"account"}
    success = {"key": "prod", "collector": "api_keys"}
    assert sample(text, "neon_exporter_collector_success", success) == 0
    assert sample(text, "neon_projects", {"key": "prod"}) == 2
