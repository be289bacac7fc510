"""The unit tier's guard: a test here that reaches for the network fails loudly."""

from __future__ import annotations

import socket

import pytest

from tests.unit.conftest import NetworkBlocked


def test_the_unit_tier_cannot_open_sockets() -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))
