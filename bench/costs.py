"""The stack's monthly cost (docs/AWS.md, "Monthly cost estimate"): prices, assumptions, one arithmetic.

`bench_dynamodb.py` counts a cycle's DynamoDB units, `fetch_batch.py` measures one fetch
invocation's wall and CPU time, and `table()` turns both into the rows docs/AWS.md shows.
What is measured comes in as `Cycle`; everything else is a named assumption below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CYCLES_PER_MONTH = 8_640  # 30 days of 5-minute cycles
TARGET_MONTH = 60.0  # issue 13: the whole stack at 5,000 sources

# us-east-1 list prices, no free tier.
LAMBDA_GB_SECOND = 0.0000133334  # arm64
LAMBDA_REQUEST = 0.20 / 1e6
WRU = 0.625 / 1e6
RRU = 0.125 / 1e6
CUSTOM_METRIC_MONTH = 0.30
ALARM_METRIC_MONTH = 0.10
LOGS_GB = 0.50
XRAY_TRACE = 5.00 / 1e6

MEMORY_GB = 512 / 1024  # template.yaml Globals MemorySize
# Lambda gives a function CPU in proportion to its memory: one full vCPU at 1,769 MB, so
# at 512 MB each CPU-second measured here takes ~3.5 s (this machine's core taken as
# fast as a Graviton core; not measured).
CPU_SLOWDOWN = 1769 / 512

# Assumed, not measured by the bench:
POLL_SECONDS = 1.0  # poll at 5,000 sources: due-sources query, 20 messages to the fetch queue, sweep
NOTIFY_SECONDS_PER_ALERT = 0.4  # one chat.postMessage (~0.3 s) and the delivery's store requests
ALERTS_PER_NOTIFY = 2  # an item's alerts (one per subscribed channel) are queued together
DIGEST_INVOCATIONS_PER_CYCLE = 5 / 15  # DigestSchedule every 15 minutes
LOG_BYTES_FETCH = 5_000  # START/END/REPORT, "batch done", the metrics blob, a few source warnings
LOG_BYTES_OTHER = 1_500  # START/END/REPORT and the metrics blob (notify: no line per sent alert)
STORAGE_AND_PITR_MONTH = 0.45  # ~1 GB: seen marks (7-day TTL), stories, states
SQS_MONTH = 1.40  # the event source mappings' long polls on three queues, sends, deletes
ALARM_METRICS = 13  # template.yaml: 3 dead-letter, 6 function errors, 3 Vigil metrics, API 5xx


@dataclass(frozen=True)
class Cycle:
    """One 5-minute cycle at `sources`: measured DynamoDB units and fetch batch time."""

    sources: int
    batch: int  # SourcesPerBatch
    fetch_seconds: float  # billed seconds of one fetch invocation (fetch_batch.billed_seconds)
    wru: float  # state table, cycle and notify (bench_dynamodb)
    rru: float
    alerts: float
    custom_metrics: int

    @property
    def batches(self) -> int:
        return math.ceil(self.sources / self.batch)


def billed_seconds(wall_s: float, cpu_s: float) -> float:
    """A fetch invocation's billed duration at 512 MB from a run measured here.

    Lambda bills wall time. The measured wall time already holds the CPU time once; at
    512 MB every CPU second takes CPU_SLOWDOWN seconds, and none of the extra is assumed
    to overlap the waits on feeds and DynamoDB (an upper bound: a lower one would be
    max(wall, cpu x CPU_SLOWDOWN)).
    """
    return wall_s + cpu_s * (CPU_SLOWDOWN - 1)


def monthly(c: Cycle) -> dict[str, float]:
    """$/month by line item, in docs/AWS.md's order."""
    notify_invocations = c.alerts / ALERTS_PER_NOTIFY
    invocations = 1 + c.batches + notify_invocations + DIGEST_INVOCATIONS_PER_CYCLE
    gb_seconds = MEMORY_GB * (POLL_SECONDS + c.batches * c.fetch_seconds + c.alerts * NOTIFY_SECONDS_PER_ALERT)
    idempotency_wru = 2 * (1 + c.batches)  # Powertools records: poll and each fetch batch
    log_bytes = c.batches * LOG_BYTES_FETCH + (invocations - c.batches) * LOG_BYTES_OTHER
    return {
        "Lambda compute": gb_seconds * CYCLES_PER_MONTH * LAMBDA_GB_SECOND,
        "Lambda requests": invocations * CYCLES_PER_MONTH * LAMBDA_REQUEST,
        "DynamoDB writes": (c.wru + idempotency_wru) * CYCLES_PER_MONTH * WRU,
        "DynamoDB reads": c.rru * CYCLES_PER_MONTH * RRU,
        "DynamoDB storage + PITR": STORAGE_AND_PITR_MONTH,
        "SQS": SQS_MONTH,
        "CloudWatch metrics + alarms": c.custom_metrics * CUSTOM_METRIC_MONTH + ALARM_METRICS * ALARM_METRIC_MONTH,
        "CloudWatch Logs": log_bytes * CYCLES_PER_MONTH / 1e9 * LOGS_GB,
        # X-Ray samples the first request each second and 5 % of the rest: at under one
        # invocation a second, every invocation is a trace.
        "X-Ray traces": invocations * CYCLES_PER_MONTH * XRAY_TRACE,
    }


def detail(c: Cycle) -> dict[str, str]:
    """What each line item is made of, for the table."""
    months = CYCLES_PER_MONTH
    gb_s = MEMORY_GB * (POLL_SECONDS + c.batches * c.fetch_seconds + c.alerts * NOTIFY_SECONDS_PER_ALERT) * months
    invocations = (1 + c.batches + c.alerts / ALERTS_PER_NOTIFY + DIGEST_INVOCATIONS_PER_CYCLE) * months
    return {
        "Lambda compute": f"{c.batches} x {c.fetch_seconds:.1f} s fetch + poll + notify: {gb_s / 1e6:.2f} M GB-s",
        "Lambda requests": f"{invocations / 1e6:.2f} M",
        "DynamoDB writes": f"{c.wru + 2 * (1 + c.batches):,.0f} WRU/cycle",
        "DynamoDB reads": f"{c.rru:,.0f} RRU/cycle",
        "CloudWatch metrics + alarms": f"{c.custom_metrics} metrics, {ALARM_METRICS} alarm metrics",
        "X-Ray traces": f"{invocations / 1e6:.2f} M",
    }


def table(columns: dict[str, Cycle]) -> list[str]:
    """docs/AWS.md's monthly table: one column per named cycle, then the total and verdict."""
    costs = {name: monthly(c) for name, c in columns.items()}
    details = {name: detail(c) for name, c in columns.items()}
    lines = ["| item | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for item in next(iter(costs.values())):
        cells = []
        for name in columns:
            note = details[name].get(item)
            cells.append(f"{note} → ${costs[name][item]:,.2f}" if note else f"${costs[name][item]:,.2f}")
        lines.append(f"| {item} | " + " | ".join(cells) + " |")
    totals = {name: sum(c.values()) for name, c in costs.items()}
    lines.append("| **total** | " + " | ".join(f"**${t:,.2f}**" for t in totals.values()) + " |")
    return lines


def verdict(total: float) -> str:
    if total <= TARGET_MONTH:
        return f"meets target ${TARGET_MONTH:,.0f}"
    return f"MISSES target ${TARGET_MONTH:,.0f} by ${total - TARGET_MONTH:,.2f}"
