"""Watching the broker: is it there, and is it still the broker we published to?

Every ``interval_s`` the watch asks the broker for its cluster id and its topics (two small
metadata requests, ~0.2 ms each on the embedded broker). From that it keeps:

- **reachability** for ``/readyz`` — the broker answered within the grace period;
- **the broker's identity.** A broker that comes back with another cluster id (the embedded
  one gets a new id at each start, because it keeps nothing on disk) or without our topics
  has forgotten what we published. The watch then holds publishing and consuming back
  (``settled`` is cleared), lets the service recover (re-create the topics, queue the
  retained outbox again: ``shared.recovery``), and only then lets them go on.

A real Kafka cluster keeps its id and its topics, so on Kafka this never fires, however
often brokers restart: nothing is republished needlessly.

While the broker does not answer, ``settled`` is cleared too, so a consumer stops fetching;
when it answers again under a new id, the consumer reconnects before its first fetch, instead
of reading the new broker's log from a position that only meant something on the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from shared.observability import metrics
from shared.periodic import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerView:
    """What one look at the broker saw."""

    cluster_id: str
    topics: frozenset[str]


class BrokerChange(enum.Enum):
    NONE = "none"
    FIRST_SEEN = "first_seen"  # nothing remembered yet: adopt this broker
    NEW_CLUSTER = "new_cluster"  # another cluster id than the one we published to
    TOPICS_MISSING = "topics_missing"  # same id, but topics we need are gone


def broker_change(remembered: str | None, view: BrokerView, wanted: Iterable[str]) -> BrokerChange:
    """How the broker seen now differs from the one remembered (a stored cluster id)."""
    if remembered is None:
        return BrokerChange.FIRST_SEEN
    if view.cluster_id != remembered:
        return BrokerChange.NEW_CLUSTER
    if not set(wanted) <= view.topics:
        return BrokerChange.TOPICS_MISSING
    return BrokerChange.NONE


Recover = Callable[[BrokerView], Awaitable[None]]  # the view of a broker not yet adopted


class BrokerWatch:
    """Polls the broker; calls ``recover`` whenever it is new or its topics are missing."""

    def __init__(
        self,
        bootstrap: str,
        wanted_topics: Iterable[str],
        recover: Recover,
        *,
        interval_s: float = 0.5,
        timeout_s: float = 2.0,
    ) -> None:
        self._bootstrap = bootstrap
        self._wanted = frozenset(wanted_topics)
        self._recover = recover
        self._interval = interval_s
        self._timeout = timeout_s
        self._admin: AIOKafkaAdminClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        self._last_ok = 0.0
        self.cluster_id: str | None = None  # of the broker recovered onto; None before that

    # -- what others read ----------------------------------------------------------------
    @property
    def settled(self) -> bool:
        """The broker answers, is the one we recovered onto, and has our topics."""
        return self._settled.is_set()

    async def wait_settled(self) -> None:
        """The publishers' gate: wait until the broker is settled."""
        await self._settled.wait()

    def reachable(self, grace_s: float) -> bool:
        return time.monotonic() - self._last_ok <= grace_s

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        job = Job("broker watch", self._interval, self._look_or_hold)
        self._task = asyncio.create_task(job.run_forever(None), name="broker-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        await self._close_admin()

    async def _look_or_hold(self, _: None) -> None:
        """A look; one that fails holds consumers and publishers until a look succeeds."""
        try:
            await self.look_once()
        except Exception:
            self._settled.clear()
            raise

    async def look_once(self) -> None:
        """Look at the broker once and act on what it shows."""
        view = await self._look()
        if view is None:
            if self._settled.is_set():
                log.warning("broker %s does not answer; holding consumers", self._bootstrap)
            self._settled.clear()
            metrics.broker_reachable.set(0)
            return
        self._last_ok = time.monotonic()
        metrics.broker_reachable.set(1)
        change = broker_change(self.cluster_id, view, self._wanted)
        if change is not BrokerChange.NONE:
            self._settled.clear()
            if change is not BrokerChange.FIRST_SEEN:
                log.warning(
                    "broker %s changed (%s: cluster %s -> %s); recovering",
                    self._bootstrap,
                    change.value,
                    self.cluster_id,
                    view.cluster_id,
                )
            await self._recover(view)
            self.cluster_id = view.cluster_id
        self._settled.set()

    async def _look(self) -> BrokerView | None:
        try:
            admin = await self._connected_admin()
            described = await asyncio.wait_for(admin.describe_cluster(), self._timeout)
            topics = await asyncio.wait_for(admin.list_topics(), self._timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.debug("broker look failed: %s", exc)
            await self._close_admin()  # a fresh client after an outage, not a stale one
            return None
        return BrokerView(str(described["cluster_id"]), frozenset(topics))

    async def _connected_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap,
                client_id="leadflow-watch",
                request_timeout_ms=int(self._timeout * 1000),
            )
            try:
                await asyncio.wait_for(admin.start(), self._timeout)
            except BaseException:
                with contextlib.suppress(Exception):
                    await admin.close()
                raise
            self._admin = admin
        return self._admin

    async def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
