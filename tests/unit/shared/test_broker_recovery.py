"""Rules of surviving a forgetful broker: when a broker counts as new, what may be pruned."""

from __future__ import annotations

import pytest

from shared.bus.watch import BrokerChange, BrokerView, broker_change
from shared.db.outbox import safe_offsets

WANTED = ("a", "b")


@pytest.mark.parametrize(
    ("remembered", "cluster", "topics", "expected"),
    [
        (None, "c1", {"a", "b"}, BrokerChange.FIRST_SEEN),
        (None, "c1", set(), BrokerChange.FIRST_SEEN),
        ("c1", "c1", {"a", "b", "other"}, BrokerChange.NONE),
        ("c1", "c2", {"a", "b"}, BrokerChange.NEW_CLUSTER),
        ("c1", "c2", set(), BrokerChange.NEW_CLUSTER),
        ("c1", "c1", {"a"}, BrokerChange.TOPICS_MISSING),
    ],
)
def test_a_broker_is_new_when_its_cluster_id_differs_or_our_topics_are_gone(
    remembered: str | None, cluster: str, topics: set[str], expected: BrokerChange
) -> None:
    assert broker_change(remembered, BrokerView(cluster, frozenset(topics)), WANTED) is expected


def test_a_partition_is_safe_below_the_lowest_offset_its_readers_committed() -> None:
    committed = {
        "scorer": {("t", 0): 10, ("t", 1): 4},
        "router": {("t", 0): 7, ("t", 1): 9},
    }
    readers = {"t": ("scorer", "router")}
    assert safe_offsets(committed, readers) == {("t", 0): 7, ("t", 1): 4}


def test_a_reader_that_committed_nothing_makes_nothing_safe() -> None:
    committed: dict[str, dict[tuple[str, int], int | None]] = {
        "scorer": {("t", 0): 10},
        "router": {("t", 0): None},
    }
    assert safe_offsets(committed, {"t": ("scorer", "router")}) == {("t", 0): 0}


def test_a_reader_whose_offsets_are_unknown_makes_nothing_safe() -> None:
    committed = {"scorer": {("t", 0): 10}}  # router's offsets could not be read
    assert safe_offsets(committed, {"t": ("scorer", "router")}) == {("t", 0): 0}


def test_topics_nobody_reads_get_no_safe_offset_from_groups() -> None:
    assert safe_offsets({"scorer": {("t", 0): 3}}, {"t": ()}) == {}


def test_a_group_is_behind_by_what_lies_between_its_commits_and_the_ends() -> None:
    from leadflow.recycle import lag_of

    ends = {("t", 0): 10, ("t", 1): 5, ("u", 0): 3}
    committed: dict[tuple[str, int], int | None] = {("t", 0): 10, ("t", 1): 2, ("u", 0): None}
    assert lag_of("g", committed, ends).behind == 0 + 3 + 3
