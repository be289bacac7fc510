"""Fixtures for running the Lambda handlers on events/ under moto and the fake Slack."""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from vigil.adapters.config.sources import load_sources
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.domain.models import Source
from vigil.entrypoints.events import TEST_SIGNING_SECRET
from vigil.runtime import lambdas
from vigil.services.store import Store

from tests.aws_stack import EVENTS, create_queue, create_table, make_moto_dynamodb_atomic

REGION = "us-east-1"
DEMO = Path(__file__).resolve().parents[2] / "layers" / "vigil" / "vigil" / "data" / "demo"
TOKEN = "xoxb-test-token"


@dataclass
class Stack:
    """The moto resources the handlers see, named as in template.yaml."""

    store: Store
    sqs: Any
    alert_queue: str
    alert_dlq: str
    fetch_queue: str
    job_queue: str

    def messages(self, queue_url: str) -> list[dict[str, Any]]:
        """Drain a queue; returns the JSON bodies."""
        out: list[dict[str, Any]] = []
        while True:
            resp = self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            msgs = resp.get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, fake_slack: Any) -> Iterator[Stack]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "vigil", "POWERTOOLS_METRICS_NAMESPACE": "Vigil",
        "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false",
        "TABLE_NAME": "vigil-state", "IDEMPOTENCY_TABLE_NAME": "vigil-idempotency",
        "SLACK_TOKEN_PARAM": "/vigil/slack/bot-token", "SLACK_SIGNING_SECRET_PARAM": "/vigil/slack/signing-secret",
        "SOURCES_PER_BATCH": "50", "DIGEST_INTERVAL_MINUTES": "15", "VIGIL_ALLOW_PRIVATE_NETWORKS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    make_moto_dynamodb_atomic(monkeypatch)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        create_table(ddb, "StateTable", "vigil-state")
        create_table(ddb, "IdempotencyTable", "vigil-idempotency")
        sqs = boto3.client("sqs", region_name=REGION)
        alert_dlq = create_queue(sqs, "AlertDeadLetterQueue", "vigil-alerts-dlq")
        dlq_arn = sqs.get_queue_attributes(QueueUrl=alert_dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        urls = {
            "ALERT_QUEUE_URL": create_queue(sqs, "AlertQueue", "vigil-alerts", dlq_arn),
            "FETCH_QUEUE_URL": create_queue(sqs, "FetchQueue", "vigil-fetch"),
            "SLACK_JOB_QUEUE_URL": create_queue(sqs, "SlackJobQueue", "vigil-slack-jobs"),
        }
        for name, url in urls.items():
            monkeypatch.setenv(name, url)
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(Name="/vigil/slack/bot-token", Value=TOKEN, Type="SecureString")
        ssm.put_parameter(Name="/vigil/slack/signing-secret", Value=TEST_SIGNING_SECRET, Type="SecureString")
        _clear_powertools_caches()
        yield Stack(Store(DynamoKV("vigil-state", ddb)), sqs, urls["ALERT_QUEUE_URL"], alert_dlq,
                    urls["FETCH_QUEUE_URL"], urls["SLACK_JOB_QUEUE_URL"])
        _clear_powertools_caches()


def _clear_powertools_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()


@pytest.fixture
def handler(stack: Stack) -> Iterator[Callable[[str], ModuleType]]:
    """Import functions/<name>/app.py fresh, inside this test's moto stack (a cold start)."""
    loaded: list[str] = []

    def load(name: str) -> ModuleType:
        module = f"functions.{name}.app"
        sys.modules.pop(module, None)
        lambdas.reset()
        loaded.append(module)
        return importlib.import_module(module)

    yield load
    for module in loaded:
        sys.modules.pop(module, None)
    lambdas.reset()


@dataclass
class LambdaContext:
    function_name: str = "vigil-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:vigil-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "req-1"
    log_group_name: str = "/aws/lambda/vigil-test"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def demo_feeds() -> Iterator[str]:
    """The demo feeds (on-topic, fictional) served on loopback; yields the base URL."""
    handler_cls = partial(_QuietFiles, directory=str(DEMO / "feeds"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def demo_sources(demo_feeds: str, tmp_path: Path) -> list[Source]:
    text = (DEMO / "sources.toml").read_text(encoding="utf-8").replace("{base}", demo_feeds)
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return load_sources(path)
