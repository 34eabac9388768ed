"""The SSRF guard where the connection is made: an aiohttp resolver that hands the connector
only addresses the :class:`~shared.net.egress.EgressPolicy` allows.

Checking a URL's host name once (at config load) is not enough: its DNS answer can change
afterwards (DNS rebinding: public when checked, 127.0.0.1 when used). aiohttp connects only
to the addresses its resolver returns, so filtering them here checks the address actually
connected to, on every new connection; aiohttp's DNS cache keeps the filtered answer.
Refused addresses are dropped; when none is left, :class:`EgressRefused` (an ``OSError``,
which aiohttp wraps in ``ClientConnectorDNSError``) says why.

aiohttp does not ask the resolver about a URL whose host is an IP literal, so
:func:`literal_refusal` is the check for those; with redirects off and no proxy, the URL's
host is the only one ever connected to.
"""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from shared.net.egress import EgressPolicy, Refusal, parse_ip

log = logging.getLogger(__name__)


class EgressRefused(OSError):
    """Every address of the host is refused by the egress policy; ``str()`` says why."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message

    def __str__(self) -> str:
        return self.message


def default_port(url: str) -> int:
    """The port a URL connects to: its own, or the scheme's default."""
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def literal_refusal(policy: EgressPolicy, url: str, setting: str) -> EgressRefused | None:
    """Why the URL's host, when it is an IP literal, may not be connected to (else None)."""
    host, port = urlsplit(url).hostname or "", default_port(url)
    address = parse_ip(host)
    found = None if address is None else policy.refusal(host, address, port)
    return None if found is None else EgressRefused(found, found.message(host, port, setting))


class GuardedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver, then drops the addresses the policy refuses.

    ``setting`` names the allow-list in refusal messages (``notifier.allow_private_targets``).
    """

    def __init__(
        self, policy: EgressPolicy, setting: str, inner: AbstractResolver | None = None
    ) -> None:
        self._policy = policy
        self._setting = setting
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        allowed: list[ResolveResult] = []
        refused: list[Refusal] = []
        for answer in await self._inner.resolve(host, port, family):
            address = parse_ip(answer["host"])
            if address is None:
                continue  # never connect to what cannot be judged
            found = self._policy.refusal(host, address, port)
            if found is None:
                allowed.append(answer)
            else:
                refused.append(found)
        if not allowed and refused:
            first = refused[0]
            raise EgressRefused(first, first.message(host, port, self._setting))
        if not allowed:
            raise OSError(f"{host}: no address to connect to")
        if refused:
            skipped = ", ".join(str(r.address) for r in refused)
            log.warning("%s: connecting to its allowed addresses only; refused %s", host, skipped)
        return allowed

    async def close(self) -> None:
        await self._inner.close()
