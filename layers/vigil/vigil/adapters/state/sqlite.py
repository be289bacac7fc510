"""SQLite backend for the store: one embedded file, safe for several processes."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from vigil.domain.errors import Conflict
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


class SQLiteKV:
    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection shared across threads, serialized by a lock; WAL lets a
        # `vigil serve` and a `vigil run` use the same file at once.
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30, isolation_level=None)
        self._lock = threading.RLock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
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
        with self._lock:
            row = self._db.execute(
                "SELECT v, ttl, data FROM records WHERE pk=? AND sk=?", (pk, sk)
            ).fetchone()
        return self._row(*row) if row else None

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        # One lock for the whole batch (get's own acquire is reentrant): a consistent read.
        with self._lock:
            return {key: record for key in keys if (record := self.get(*key)) is not None}

    def put(
        self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
        ttl: datetime | None = None,
    ) -> int:
        with self._lock:
            return self._atomically(lambda: self._write(Write(pk, sk, data, expect_version, ttl)))

    def transact(self, writes: Sequence[Write]) -> None:
        if len(writes) > MAX_TRANSACT_WRITES:
            raise ValueError(f"{len(writes)} writes in one transaction (limit {MAX_TRANSACT_WRITES})")
        with self._lock:
            self._atomically(lambda: [self._write(w) for w in writes])

    def _atomically(self, work: Callable[[], T]) -> T:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._db.execute("COMMIT")
        except BaseException:
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
        with self._lock:
            cur = self._db.execute("DELETE FROM records WHERE pk=? AND sk=?", (pk, sk))
        return cur.rowcount > 0

    def query(
        self, pk: str, *, prefix: str = "", start: str | None = None, limit: int | None = None,
        reverse: bool = False,
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
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out: list[tuple[str, Record]] = []
        for sk, v, ttl, data in rows:
            record = self._row(v, ttl, data)
            if record is not None:
                out.append((sk, record))
                if limit is not None and len(out) >= limit:
                    break
        return out
