"""The SSRF guard as the notifier runs it: real DNS (``localhost``), a real receiver on
127.0.0.1, real PostgreSQL and broker.

At config load, a subscription to an internal address, or to a name resolving to one, stops
the service from starting. At delivery, the address actually connected to is checked again:
a name that looked public when the config was loaded and answers 127.0.0.1 now (DNS
rebinding) is refused, and the receiver gets nothing. The rebinding test replaces only the
config-load lookup with "what DNS answered then" (a public address); the delivery resolves
``localhost`` for real.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from starlette.applications import Starlette
from starlette.routing import Route

from services.notifier import config as notifier_config
from services.notifier.delivery import post_once
from services.notifier.domain import Subscription
from services.notifier.main import create_app
from services.notifier.store import ClaimedDelivery
from shared.config import ConfigError
from shared.net.egress import AllowEntry, EgressPolicy, IPAddress
from shared.net.lookup import Target, resolve_names
from shared.net.resolver import EgressRefused, GuardedResolver
from tests.integration.notifier.test_service import (
    SECRET,
    Receiver,
    assigned,
    notifier_settings,
    running_notifier,
    send,
    wait_for_status,
)
from tests.support.http import serving
from tests.support.kafka import Bus
from tests.support.metrics import read_metric

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SETTING = "notifier.allow_private_targets"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    async with serving(
        Starlette(routes=[Route("/hooks/{name}", rec.hook, methods=["POST"])])
    ) as server:
        rec.port = server.port
        yield rec


@pytest.fixture(autouse=True)
def crm_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subscriptions' secret, given as a deployment gives it (secrets are never inline)."""
    monkeypatch.setenv("LEADFLOW_TEST_CRM_SECRET", SECRET)


def section(url: str, allow: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "notifier": {
            "allow_private_targets": list(allow),
            "subscriptions": [
                {
                    "name": "crm",
                    "url": url,
                    "secret": "${LEADFLOW_TEST_CRM_SECRET}",
                    "events": ["lead.assigned"],
                }  # fmt: skip
            ],
        }
    }


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:{port}/hooks/crm", "127.0.0.1 is a loopback address"),
        ("http://10.0.0.1/hooks/crm", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata"),
        ("http://localhost:{port}/hooks/crm", "localhost resolves to 127.0.0.1, which is a loop"),
    ],
)
async def test_the_notifier_does_not_start_with_a_subscription_to_an_internal_address(
    database_url: str, bus: Bus, receiver: Receiver, tmp_path: Path, url: str, why: str
) -> None:
    config = section(url.format(port=receiver.port))
    with pytest.raises(ConfigError) as caught:
        create_app(notifier_settings(database_url, bus, config, tmp_path))
    assert f"notifier.subscriptions[0].url: subscription 'crm': refused: {why}" in str(caught.value)
    assert SETTING in str(caught.value)


async def test_a_name_that_resolves_to_loopback_at_delivery_is_refused_and_nothing_is_sent(
    database_url: str,
    bus: Bus,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def public_at_load(
        targets: Iterable[Target], timeout_s: float = 5.0
    ) -> tuple[dict[Target, list[IPAddress]], dict[Target, str]]:
        return {t: [ipaddress.ip_address("93.184.215.14")] for t in targets}, {}

    # What a rebinding DNS server answers first; the delivery then resolves for real.
    monkeypatch.setattr(notifier_config, "resolve_names", public_at_load)
    config = section(f"http://localhost:{receiver.port}/hooks/crm")
    async with running_notifier(database_url, bus, config, tmp_path) as notifier:
        before = await read_metric(
            notifier.http, "leadflow_webhook_refused_total", subscription="crm", kind="loopback"
        )
        event = assigned()
        await send(notifier, event)
        failed = await wait_for_status(notifier, event.lead_id, "failed")
        after = await read_metric(
            notifier.http, "leadflow_webhook_refused_total", subscription="crm", kind="loopback"
        )
    assert receiver.requests == []
    assert failed["attempts"] == 1 and failed["last_status_code"] is None
    assert failed["last_error"] == (
        "not sent: target address refused; last error: refused: localhost resolves to"
        " 127.0.0.1, which is a loopback address; allow-list it in"
        f' notifier.allow_private_targets (e.g. "127.0.0.1:{receiver.port}")'
    )
    assert after == before + 1


async def test_an_allow_listed_name_resolving_to_loopback_is_delivered(
    database_url: str, bus: Bus, receiver: Receiver, tmp_path: Path
) -> None:
    config = section(
        f"http://localhost:{receiver.port}/hooks/crm", allow=[f"127.0.0.1:{receiver.port}"]
    )
    async with running_notifier(database_url, bus, config, tmp_path) as notifier:
        event = assigned()
        await send(notifier, event)
        await wait_for_status(notifier, event.lead_id, "delivered")
    assert [r.path for r in receiver.requests] == ["/hooks/crm"]


def _claimed() -> ClaimedDelivery:
    return ClaimedDelivery(
        delivery_id="3b0e5c1e-0000-4000-8000-000000000001",
        subscription="crm",
        event_id="e-1",
        event_type="io.leadflow.lead.assigned.v1",
        lead_id="lead-1",
        body=b"{}",
        attempts=1,
        round_start=1,
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_the_worker_connects_only_to_checked_addresses(receiver: Receiver, host: str) -> None:
    """A literal IP (which aiohttp never gives its resolver) and a name are both refused by
    the worker's own client, and allowed once the allow-list covers them."""
    sub = Subscription(
        name="crm",
        url=f"http://{host}:{receiver.port}/hooks/crm",
        secret=SECRET,
        event_types=frozenset({"io.leadflow.lead.assigned.v1"}),
    )
    allowed = EgressPolicy((AllowEntry.parse(f"127.0.0.1:{receiver.port}"),))
    for policy, refused in ((EgressPolicy(), "loopback"), (allowed, None)):
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(policy, SETTING))
        async with aiohttp.ClientSession(connector=connector) as client:
            record = await post_once(client, sub, _claimed(), policy)
        assert record.refused == refused
        if refused:
            assert record.error is not None and record.error.startswith("refused: ")
    assert [r.path for r in receiver.requests] == ["/hooks/crm"]  # only the allowed one


async def test_the_guarded_resolver_refuses_when_every_address_is_refused() -> None:
    resolver = GuardedResolver(EgressPolicy(), SETTING)
    try:
        with pytest.raises(EgressRefused, match="localhost resolves to 127.0.0.1"):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


class ScriptedDns(AbstractResolver):
    """A DNS answer as a rebinding server might give it: the listed addresses, in order."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


async def test_the_guarded_resolver_keeps_only_the_allowed_addresses_of_a_mixed_answer() -> None:
    dns = ScriptedDns("127.0.0.1", "93.184.215.14", "169.254.169.254")
    resolver = GuardedResolver(EgressPolicy(), SETTING, inner=dns)
    assert [a["host"] for a in await resolver.resolve("crm.example.com", 443)] == ["93.184.215.14"]


def test_names_are_looked_up_at_load_and_a_name_that_does_not_resolve_is_reported() -> None:
    resolved, failed = resolve_names([("localhost", 80), ("nowhere.invalid", 443)], timeout_s=10)
    assert ipaddress.ip_address("127.0.0.1") in resolved[("localhost", 80)]
    assert set(failed) == {("nowhere.invalid", 443)}
