"""An in-memory `KeyValue`: the unit tier's store, and a reference for the contract suite.

Same semantics as the SQLite and DynamoDB backends (versions, conditions, lazy TTL,
atomic transactions), no I/O, thread-safe.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from vigil.domain.errors import Conflict
from vigil.ports import MAX_TRANSACT_WRITES, Record, Write


class MemoryKV:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[int, int | None, Record]] = {}
        self._lock = threading.RLock()

    def close(self) -> None:
        """Nothing to release."""

    @staticmethod
    def _now() -> int:
        return int(datetime.now(UTC).timestamp())

    def _live(self, key: tuple[str, str]) -> tuple[int, int | None, Record] | None:
        row = self._rows.get(key)
        if row is None or (row[1] is not None and row[1] <= self._now()):
            return None
        return row

    def get(self, pk: str, sk: str) -> Record | None:
        with self._lock:
            row = self._live((pk, sk))
            return {**copy.deepcopy(row[2]), "_v": row[0]} if row else None

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        with self._lock:
            return {key: record for key in keys if (record := self.get(*key)) is not None}

    def put(
        self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
        ttl: datetime | None = None,
    ) -> int:
        with self._lock:
            self._check(Write(pk, sk, data, expect_version, ttl))
            return self._apply(Write(pk, sk, data, expect_version, ttl))

    def transact(self, writes: Sequence[Write]) -> None:
        if len(writes) > MAX_TRANSACT_WRITES:
            raise ValueError(f"{len(writes)} writes in one transaction (limit {MAX_TRANSACT_WRITES})")
        with self._lock:
            for w in writes:
                self._check(w)
            for w in writes:
                self._apply(w)

    def _check(self, w: Write) -> None:
        row = self._live((w.pk, w.sk))
        current = row[0] if row else None
        if w.expect_version is not False and w.expect_version != current:
            raise Conflict(f"{w.pk}/{w.sk}: expected version {w.expect_version}, found {current}")

    def _apply(self, w: Write) -> int:
        old = self._rows.get((w.pk, w.sk))
        version = (old[0] if old else 0) + 1
        body = copy.deepcopy({k: v for k, v in w.data.items() if not k.startswith("_")})
        self._rows[(w.pk, w.sk)] = (version, int(w.ttl.timestamp()) if w.ttl else None, body)
        return version

    def delete(self, pk: str, sk: str) -> bool:
        with self._lock:
            return self._rows.pop((pk, sk), None) is not None

    def query(
        self, pk: str, *, prefix: str = "", start: str | None = None, limit: int | None = None,
        reverse: bool = False, consistent: bool = True,
    ) -> list[tuple[str, Record]]:
        with self._lock:
            keys = sorted((sk for (p, sk) in self._rows if p == pk and sk.startswith(prefix)
                           and (start is None or sk >= start)), reverse=reverse)
            out: list[tuple[str, Record]] = []
            for sk in keys:
                record = self.get(pk, sk)
                if record is not None:
                    out.append((sk, record))
                    if limit is not None and len(out) >= limit:
                        break
            return out
