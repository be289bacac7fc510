"""One Logger, Tracer and Metrics for every function (service name from template Globals).

The core logs through stdlib `logging` ("vigil.*" loggers); those records are routed
through the Powertools Logger so they come out as structured JSON carrying the
invocation's correlation id, like the handlers' own lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import utils as logging_utils
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "vigil")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Vigil")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def sdk_tracing_enabled(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether the X-Ray SDK would trace here: in Lambda (not sam local) and not switched off
    with POWERTOOLS_TRACE_DISABLED, the same rule as the Powertools Tracer's own."""
    disabled = env.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on")
    in_lambda = bool(env.get("LAMBDA_TASK_ROOT")) and not env.get("AWS_SAM_LOCAL")
    return in_lambda and not disabled


class Tracing:
    """`@tracer.capture_lambda_handler`, paying for the X-Ray SDK only where it traces.

    Importing the SDK (which the Powertools Tracer does even when tracing is off) costs
    about as much as importing boto3 (bench/bench_coldstart.py). With active tracing
    (template.yaml) Lambda itself records every invocation's segment (initialization,
    invocation, overhead) without the SDK; the SDK adds subsegments for the handler and
    for each patched AWS and HTTP call. template.yaml turns it off
    (POWERTOOLS_TRACE_DISABLED=true); set that to false on a function to get the
    subsegments, at the import cost the bench prints.
    """

    def __init__(self, enabled: bool | None = None) -> None:
        self.tracer: Any = None
        if sdk_tracing_enabled() if enabled is None else enabled:
            from aws_lambda_powertools import Tracer

            self.tracer = Tracer(service=SERVICE)

    def capture_lambda_handler(self, handler: Handler) -> Handler:
        return handler if self.tracer is None else self.tracer.capture_lambda_handler(handler)

    def capture_method(self, method: Handler) -> Handler:
        return method if self.tracer is None else self.tracer.capture_method(method)


logger = Logger(service=SERVICE)
tracer = Tracing()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

logging_utils.copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})


# Every custom metric the functions emit. Each name is a CloudWatch custom metric billed
# every month ($0.30): the ones alarms watch, and the few that show the pipeline working
# end to end. Other counts (fan-out batches, swept entries, digest entries queued, each
# delivery and digest outcome) are in the functions' structured log lines.
METRICS = (
    "SourcesOk", "SourcesFailed", "ItemsNew", "AlertsQueued", "AlertsDelivered", "DeliveryLatency",
    "SlackErrors", "SlackRequestsRejected", "DigestsSent",
)


def count(name: str, value: float = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_cycle(report: Any) -> None:
    """Metrics of one poll cycle (a vigil.services.cycle.CycleReport)."""
    count("SourcesOk", report.sources_ok)
    count("SourcesFailed", report.sources_failed)
    count("ItemsNew", report.items_new)
    count("AlertsQueued", report.alerts)


def record_latency(published: datetime | None, now: datetime | None = None) -> None:
    """Seconds from an item's publication to its alert reaching Slack."""
    if published is None:
        return
    seconds = ((now or datetime.now(UTC)) - published).total_seconds()
    if seconds >= 0:
        metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Seconds, value=seconds)
