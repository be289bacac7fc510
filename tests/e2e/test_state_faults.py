"""A broken, read-only or full SQLite state as a user meets it: one line on stderr, exit 2.

And `vigil sources check --state`, which promises to write nothing, writes nothing.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.models import Source, SourceState
from vigil.services.store import Store

pytestmark = pytest.mark.slow

# Never fetched: every case here fails, or is checked, before or without a network call.
SOURCES = '[[sources]]\nid = "local"\nurl = "http://127.0.0.1:9/feed"\n'
PR_CAPBSET_DROP = 24
# Root writes through file modes with these; dropping them makes a mode mean what it says.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def vigil(*args: str, cwd: Path, preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update({"SLACK_SIGNING_SECRET": "e2e-faults-secret", "VIGIL_LOG_LEVEL": "ERROR"})
    return subprocess.run([sys.executable, "-m", "vigil.entrypoints.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd, preexec_fn=preexec, check=False)


def commands(tmp_path: Path, state: Path) -> dict[str, list[str]]:
    """Every command that opens the state, by name."""
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES, encoding="utf-8")
    outbox = str(tmp_path / "outbox.jsonl")
    return {
        "run": ["run", "--sources", str(sources), "--state", str(state), "--outbox", outbox],
        "digest": ["digest", "--state", str(state), "--outbox", outbox],
        "serve": ["serve", "--port", "0", "--state", str(state), "--sources", str(sources)],
        "sources check": ["sources", "check", "--sources", str(sources), "--state", str(state)],
    }


def assert_one_line_error(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vigil: error: state file ")
    for text in expected:
        assert text in lines[0]


def fingerprint(path: Path) -> tuple[bytes, int, list[str]]:
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(os.listdir(path.parent))


def make_state(path: Path) -> Path:
    store = Store(SQLiteKV(path))
    store.put_custom_source(Source("added", "http://127.0.0.1:9/added"))
    store.put_source_state(SourceState("local", consecutive_failures=2, last_error="HTTP 503"))
    store.close()
    return path


@pytest.mark.parametrize("command", ["run", "digest", "serve", "sources check"])
def test_a_corrupt_state_file_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    state = tmp_path / "state.db"
    state.write_bytes(os.urandom(8192))

    result = vigil(*commands(tmp_path, state)[command], cwd=tmp_path)

    assert_one_line_error(result, str(state), "file is not a database")


# ---------------------------------------------------------------- read-only


def _drop_write_override() -> None:
    """In the child, before exec: lose root's power to write through file modes."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def as_plain_user() -> Callable[[], None] | None:
    """What makes a chmod bind this test's processes: nothing for a normal user; as root,
    dropping the capabilities that override file modes, or a skip where that is impossible."""
    if os.geteuid() != 0:
        return None
    if not sys.platform.startswith("linux"):
        pytest.skip("running as root, and dropping root's file-mode override needs Linux")
    probe = subprocess.run([sys.executable, "-c", "import os; os.open('/proc/self/status', os.O_RDONLY)"],
                           preexec_fn=_drop_write_override, capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("running as root without CAP_SETPCAP: cannot drop the override that ignores file modes")
    return _drop_write_override


@pytest.mark.parametrize("command", ["run", "digest", "serve"])
@pytest.mark.parametrize("protect", ["file", "directory"])
def test_a_read_only_state_is_one_line_and_exit_2(tmp_path: Path, command: str, protect: str) -> None:
    # Given a state file that this user may read but not write (or whose directory it may not)
    preexec = as_plain_user()
    home = tmp_path / "home"
    home.mkdir()
    state = make_state(home / "state.db")
    (state if protect == "file" else home).chmod(0o444 if protect == "file" else 0o555)
    before = fingerprint(state)
    try:
        # When a command that writes opens it
        result = vigil(*commands(tmp_path, state)[command], cwd=tmp_path, preexec=preexec)
    finally:
        home.chmod(0o755)
    # Then one line says so, before anything changed
    assert_one_line_error(result, str(state), "read-only")
    assert fingerprint(state) == before


def test_a_full_disk_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # A process limit on file size fails writes as a full disk does (SQLite's shared
    # memory file cannot grow), without needing a full filesystem.
    state = make_state(tmp_path / "state.db")

    def tiny_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    result = vigil(*commands(tmp_path, state)["run"], cwd=tmp_path, preexec=tiny_files)

    assert_one_line_error(result, str(state), "disk")


# ---------------------------------------------------------------- sources check writes nothing


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_sources_check_with_state_writes_nothing(tmp_path: Path, journal: str) -> None:
    # Given a state at rest (WAL, as Vigil leaves it, or a rollback-journal copy such as a backup)
    state = make_state(tmp_path / "state" / "state.db")
    db = sqlite3.connect(state, isolation_level=None)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.close()
    before = fingerprint(state)

    result = vigil(*commands(tmp_path, state)["sources check"], cwd=tmp_path)

    # Then it was read (the Slack-added source and the stored health show) and not changed
    assert result.returncode == 1, result.stderr  # the sources fail: nothing listens on port 9
    assert "added" in result.stdout and "2 failures" in result.stdout
    assert fingerprint(state) == before


def test_sources_check_reads_a_state_it_may_not_write(tmp_path: Path) -> None:
    preexec = as_plain_user()
    home = tmp_path / "home"
    home.mkdir()
    state = make_state(home / "state.db")
    state.chmod(0o444)
    home.chmod(0o555)
    before = fingerprint(state)
    try:
        result = vigil(*commands(tmp_path, state)["sources check"], cwd=tmp_path, preexec=preexec)
    finally:
        home.chmod(0o755)

    assert result.returncode == 1, result.stderr
    assert "added" in result.stdout and "2 failures" in result.stdout
    assert fingerprint(state) == before
