"""Admin changes, pure: a routing config and a change in, the new one (validated like the
file) or the problems at their keys out; and the diff the audit log records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.router.config.changes import (
    Applied,
    ChangeAvailability,
    CreateQueue,
    CreateRep,
    DeleteQueue,
    DeleteRep,
    Refused,
    ReplaceConfig,
    ReplaceQueue,
    ReplaceRep,
    ReplaceRules,
    apply_change,
)
from services.router.config.document import Problem, diff, section_hash, to_document
from services.router.config.model import RoutingConfig, load_routing_config

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sections" / "router.yaml"

BASE = to_document(
    RoutingConfig.model_validate(
        {
            "reps": [
                {"id": "ana", "name": "Ana", "timezone": "Europe/London",
                 "working_hours": {"start": "09:00", "end": "17:30"}},
                {"id": "ben", "name": "Ben", "timezone": "Europe/London"},
                {"id": "boss", "name": "Boss", "timezone": "Europe/London"},
            ],
            "queues": [
                {"name": "sales", "department": "sales", "region": "uk",
                 "members": ["ana", "ben"], "fallback": "pool",
                 "sla": {"first_contact": "15m", "then": {"rep": "boss"}}},
                {"name": "pool", "department": "general", "region": "global",
                 "members": ["ben"], "sla": {"first_contact": "1h", "then": {"queue": "sales"}}},
            ],
            "rules": [
                {"name": "uk", "when": {"field": "country", "eq": "GB"}, "queue": "sales"},
                {"name": "us", "when": {"field": "country", "eq": "US"}, "queue": "pool"},
            ],
            "default_queue": "pool",
        }
    )
)  # fmt: skip


def applied(change: Any) -> Applied:
    result = apply_change(BASE, change)
    assert isinstance(result, Applied), result
    return result


def refused(change: Any) -> Refused:
    result = apply_change(BASE, change)
    assert isinstance(result, Refused), result
    return result


def test_a_document_reads_back_as_the_same_config_with_durations_spelled_as_in_the_file() -> None:
    config = load_routing_config(EXAMPLE)
    document = to_document(config)
    assert RoutingConfig.model_validate(document) == config
    assert document["queues"][0]["sla"]["first_contact"] == "30m"
    assert document["queues"][0]["sla"]["by_bucket"] == {"hot": "5m"}
    assert document["reps"][0]["holidays"][0] == "2025-12-25"


def test_setting_a_rep_offline_changes_only_that_and_says_so() -> None:
    result = applied(ChangeAvailability("ana", {"online": False}))
    assert (result.action, result.target, result.changed) == (
        "rep.availability_changed", "rep:ana", True,
    )  # fmt: skip
    assert result.diff == [{"path": "reps[ana].online", "before": True, "after": False}]
    assert result.before["online"] is True and result.after["online"] is False
    assert result.document["reps"][0]["online"] is False
    assert [r["id"] for r in result.document["reps"]] == ["ana", "ben", "boss"]


def test_availability_null_removes_a_field_and_other_fields_are_refused() -> None:
    away = [{"from": "2026-08-03", "to": "2026-08-14"}]
    result = applied(ChangeAvailability("ana", {"working_hours": None, "out_of_office": away}))
    assert "working_hours" not in result.document["reps"][0]
    assert result.document["reps"][0]["out_of_office"] == [
        {"from": "2026-08-03", "to": "2026-08-14"}
    ]
    assert refused(ChangeAvailability("ana", {"weight": 3})).problems == (
        Problem("reps[0].weight", "not an availability field (online, timezone, working_hours,"
                " holidays, out_of_office); PUT the rep"),
    )  # fmt: skip


def test_an_invalid_availability_is_named_at_its_config_key() -> None:
    result = refused(ChangeAvailability("ben", {"timezone": "Mars/Base"}))
    assert result.reason == "invalid"
    assert result.problems[0].path == "reps[1].timezone"
    assert "unknown time zone 'Mars/Base'" in result.problems[0].message


def test_a_queue_naming_an_unknown_rep_is_refused_at_the_member() -> None:
    queue = {**BASE["queues"][0], "members": ["ana", "ben", "zed"]}
    result = refused(ReplaceQueue("sales", queue))
    assert result.problems == (Problem("queues[0].members[2]", "unknown rep 'zed'"),)
    assert str(result.problems[0]) == "queues[0].members[2]: unknown rep 'zed'"


def test_deleting_a_rep_that_queues_still_name_is_refused_naming_every_place() -> None:
    result = refused(DeleteRep("ben"))
    assert [p.path for p in result.problems] == ["queues[0].members[1]", "queues[1].members[0]"]
    assert result.problems[0].message == "still names rep 'ben'; change it first"
    assert [p.path for p in refused(DeleteRep("boss")).problems] == ["queues[0].sla.then.rep"]


def test_deleting_a_rep_nothing_names_removes_it() -> None:
    queue = {**BASE["queues"][0], "sla": {"first_contact": "15m"}}
    without_boss = apply_change(BASE, ReplaceQueue("sales", queue))
    assert isinstance(without_boss, Applied)
    result = apply_change(without_boss.document, DeleteRep("boss"))
    assert isinstance(result, Applied)
    assert (result.action, result.target, result.after) == ("rep.deleted", "rep:boss", None)
    assert result.diff[0]["path"] == "reps[boss]" and result.diff[0]["after"] is None


def test_deleting_a_queue_still_named_is_refused() -> None:
    paths = [p.path for p in refused(DeleteQueue("pool")).problems]
    assert paths == ["rules[1].queue", "default_queue", "queues[0].fallback"]
    assert [p.path for p in refused(DeleteQueue("sales")).problems] == [
        "rules[0].queue", "queues[1].sla.then.queue",
    ]  # fmt: skip


def test_creating_a_rep_appends_it_and_an_existing_id_is_refused() -> None:
    result = applied(CreateRep({"id": "cat", "name": "Cat", "timezone": "UTC", "skills": ["VIP"]}))
    assert (result.action, result.target, result.before) == ("rep.created", "rep:cat", None)
    assert result.after["skills"] == ["vip"]  # normalised as the file is
    assert result.document["reps"][-1]["id"] == "cat"
    assert refused(CreateRep({"id": "ana", "name": "Ana 2", "timezone": "UTC"})) == Refused(
        "exists", (Problem("reps[0].id", "rep 'ana' already exists"),)
    )


def test_a_new_rep_is_validated_like_the_file() -> None:
    result = refused(CreateRep({"id": "cat", "name": "Cat", "timezone": "UTC", "max_open": 0}))
    assert [p.path for p in result.problems] == ["reps[3].max_open"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [("Ca\x00t", "contains a NUL character"),
     ("Ca\ud800t", "contains an unpaired surrogate character")],
)  # fmt: skip
def test_text_a_version_cannot_store_is_refused_at_its_key(name: str, problem: str) -> None:
    result = refused(CreateRep({"id": "cat", "name": name, "timezone": "UTC"}))
    assert result.problems == (Problem("reps[3].name", problem),)


def test_a_rep_keeps_its_id_and_place_when_replaced() -> None:
    result = applied(ReplaceRep("ana", {"name": "Ana B", "timezone": "Europe/Paris"}))
    assert result.document["reps"][0]["id"] == "ana"
    assert {d["path"] for d in result.diff} == {
        "reps[ana].name", "reps[ana].timezone", "reps[ana].working_hours",
    }  # fmt: skip
    renamed = refused(ReplaceRep("ana", {"id": "anna", "name": "Ana", "timezone": "UTC"}))
    assert renamed.problems[0].path == "reps[0].id"


@pytest.mark.parametrize(
    "change",
    [ReplaceRep("zed", {}), DeleteRep("zed"), ChangeAvailability("zed", {"online": False}),
     ReplaceQueue("nope", {}), DeleteQueue("nope")],
)  # fmt: skip
def test_changing_an_unknown_rep_or_queue_is_not_found(change: Any) -> None:
    assert refused(change).reason == "not_found"


def test_a_new_queue_is_checked_against_the_reps() -> None:
    queue = {"name": "vip", "department": "sales", "region": "uk", "members": ["ana"],
             "required_skills": ["couture"]}  # fmt: skip
    result = refused(CreateQueue(queue))
    assert result.problems == (
        Problem("queues[2].required_skills[0]", "no member of vip has skill 'couture'"),
    )
    assert applied(CreateQueue({**queue, "required_skills": []})).target == "queue:vip"


def test_rules_are_replaced_in_order_and_a_reorder_is_one_diff_entry() -> None:
    rules = [BASE["rules"][1], BASE["rules"][0]]
    result = applied(ReplaceRules(rules))
    assert (result.action, result.target) == ("rules.replaced", "rules")
    assert result.diff == [{"path": "rules (order)", "before": ["uk", "us"], "after": ["us", "uk"]}]
    unknown = refused(ReplaceRules([{"name": "x", "queue": "nope"}], default_queue="gone"))
    assert [p.path for p in unknown.problems] == ["rules[0].queue", "default_queue"]


def test_the_same_config_again_changes_nothing() -> None:
    result = applied(ReplaceConfig(BASE, "config.reloaded"))
    assert not result.changed and result.diff == []
    assert not applied(ChangeAvailability("ana", {"online": True})).changed


def test_diff_follows_reps_and_queues_by_id_and_lists_added_and_removed_keys() -> None:
    before = {"reps": [{"id": "a", "x": 1}, {"id": "b"}], "default_queue": "q"}
    after = {"reps": [{"id": "b", "y": 2}, {"id": "c"}], "owner_match": {"by": ["company"]}}
    assert diff(before, after) == [
        {"path": "reps[a]", "before": {"id": "a", "x": 1}, "after": None},
        {"path": "reps[b].y", "before": None, "after": 2},
        {"path": "reps[c]", "before": None, "after": {"id": "c"}},
        {"path": "default_queue", "before": "q", "after": None},
        {"path": "owner_match", "before": None, "after": {"by": ["company"]}},
    ]


def test_the_file_hash_ignores_key_order_but_not_content() -> None:
    assert section_hash({"a": 1, "b": [1, 2]}) == section_hash({"b": [1, 2], "a": 1})
    assert section_hash({"a": 1}) != section_hash({"a": 2})
