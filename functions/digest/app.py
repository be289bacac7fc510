"""digest: on its schedule, post each due channel digest (one message, nothing when empty)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.runtime import lambdas
from vigil.runtime.observability import count, logger, metrics, tracer
from vigil.services.digests import run_digests

SETTINGS = lambdas.settings("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "SLACK_TOKEN_PARAM", "DIGEST_INTERVAL_MINUTES")
INTERVAL = timedelta(minutes=SETTINGS.digest_interval_minutes)
# A duplicate schedule delivery must not post a second, partial digest.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=3600)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent(config=IDEMPOTENCY, persistence_store=lambdas.idempotency_persistence(SETTINGS))
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # The scheduled time, not the clock: a late start still decides "due" for its own slot.
    # (Read from the event itself: Powertools' data classes load every event type on import.)
    now = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    deliverer = lambdas.deliverer(SETTINGS)
    outcomes = run_digests(deliverer.store, deliverer.client, now, interval=INTERVAL,
                           topic_names=lambdas.topic_names(), deliverer=deliverer)
    count("DigestsSent", outcomes.get("sent", 0))  # the other outcomes are in the log line
    logger.info("digests done", **outcomes)
    return outcomes
