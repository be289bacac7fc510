"""notify: alerts from the alert queue to Slack, once per (story, channel); failures retried by SQS."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.adapters.config.topics import load_topics
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.domain.codec import alert_from_dict
from vigil.runtime.observability import count, logger, metrics, record_latency, tracer
from vigil.runtime.settings import load_settings, secret
from vigil.services.delivery import Deliverer, RetryableDeliveryError, web_client
from vigil.services.store import Store

SETTINGS = load_settings(["TABLE_NAME", "SLACK_TOKEN_PARAM"])
STORE = Store(DynamoKV(SETTINGS.table_name))
TOPIC_NAMES = {t.id: t.name for t in load_topics()}
PROCESSOR = BatchProcessor(event_type=EventType.SQS)
_deliverers: dict[str, Deliverer] = {}


def deliverer() -> Deliverer:
    """One Deliverer per token value: a rotated token (re-read every few minutes) gets a new client."""
    token = secret(SETTINGS.slack_token_param)
    if token not in _deliverers:
        _deliverers.clear()
        _deliverers[token] = Deliverer(STORE, web_client(token), topic_names=TOPIC_NAMES)
    return _deliverers[token]


def record_handler(record: SQSRecord) -> str:
    # No Powertools idempotency here: the store's delivery claim already makes a
    # redelivered alert a no-op ("duplicate"), and a failed one must stay retryable.
    alert = alert_from_dict(json.loads(record.body))
    logger.append_keys(story=alert.story.id, channel=alert.channel)
    try:
        outcome = deliverer().deliver(alert)
    except RetryableDeliveryError as exc:
        count("SlackErrors")
        logger.warning("delivery deferred", error=str(exc), receive_count=record.attributes.approximate_receive_count)
        raise  # BatchProcessor reports this record; SQS retries it, then the DLQ
    count(f"Alerts{outcome.capitalize()}")
    if outcome in ("sent", "replied"):
        count("AlertsDelivered")
        record_latency(alert.item.published)
    elif outcome == "failed":
        count("SlackErrors")
    return outcome


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=PROCESSOR,
                                    context=context)
