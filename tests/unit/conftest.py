"""The unit tier is pure: no test here may open a network connection."""

from __future__ import annotations

import socket

import pytest


class NetworkBlocked(RuntimeError):
    """A unit test tried to reach the network; it belongs in tests/adapters or tests/e2e."""


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise NetworkBlocked("unit tests do not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)

