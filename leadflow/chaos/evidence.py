"""Reading what came out, from the services' own APIs (with the tool's API key) and the
demo receiver's tally (without it: the receiver is not Leadflow's and needs none)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from leadflow.chaos.proof import DECIDED, Evidence
from shared.contracts.topics import all_topics


class Collector:
    """Keeps what it has learnt between rounds: a decided lead is not asked for again until
    the final round, which asks everything once more (a double shows up late)."""

    def __init__(
        self, urls: dict[str, str], receiver_url: str, acknowledged: Iterable[str], api_key: str
    ) -> None:
        self.urls = urls
        self._auth = bearer(api_key)
        self.receiver_url = receiver_url
        self.acknowledged = frozenset(acknowledged)
        self.decisions: dict[str, str] = {}
        self.enrollments: dict[str, int] = {}
        self.webhooks: dict[str, dict[str, int]] = {}
        self.rejected = 0
        self._client = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=32))
        self._gate = asyncio.Semaphore(32)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def collect(self, final: bool = False) -> Evidence:
        """One round; a service that does not answer just leaves its leads unknown."""
        todo = [
            lead for lead in self.acknowledged if final or self.decisions.get(lead) not in DECIDED
        ]
        await asyncio.gather(*(self._decision(lead) for lead in todo))
        nurtured = [
            lead
            for lead, s in self.decisions.items()
            if s == "nurture" and (final or not self.enrollments.get(lead))
        ]
        await asyncio.gather(*(self._enrollments(lead) for lead in nurtured))
        await self._tally()
        return Evidence(self.acknowledged, dict(self.decisions), self.webhooks, self.enrollments)

    async def _get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response | None:
        async with self._gate:
            try:
                return await self._client.get(url, headers=headers)
            except httpx.HTTPError:
                return None

    async def _decision(self, lead: str) -> None:
        resp = await self._get(f"{self.urls['router']}/v1/leads/{lead}/assignment", self._auth)
        if resp is not None and resp.status_code == 200:
            self.decisions[lead] = str(resp.json()["status"])

    async def _enrollments(self, lead: str) -> None:
        resp = await self._get(f"{self.urls['nurture']}/v1/leads/{lead}/nurture", self._auth)
        if resp is not None and resp.status_code in (200, 404):
            self.enrollments[lead] = (
                len(resp.json()["enrollments"]) if resp.status_code == 200 else 0
            )

    async def _tally(self) -> None:
        resp = await self._get(f"{self.receiver_url}/tally")
        if resp is not None and resp.status_code == 200:
            body = resp.json()
            self.webhooks = body["by_type"].get("lead.assigned", {})
            self.rejected = int(body["rejected"])


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


async def dead_letter_counters(urls: dict[str, str], api_key: str) -> dict[str, float]:
    """``leadflow_dead_letters_total`` of every service (counted since its last start; the
    key is for a deployment that sets ``LEADFLOW_METRICS_REQUIRE_KEY``)."""
    out: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=5, headers=bearer(api_key)) as client:
        for name, url in urls.items():
            try:
                text = (await client.get(f"{url}/metrics")).text
            except httpx.HTTPError:
                continue
            out[name] = sum(
                s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name == "leadflow_dead_letters_total"
            )
    return out


async def dead_letter_records(bootstrap: str) -> dict[str, int]:
    """Records in each ``leadflow.dlq.*`` topic (since the broker's last start: the embedded
    broker keeps nothing across a restart)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        out: dict[str, int] = {}
        existing = await consumer.topics()  # also loads every topic's partitions
        for topic in (t for t in all_topics() if t.startswith("leadflow.dlq.")):
            parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
            if topic in existing and parts:
                begin = await consumer.beginning_offsets(parts)
                end = await consumer.end_offsets(parts)
                out[topic] = sum(end[p] - begin[p] for p in parts)
        return out
    finally:
        await consumer.stop()


def as_text(values: dict[str, Any]) -> str:
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )
