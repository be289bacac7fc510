"""One Logger, Tracer and Metrics for every function (service name from template Globals).

The core logs through stdlib `logging` ("vigil.*" loggers); those records are routed
through the Powertools Logger so they come out as structured JSON carrying the
invocation's correlation id, like the handlers' own lines.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import utils as logging_utils
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "vigil")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Vigil")

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

logging_utils.copy_config_to_registered_loggers(source_logger=logger, include={"vigil"})


def count(name: str, value: float = 1) -> None:
    if value:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def record_cycle(report: Any) -> None:
    """Metrics of one poll cycle (a vigil.services.cycle.CycleReport)."""
    count("SourcesOk", report.sources_ok)
    count("SourcesFailed", report.sources_failed)
    count("ItemsNew", report.items_new)
    count("AlertsQueued", report.alerts)
    count("DigestQueued", report.digest_queued)


def record_latency(published: datetime | None, now: datetime | None = None) -> None:
    """Seconds from an item's publication to its alert reaching Slack."""
    if published is None:
        return
    seconds = ((now or datetime.now(UTC)) - published).total_seconds()
    if seconds >= 0:
        metrics.add_metric(name="DeliveryLatency", unit=MetricUnit.Seconds, value=seconds)
