"""The unit tier's guard: a test here that reaches for the network fails loudly."""

from __future__ import annotations

import socket

import pytest


def test_the_unit_tier_cannot_open_sockets() -> None:
    with pytest.raises(RuntimeError, match="unit tests do not open sockets"):
        socket.create_connection(("127.0.0.1", 9))
