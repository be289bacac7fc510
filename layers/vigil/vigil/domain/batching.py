"""Splitting work into bounded batches (queue sends, batch reads, fan-out)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def iter_chunks(seq: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]
