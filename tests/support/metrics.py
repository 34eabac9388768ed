"""Reading a service's ``/metrics`` the way Prometheus would (its own text parser)."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def metric_total(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` (``…_total`` for a counter) whose labels include
    ``labels``; 0 if there are none yet."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


async def read_metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """:func:`metric_total` of the service ``client`` talks to (in-process or by URL)."""
    resp = await client.get("/metrics")
    resp.raise_for_status()
    return metric_total(resp.text, name, **labels)


async def read_metric_at(url: str, name: str, **labels: str) -> float:
    """:func:`read_metric` of the service listening at ``url``."""
    async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
        return await read_metric(client, name, **labels)
