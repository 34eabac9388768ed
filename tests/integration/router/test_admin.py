"""The admin API against a real broker and database: a change takes effect for the next
lead (on every replica), invalid or stale changes store nothing, every change is a version
with an audit row, the file can be reloaded and an old version rolled back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.router.config.settings import Settings
from services.router.main import create_app
from shared.auth.scopes import Scope
from shared.contracts.topics import LEAD_ASSIGNED, LEAD_SCORED
from tests.support.app import running_app
from tests.support.auth import bearer, scope_key
from tests.support.events import lead_scored, record
from tests.support.kafka import Bus, TopicReader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CONFIG = """
routing:
  default_queue: sales
  reps:
    - {id: ana, name: Ana, timezone: Europe/London}
    - {id: ben, name: Ben, timezone: Europe/London}
  queues:
    - {name: sales, department: sales, region: uk, members: [ana, ben]}
"""
ACTOR = {"X-Actor": "ops@example.com"}
WHO = "key:test-admin (ops@example.com)"  # the credential, and on whose behalf


def scored(lead_id: str) -> tuple[bytes, bytes]:
    return record(lead_scored(lead_id, email=f"{lead_id[:8]}@example.com", country="GB"))


def settings(database_url: str, bus: Bus, path: Path, **kw: Any) -> Settings:
    return Settings(database_url=database_url, **bus.settings,
                    config_file=path, waiting_retry_s=0.2, kafka_partitions=3, **kw)  # fmt: skip


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leadflow.yaml"
    path.write_text(CONFIG)
    return path


@asynccontextmanager
async def router(
    database_url: str, bus: Bus, path: Path, **kw: Any
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(create_app(settings(database_url, bus, path, **kw))) as client:
        yield client


async def assign(out: TopicReader, bus: Bus, n: int) -> list[dict[str, Any]]:
    """Produce ``n`` scored leads and return their assignments."""
    ids = [str(uuid.uuid4()) for _ in range(n)]
    await bus.produce(LEAD_SCORED, [scored(i) for i in ids])
    await out.wait_for(partial(_has_all, set(ids)), what=f"{n} assignments")
    return [r["data"] for r in out.records if r["subject"] in ids]


def _has_all(ids: set[str], records: list[dict[str, Any]]) -> bool:
    return ids <= {r["subject"] for r in records}


async def versions(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer: list[dict[str, Any]] = (await client.get("/v1/admin/config/versions")).json()
    return answer


async def test_a_rep_set_offline_gets_nothing_and_a_rep_set_online_takes_the_waiting_lead(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with router(database_url, bus, config) as client:
        async with bus.reader(LEAD_ASSIGNED) as out:
            before = await assign(out, bus, 2)
            assert {a["rep"]["rep_id"] for a in before} == {"ana", "ben"}
            assert {a["trace"]["config_version"] for a in before} == {1}

            answer = await client.patch("/v1/admin/reps/ana/availability",
                                        json={"online": False}, headers=ACTOR)  # fmt: skip
            assert answer.status_code == 200, answer.text
            assert answer.json()["version"] == 2 and answer.headers["ETag"] == '"2"'
            after = await assign(out, bus, 6)
            assert {a["rep"]["rep_id"] for a in after} == {"ben"}
            assert {a["trace"]["config_version"] for a in after} == {2}
            stored = (await client.get(f"/v1/leads/{after[0]['lead_id']}/assignment")).json()
            assert stored["config_version"] == 2

            # Nobody online: the lead waits; ana back online: the waiting-lead job assigns it.
            await client.patch("/v1/admin/reps/ben/availability", json={"online": False},
                               headers=ACTOR)  # fmt: skip
            waiting = str(uuid.uuid4())
            await bus.produce(LEAD_SCORED, [scored(waiting)])
            await asyncio.sleep(0.8)
            decision = (await client.get(f"/v1/leads/{waiting}/assignment")).json()
            assert decision["status"] == "waiting" and decision["config_version"] == 3
            await client.patch("/v1/admin/reps/ana/availability", json={"online": True},
                               headers=ACTOR)  # fmt: skip
            records = await out.wait_for(partial(_has_all, {waiting}), what="the waiting lead")
            late = next(r["data"] for r in records if r["subject"] == waiting)
            assert (late["rep"]["rep_id"], late["trace"]["config_version"]) == ("ana", 4)


async def test_invalid_changes_answer_422_naming_the_key_and_store_nothing(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with router(database_url, bus, config) as client:
        queue = {"department": "sales", "region": "uk", "members": ["ana", "zed"]}
        bad = await client.put("/v1/admin/queues/sales", json=queue, headers=ACTOR)
        assert bad.status_code == 422, bad.text
        assert bad.json()["problems"] == [
            {"field": "queues[0].members[1]", "problem": "unknown rep 'zed'"}
        ]
        referenced = await client.delete("/v1/admin/reps/ana", headers=ACTOR)
        assert (referenced.status_code, referenced.json()["error"]) == (409, "still_referenced")
        assert referenced.json()["problems"] == [
            {"field": "queues[0].members[0]", "problem": "still names rep 'ana'; change it first"}
        ]
        bad_zone = await client.patch("/v1/admin/reps/ben/availability",
                                      json={"timezone": "Mars/Base"}, headers=ACTOR)  # fmt: skip
        assert bad_zone.status_code == 422
        assert bad_zone.json()["problems"][0]["field"] == "reps[1].timezone"
        unknown = await client.patch("/v1/admin/reps/zed/availability", json={"online": False},
                                     headers=ACTOR)  # fmt: skip
        assert unknown.status_code == 404
        twin = {"id": "ana", "name": "Ana", "timezone": "UTC"}
        exists = await client.post("/v1/admin/reps", headers=ACTOR, json=twin)
        assert exists.status_code == 409 and exists.json()["error"] == "already_exists"

        assert [v["version"] for v in await versions(client)] == [1]
        assert [a["action"] for a in (await client.get("/v1/admin/audit")).json()] == [
            "config.imported"
        ]
        current = (await client.get("/v1/admin/config")).json()
        assert current["config"]["queues"][0]["members"] == ["ana", "ben"]


async def test_a_stale_if_match_is_409_and_changes_nothing(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with router(database_url, bus, config) as client:
        etag = (await client.get("/v1/admin/config")).headers["ETag"]
        assert etag == '"1"'
        body = {"id": "cat", "name": "Cat", "timezone": "UTC", "skills": ["vip"]}
        first = await client.post("/v1/admin/reps", json=body, headers={**ACTOR, "If-Match": etag})
        assert first.status_code == 201, first.text
        stale = await client.patch("/v1/admin/reps/ana/availability", json={"online": False},
                                   headers={**ACTOR, "If-Match": etag})  # fmt: skip
        assert stale.status_code == 409, stale.text
        assert stale.json()["error"] == "stale_version" and stale.headers["ETag"] == '"2"'
        assert [v["version"] for v in await versions(client)] == [2, 1]
        config_now = (await client.get("/v1/admin/config")).json()["config"]
        assert config_now["reps"][0]["online"] is True


async def test_every_change_is_a_version_with_an_audit_row(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with router(database_url, bus, config) as client:
        headers = {**ACTOR, "X-Reason": "parental leave"}
        away = {"out_of_office": [{"from": "2026-08-03", "to": "2026-08-14"}]}
        await client.patch("/v1/admin/reps/ana/availability", headers=headers, json=away)
        queue = {"name": "vip", "department": "sales", "region": "uk", "members": ["ben"]}
        assert (await client.post("/v1/admin/queues", json=queue, headers=ACTOR)).status_code == 201
        rules = {"rules": [{"name": "vip", "when": {"field": "score", "gte": 90}, "queue": "vip"}]}
        assert (await client.put("/v1/admin/rules", json=rules, headers=ACTOR)).status_code == 200
        same = await client.put("/v1/admin/rules", json=rules, headers=ACTOR)
        assert same.json()["changed"] is False and same.json()["version"] == 4

        listed = await versions(client)
        assert [(v["version"], v["origin"], v["actor"]) for v in listed] == [
            (4, "api", WHO), (3, "api", WHO), (2, "api", WHO), (1, "file", "router"),
        ]  # fmt: skip
        ana = (await client.get("/v1/admin/audit", params={"target": "rep:ana"})).json()
        assert len(ana) == 1
        assert (ana[0]["action"], ana[0]["reason"], ana[0]["version"]) == (
            "rep.availability_changed", "parental leave", 2,
        )  # fmt: skip
        assert ana[0]["diff"] == [
            {"path": "reps[ana].out_of_office", "before": [], "after": away["out_of_office"]}
        ]
        assert ana[0]["before"]["out_of_office"] == [] and ana[0]["after"]["id"] == "ana"
        everything = (await client.get("/v1/admin/audit")).json()
        assert [a["target"] for a in everything] == ["rules", "queue:vip", "rep:ana", "config"]
        since = everything[1]["at"]
        recent = (await client.get("/v1/admin/audit", params={"since": since})).json()
        assert [a["target"] for a in recent] == ["rules", "queue:vip"]
        assert (await client.get("/v1/admin/config/versions/3")).json()["config"]["rules"] == []


async def test_reload_reads_the_edited_file_and_a_restart_keeps_api_changes(
    database_url: str, bus: Bus, config: Path
) -> None:
    edited = CONFIG.replace("members: [ana, ben]", "members: [ana, ben, cat]").replace(
        "  queues:", "    - {id: cat, name: Cat, timezone: Europe/London}\n  queues:"
    )
    async with router(database_url, bus, config) as client:
        async with bus.reader(LEAD_ASSIGNED) as out:
            config.write_text(edited)
            reloaded = await client.post("/v1/admin/config:reload", headers=ACTOR)
            assert reloaded.status_code == 200, reloaded.text
            assert (reloaded.json()["version"], reloaded.json()["action"]) == (2, "config.reloaded")
            assert {"path": "reps[cat]", "before": None}.items() <= reloaded.json()["diff"][
                0
            ].items()
            assigned = await assign(out, bus, 6)
            assert {a["rep"]["rep_id"] for a in assigned} == {"ana", "ben", "cat"}
            again = await client.post("/v1/admin/config:reload", headers=ACTOR)
            assert again.json()["changed"] is False
            config.write_text(edited.replace("members: [ana, ben, cat]", "members: [ana, zed]"))
            broken = await client.post("/v1/admin/config:reload", headers=ACTOR)
            assert broken.status_code == 422
            assert broken.json()["problems"][0]["field"] == "routing.queues[0].members[1]"
            config.write_text(edited)
            await client.patch("/v1/admin/reps/cat/availability", json={"online": False},
                               headers=ACTOR)  # fmt: skip
    # Restart with the file as it was last read: the API change (version 3) stays in force.
    async with router(database_url, bus, config) as client:
        current = (await client.get("/v1/admin/config")).json()
        assert (current["version"], current["config"]["reps"][2]["online"]) == (3, False)
    # Restart after editing the file: the file wins, as a new version.
    config.write_text(edited.replace("name: Cat", "name: Catherine"))
    async with router(database_url, bus, config) as client:
        current = (await client.get("/v1/admin/config")).json()
        assert (current["version"], current["origin"]) == (4, "file")
        assert current["config"]["reps"][2]["name"] == "Catherine"
        audit = (await client.get("/v1/admin/audit", params={"target": "config"})).json()
        assert audit[0]["action"] == "config.file_changed"


async def test_rollback_puts_an_old_version_back_as_a_new_one(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with router(database_url, bus, config) as client:
        await client.patch("/v1/admin/reps/ana/availability", json={"online": False}, headers=ACTOR)
        await client.post("/v1/admin/reps", headers=ACTOR,
                          json={"id": "cat", "name": "Cat", "timezone": "UTC"})  # fmt: skip
        back = await client.post("/v1/admin/config:rollback", json={"version": 1}, headers=ACTOR)
        assert back.status_code == 200, back.text
        assert (back.json()["version"], back.json()["action"]) == (4, "config.rolled_back")
        current = (await client.get("/v1/admin/config")).json()
        first = (await client.get("/v1/admin/config/versions/1")).json()
        assert current["config"] == first["config"]
        assert (current["origin"], current["restored"]) == ("rollback", 1)
        reps = {r["rep_id"]: r for r in (await client.get("/v1/reps")).json()}
        assert set(reps) == {"ana", "ben"} and reps["ana"]["available"] is True
        missing = await client.post("/v1/admin/config:rollback", json={"version": 99},
                                    headers=ACTOR)  # fmt: skip
        assert missing.status_code == 404


async def test_writes_need_routing_admin_from_anywhere_loopback_included(
    database_url: str, bus: Bus, config: Path
) -> None:
    body = {"online": False}
    path = "/v1/admin/reps/ana/availability"
    async with router(database_url, bus, config) as client:
        # the test client is a loopback client: that earns nothing any more
        anonymous = await client.patch(path, json=body, headers={"Authorization": ""})
        assert anonymous.status_code == 401, anonymous.text
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        wrong = {**ACTOR, "Authorization": "Bearer lfk_not-a-key"}
        assert (await client.patch(path, json=body, headers=wrong)).status_code == 401
        reader = {**ACTOR, **bearer(scope_key(Scope.CONFIG_READ))}
        refused = await client.patch(path, json=body, headers=reader)
        assert refused.status_code == 403
        assert refused.json()["error"] == "insufficient_scope"
        assert "routing:admin" in refused.json()["message"]
        assert (await client.get("/v1/admin/config", headers=reader)).status_code == 200
        admin = bearer(scope_key(Scope.ROUTING_ADMIN))
        assert (await client.patch(path, json=body, headers=admin)).status_code == 200
        latest = (await versions(client))[0]
        assert latest["actor"] == "key:test-routing_admin"  # no X-Actor: the key alone


async def test_two_replicas_both_use_a_change_made_through_one_of_them(
    database_url: str, bus: Bus, config: Path
) -> None:
    async with (
        router(database_url, bus, config) as b,
        bus.reader(LEAD_ASSIGNED) as out,
    ):
        async with router(database_url, bus, config) as a:
            await assign(out, bus, 6)  # both have routed with version 1
            offline = {"online": False}
            changed = await a.patch("/v1/admin/reps/ana/availability", json=offline, headers=ACTOR)
            assert changed.json()["version"] == 2
            assigned = await assign(out, bus, 60)
            assert {x["rep"]["rep_id"] for x in assigned} == {"ben"}
            assert {x["trace"]["config_version"] for x in assigned} == {2}
            for client in (a, b):
                reps = {r["rep_id"]: r for r in (await client.get("/v1/reps")).json()}
                assert reps["ana"]["availability"] == "offline"
                body = {"lead": {"source": "web", "country": "GB"}}
                simulated = (await client.post("/v1/routing:simulate", json=body)).json()
                assert (simulated["rep_id"], simulated["config_version"]) == ("ben", 2)
        # Replica A (which made the change) is gone: B alone routes, with version 2.
        alone = await assign(out, bus, 10)
        assert {(x["rep"]["rep_id"], x["trace"]["config_version"]) for x in alone} == {("ben", 2)}
