"""DynamoDB-only behaviour the shared store contract cannot show: throttling, errors, specs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.domain.errors import StoreError
from vigil.runtime.state import open_store

from tests.aws_stack import create_table


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "StateTable", "vigil-state")
        yield client


class ThrottlingClient:
    """Wraps a real client; BatchGetItem processes only `per_call` keys, `times` times."""

    def __init__(self, client: Any, times: int, per_call: int = 1) -> None:
        self.client, self.times, self.per_call, self.calls = client, times, per_call, 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.times == 0:
            return self.client.batch_get_item(RequestItems=RequestItems)
        self.times -= 1
        (table, req), = RequestItems.items()
        first, rest = req["Keys"][: self.per_call], req["Keys"][self.per_call :]
        resp = self.client.batch_get_item(RequestItems={table: {"Keys": first}}) if first else {}
        resp["UnprocessedKeys"] = {table: {"Keys": rest}} if rest else {}
        return resp


def test_batch_get_retries_unprocessed_keys(dynamodb: Any) -> None:
    kv = DynamoKV("vigil-state", dynamodb)
    for i in range(5):
        kv.put(f"SEEN#{i}", "-", {"i": i})
    throttled = ThrottlingClient(dynamodb, times=3)
    kv = DynamoKV("vigil-state", throttled)  # type: ignore[arg-type]
    kv.sleep = lambda _s: None
    found = kv.batch_get([(f"SEEN#{i}", "-") for i in range(7)])
    assert sorted(r["i"] for r in found.values()) == [0, 1, 2, 3, 4]
    assert throttled.calls == 4


def test_batch_get_gives_up_with_a_store_error(dynamodb: Any) -> None:
    kv = DynamoKV("vigil-state", ThrottlingClient(dynamodb, times=100, per_call=0))  # type: ignore[arg-type]
    kv.sleep = lambda _s: None
    with pytest.raises(StoreError, match="unprocessed after retries"):
        kv.batch_get([("A", "1"), ("A", "2")])


def test_missing_table_is_a_store_error_naming_it(dynamodb: Any) -> None:
    kv = DynamoKV("no-such-table", dynamodb)
    with pytest.raises(StoreError, match=r"no-such-table.*ResourceNotFoundException"):
        kv.get("A", "1")
    with pytest.raises(StoreError, match="no-such-table"):
        kv.put("A", "1", {})


def test_items_are_stored_in_the_documented_layout(dynamodb: Any) -> None:
    from datetime import UTC, datetime, timedelta

    kv = DynamoKV("vigil-state", dynamodb)
    expires = datetime.now(UTC) + timedelta(days=1)
    kv.put("SEEN#k", "-", {"source": "bbc", "_v": 99}, ttl=expires)
    item = dynamodb.get_item(TableName="vigil-state", Key={"pk": {"S": "SEEN#k"}, "sk": {"S": "-"}})["Item"]
    assert item["v"] == {"N": "1"}
    assert item["ttl"] == {"N": str(int(expires.timestamp()))}
    assert item["d"] == {"S": '{"source": "bbc"}'}
    ttl = dynamodb.describe_time_to_live(TableName="vigil-state")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl"


def test_open_store_picks_the_backend(dynamodb: Any, tmp_path: Path) -> None:
    assert isinstance(open_store("dynamodb://vigil-state").kv, DynamoKV)
    assert isinstance(open_store(str(tmp_path / "s.db")).kv, SQLiteKV)
    with pytest.raises(StoreError, match="dynamodb://TABLE"):
        open_store("dynamodb://x")
