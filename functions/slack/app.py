"""slack: the HTTP API's Slack endpoints, and the slow work they defer through the job queue.

The signature is verified (inside handle_slack_request) on the exact body bytes before
anything else; a forged or stale request gets 401 and changes nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_topics
from vigil.adapters.sqs import make_sqs_client
from vigil.adapters.state.dynamodb import DynamoKV
from vigil.runtime.observability import count, logger, metrics, tracer
from vigil.runtime.settings import load_settings, private_networks_allowed, secret
from vigil.services.commands import Commands
from vigil.services.slack_requests import (
    DeferredJob,
    SlackDeps,
    handle_slack_request,
    response_url_allowed,
    run_deferred,
)
from vigil.services.store import Store

SETTINGS = load_settings(["TABLE_NAME", "SLACK_SIGNING_SECRET_PARAM", "SLACK_JOB_QUEUE_URL"])
STORE = Store(DynamoKV(SETTINGS.table_name))
SQS = make_sqs_client()
# `source add` refuses private address literals unless fetching from them is allowed too.
PRIVATE_NETWORKS = private_networks_allowed()
COMMANDS = Commands(store=STORE, topics=load_topics(), sources=load_sources(), admins=SETTINGS.admins,
                    allow_private_networks=PRIVATE_NETWORKS)
PROCESSOR = BatchProcessor(event_type=EventType.SQS)
_deps: dict[str, SlackDeps] = {}


def _any_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def defer(job: DeferredJob) -> None:
    """Slack waits only 3 s: slow work goes to the job queue and answers via response_url."""
    SQS.send_message(QueueUrl=SETTINGS.slack_job_queue_url, MessageBody=json.dumps(job))


def deps() -> SlackDeps:
    """SlackDeps for the current signing secret (cached; rebuilt if the secret rotates)."""
    signing_secret = secret(SETTINGS.slack_signing_secret_param)
    if signing_secret not in _deps:
        # Loopback tests answer through a fake Slack; deployed, only hooks.slack.com.
        _deps.clear()
        _deps[signing_secret] = SlackDeps(
            signing_secret=signing_secret, commands=COMMANDS, defer=defer,
            is_allowed_response_url=_any_http_url if PRIVATE_NETWORKS else response_url_allowed,
        )
    return _deps[signing_secret]


def http_response(event: APIGatewayProxyEventV2) -> dict[str, Any]:
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8")
    status, headers, payload = handle_slack_request(event.raw_path, event.headers, body, deps())
    if status == 401:
        count("SlackRequestsRejected")
    return {"statusCode": status, "headers": headers, "body": payload.decode("utf-8")}


def job_handler(record: SQSRecord) -> None:
    # A failed reply is reported to the BatchProcessor, so SQS retries it (then the DLQ).
    run_deferred(json.loads(record.body), deps(), reraise=True)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:  # deferred jobs from SLACK_JOB_QUEUE_URL
        return process_partial_response(event=event, record_handler=job_handler, processor=PROCESSOR,
                                        context=context)
    return http_response(APIGatewayProxyEventV2(event))
