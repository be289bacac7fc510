"""Composition root of the Lambda functions: each adapter built once per container.

Handlers call these cached builders instead of holding a module-level object graph,
so a warm invocation reuses connections and tests reset one cache instead of
evicting modules (`reset()`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.domain.models import Source, Topic
from vigil.runtime.settings import Settings, load_settings, private_networks_allowed, secret

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vigil.adapters.feeds.reader import HttpFeedReader
    from vigil.adapters.sqs import SqsAlertSink
    from vigil.adapters.state.dynamodb import DynamoKV
    from vigil.services.commands import Commands
    from vigil.services.cycle import StoryCache
    from vigil.services.delivery import Deliverer
    from vigil.services.slack_requests import DeferredJob, SlackDeps
    from vigil.services.store import Store

# Each builder imports its adapter when first called: a function imports only what it
# uses (notify never loads feedparser, poll never loads slack_sdk), and nothing heavy
# runs at import time that a warm container would not need on every invocation.

log = logging.getLogger("vigil.runtime.lambdas")

# Stop taking new sources (or alerts) when less than this is left of the invocation:
# what is not started is left for the next cycle instead of being killed mid-write.
TIME_MARGIN_MS = 20_000


@functools.cache
def settings(*required: str) -> Settings:
    return load_settings(list(required))


@functools.cache
def dynamo(table: str) -> DynamoKV:
    from vigil.adapters.state.dynamodb import DynamoKV

    return DynamoKV(table)


def store(table: str) -> Store:
    return _store(table)


@functools.cache
def _store(table: str) -> Store:
    from vigil.services.store import Store

    return Store(dynamo(table))


@functools.cache
def sqs() -> Any:
    from vigil.adapters.sqs import make_sqs_client

    return make_sqs_client()


@functools.cache
def alert_sink(queue_url: str) -> SqsAlertSink:
    from vigil.adapters.sqs import SqsAlertSink

    return SqsAlertSink(queue_url, sqs())


def queue_sender(queue_url: str) -> Callable[[list[str]], int]:
    from vigil.adapters.sqs import send_bodies

    return lambda bodies: send_bodies(sqs(), queue_url, bodies)


@functools.cache
def topics() -> list[Topic]:
    from vigil.runtime.config import configured_topics

    return configured_topics()


def topic_names() -> dict[str, str]:
    return {t.id: t.name for t in topics()}


@functools.cache
def configured_sources() -> list[Source]:
    from vigil.runtime.config import configured_sources as load_configured_sources

    return load_configured_sources()


@functools.cache
def story_cache() -> StoryCache:
    """The story window kept between the fetch batches this container runs in one cycle."""
    from vigil.services.cycle import StoryCache

    return StoryCache()


@functools.cache
def feed_reader() -> HttpFeedReader:
    from vigil.adapters.feeds.reader import HttpFeedReader
    from vigil.adapters.http.fetch import Fetcher, FetchOptions

    # Warm invocations reuse its connection pools (bounded, oldest evicted).
    return HttpFeedReader(Fetcher(FetchOptions(allow_private=private_networks_allowed())))


@functools.cache
def _deliverer(table: str, token: str, api_url: str) -> Deliverer:
    from vigil.adapters.slack.client import SlackChatClient, web_client
    from vigil.services.delivery import Deliverer

    client = SlackChatClient(web_client(token, base_url=api_url))
    return Deliverer(store(table), client, topic_names=topic_names())


def deliverer(s: Settings) -> Deliverer:
    """One Deliverer per token value: a rotated token (re-read every few minutes) gets a new client."""
    from vigil.adapters.slack.client import DEFAULT_API_URL

    return _deliverer(s.table_name, secret(s.slack_token_param), s.slack_api_url or DEFAULT_API_URL)


def idempotency_persistence(s: Settings) -> Any:
    # One DynamoDB client for state and idempotency: each client costs cold-start time.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=s.idempotency_table_name, boto3_client=dynamo(s.table_name).client)


@functools.cache
def commands(s: Settings) -> Commands:
    from vigil.runtime.config import configured_term_lists
    from vigil.services.commands import Commands

    # `source add` refuses private address literals unless fetching from them is allowed too.
    return Commands(store=store(s.table_name), topics=topics(), sources=configured_sources(), admins=s.admins,
                    allow_private_networks=s.allow_private_networks, terms=configured_term_lists())


def slack_deps(s: Settings) -> SlackDeps:
    """The Slack endpoint's dependencies for the current signing secret (re-read every few
    minutes): a rotated secret gets a new verifier."""
    return _slack_deps(s, secret(s.slack_signing_secret_param))


@functools.lru_cache(maxsize=1)  # only the current secret's verifier is worth keeping
def _slack_deps(s: Settings, signing_secret: str) -> SlackDeps:
    from vigil.adapters.slack.inbound import post_to_response_url, request_verifier
    from vigil.services.slack_requests import SlackDeps

    # Loopback tests answer through a fake Slack; deployed, only hooks.slack.com.
    return SlackDeps(commands(s), respond=post_to_response_url, verify=request_verifier(signing_secret),
                     defer=job_sender(s.slack_job_queue_url), any_response_url=s.allow_private_networks)


@functools.cache
def slack_job_deps(s: Settings) -> SlackDeps:
    """The deferred-job worker's dependencies: it answers through response_url and verifies
    no request, so it holds no signing secret (SlackDeps without `verify` refuses requests)."""
    from vigil.adapters.slack.inbound import post_to_response_url
    from vigil.services.slack_requests import SlackDeps

    return SlackDeps(commands(s), respond=post_to_response_url, any_response_url=s.allow_private_networks)


def job_sender(queue_url: str) -> Callable[[DeferredJob], None]:
    """Slack waits only 3 s: slow work goes to the job queue and answers via response_url."""

    from vigil.adapters.sqs import send_bodies

    def defer(job: DeferredJob) -> None:
        send_bodies(sqs(), queue_url, [json.dumps(job)])

    return defer


class AllRecordsFailed(Exception):
    """Every record of an SQS batch failed: the invocation fails, and SQS retries them all."""


def sqs_partial_response(event: dict[str, Any], handle: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    """Powertools' `process_partial_response` for SQS, as fetch uses it (BatchSize 1), without
    importing the batch utility: it loads asyncio and every event data class, a sixth of
    fetch's cold start. The same contract: failed records are reported for retry
    (`ReportBatchItemFailures`), and when all fail the invocation fails."""
    failures: list[dict[str, str]] = []
    first_error: Exception | None = None
    records = event.get("Records") or []
    for record in records:
        try:
            handle(record)
        except Exception as exc:  # any failure of one record: report it, go on with the others
            log.exception("record failed: message_id=%s", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
            first_error = first_error or exc
    if records and len(failures) == len(records):
        raise AllRecordsFailed(f"all {len(records)} records failed") from first_error
    return {"batchItemFailures": failures}


def out_of_time(context: LambdaContext, margin_ms: int = TIME_MARGIN_MS) -> Callable[[], bool]:
    """A `should_stop` for the cycle: True once the invocation is within `margin_ms` of its timeout."""
    return lambda: context.get_remaining_time_in_millis() < margin_ms


def reset() -> None:
    """Forget every built adapter (tests: a new moto stack is a new cold start)."""
    for builder in (settings, dynamo, _store, sqs, alert_sink, topics, configured_sources, feed_reader, story_cache,
                    _deliverer, commands, _slack_deps, slack_job_deps):
        builder.cache_clear()
