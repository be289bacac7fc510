"""Which addresses a feed may be fetched from: public unicast ones only (pure, no lookups).

The fetcher applies `address_problem` to every address a name resolves to; services use
`host_problem` to refuse a feed URL whose host is a non-public address literal before it
is ever stored. Names are not resolved here: the fetcher checks them on every fetch.
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Every SSRF-guard refusal says this, so a refusal can be told apart from other errors
# (and shown without the addresses it names; see `shareable_error`).
NOT_PUBLIC = "not a public address"
BLOCKED_REASON = "blocked address (not a public network)"

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# One part of an IPv4 address as inet_aton reads it: hex, octal or decimal.
_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address tunnels to, if any (mapped, NAT64, 6to4, Teredo)."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    return None


def address_problem(ip: IPAddress) -> str:
    """Why the guard refuses this address ("" when it is a public unicast address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(inner)
            return f"{problem} (embedded in {ip})" if problem else ""
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        # Shared address space (100.64/10), benchmarking nets and the like.
        ("not globally routable", not ip.is_global),
    )
    return next((name for name, hit in checks if hit), "")


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host spells out, or None for a name.

    Includes the legacy IPv4 spellings the system resolver accepts (`2852039166`,
    `0xa9.0xfe.0xa9.0xfe`, `127.1`), which name an address without looking like one.
    """
    host = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return _legacy_ipv4(host)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(_IPV4_PART.fullmatch(p) for p in parts):
        return None
    numbers = [int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p)
               for p in parts]
    # Leading parts are one byte each; the last fills the bytes that are left.
    *head, last = numbers
    if any(n > 0xFF for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = last
    for index, n in enumerate(head):
        value |= n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def host_problem(host: str) -> str:
    """Why a URL host is not public ("" for a public address literal or any other name)."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"  # RFC 6761: always the machine itself
    ip = literal_address(name)
    return address_problem(ip) if ip is not None else ""


def shareable_error(error: str) -> str:
    """A source's fetch error as shown to everyone: guard refusals name no addresses.

    A refusal names what the host resolved to (internal addresses an operator needs
    in logs, not something to show every member of a channel).
    """
    return BLOCKED_REASON if NOT_PUBLIC in error else error
