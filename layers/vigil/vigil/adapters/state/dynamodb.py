"""DynamoDB backend for the store: one table, `pk`/`sk` string keys.

Item layout: `pk`, `sk`, `v` (number, the record version), `ttl` (number, epoch
seconds, the table's TTL attribute) and `d` (the record as a JSON string). JSON
rather than native attributes keeps floats, nested lists and `None` exactly as the
SQLite backend stores them, with no Decimal round trip.

DynamoDB deletes expired items lazily (often hours late), so every read drops items
whose `ttl` has passed, and conditional writes treat them as absent, exactly as the
SQLite backend does.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vigil.domain.batching import iter_chunks
from vigil.domain.errors import Conflict, StoreError
from vigil.ports import MAX_TRANSACT_WRITES, Record, Write

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, dict[str, Any]]

BATCH_GET_MAX = 100  # DynamoDB's limit of keys per BatchGetItem call
BATCH_GET_ATTEMPTS = 8
# The highest code point: `prefix + _TOP` sorts after every key starting with prefix
# (DynamoDB compares strings by UTF-8 bytes, like SQLite's BINARY collation).
_TOP = "\U0010ffff"


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


def _make_client() -> DynamoDBClient:
    # Imported here so importing this module stays cheap for code that passes a client.
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 5})
    try:
        return boto3.client("dynamodb", config=config)
    except BotoCoreError as exc:  # e.g. NoRegionError: say what to set, not a traceback
        raise StoreError(f"cannot create a DynamoDB client: {exc} (set AWS_REGION)") from exc


def _error(action: str, table: str, exc: Exception) -> StoreError:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return StoreError(f"dynamodb {action} on {table} failed: {err.get('Code')}: {err.get('Message')}")
    return StoreError(f"dynamodb {action} on {table} failed: {exc}")


class DynamoKV:
    """`KeyValue` on one DynamoDB table (see template.yaml `StateTable`)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table = table_name
        self.client = client if client is not None else _make_client()
        # Tests shorten the wait between BatchGetItem retries.
        self.sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        """Nothing to release: the client's connection pool is shared and reused."""

    # ------------------------------------------------------------ helpers

    def _call(self, action: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(TableName=self.table, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise Conflict(f"{self.table}: {kwargs.get('Key', '')}: condition failed") from exc
            raise _error(action, self.table, exc) from exc
        except BotoCoreError as exc:
            raise _error(action, self.table, exc) from exc

    @staticmethod
    def _key(pk: str, sk: str) -> Item:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    @staticmethod
    def _record(item: Item, now: int) -> Record | None:
        """The stored record, or None when its TTL has passed but DynamoDB kept it."""
        ttl = item.get("ttl")
        if ttl is not None and int(ttl["N"]) <= now:
            return None
        record: Record = json.loads(item["d"]["S"])
        record["_v"] = int(item["v"]["N"])
        return record

    # ------------------------------------------------------------ KeyValue

    def get(self, pk: str, sk: str) -> Record | None:
        # Strongly consistent: claims read-then-write and must see the latest version.
        resp = self._call("GetItem", self.client.get_item, Key=self._key(pk, sk), ConsistentRead=True)
        item = resp.get("Item")
        return self._record(item, _now()) if item else None

    def batch_get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        # BatchGetItem rejects duplicate keys in one request.
        unique = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], Record] = {}
        now = _now()
        for chunk in iter_chunks(unique, BATCH_GET_MAX):
            for item in self._batch_get_chunk(chunk):
                record = self._record(item, now)
                if record is not None:
                    found[(item["pk"]["S"], item["sk"]["S"])] = record
        return found

    def _batch_get_chunk(self, chunk: list[tuple[str, str]]) -> list[Item]:
        # Eventually consistent (half the read cost): seen-checks are only a filter;
        # the conditional seen-mark in the item's commit is what stops two pollers alerting twice.
        request: dict[str, Any] = {self.table: {"Keys": [self._key(pk, sk) for pk, sk in chunk]}}
        items: list[Item] = []
        for attempt in range(BATCH_GET_ATTEMPTS):
            try:
                resp = self.client.batch_get_item(RequestItems=request)
            except (ClientError, BotoCoreError) as exc:
                raise _error("BatchGetItem", self.table, exc) from exc
            items.extend(resp.get("Responses", {}).get(self.table, []))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return items
            # Throttled keys come back unprocessed: back off with jitter, then retry them.
            self.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random() / 2))
        left = len(request.get(self.table, {}).get("Keys", []))
        raise StoreError(f"dynamodb BatchGetItem on {self.table}: {left} keys still unprocessed after retries")

    def put(
        self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
        ttl: datetime | None = None,
    ) -> int:
        """Write a record; UpdateItem bumps `v` atomically, so no read is needed first."""
        update = self._update(Write(pk, sk, data, expect_version, ttl))
        resp = self._call("UpdateItem", self.client.update_item, ReturnValues="UPDATED_NEW", **update)
        return int(resp["Attributes"]["v"]["N"])

    def transact(self, writes: Sequence[Write]) -> None:
        """TransactWriteItems: every write or none; a failed condition raises Conflict."""
        if len(writes) > MAX_TRANSACT_WRITES:
            raise ValueError(f"{len(writes)} writes in one transaction (limit {MAX_TRANSACT_WRITES})")
        items = [{"Update": {"TableName": self.table, **self._update(w)}} for w in writes]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            failed = "ConditionalCheckFailed" in reasons or "ConditionalCheckFailed" in str(error.get("Message"))
            if error.get("Code") == "TransactionCanceledException" and failed:
                raise Conflict(f"{self.table}: transaction condition failed") from exc
            raise _error("TransactWriteItems", self.table, exc) from exc
        except BotoCoreError as exc:
            raise _error("TransactWriteItems", self.table, exc) from exc

    def _update(self, w: Write) -> dict[str, Any]:
        body = json.dumps({k: v for k, v in w.data.items() if not k.startswith("_")})
        names = {"#ttl": "ttl"}  # TTL is a DynamoDB reserved word
        values: dict[str, Any] = {":d": {"S": body}, ":one": {"N": "1"}, ":zero": {"N": "0"}}
        update = "SET d = :d, v = if_not_exists(v, :zero) + :one"
        if w.ttl is not None:
            update += ", #ttl = :ttl"
            values[":ttl"] = {"N": str(int(w.ttl.timestamp()))}
        else:
            update += " REMOVE #ttl"
        kwargs: dict[str, Any] = {
            "Key": self._key(w.pk, w.sk), "UpdateExpression": update,
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
        }
        condition = self._condition(w.expect_version, values)
        if condition:
            kwargs["ConditionExpression"] = condition
        return kwargs

    @staticmethod
    def _condition(expect_version: int | bool | None, values: dict[str, Any]) -> str:
        """Condition for a put; an expired item counts as absent, as in SQLite."""
        if expect_version is False:
            return ""
        values[":now"] = {"N": str(_now())}
        if expect_version is None:
            return "attribute_not_exists(pk) OR (attribute_exists(#ttl) AND #ttl <= :now)"
        values[":v"] = {"N": str(int(expect_version))}
        return "v = :v AND (attribute_not_exists(#ttl) OR #ttl > :now)"

    def delete(self, pk: str, sk: str) -> bool:
        resp = self._call("DeleteItem", self.client.delete_item, Key=self._key(pk, sk), ReturnValues="ALL_OLD")
        return bool(resp.get("Attributes"))

    def query(
        self, pk: str, *, prefix: str = "", start: str | None = None, limit: int | None = None,
        reverse: bool = False, consistent: bool = True,
    ) -> list[tuple[str, Record]]:
        kwargs = self._key_condition(pk, prefix, start)
        now = _now()
        out: list[tuple[str, Record]] = []
        while True:
            if limit is not None:
                # A page may hold expired items we drop, so ask for what is still missing.
                kwargs["Limit"] = max(limit - len(out), 1)
            # Strongly consistent unless the caller says a stale page is safe (half the price).
            resp = self._call(
                "Query", self.client.query, ScanIndexForward=not reverse, ConsistentRead=consistent, **kwargs
            )
            for item in resp.get("Items", []):
                record = self._record(item, now)
                if record is not None:
                    out.append((item["sk"]["S"], record))
                    if limit is not None and len(out) >= limit:
                        return out
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    @staticmethod
    def _key_condition(pk: str, prefix: str, start: str | None) -> dict[str, Any]:
        # A key condition allows one sort-key test: prefix, start, or both as BETWEEN.
        values: dict[str, Any] = {":pk": {"S": pk}}
        condition = "pk = :pk"
        if prefix and start is not None:
            condition += " AND sk BETWEEN :lo AND :hi"
            values[":lo"] = {"S": max(prefix, start)}
            values[":hi"] = {"S": prefix + _TOP}
        elif prefix:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        elif start is not None:
            condition += " AND sk >= :start"
            values[":start"] = {"S": start}
        return {"KeyConditionExpression": condition, "ExpressionAttributeValues": values}
