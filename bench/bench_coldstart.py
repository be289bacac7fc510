"""Cold start: each Lambda handler's import time in a fresh interpreter, next to `import boto3`.

The import is what a cold start pays before the first event (module-level settings,
clients, topics and sources included). Each figure is the fastest of ROUNDS fresh
processes, and the rounds interleave every module with `import boto3` (each round
times boto3, then each handler, in turn): load from the other work on a shared machine
only ever adds time, so the fastest run is the least disturbed one, and a burst of
load hits the baseline and the handlers alike instead of one of them. The heaviest
top-level packages come from `python -X importtime`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 9
TARGET = 2.0  # issue 13: every handler's import within 2x `import boto3`
HANDLERS = ("poll", "fetch", "notify", "digest", "slack", "slack_jobs")
# What the template sets; fake values, as nothing is called at import time.
ENV = {
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_NAME": "vigil-state", "IDEMPOTENCY_TABLE_NAME": "vigil-idempotency",
    "ALERT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/alerts",
    "FETCH_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/fetch",
    "SLACK_JOB_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/jobs",
    "SLACK_TOKEN_PARAM": "/vigil/slack/bot-token", "SLACK_SIGNING_SECRET_PARAM": "/vigil/slack/signing-secret",
    "DIGEST_INTERVAL_MINUTES": "15", "POWERTOOLS_SERVICE_NAME": "vigil", "POWERTOOLS_METRICS_NAMESPACE": "Vigil",
    "POWERTOOLS_TRACE_DISABLED": "true",
    # As in Lambda, so that tracing decisions are the deployed ones.
    "LAMBDA_TASK_ROOT": str(ROOT),
}
# What creating the DynamoDB client costs once boto3 is imported: poll, fetch, digest and slack
# build it at import (their idempotency layer or store needs it on every invocation).
CLIENT = (
    "import time, boto3; t = time.perf_counter(); boto3.client('dynamodb'); print(time.perf_counter() - t)"
)
# What the Powertools Tracer (the X-Ray SDK) adds to a process that has imported boto3.
TRACER = (
    "import time, boto3; t = time.perf_counter(); from aws_lambda_powertools import Tracer; "
    "Tracer(service='vigil'); print(time.perf_counter() - t)"
)
TIMER = (
    "import time, importlib; t = time.perf_counter(); importlib.import_module({mod!r}); "
    "print(time.perf_counter() - t)"
)


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "layers" / "vigil"), str(ROOT)])
    return {**os.environ, **ENV, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "0"}


def import_seconds(module: str, code: str = "") -> float:
    out = subprocess.run([sys.executable, "-c", code or TIMER.format(mod=module)], capture_output=True, text=True,
                         env=_env(), cwd=ROOT, check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


def best_imports(jobs: dict[str, tuple[str, str]], rounds: int = ROUNDS) -> dict[str, float]:
    """Fastest import seconds of each job (name: (module, code)) over interleaved rounds."""
    for module, code in jobs.values():
        import_seconds(module, code)  # warm the bytecode cache, as a deployed package has .pyc files
    best = dict.fromkeys(jobs, float("inf"))
    for _ in range(rounds):
        for name, (module, code) in jobs.items():
            best[name] = min(best[name], import_seconds(module, code))
    return best


def heaviest(module: str, n: int = 4) -> list[tuple[str, float]]:
    """Top-level packages whose own modules take the most import time (seconds)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                          text=True, env=_env(), cwd=ROOT, check=True, timeout=120)
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        self_us = parts[0].rsplit(":", 1)[-1].strip()
        if not self_us.isdigit():
            continue
        top = parts[2].strip().split(".")[0]
        totals[top] = totals.get(top, 0.0) + int(self_us) / 1e6
    return sorted(totals.items(), key=lambda kv: -kv[1])[:n]


def run() -> list[str]:
    jobs = {"boto3": ("boto3", ""), **{name: (f"functions.{name}.app", "") for name in HANDLERS},
            "client": ("", CLIENT), "tracer": ("", TRACER)}
    best = best_imports(jobs)
    boto3_s = best["boto3"]
    lines = [f"import boto3 alone: {boto3_s * 1000:.0f} ms (fastest of {ROUNDS} interleaved rounds of fresh "
             f"processes); target: every handler <= {TARGET:.1f}x"]
    worst = 0.0
    for name in HANDLERS:
        module = f"functions.{name}.app"
        seconds = best[name]
        worst = max(worst, seconds / boto3_s)
        top = ", ".join(f"{pkg} {s * 1000:.0f}" for pkg, s in heaviest(module))
        lines.append(f"{name:10s} handler import: {seconds * 1000:4.0f} ms = {seconds / boto3_s:.2f}x boto3"
                     f"  (heaviest, ms: {top})")
    verdict = "meets" if worst <= TARGET else "MISSES"
    lines.append(f"slowest handler {worst:.2f}x boto3: {verdict} target {TARGET:.1f}x")
    client_s = best["client"]
    lines.append(f"of which creating the DynamoDB client, after boto3: {client_s * 1000:.0f} ms "
                 f"= {client_s / boto3_s:.2f}x boto3 (needed on every invocation, so built at import)")
    tracer_s = best["tracer"]
    lines.append(f"Powertools Tracer with the X-Ray SDK, after boto3: +{tracer_s * 1000:.0f} ms "
                 f"= +{tracer_s / boto3_s:.2f}x boto3 (paid only where POWERTOOLS_TRACE_DISABLED=false)")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
