"""poll: on the EventBridge schedule, run a cycle or fan due sources out to the fetch queue."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.adapters.sqs import SqsAlertSink, make_sqs_client, send_bodies
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.domain.models import Source
from vigil.runtime.observability import count, logger, metrics, record_cycle, tracer
from vigil.runtime.settings import load_settings
from vigil.services import fanout
from vigil.services.cycle import CycleOptions, CycleReport, run_cycle
from vigil.services.store import Store, now_utc

SETTINGS = load_settings(["TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "ALERT_QUEUE_URL", "FETCH_QUEUE_URL"])
KV = DynamoKV(SETTINGS.table_name)
STORE = Store(KV)
SQS = make_sqs_client()
SINK = SqsAlertSink(SETTINGS.alert_queue_url, SQS)
TOPICS = load_topics()
# Story window, backlog grace and failing threshold from VIGIL_* variables (see README).
OPTIONS = CycleOptions.from_env(os.environ)
# Built once: warm invocations reuse its connection pools (bounded, oldest evicted).
READER = HttpFeedReader()
SOURCES = load_sources()
# EventBridge may deliver one scheduled event twice; the second would repeat a whole cycle.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=3600)
# One DynamoDB client for state and idempotency: each client costs cold-start time.
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table_name, boto3_client=KV.client)


def run_inline(sources: Sequence[Source]) -> CycleReport:
    return run_cycle(sources, TOPICS, STORE, READER, SINK, OPTIONS)


def send_batches(bodies: list[str]) -> int:
    return send_bodies(SQS, SETTINGS.fetch_queue_url, bodies)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent(config=IDEMPOTENCY, persistence_store=PERSISTENCE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    scheduled = EventBridgeEvent(event)
    outcome = fanout.poll(STORE.with_custom_sources(SOURCES), STORE, now_utc(), batch_size=SETTINGS.sources_per_batch,
                          run_inline=run_inline, send_batches=send_batches)
    if outcome.report is not None:
        record_cycle(outcome.report)
    count("FetchBatches", outcome.batches)
    logger.info("poll done", scheduled_at=scheduled.time, **outcome.as_dict())
    return outcome.as_dict()
