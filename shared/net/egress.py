"""Which addresses an outbound call may connect to: the rule behind the SSRF guard.

A URL someone else configured (a webhook subscription) must not turn Leadflow into a proxy
into its own network: loopback, private (RFC 1918, fc00::/7), link-local, carrier-grade NAT,
multicast, unspecified and reserved addresses, and the cloud metadata endpoints
(169.254.169.254, fd00:ec2::254, 100.100.100.200, 168.63.129.16), are refused, unless an
operator allow-lists them. IPv6 forms that carry an IPv4 address (IPv4-mapped
``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``) are judged by the IPv4
address inside; Teredo (``2001::/32``, inside the reserved ``2001::/23``) is refused.

The table is explicit rather than ``ipaddress.is_private``/``is_global``, whose ranges
differ between Python versions; anything else that is not globally routable is refused as
reserved. Pure: no sockets, no DNS (the caller resolves and passes the addresses in).

Allow-list entries (:class:`AllowEntry`):

- ``10.1.0.0/16``, ``fd00::/8``: a network, any port;
- ``10.1.2.3``, ``::1``: one address, any port; ``127.0.0.1:8099``, ``[::1]:8099``: one port;
- ``crm.internal``, ``crm.internal:8443``: a host name as written in the URL, whatever it
  resolves to (the operator vouches for that name's DNS).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TypeAlias

IPAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK = "loopback"
PRIVATE = "private"
LINK_LOCAL = "link-local"
METADATA = "cloud metadata"
UNSPECIFIED = "unspecified"
MULTICAST = "multicast"
RESERVED = "reserved"
SHARED = "carrier-grade NAT"

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# First match wins, so the metadata addresses come before the ranges that hold them.
_REFUSED_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("169.254.169.254/32"), METADATA),  # AWS, GCP, Azure, OpenStack, DigitalOcean
    (_V4("100.100.100.200/32"), METADATA),  # Alibaba Cloud
    (_V4("168.63.129.16/32"), METADATA),  # Azure platform (WireServer)
    (_V4("0.0.0.0/8"), UNSPECIFIED),
    (_V4("127.0.0.0/8"), LOOPBACK),
    (_V4("10.0.0.0/8"), PRIVATE),
    (_V4("172.16.0.0/12"), PRIVATE),
    (_V4("192.168.0.0/16"), PRIVATE),
    (_V4("100.64.0.0/10"), SHARED),
    (_V4("169.254.0.0/16"), LINK_LOCAL),
    (_V4("224.0.0.0/4"), MULTICAST),
    (_V4("192.0.0.0/24"), RESERVED),  # IETF protocol assignments
    (_V4("192.0.2.0/24"), RESERVED),  # documentation
    (_V4("198.51.100.0/24"), RESERVED),
    (_V4("203.0.113.0/24"), RESERVED),
    (_V4("198.18.0.0/15"), RESERVED),  # benchmarking
    (_V4("240.0.0.0/4"), RESERVED),  # includes 255.255.255.255
)
_REFUSED_V6: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("fd00:ec2::254/128"), METADATA),  # AWS IMDS over IPv6
    (_V6("::/128"), UNSPECIFIED),
    (_V6("::1/128"), LOOPBACK),
    (_V6("fc00::/7"), PRIVATE),  # unique local
    (_V6("fec0::/10"), PRIVATE),  # site-local (deprecated)
    (_V6("64:ff9b:1::/48"), PRIVATE),  # local-use NAT64
    (_V6("fe80::/10"), LINK_LOCAL),
    (_V6("ff00::/8"), MULTICAST),
    (_V6("2001::/23"), RESERVED),  # IETF protocol assignments, Teredo (hides an IPv4)
    (_V6("2001:db8::/32"), RESERVED),  # documentation
    (_V6("3fff::/20"), RESERVED),  # documentation (RFC 9637)
)
_GLOBAL_UNICAST_V6 = _V6("2000::/3")
_NAT64 = _V6("64:ff9b::/96")
_ARTICLE = {UNSPECIFIED: "an"}


@dataclass(frozen=True)
class Refusal:
    """Why an address may not be connected to: its ``kind`` (loopback, private, ...), and
    the IPv4 address it carries when it is an IPv6 form of one."""

    address: IPAddress
    kind: str
    carried: ipaddress.IPv4Address | None = None

    def describe(self) -> str:
        """``127.0.0.1 is a loopback address``, the way an error message says it."""
        inside = f" (it carries IPv4 {self.carried})" if self.carried else ""
        shown = str(self.address)
        if isinstance(self.address, ipaddress.IPv6Address) and self.address.ipv4_mapped:
            shown, inside = f"::ffff:{self.address.ipv4_mapped}", ""
        return f"{shown} is {_ARTICLE.get(self.kind, 'a')} {self.kind} address{inside}"

    def message(self, host: str, port: int, setting: str) -> str:
        """The whole refusal, naming the host as written, and the allow-list entry that
        would let it through: ``refused: localhost resolves to 127.0.0.1, which is a
        loopback address; allow-list it in <setting> (e.g. "127.0.0.1:8099")``."""
        what = self.describe()
        if parse_ip(host) is None:
            what = f"{host} resolves to {what.replace(' is ', ', which is ', 1)}"
        address = self.address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        entry = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
        example = "" if self.kind == METADATA else f' (e.g. "{entry}")'
        return f"refused: {what}; allow-list it in {setting}{example}"


def carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, NAT64 or 6to4."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def classify(address: IPAddress) -> Refusal | None:
    """Refused when not a public unicast address (see the module docstring); None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = carried_ipv4(address)
        if inner is not None:
            found = classify(inner)
            return Refusal(address, found.kind, inner) if found else None
        address = (
            address
            if address.scope_id is None
            else ipaddress.IPv6Address(str(address).split("%")[0])
        )
        for network, kind in _REFUSED_V6:
            if address in network:
                return Refusal(address, kind)
        if address not in _GLOBAL_UNICAST_V6:
            return Refusal(address, RESERVED)
    else:
        for network4, kind in _REFUSED_V4:
            if address in network4:
                return Refusal(address, kind)
    # Belt and braces: whatever else this Python's table calls not global.
    return None if address.is_global else Refusal(address, RESERVED)


def parse_ip(text: str) -> IPAddress | None:
    """``text`` as an IP address (brackets and an IPv6 zone allowed), or None if it is not one."""
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def normal_host(host: str) -> str:
    """A host name the way it is compared: lower case, no trailing dot, IDNA (punycode)."""
    name = host.strip().rstrip(".").lower()
    try:
        return name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return name


_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)
_EXAMPLES = "e.g. 127.0.0.1:8099, 10.1.0.0/16, [::1]:8099, crm.internal:8443"


@dataclass(frozen=True)
class AllowEntry:
    """One allow-list entry: a network (a single address is a /32 or /128), or a host name
    as written in URLs; optionally one port."""

    network: IPNetwork | None = None
    host: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        """Read ``10.1.0.0/16``, ``10.1.2.3``, ``127.0.0.1:8099``, ``[::1]:8099``, ``::1``,
        ``crm.internal`` or ``crm.internal:8443``; ValueError says what is wrong."""
        raw = text.strip() if isinstance(text, str) else ""
        if not raw:
            raise ValueError(f"an entry must be an address, network or host name ({_EXAMPLES})")
        if "/" in raw:
            try:
                return cls(network=ipaddress.ip_network(raw, strict=True))
            except ValueError as exc:
                hint = ""
                try:
                    hint = f"; did you mean {ipaddress.ip_network(raw, strict=False)}?"
                except ValueError:
                    pass
                raise ValueError(
                    f"{raw!r} is not a network in CIDR notation ({exc}){hint}"
                    " (a network entry takes no port)"
                ) from None
        address = parse_ip(raw) if raw.count(":") != 1 and not raw.startswith("[") else None
        if address is not None:
            return cls(network=ipaddress.ip_network(address))
        host, port = _split_port(raw)
        address = parse_ip(host)
        if address is not None:
            return cls(network=ipaddress.ip_network(address), port=port)
        name = normal_host(host)
        if raw.startswith("[") or not _HOST_NAME.match(name):
            raise ValueError(f"{raw!r} is not an address, network or host name ({_EXAMPLES})")
        return cls(host=name, port=port)

    def allows(self, host: str, address: IPAddress, port: int) -> bool:
        """The entry covers a connection to ``address``:``port`` made for URL host ``host``."""
        if self.port is not None and self.port != port:
            return False
        if self.host is not None:
            return normal_host(host) == self.host
        assert self.network is not None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.version != self.network.version:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
        return address in self.network

    def __str__(self) -> str:
        where = str(self.network) if self.network is not None else str(self.host)
        if self.network is not None and self.network.num_addresses == 1:
            where = str(self.network.network_address)
            if self.port is not None and self.network.version == 6:
                where = f"[{where}]"
        return where if self.port is None else f"{where}:{self.port}"


def _split_port(raw: str) -> tuple[str, int | None]:
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{raw!r}: write an IPv6 address with a port as [::1]:8099")
        return host, _port(raw, rest[1:]) if rest else None
    host, sep, port_text = raw.rpartition(":")
    return (host, _port(raw, port_text)) if sep else (raw, None)


def _port(raw: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{raw!r}: the port must be a number from 1 to 65535")
    return int(text)


@dataclass(frozen=True)
class EgressPolicy:
    """Public addresses are always allowed; the others only when an entry allows them."""

    allow: tuple[AllowEntry, ...] = ()

    def refusal(self, host: str, address: IPAddress, port: int) -> Refusal | None:
        """Why a connection to ``address``:``port`` for URL host ``host`` is refused, or None."""
        found = classify(address)
        if found is None or any(e.allows(host, address, port) for e in self.allow):
            return None
        return found

    def trusts_name(self, host: str, port: int) -> bool:
        """A host-name entry covers ``host``:``port`` whatever it resolves to."""
        name = normal_host(host)
        return any(e.host == name and e.port in (None, port) for e in self.allow)
