"""Fixtures shared by the adapter tests; a module's own fixture of the same name wins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.services.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store on a fresh SQLite file, closed after the test."""
    s = Store(SQLiteKV(tmp_path / "state.db"))
    yield s
    s.close()
