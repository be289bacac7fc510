"""poll: on the EventBridge schedule, run a cycle or fan due sources out to the fetch queue,
then queue again any outbox entry nobody delivered (the outbox sweeper)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.domain.clock import now_utc
from vigil.domain.models import Source
from vigil.runtime import lambdas
from vigil.runtime.observability import logger, metrics, record_cycle, tracer
from vigil.runtime.settings import cycle_option_values
from vigil.services import fanout, outbox

if TYPE_CHECKING:
    from vigil.services.cycle import CycleReport

SETTINGS = lambdas.settings("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "ALERT_QUEUE_URL", "FETCH_QUEUE_URL")
# Story window, backlog grace and failing threshold from VIGIL_* variables (see README),
# checked at cold start; the cycle itself is loaded only when poll runs it inline (few
# sources), as a fanned-out poll never classifies.
OPTIONS = cycle_option_values()
SOURCES: list[Source] | None = None  # None: the shipped list (tests set their own)
# EventBridge may deliver one scheduled event twice; the second would repeat a whole cycle.
IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=3600)


def run_inline(sources: Sequence[Source], context: LambdaContext) -> CycleReport:
    from vigil.services.cycle import CycleOptions, run_cycle

    options = CycleOptions(**OPTIONS, should_stop=lambdas.out_of_time(context))
    return run_cycle(sources, lambdas.topics(), lambdas.store(SETTINGS.table_name), lambdas.feed_reader(),
                     lambdas.alert_sink(SETTINGS.alert_queue_url), options,
                     stories=lambdas.story_cache())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent(config=IDEMPOTENCY, persistence_store=lambdas.idempotency_persistence(SETTINGS))
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = lambdas.store(SETTINGS.table_name)
    sources = store.with_custom_sources(SOURCES if SOURCES is not None else lambdas.configured_sources())
    result = fanout.poll(sources, store, now_utc(), batch_size=SETTINGS.sources_per_batch,
                         run_inline=lambda due: run_inline(due, context),
                         send_batches=lambdas.queue_sender(SETTINGS.fetch_queue_url))
    if result.report is not None:
        record_cycle(result.report)
    swept = outbox.sweep(store, lambdas.alert_sink(SETTINGS.alert_queue_url).send, now_utc())
    logger.info("poll done", scheduled_at=event.get("time"), swept=swept, **result.as_dict())
    return result.as_dict()
