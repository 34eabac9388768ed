"""What one message costs the embedded broker (Tansu), and how that grows with what it holds.

``python -m leadflow.bench.broker_probe`` starts a Tansu broker of its own on a free port and
prints the broker's CPU per message produced to an empty topic (one 1 KB record at a time,
``acks=all``, at 100 messages/s, as services publishing small batches do) with 0, 1 and 4
consumer groups reading the topic like the services' consumers (``fetch_max_wait_ms=10``),
then again after 50,000 more messages were stored in that topic. docs/performance.md quotes
its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from leadflow.bench.resources import Watched, cpu_seconds
from leadflow.embedded import EmbeddedKafka, free_port
from shared.bus.admin import ensure_topics_with_retry

PAYLOAD = b"x" * 1000


async def _cpu_ms_per_message(
    broker: Watched, producer: AIOKafkaProducer, topic: str, rate: float, seconds: float
) -> float:
    before, started, sent = cpu_seconds(broker) or 0.0, time.time(), 0
    while time.time() - started < seconds:
        await producer.send_and_wait(topic, PAYLOAD, key=str(sent).encode())
        sent += 1
        await asyncio.sleep(max(0.0, started + sent / rate - time.time()))
    return 1000 * ((cpu_seconds(broker) or 0.0) - before) / sent


async def _fill(producer: AIOKafkaProducer, topic: str, count: int) -> None:
    for _ in range(0, count, 1000):
        await asyncio.gather(*[await producer.send(topic, PAYLOAD) for _ in range(1000)])


async def probe(rate: float, seconds: float, fill: int) -> None:
    with TemporaryDirectory() as home:
        kafka = EmbeddedKafka(free_port(), Path(home) / "broker.log")
        bootstrap = kafka.start()
        try:
            assert kafka.pid is not None
            broker = Watched("broker", kafka.pid)
            topics = {groups: f"probe-{groups}" for groups in (0, 1, 4)}  # each starts empty
            await ensure_topics_with_retry(bootstrap, topics.values(), 2, 1, timeout=30)
            producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=1)
            await producer.start()
            try:
                for groups, topic in topics.items():
                    async with _readers(bootstrap, topic, groups):
                        fresh = await _cpu_ms_per_message(broker, producer, topic, rate, seconds)
                        await _fill(producer, topic, fill)
                        full = await _cpu_ms_per_message(broker, producer, topic, rate, seconds)
                    print(
                        f"{groups} consumer group(s): {fresh:.2f} ms of broker CPU per message,"
                        f" {full:.2f} ms after {fill:,} more messages were stored",
                        flush=True,
                    )
            finally:
                await producer.stop()
        finally:
            kafka.stop()


class _readers:
    """``groups`` consumer groups draining ``topic`` for as long as the block runs."""

    def __init__(self, bootstrap: str, topic: str, groups: int) -> None:
        self._consumers = [
            AIOKafkaConsumer(
                topic,
                bootstrap_servers=bootstrap,
                group_id=f"{topic}-{g}",
                fetch_max_wait_ms=10,
                auto_offset_reset="latest",
            )
            for g in range(groups)
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> None:
        for consumer in self._consumers:
            await consumer.start()
            self._tasks.append(asyncio.create_task(_drain(consumer)))
        if self._consumers:
            await asyncio.sleep(8)  # the group joins (the embedded broker holds them a while)

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        for consumer in self._consumers:
            await consumer.stop()


async def _drain(consumer: AIOKafkaConsumer) -> None:
    while True:
        await consumer.getmany(timeout_ms=200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--fill", type=int, default=50_000, help="messages stored in between")
    args = parser.parse_args()
    asyncio.run(probe(args.rate, args.seconds, args.fill))


if __name__ == "__main__":
    main()
