"""notify: outbox entries named on the alert queue to Slack, once per (story, channel).

The queue carries outbox keys; the entry itself is in the state table until delivery
reaches a final outcome. A retryable failure is reported to SQS (retry, then the DLQ),
and the poll function's sweeper queues the entry again later, so nothing is lost.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.domain.clock import now_utc
from vigil.runtime import lambdas
from vigil.runtime.observability import count, logger, metrics, record_latency, tracer
from vigil.services import outbox

SETTINGS = lambdas.settings("TABLE_NAME", "SLACK_TOKEN_PARAM")
PROCESSOR = BatchProcessor(event_type=EventType.SQS)


def deliverer() -> Any:
    return lambdas.deliverer(SETTINGS)


def record_handler(record: SQSRecord) -> str:
    # No Powertools idempotency here: the store's delivery claim already makes a
    # redelivered alert a no-op ("duplicate"), and a failed one must stay retryable.
    result = outbox.deliver_message(lambdas.store(SETTINGS.table_name), deliverer(), json.loads(record.body),
                                    now_utc())
    logger.append_keys(outbox_key=result.key)
    if result.outcome == "pending":
        count("SlackErrors")
        logger.warning("delivery deferred", receive_count=record.attributes.approximate_receive_count)
        raise outbox.DeliveryDeferred(result.key)  # BatchProcessor reports it; SQS retries, then the DLQ
    if result.outcome in ("sent", "replied"):
        count("AlertsDelivered")
        record_latency(result.published)
        return result.outcome
    if result.outcome == "failed":
        count("SlackErrors")
    # The rare outcomes (duplicate, disabled channel, failed) in the log, not as metrics.
    logger.info("alert not posted", outcome=result.outcome)
    return result.outcome


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=PROCESSOR,
                                    context=context)
