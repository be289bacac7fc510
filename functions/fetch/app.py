"""fetch: one batch of sources from the fetch queue, through the same cycle as poll."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.runtime import lambdas
from vigil.runtime.observability import logger, metrics, record_cycle, tracer
from vigil.runtime.settings import cycle_options
from vigil.services.cycle import run_cycle
from vigil.services.fanout import decode_batch

SETTINGS = lambdas.settings("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "ALERT_QUEUE_URL")
# Story window, backlog grace and failing threshold from VIGIL_* variables (see README).
OPTIONS = cycle_options()
# SQS delivers at least once: a redelivered batch would fetch every feed in it again.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="messageId", expires_after_seconds=3600)
_context: list[LambdaContext] = []


@idempotent_function(data_keyword_argument="record", config=IDEMPOTENCY,
                     persistence_store=lambdas.idempotency_persistence(SETTINGS))
def fetch_batch(record: dict[str, Any]) -> dict[str, Any]:
    sources = decode_batch(record["body"])
    options = dataclasses.replace(OPTIONS, should_stop=lambdas.out_of_time(_context[-1]))
    report = run_cycle(sources, lambdas.topics(), lambdas.store(SETTINGS.table_name), lambdas.feed_reader(),
                       lambdas.alert_sink(SETTINGS.alert_queue_url), options,
                       stories=lambdas.story_cache())
    record_cycle(report)
    logger.info("batch done", sources=len(sources), **report.as_record())
    return report.as_record()


def record_handler(record: dict[str, Any]) -> dict[str, Any]:
    return fetch_batch(record=record)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    IDEMPOTENCY.register_lambda_context(context)
    _context[:] = [context]
    return lambdas.sqs_partial_response(event, record_handler)
