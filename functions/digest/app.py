"""digest: on its schedule, post each due channel digest (one message, nothing when empty)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.adapters.config.topics import load_topics
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.runtime.observability import count, logger, metrics, tracer
from vigil.runtime.settings import load_settings, secret
from vigil.services.delivery import web_client
from vigil.services.digests import run_digests
from vigil.services.store import Store

SETTINGS = load_settings(["TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "SLACK_TOKEN_PARAM", "DIGEST_INTERVAL_MINUTES"])
KV = DynamoKV(SETTINGS.table_name)
STORE = Store(KV)
TOPIC_NAMES = {t.id: t.name for t in load_topics()}
INTERVAL = timedelta(minutes=SETTINGS.digest_interval_minutes)
# A duplicate schedule delivery must not post a second, partial digest.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=3600)
# One DynamoDB client for state and idempotency: each client costs cold-start time.
PERSISTENCE = DynamoDBPersistenceLayer(table_name=SETTINGS.idempotency_table_name, boto3_client=KV.client)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent(config=IDEMPOTENCY, persistence_store=PERSISTENCE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # The scheduled time, not the clock: a late start still decides "due" for its own slot.
    now = datetime.fromisoformat(EventBridgeEvent(event).time.replace("Z", "+00:00"))
    client = web_client(secret(SETTINGS.slack_token_param))
    outcomes = run_digests(STORE, client, now, interval=INTERVAL, topic_names=TOPIC_NAMES)
    for outcome, n in outcomes.items():
        count(f"Digests{outcome.capitalize()}", n)
    logger.info("digests done", **outcomes)
    return outcomes
