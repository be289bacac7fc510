"""SQS adapters: the alert sink between poll and notify, and JSON batches to any queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from vigil.domain.batching import iter_chunks
from vigil.domain.codec import outbox_ref_to_dict

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
else:
    SQSClient = Any

SEND_BATCH_MAX = 10  # SQS's limit of entries per SendMessageBatch
SEND_ATTEMPTS = 3


class QueueError(Exception):
    """Messages could not be queued (queue unreachable, throttled, or refused them)."""


def make_sqs_client() -> SQSClient:
    import boto3
    from botocore.config import Config

    return boto3.client("sqs", config=Config(connect_timeout=5, read_timeout=10,
                                             retries={"mode": "standard", "max_attempts": 5}))


def send_bodies(client: SQSClient, queue_url: str, bodies: Sequence[str]) -> int:
    """Send every body, 10 per call; entries SQS fails are retried, then QueueError."""
    for chunk in iter_chunks(list(bodies), SEND_BATCH_MAX):
        _send_chunk(client, queue_url, chunk)
    return len(bodies)


def _send_chunk(client: SQSClient, queue_url: str, chunk: list[str]) -> None:
    pending = {str(i): body for i, body in enumerate(chunk)}
    for _ in range(SEND_ATTEMPTS):
        entries = [{"Id": i, "MessageBody": body} for i, body in pending.items()]
        try:
            resp = client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(f"sqs SendMessageBatch to {queue_url} failed: {exc}") from exc
        failed = resp.get("Failed", [])
        # Sender faults (a malformed message) fail the same way again: stop now.
        fatal = [f for f in failed if f.get("SenderFault")]
        if fatal:
            raise QueueError(f"sqs refused {len(fatal)} messages: {fatal[0].get('Code')}: {fatal[0].get('Message')}")
        pending = {f["Id"]: pending[f["Id"]] for f in failed}
        if not pending:
            return
    raise QueueError(f"sqs SendMessageBatch to {queue_url}: {len(pending)} messages failed after retries")


class SqsAlertSink:
    """`AlertSink` that queues one message per outbox entry (its key) for the notify function."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self.queue_url = queue_url
        self.client = client if client is not None else make_sqs_client()
        self.sent = 0

    def send(self, keys: list[str]) -> None:
        bodies = [json.dumps(outbox_ref_to_dict(k), ensure_ascii=False) for k in keys]
        self.sent += send_bodies(self.client, self.queue_url, bodies)
