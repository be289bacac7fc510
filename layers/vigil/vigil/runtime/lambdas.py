"""Composition root of the Lambda functions: each adapter built once per container.

Handlers call these cached builders instead of holding a module-level object graph,
so a warm invocation reuses connections and tests reset one cache instead of
evicting modules (`reset()`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.adapters.slack.client import DEFAULT_API_URL, SlackChatClient, web_client
from vigil.adapters.sqs import SqsAlertSink, make_sqs_client, send_bodies
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.domain.models import Source, Topic
from vigil.runtime.settings import Settings, load_settings, secret
from vigil.services.delivery import Deliverer
from vigil.services.store import Store

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Stop taking new sources (or alerts) when less than this is left of the invocation:
# what is not started is left for the next cycle instead of being killed mid-write.
TIME_MARGIN_MS = 20_000


@functools.cache
def settings(*required: str) -> Settings:
    return load_settings(list(required))


@functools.cache
def dynamo(table: str) -> DynamoKV:
    return DynamoKV(table)


def store(table: str) -> Store:
    return _store(table)


@functools.cache
def _store(table: str) -> Store:
    return Store(dynamo(table))


@functools.cache
def sqs() -> Any:
    return make_sqs_client()


@functools.cache
def alert_sink(queue_url: str) -> SqsAlertSink:
    return SqsAlertSink(queue_url, sqs())


def queue_sender(queue_url: str) -> Callable[[list[str]], int]:
    return lambda bodies: send_bodies(sqs(), queue_url, bodies)


@functools.cache
def topics() -> list[Topic]:
    return load_topics()


def topic_names() -> dict[str, str]:
    return {t.id: t.name for t in topics()}


@functools.cache
def configured_sources() -> list[Source]:
    return load_sources()


@functools.cache
def feed_reader() -> HttpFeedReader:
    # Warm invocations reuse its connection pools (bounded, oldest evicted).
    return HttpFeedReader()


@functools.cache
def _deliverer(table: str, token: str, api_url: str) -> Deliverer:
    client = SlackChatClient(web_client(token, base_url=api_url))
    return Deliverer(store(table), client, topic_names=topic_names())


def deliverer(s: Settings) -> Deliverer:
    """One Deliverer per token value: a rotated token (re-read every few minutes) gets a new client."""
    return _deliverer(s.table_name, secret(s.slack_token_param), s.slack_api_url or DEFAULT_API_URL)


def idempotency_persistence(s: Settings) -> Any:
    # One DynamoDB client for state and idempotency: each client costs cold-start time.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=s.idempotency_table_name, boto3_client=dynamo(s.table_name).client)


def out_of_time(context: LambdaContext, margin_ms: int = TIME_MARGIN_MS) -> Callable[[], bool]:
    """A `should_stop` for the cycle: True once the invocation is within `margin_ms` of its timeout."""
    return lambda: context.get_remaining_time_in_millis() < margin_ms


def reset() -> None:
    """Forget every built adapter (tests: a new moto stack is a new cold start)."""
    for builder in (settings, dynamo, _store, sqs, alert_sink, topics, configured_sources, feed_reader, _deliverer):
        builder.cache_clear()
