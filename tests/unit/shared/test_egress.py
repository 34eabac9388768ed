"""The SSRF guard's rule: which addresses outbound calls may reach, and the allow-list."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.net.egress import (
    LINK_LOCAL,
    LOOPBACK,
    METADATA,
    MULTICAST,
    PRIVATE,
    RESERVED,
    SHARED,
    UNSPECIFIED,
    AllowEntry,
    EgressPolicy,
    classify,
)

SETTING = "notifier.allow_private_targets"


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", LOOPBACK),
        ("127.255.0.9", LOOPBACK),
        ("::1", LOOPBACK),
        ("10.0.0.1", PRIVATE),
        ("172.16.0.1", PRIVATE),
        ("172.31.255.254", PRIVATE),
        ("192.168.1.1", PRIVATE),
        ("fd12:3456::1", PRIVATE),
        ("fc00::1", PRIVATE),
        ("169.254.0.1", LINK_LOCAL),
        ("fe80::1", LINK_LOCAL),
        ("fe80::1%eth0", LINK_LOCAL),
        ("169.254.169.254", METADATA),
        ("fd00:ec2::254", METADATA),
        ("100.100.100.200", METADATA),
        ("168.63.129.16", METADATA),
        ("100.64.0.1", SHARED),
        ("100.127.255.254", SHARED),
        ("0.0.0.0", UNSPECIFIED),
        ("::", UNSPECIFIED),
        ("224.0.0.1", MULTICAST),
        ("ff02::1", MULTICAST),
        ("255.255.255.255", RESERVED),
        ("240.0.0.1", RESERVED),
        ("192.0.2.10", RESERVED),
        ("198.18.0.1", RESERVED),
        ("2001:db8::1", RESERVED),
        ("2001::1", RESERVED),  # Teredo
        ("4000::1", RESERVED),  # outside global unicast 2000::/3
    ],
)
def test_internal_addresses_are_refused_by_kind(address: str, kind: str) -> None:
    found = classify(ip(address))
    assert found is not None and found.kind == kind


@pytest.mark.parametrize(
    ("address", "kind", "carried"),
    [
        ("::ffff:127.0.0.1", LOOPBACK, "127.0.0.1"),
        ("::ffff:169.254.169.254", METADATA, "169.254.169.254"),
        ("::ffff:10.0.0.1", PRIVATE, "10.0.0.1"),
        ("64:ff9b::7f00:1", LOOPBACK, "127.0.0.1"),  # NAT64
        ("2002:a00:1::1", PRIVATE, "10.0.0.1"),  # 6to4
    ],
)
def test_ipv6_forms_of_an_ipv4_address_are_judged_by_the_address_inside(
    address: str, kind: str, carried: str
) -> None:
    found = classify(ip(address))
    assert found is not None and (found.kind, str(found.carried)) == (kind, carried)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify(ip(address)) is None


@given(st.ip_addresses(v=4, network="127.0.0.0/8") | st.ip_addresses(v=4, network="10.0.0.0/8"))
def test_every_loopback_and_ten_slash_eight_address_is_refused_also_as_ipv4_mapped(
    address: ipaddress.IPv4Address,
) -> None:
    assert classify(address) is not None
    assert classify(ipaddress.IPv6Address(f"::ffff:{address}")) is not None


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_and_its_mapped_ipv6_form_get_the_same_verdict(
    address: ipaddress.IPv4Address,
) -> None:
    plain, mapped = classify(address), classify(ipaddress.IPv6Address(f"::ffff:{address}"))
    assert (plain and plain.kind) == (mapped and mapped.kind)


@given(st.ip_addresses())
def test_an_address_python_calls_private_or_non_global_is_never_allowed(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    if address.is_private or not address.is_global:
        assert classify(address) is not None


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("10.1.0.0/16", "10.1.0.0/16"),
        ("fd00::/8", "fd00::/8"),
        ("10.1.2.3", "10.1.2.3"),
        ("::1", "::1"),
        ("127.0.0.1:8099", "127.0.0.1:8099"),
        ("[::1]:8099", "[::1]:8099"),
        ("[::1]", "::1"),
        ("CRM.Internal.", "crm.internal"),
        ("crm.internal:8443", "crm.internal:8443"),
        ("hooks-svc", "hooks-svc"),
    ],
)
def test_allow_list_entries_are_networks_addresses_or_host_names(text: str, shown: str) -> None:
    assert str(AllowEntry.parse(text)) == shown


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "must be an address, network or host name"),
        ("foo bar", "is not an address, network or host name"),
        ("10.1.2.3/16", "did you mean 10.1.0.0/16?"),
        ("10.0.0.0/33", "is not a network in CIDR notation"),
        ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("127.0.0.1:99999", "the port must be a number from 1 to 65535"),
        ("crm.internal:http", "the port must be a number from 1 to 65535"),
        ("[::1]8099", "write an IPv6 address with a port as [::1]:8099"),
        ("[crm.internal]:80", "is not an address, network or host name"),
    ],
)
def test_a_malformed_allow_list_entry_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("?", r"\?")):
        AllowEntry.parse(text)


@pytest.mark.parametrize(
    ("entries", "host", "address", "port", "allowed"),
    [
        ((), "127.0.0.1", "127.0.0.1", 8099, False),
        (("127.0.0.1:8099",), "127.0.0.1", "127.0.0.1", 8099, True),
        (("127.0.0.1:8099",), "127.0.0.1", "127.0.0.1", 8100, False),  # another port
        (("127.0.0.1:8099",), "localhost", "127.0.0.1", 8099, True),  # by the address
        (("127.0.0.1:8099",), "localhost", "::ffff:127.0.0.1", 8099, True),
        (("127.0.0.1",), "127.0.0.1", "127.0.0.1", 1, True),
        (("10.1.0.0/16",), "crm.internal", "10.1.200.3", 443, True),
        (("10.1.0.0/16",), "crm.internal", "10.2.0.3", 443, False),
        (("crm.internal",), "crm.internal", "10.9.9.9", 443, True),
        (("crm.internal",), "CRM.internal.", "10.9.9.9", 443, True),
        (("crm.internal:8443",), "crm.internal", "10.9.9.9", 443, False),
        (("crm.internal",), "evil.example", "10.9.9.9", 443, False),
        (("::1",), "localhost", "::1", 80, True),
        (("::1",), "localhost", "127.0.0.1", 80, False),  # another family
        ((), "example.com", "93.184.215.14", 443, True),  # public needs no entry
    ],
)
def test_the_policy_lets_internal_addresses_through_only_when_an_entry_covers_them(
    entries: tuple[str, ...], host: str, address: str, port: int, allowed: bool
) -> None:
    policy = EgressPolicy(tuple(AllowEntry.parse(e) for e in entries))
    assert (policy.refusal(host, ip(address), port) is None) is allowed


@pytest.mark.parametrize(
    ("host", "address", "port", "message"),
    [
        (
            "127.0.0.1",
            "127.0.0.1",
            8099,
            "refused: 127.0.0.1 is a loopback address; allow-list it in"
            ' notifier.allow_private_targets (e.g. "127.0.0.1:8099")',
        ),
        (
            "localhost",
            "127.0.0.1",
            443,
            "refused: localhost resolves to 127.0.0.1, which is a loopback address; allow-list"
            ' it in notifier.allow_private_targets (e.g. "127.0.0.1:443")',
        ),
        (
            "::ffff:10.0.0.1",
            "::ffff:10.0.0.1",
            80,
            "refused: ::ffff:10.0.0.1 is a private address; allow-list it in"
            ' notifier.allow_private_targets (e.g. "10.0.0.1:80")',
        ),
        (
            "fd00::1",
            "fd00::1",
            80,
            "refused: fd00::1 is a private address; allow-list it in"
            ' notifier.allow_private_targets (e.g. "[fd00::1]:80")',
        ),
        (
            "169.254.169.254",
            "169.254.169.254",
            80,
            "refused: 169.254.169.254 is a cloud metadata address; allow-list it in"
            " notifier.allow_private_targets",
        ),
        (
            "0.0.0.0",
            "0.0.0.0",
            80,
            "refused: 0.0.0.0 is an unspecified address; allow-list it in"
            ' notifier.allow_private_targets (e.g. "0.0.0.0:80")',
        ),
    ],
)
def test_a_refusal_names_the_address_its_kind_and_the_entry_that_would_allow_it(
    host: str, address: str, port: int, message: str
) -> None:
    found = classify(ip(address))
    assert found is not None
    assert found.message(host, port, SETTING) == message
