"""fetch: one batch of sources from the fetch queue, through the same cycle as poll."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.adapters.config.topics import load_topics
from vigil.adapters.feeds.reader import HttpFeedReader
from vigil.adapters.sqs import SqsAlertSink
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.runtime.observability import logger, metrics, record_cycle, tracer
from vigil.runtime.settings import load_settings
from vigil.services.cycle import CycleOptions, run_cycle
from vigil.services.fanout import decode_batch
from vigil.services.store import Store

SETTINGS = load_settings(["TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "ALERT_QUEUE_URL"])
KV = DynamoKV(SETTINGS.table_name)
STORE = Store(KV)
SINK = SqsAlertSink(SETTINGS.alert_queue_url)
TOPICS = load_topics()
# Story window, backlog grace and failing threshold from VIGIL_* variables (see README).
OPTIONS = CycleOptions.from_env(os.environ)
# Built once: warm invocations reuse its connection pools (bounded, oldest evicted).
READER = HttpFeedReader()
PROCESSOR = BatchProcessor(event_type=EventType.SQS)
# SQS delivers at least once: a redelivered batch would fetch every feed in it again.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="messageId", expires_after_seconds=3600)
# One DynamoDB client for state and idempotency: each client costs cold-start time.
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table_name, boto3_client=KV.client)


@idempotent_function(data_keyword_argument="record", config=IDEMPOTENCY, persistence_store=PERSISTENCE)
def fetch_batch(record: SQSRecord) -> dict[str, Any]:
    sources = decode_batch(record.body)
    report = run_cycle(sources, TOPICS, STORE, READER, SINK, OPTIONS)
    record_cycle(report)
    logger.info("batch done", sources=len(sources), **report.as_record())
    return report.as_record()


def record_handler(record: SQSRecord) -> dict[str, Any]:
    return fetch_batch(record=record)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    IDEMPOTENCY.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=PROCESSOR,
                                    context=context)
