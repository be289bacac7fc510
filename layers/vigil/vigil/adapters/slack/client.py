"""The Slack Web API through slack_sdk: posting with Vigil's retry policy, errors mapped
to the domain's delivery errors, and finding our own messages by their metadata.

Retries happen only where Slack certainly did not post: 429 (waits Retry-After) and
5xx answers. A connection error or timeout after the request was sent is NOT retried
here: the post may have landed, so it surfaces as DeliveryOutcomeUnknown and the
deliverer reconciles it from the channel's history before posting again.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from vigil.domain.errors import (
    ChannelUnavailable,
    DeliveryOutcomeUnknown,
    HistoryUnavailable,
    MessageRejected,
    RetryableDeliveryError,
    SlackAuthError,
)
from vigil.domain.retry_after import parse_retry_after
from vigil.render.slack import is_story_message, message_content

log = logging.getLogger("vigil.adapters.slack")

DEFAULT_API_URL = "https://slack.com/api/"
# How many history pages reconciliation reads at most (200 messages each).
MAX_HISTORY_PAGES = 5

# The bot can no longer post to this channel: retrying cannot help until a person acts.
CHANNEL_GONE = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "restricted_action",
    "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel", "team_access_not_granted", "ekm_access_denied",
})
# The token itself is refused: every channel is affected, so no single channel is
# disabled (that would need a /vigil resume in each one after the token is fixed);
# the alert stays queued and the log says why.
AUTH_FAILED = frozenset({
    "invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed",
    "missing_scope", "not_allowed_token_type", "no_permission", "org_login_required",
})
TRANSIENT = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout",
})


# ---------------------------------------------------------------- retry handlers


def _retry_after(response: HttpResponse | None) -> float:
    if response is None:
        return 1.0
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            raw = values[0] if isinstance(values, list | tuple) else values
            seconds = parse_retry_after(str(raw))
            return 1.0 if seconds is None else seconds
    return 1.0


class RetryAfterHandler(RateLimitErrorRetryHandler):
    """429: wait exactly what Retry-After asks (sleep injectable for tests).

    A wait longer than `max_wait` is not done inside the call: the alert is retried
    later by the queue instead of holding a Lambda (or the CLI) idle.
    """

    def __init__(self, max_retry_count: int = 3, sleep: Callable[[float], None] = time.sleep,
                 max_wait: float = 30.0) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep
        self.max_wait = max_wait

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return (super()._can_retry(state=state, request=request, response=response, error=error)
                and _retry_after(response) <= self.max_wait)

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(_retry_after(response))
        state.increment_current_attempt()


class ServerErrorHandler(ServerErrorRetryHandler):
    """5xx: a short backoff and one more try; then the queue retries later."""

    def __init__(self, max_retry_count: int = 2, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


def retry_handlers(sleep: Callable[[float], None] = time.sleep) -> list[RetryHandler]:
    # Deliberately no ConnectionErrorRetryHandler: see the module docstring.
    return [RetryAfterHandler(sleep=sleep), ServerErrorHandler(sleep=sleep)]


def web_client(token: str, *, base_url: str | None = None, sleep: Callable[[float], None] = time.sleep,
               timeout: int = 10) -> WebClient:
    """slack_sdk's WebClient pointed at `base_url` (SLACK_API_URL), with Vigil's retry policy."""
    return WebClient(token=token, base_url=base_url or DEFAULT_API_URL, timeout=timeout,
                     retry_handlers=retry_handlers(sleep))


# ---------------------------------------------------------------- the chat client


class SlackChatClient:
    """`ChatClient` over a slack_sdk WebClient."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_message(self, channel: str, payload: dict[str, Any]) -> str:
        response = _send(lambda: self.client.chat_postMessage(channel=channel, **payload),
                         cut_off=lambda exc: DeliveryOutcomeUnknown(
                             f"slack connection failed, outcome unknown: {exc}"))
        ts = response.get("ts") if response is not None else None
        if not ts:
            raise DeliveryOutcomeUnknown("slack answered without a message ts")
        return str(ts)

    def update_message(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        # The same edit again is harmless: a cut-off edit needs no reconciliation, just a retry.
        _send(lambda: self.client.chat_update(channel=channel, ts=ts, **payload),
              cut_off=lambda exc: RetryableDeliveryError(f"slack connection failed during an edit: {exc}"))

    def get_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        # The one message at `ts`: history bounded on both sides by it, inclusive.
        try:
            page = self.client.conversations_history(channel=channel, latest=ts, oldest=ts, inclusive=True,
                                                     limit=1, include_all_metadata=True)
        except SlackApiError as exc:
            raise HistoryUnavailable(f"slack history: {exc.response.get('error')}") from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise HistoryUnavailable(f"slack history unreachable: {exc}") from exc
        for message in page.get("messages") or ():
            if message.get("ts") == ts:
                return message_content(message)
        return None

    def find_message(self, channel: str, *, story_id: str, oldest: datetime,
                     thread_ts: str = "", outlet: str = "") -> str | None:
        cursor: str | None = None
        for _ in range(MAX_HISTORY_PAGES):
            page = self._history(channel, oldest, thread_ts, cursor)
            for message in page.get("messages") or ():
                if is_story_message(message.get("metadata"), story_id, outlet) and message.get("ts") != thread_ts:
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return None
        return None

    def _history(self, channel: str, oldest: datetime, thread_ts: str, cursor: str | None) -> Any:
        args: dict[str, Any] = {"channel": channel, "oldest": f"{oldest.timestamp():.6f}", "limit": 200,
                                "include_all_metadata": True, "cursor": cursor}
        try:
            if thread_ts:
                return self.client.conversations_replies(ts=thread_ts, **args)
            return self.client.conversations_history(**args)
        except SlackApiError as exc:
            raise HistoryUnavailable(f"slack history: {exc.response.get('error')}") from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise HistoryUnavailable(f"slack history unreachable: {exc}") from exc


def _send(call: Callable[[], Any], *, cut_off: Callable[[Exception], Exception]) -> Any:
    """One Web API call with slack_sdk's errors as the domain's; `cut_off` says what a
    connection lost after the request went out means for this call."""
    try:
        return call()
    except SlackApiError as exc:
        raise _classify(exc) from exc
    except SlackRequestError as exc:
        # Raised before anything was sent (a malformed request): Slack did nothing.
        raise RetryableDeliveryError(f"slack request not sent: {exc}") from exc
    except (SlackClientError, OSError, http.client.HTTPException) as exc:
        raise cut_off(exc) from exc


def _classify(exc: SlackApiError) -> Exception:
    response = exc.response
    status = getattr(response, "status_code", 0) or 0
    error = ""
    try:
        error = str(response.get("error") or "")
    except (AttributeError, TypeError, ValueError):
        error = ""
    if error in CHANNEL_GONE:
        return ChannelUnavailable(error)
    if error in AUTH_FAILED:
        log.error("slack refused the bot token: error=%s", error)
        return SlackAuthError(f"slack refused the token: {error}")
    if status == 429 or status >= 500 or error in TRANSIENT or not error:
        return RetryableDeliveryError(f"slack status={status} error={error or 'none'}")
    return MessageRejected(error)
