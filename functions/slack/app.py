"""slack: the HTTP API's Slack endpoints (the /vigil slash command and alert buttons).

The signature is verified (inside handle_slack_request) on the exact body bytes before
anything else; a forged or stale request gets 401 and changes nothing. Slow work goes
to the job queue, which functions/slack_jobs drains.
"""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from vigil.runtime import lambdas
from vigil.runtime.observability import count, logger, metrics, tracer
from vigil.services.slack_requests import SlackDeps, handle_slack_request

SETTINGS = lambdas.settings("TABLE_NAME", "SLACK_SIGNING_SECRET_PARAM", "SLACK_JOB_QUEUE_URL")
# Built during the init phase: Slack gives the first request only 3 s.
lambdas.commands(SETTINGS)


def deps() -> SlackDeps:
    return lambdas.slack_deps(SETTINGS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The HTTP API's payload 2.0 fields, read directly: Powertools' event classes load every
    # event type on import, a cold start Slack's 3-second budget includes. The signature
    # check reads the headers case-insensitively.
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    status, headers, payload = handle_slack_request(event["rawPath"], event.get("headers") or {}, body, deps())
    if status == 401:
        count("SlackRequestsRejected")
    return {"statusCode": status, "headers": headers, "body": payload.decode("utf-8")}
