"""When a background consumer applies what it has fetched: once the stream goes quiet.

A read model (insights) shares the machine, the database and the broker with the services
on the latency path. Applying each batch as it arrives makes it compete with them exactly
while leads are flowing, and on a small machine that costs the path latency even at idle
CPU priority (docs/performance.md). Fetching costs next to nothing; applying is the work.
So such a consumer holds what it fetches and applies it:

- once nothing new has arrived for ``quiet_s`` (the burst of leads is over),
- or once the oldest held record has waited ``max_hold_s`` (figures are never staler than
  that, whatever the load),
- or once ``max_held`` records are held (memory stays bounded).

Offsets are committed only for what has been applied, so a crash while holding loses
nothing: the held records are fetched again and the inbox keeps them from counting twice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


@dataclass(frozen=True)
class Settling:
    quiet_s: float
    max_hold_s: float
    max_held: int

    def __post_init__(self) -> None:
        if self.quiet_s < 0 or self.max_hold_s < 0 or self.max_held < 1:
            raise ValueError(f"invalid settling policy: {self}")

    @property
    def holds(self) -> bool:
        """False when it would apply every batch as it comes (quiet_s or max_hold_s is 0)."""
        return self.quiet_s > 0 and self.max_hold_s > 0


def apply_due(
    policy: Settling | None, *, now: float, held: int, first_held_at: float, last_arrival_at: float
) -> bool:
    """Whether the held records should be applied now (times on one monotonic clock)."""
    if held == 0:
        return False
    if policy is None or not policy.holds:
        return True
    return (
        held >= policy.max_held
        or now - last_arrival_at >= policy.quiet_s
        or now - first_held_at >= policy.max_hold_s
    )


def wait_s(policy: Settling | None, *, now: float, held: int, first_held_at: float,
           last_arrival_at: float, poll_s: float) -> float:  # fmt: skip
    """How long the next fetch may wait for records before the held ones fall due."""
    if held == 0 or policy is None or not policy.holds:
        return poll_s
    due_in = min(last_arrival_at + policy.quiet_s, first_held_at + policy.max_hold_s) - now
    return max(0.0, min(poll_s, due_in))


class _Record(Protocol):
    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...


R = TypeVar("R", bound=_Record)


@dataclass
class Held(Generic[R]):
    """Records fetched and not yet applied, in fetch order, with when they came."""

    policy: Settling | None
    records: list[R] = field(default_factory=list)
    first_held_at: float = 0.0
    last_arrival_at: float = 0.0

    def add(self, records: Iterable[R], now: float) -> None:
        before = len(self.records)
        self.records.extend(records)
        if len(self.records) > before:
            if before == 0:
                self.first_held_at = now
            self.last_arrival_at = now

    def due(self, now: float) -> bool:
        return apply_due(self.policy, now=now, held=len(self.records),
                         first_held_at=self.first_held_at,
                         last_arrival_at=self.last_arrival_at)  # fmt: skip

    def wait_s(self, now: float, poll_s: float) -> float:
        return wait_s(self.policy, now=now, held=len(self.records),
                      first_held_at=self.first_held_at, last_arrival_at=self.last_arrival_at,
                      poll_s=poll_s)  # fmt: skip

    def take(self) -> list[R]:
        """All held records, leaving none held."""
        taken, self.records = self.records, []
        return taken

    def drop(self, partitions: Collection[tuple[str, int]] | None = None) -> None:
        """Forget the records of these (topic, partition) pairs, or of all: another consumer
        (after a rebalance) or a new broker will deliver them again."""
        if partitions is None:
            self.records = []
        else:
            self.records = [r for r in self.records if (r.topic, r.partition) not in partitions]

    def count_by_topic(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.records:
            counts[r.topic] = counts.get(r.topic, 0) + 1
        return counts
