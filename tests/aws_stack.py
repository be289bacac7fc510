"""template.yaml as test data: tables are created from the stack's own definitions,
so the tests and the deployed stack cannot drift apart."""

from __future__ import annotations

import functools
import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"

# Table definition keys that CreateTable accepts as they are in the template.
_CREATE_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes",
                      "LocalSecondaryIndexes", "SSESpecification")


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short-form tags (!Ref, !Sub ...) as plain data."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load_template() -> dict[str, Any]:
    with TEMPLATE.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def resource(logical_id: str) -> dict[str, Any]:
    return load_template()["Resources"][logical_id]


def create_table(client: Any, logical_id: str, table_name: str) -> str:
    """Create `table_name` with the schema and TTL of template resource `logical_id`."""
    props = resource(logical_id)["Properties"]
    kwargs = {k: props[k] for k in _CREATE_TABLE_KEYS if k in props}
    sse = kwargs.pop("SSESpecification", None)
    if sse:
        kwargs["SSESpecification"] = {"Enabled": sse["SSEEnabled"]}
    client.create_table(TableName=table_name, **kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
    return table_name


def create_queue(sqs: Any, logical_id: str, name: str, dlq_arn: str | None = None) -> str:
    """Create an SQS queue with the template's visibility timeout and redrive count."""
    props = resource(logical_id)["Properties"]
    attrs = {"VisibilityTimeout": str(props.get("VisibilityTimeout", 30))}
    redrive = props.get("RedrivePolicy")
    if redrive and dlq_arn:
        attrs["RedrivePolicy"] = (
            f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "{redrive["maxReceiveCount"]}"}}'
        )
    return sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]


_REQUEST_LOCK = threading.RLock()


def make_moto_dynamodb_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serialize moto's DynamoDB requests, as DynamoDB's per-item operations are atomic.

    moto evaluates a ConditionExpression and then writes without a lock (two threads
    can both pass `attribute_not_exists`), and builds updated items in place (a
    concurrent read sees half an item). Real DynamoDB does neither. Only each single
    request is serialized: the gap between a read and a conditional write still
    interleaves, which is the race the store must survive.
    """
    from moto.dynamodb.responses import DynamoHandler

    monkeypatch.setattr(DynamoHandler, "call_action", _locked(DynamoHandler.call_action))


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _REQUEST_LOCK:
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def moto_dynamodb_server(monkeypatch: pytest.MonkeyPatch, table: str) -> Iterator[str]:
    """moto's server on loopback with the stack's state table named `table`; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    # DynamoDB applies each request atomically; moto does not unless told.
    make_moto_dynamodb_atomic(monkeypatch)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        create_table(moto_client(endpoint), "StateTable", table)
        yield endpoint
    finally:
        # The server keeps moto's process-wide state: the next test starts empty.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        server.stop()


def moto_client(endpoint: str, **config: Any) -> Any:
    """A DynamoDB client for a moto server, with fake credentials (never a real account)."""
    import boto3
    from botocore.config import Config

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(**config) if config else None)
