"""Slack's inbound side over slack_sdk: request signatures and `response_url` replies.

The Slack request service (`vigil.services.slack_requests`) gets these as plain
callables, so it never imports slack_sdk; `vigil.runtime` wires them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

log = logging.getLogger("vigil.adapters.slack.inbound")

RESPONSE_URL_TIMEOUT = 10  # seconds; a deferred reply has no user waiting on the HTTP answer


class ResponseUrlUnavailable(Exception):
    """Slack could not take a response_url reply now (5xx, 429); a retry may succeed."""


class _Clock:
    """slack_sdk's SignatureVerifier clock interface over an injectable time function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def request_verifier(signing_secret: str, clock: Callable[[], float] = time.time
                     ) -> Callable[[bytes, Mapping[str, str]], bool]:
    """`verify(body, headers)`: True only for a request signed with `signing_secret` within
    slack_sdk's 5-minute window of `clock()` (so a replayed request is refused too)."""
    verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))

    def verify(body: bytes, headers: Mapping[str, str]) -> bool:
        lowered = {k.lower(): v for k, v in headers.items()}
        timestamp = (lowered.get("x-slack-request-timestamp") or "").strip()
        signature = lowered.get("x-slack-signature")
        if not timestamp.isdigit() or not signature:
            return False
        try:
            return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
        except (ValueError, UnicodeDecodeError):
            return False

    return verify


def post_to_response_url(url: str, body: dict[str, Any]) -> None:
    """Send a reply to a Slack `response_url` (valid 30 minutes, up to 5 times).

    Raises ResponseUrlUnavailable on a transient answer; a 4xx (expired or used-up URL)
    is logged, since sending the same again cannot succeed.
    """
    response = WebhookClient(url, timeout=RESPONSE_URL_TIMEOUT).send_dict(body)
    if response.status_code == 200:
        return
    if response.status_code == 429 or response.status_code >= 500:
        raise ResponseUrlUnavailable(f"response_url answered {response.status_code}")
    log.warning("response_url refused: status=%s body=%s", response.status_code, response.body[:200])
