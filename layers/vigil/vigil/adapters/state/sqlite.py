"""SQLite backend for the store: one embedded file, safe for several processes.

Every sqlite3 failure leaves this module as a StoreError whose one-line message names
the file and the problem (not a database, read-only, disk full, locked), so the CLI
can print it instead of a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from vigil.domain.errors import Conflict, StoreError
from vigil.ports import MAX_TRANSACT_WRITES, Record, Write

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    v INTEGER NOT NULL,
    ttl INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
"""


BUSY_TIMEOUT = 30  # seconds a write waits for another process's write to finish

# What each SQLite primary result code means for someone looking at the state file.
_PROBLEMS = {
    "SQLITE_NOTADB": "file is not a database (corrupt, or not a Vigil state file)",
    "SQLITE_CORRUPT": "database is corrupt (database disk image is malformed)",
    "SQLITE_READONLY": "read-only: Vigil cannot write the file or its directory",
    "SQLITE_FULL": "disk full: free some space",
    "SQLITE_BUSY": "locked by another process for more than {timeout:g} s",
    "SQLITE_LOCKED": "locked by another process for more than {timeout:g} s",
    "SQLITE_CANTOPEN": "cannot open the file (missing, or no permission on it or its directory)",
    "SQLITE_IOERR": "disk I/O error (disk full or failing?)",
}


def store_error(path: str, exc: sqlite3.Error | OSError, timeout: float = BUSY_TIMEOUT) -> StoreError:
    """One line naming the state file and what is wrong with it."""
    return StoreError(f"state file {path}: {_problem(exc, timeout)}".replace("\n", " "))


def _problem(exc: sqlite3.Error | OSError, timeout: float) -> str:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorname", None) or ""  # e.g. SQLITE_READONLY_DIRECTORY
        return _PROBLEMS.get("_".join(code.split("_")[:2]), str(exc)).format(timeout=timeout)
    if isinstance(exc, PermissionError) or exc.errno == errno.EROFS:
        return _PROBLEMS["SQLITE_READONLY"]
    if exc.errno == errno.ENOSPC:
        return _PROBLEMS["SQLITE_FULL"]
    where = f": {exc.filename}" if exc.filename else ""
    return f"{(exc.strerror or str(exc)).lower()}{where}"


class SQLiteKV:
    """`KeyValue` on one SQLite file; `read_only` opens it without writing a byte.

    `timeout` is how long a write waits while another process writes.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._lock = threading.RLock()
        with self._translated():
            self._db = self._open_read_only() if read_only else self._open()

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            _ensure_writable(Path(self.path))
        # One connection shared across threads, serialized by a lock; WAL lets a
        # `vigil serve` and a `vigil run` use the same file at once.
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=self.timeout, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        # A WAL file means a writer has the state open: read through its shared memory.
        # Otherwise nobody has, and opening it as immutable takes no locks and creates no
        # -wal/-shm files beside it (mode=ro alone would create and leave both).
        live = Path(f"{self.path}-wal").exists()
        uri = Path(self.path).absolute().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
        db = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=self.timeout, isolation_level=None)
        try:
            db.execute("SELECT 1 FROM records LIMIT 1").fetchall()  # corrupt or foreign: say so now
        except sqlite3.Error:
            db.close()
            raise
        return db

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Hold the connection lock; sqlite3 and OS errors become one-line StoreErrors."""
        with self._lock:
            try:
                yield
            except (sqlite3.Error, OSError) as exc:
                raise store_error(self.path, exc, self.timeout) from exc

    def close(self) -> None:
        with self._translated():
            self._db.close()

    @staticmethod
    def _now() -> int:
        return int(datetime.now(UTC).timestamp())

    def _row(self, v: int, ttl: int | None, data: str) -> Record | None:
        if ttl is not None and ttl <= self._now():
            return None  # expired: TTL deletion is lazy, as in DynamoDB
        record = json.loads(data)
        record["_v"] = v
        return record

    def get(self, pk: str, sk: str) -> Record | None:
        with self._translated():
            row = self._db.execute(
                "SELECT v, ttl, data FROM records WHERE pk=? AND sk=?", (pk, sk)
            ).fetchone()
        return self._row(*row) if row else None

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        # One lock for the whole batch (get's own acquire is reentrant): a consistent read.
        with self._translated():
            return {key: record for key in keys if (record := self.get(*key)) is not None}

    def put(
        self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
        ttl: datetime | None = None,
    ) -> int:
        with self._translated():
            return self._atomically(lambda: self._write(Write(pk, sk, data, expect_version, ttl)))

    def transact(self, writes: Sequence[Write]) -> None:
        if len(writes) > MAX_TRANSACT_WRITES:
            raise ValueError(f"{len(writes)} writes in one transaction (limit {MAX_TRANSACT_WRITES})")
        with self._translated():
            self._atomically(lambda: [self._write(w) for w in writes])

    def _atomically(self, work: Callable[[], T]) -> T:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._db.execute("COMMIT")
        except BaseException:
            # SQLite has already rolled back after some errors (disk full, I/O error).
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return result

    def _write(self, w: Write) -> int:
        body = json.dumps({k: v for k, v in w.data.items() if not k.startswith("_")})
        ttl_epoch = int(w.ttl.timestamp()) if w.ttl else None
        row = self._db.execute("SELECT v, ttl FROM records WHERE pk=? AND sk=?", (w.pk, w.sk)).fetchone()
        live = row is not None and (row[1] is None or row[1] > self._now())
        current = row[0] if live else None
        if w.expect_version is not False and w.expect_version != current:
            raise Conflict(f"{w.pk}/{w.sk}: expected version {w.expect_version}, found {current}")
        version = (row[0] if row else 0) + 1
        self._db.execute(
            "INSERT OR REPLACE INTO records (pk, sk, v, ttl, data) VALUES (?, ?, ?, ?, ?)",
            (w.pk, w.sk, version, ttl_epoch, body),
        )
        return version

    def delete(self, pk: str, sk: str) -> bool:
        with self._translated():
            cur = self._db.execute("DELETE FROM records WHERE pk=? AND sk=?", (pk, sk))
        return cur.rowcount > 0

    def query(
        self, pk: str, *, prefix: str = "", start: str | None = None, limit: int | None = None,
        reverse: bool = False, consistent: bool = True,
    ) -> list[tuple[str, Record]]:
        sql = "SELECT sk, v, ttl, data FROM records WHERE pk=?"
        args: list[object] = [pk]
        if prefix:
            # Range scan instead of LIKE so '%' or '_' in ids cannot act as wildcards.
            sql += " AND sk >= ? AND sk < ?"
            args += [prefix, prefix + "\U0010ffff"]
        if start is not None:
            sql += " AND sk >= ?"
            args.append(start)
        sql += " ORDER BY sk DESC" if reverse else " ORDER BY sk"
        with self._translated():
            rows = self._db.execute(sql, args).fetchall()
        out: list[tuple[str, Record]] = []
        for sk, v, ttl, data in rows:
            record = self._row(v, ttl, data)
            if record is not None:
                out.append((sk, record))
                if limit is not None and len(out) >= limit:
                    break
        return out


def _ensure_writable(path: Path) -> None:
    """Fail at open, before a run does any work, when the state cannot be written.

    SQLite opens a write-protected file read-only without a word and fails only at the
    first write; its directory must be writable too, for the -wal and -shm files.
    """
    for parent in (path.parent, *path.parent.parents):
        if parent.exists() and not parent.is_dir():  # mkdir would only say "File exists"
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        # The kernel's own check for a write (no bytes written, mtime unchanged).
        os.close(os.open(path, os.O_RDWR))
    if not os.access(path.parent, os.W_OK):
        raise PermissionError(f"directory {path.parent} is not writable")
