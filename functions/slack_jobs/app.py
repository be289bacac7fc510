"""slack_jobs: the slow half of Slack requests (status, sources, message updates after a
click) from the job queue, each answered through its request's response_url."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.runtime import lambdas
from vigil.runtime.observability import logger, metrics, tracer
from vigil.services.slack_requests import run_deferred

SETTINGS = lambdas.settings("TABLE_NAME")
PROCESSOR = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    # A failed reply is reported to the BatchProcessor, so SQS retries it (then the DLQ).
    run_deferred(json.loads(record.body), lambdas.slack_job_deps(SETTINGS), reraise=True)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=PROCESSOR,
                                    context=context)
