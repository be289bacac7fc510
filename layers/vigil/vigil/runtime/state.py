"""Open the state store named by `--state`: a SQLite path or `dynamodb://TABLE`."""

from __future__ import annotations

import re

from vigil.domain.errors import StoreError
from vigil.services.store import Store

DYNAMODB_SCHEME = "dynamodb://"
# DynamoDB's own rule for table names.
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


def dynamodb_table(spec: str) -> str | None:
    """The table name of a `dynamodb://TABLE` spec, None for anything else."""
    if not spec.startswith(DYNAMODB_SCHEME):
        return None
    table = spec[len(DYNAMODB_SCHEME) :].rstrip("/")
    if not _TABLE_NAME.match(table):
        raise StoreError(f"bad state {spec!r}: expected dynamodb://TABLE with a valid DynamoDB table name")
    return table


def open_store(spec: str, *, read_only: bool = False) -> Store:
    """`dynamodb://TABLE` uses boto3's standard configuration (AWS_REGION,
    AWS_ENDPOINT_URL, profiles); anything else is a SQLite file path.

    `read_only` opens a SQLite file without writing to it or beside it (no WAL switch,
    no schema, no -wal/-shm files); a DynamoDB table is only written when asked to.
    Failures raise StoreError with a one-line message.
    """
    table = dynamodb_table(spec)
    if table is not None:
        # Imported lazily so the SQLite path never pays for boto3's import.
        from vigil.adapters.state.dynamodb import DynamoKV

        return Store(DynamoKV(table))
    from vigil.adapters.state.sqlite import SQLiteKV

    return Store(SQLiteKV(spec, read_only=read_only))


def memory_store() -> Store:
    """A store that lives in this process only (evaluations, dry runs)."""
    from vigil.adapters.state.memory import MemoryKV

    return Store(MemoryKV())
