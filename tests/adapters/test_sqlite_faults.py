"""The SQLite state file when something is wrong with it, and opened read-only."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.errors import StoreError
from vigil.domain.models import Source
from vigil.services.store import Store


def fingerprint(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes, its mtime and every file beside it."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state.db"
    store = Store(SQLiteKV(path))
    store.put_custom_source(Source("added", "https://added.example/rss"))
    store.close()
    return path


def test_a_file_that_is_not_a_database_is_named_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"\x8a" * 4096)

    with pytest.raises(StoreError) as caught:
        SQLiteKV(path)

    assert str(caught.value) == f"state file {path}: file is not a database (corrupt, or not a Vigil state file)"


def test_a_state_path_under_a_file_is_named_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory")

    with pytest.raises(StoreError, match=r"^state file .*plain/state\.db: not a directory: .*plain$"):
        SQLiteKV(tmp_path / "plain" / "state.db")


def test_a_write_that_waits_out_another_process_says_locked(state: Path) -> None:
    # Given another process in the middle of a long write
    other = sqlite3.connect(state, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    kv = SQLiteKV(state, timeout=0.1)
    try:
        # When this one tries to write, Then it gives up with a reason, not a traceback
        with pytest.raises(StoreError, match=r"^state file .*: locked by another process for more than 0\.1 s$"):
            kv.put("X", "1", {})
    finally:
        other.execute("ROLLBACK")
        other.close()
        kv.close()


def test_read_only_open_reads_without_touching_the_file(state: Path) -> None:
    before = fingerprint(state)

    store = Store(SQLiteKV(state, read_only=True))
    try:
        assert [s.id for s in store.custom_sources()] == ["added"]
        with pytest.raises(StoreError, match="read-only"):
            store.put_custom_source(Source("other", "https://other.example/rss"))
    finally:
        store.close()

    assert fingerprint(state) == before


def test_read_only_open_leaves_a_rollback_journal_file_as_it_is(state: Path) -> None:
    # A copy in SQLite's default journal mode (a backup, an older tool): a normal open switches it to WAL.
    db = sqlite3.connect(state, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    before = fingerprint(state)

    SQLiteKV(state, read_only=True).close()

    assert fingerprint(state) == before


def test_read_only_open_sees_what_a_live_writer_has_not_checkpointed(state: Path) -> None:
    writer = Store(SQLiteKV(state))
    try:
        writer.put_custom_source(Source("fresh", "https://fresh.example/rss"))
        reader = Store(SQLiteKV(state, read_only=True))
        try:
            assert [s.id for s in reader.custom_sources()] == ["added", "fresh"]
        finally:
            reader.close()
    finally:
        writer.close()


def test_read_only_open_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteKV(tmp_path / "nope.db", read_only=True)
    assert os.listdir(tmp_path) == []
