"""Which hosts and addresses a feed may point at, decided without any lookup."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vigil.domain.addresses import BLOCKED_REASON, host_problem, literal_address, shareable_error


@pytest.mark.parametrize(("host", "address"), [
    ("169.254.169.254", "169.254.169.254"),
    ("2852039166", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("127.1", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("[::1]", "::1"),
    ("::ffff:a9fe:a9fe", "::ffff:a9fe:a9fe"),
])
def test_address_literals_are_read_in_every_spelling_the_resolver_accepts(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["example.com", "256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1_0.0.0.1", "0x"])
def test_names_and_malformed_numbers_are_not_address_literals(host: str) -> None:
    assert literal_address(host) is None


_PART = st.integers(0, 2**32 - 1).flatmap(
    lambda n: st.sampled_from([str(n), hex(n), "0" + format(n, "o")])
)


@given(st.lists(_PART, min_size=1, max_size=4).map(".".join))
def test_legacy_ipv4_spellings_agree_with_inet_aton(host: str) -> None:
    try:
        expected = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        expected = None
    assert literal_address(host) == expected


@pytest.mark.parametrize(("host", "problem"), [
    ("169.254.169.254", "link-local"),
    ("2852039166", "link-local"),
    ("10.1.2.3", "private"),
    ("[::1]", "loopback"),
    ("localhost", "loopback"),
    ("feeds.localhost", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
])
def test_non_public_hosts_have_a_problem(host: str, problem: str) -> None:
    assert host_problem(host).startswith(problem)


@pytest.mark.parametrize("host", ["93.184.216.34", "news.example.com", "[2606:4700::1111]"])
def test_public_addresses_and_names_pass(host: str) -> None:
    # Names are checked by the fetcher after DNS; here only literals can be judged.
    assert host_problem(host) == ""


def test_guard_refusals_are_shown_without_their_addresses() -> None:
    refusal = "refused: x.example resolves to 10.0.0.5 (private), not a public address (set ...)"
    assert shareable_error(refusal) == BLOCKED_REASON
    assert shareable_error("HTTP 503") == "HTTP 503"
