"""Resolve host names once, with a deadline: the config-load side of the SSRF guard.

A name that cannot be resolved now is not an error (it may resolve later, and delivery
checks every connection again, see :mod:`shared.net.resolver`); it is reported so the
caller can warn. Names are looked up in parallel threads, and the whole lookup gives up
after ``timeout_s``, so a slow DNS server cannot hold a service's start for long.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait

from shared.net.egress import IPAddress, parse_ip

Target = tuple[str, int]  # (host name, port)


def _addresses(target: Target) -> list[IPAddress]:
    host, port = target
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found = (parse_ip(str(info[4][0])) for info in infos)
    return list(dict.fromkeys(a for a in found if a is not None))


def resolve_names(
    targets: Iterable[Target], timeout_s: float = 5.0
) -> tuple[dict[Target, list[IPAddress]], dict[Target, str]]:
    """The addresses each (host, port) resolves to, and why the others did not resolve."""
    todo = list(dict.fromkeys(targets))
    resolved: dict[Target, list[IPAddress]] = {}
    failed: dict[Target, str] = {}
    if not todo:
        return resolved, failed
    pool = ThreadPoolExecutor(max_workers=min(len(todo), 8), thread_name_prefix="lookup")
    try:
        futures = {pool.submit(_addresses, t): t for t in todo}
        wait(futures, timeout=timeout_s)
        for future, target in futures.items():
            if not future.done():
                failed[target] = f"no answer within {timeout_s:g}s"
            elif (exc := future.exception()) is not None:
                failed[target] = str(exc) or type(exc).__name__
            else:
                resolved[target] = future.result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return resolved, failed
