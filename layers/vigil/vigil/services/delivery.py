"""Posting alerts to Slack (or to the local outbox) exactly once per (story, channel).

The store's delivery claim is the idempotency key: only the worker that claims a
(story, channel) posts the top-level message, and the claim becomes "sent" only after
Slack accepted the post. Later outlets of the same story become thread replies, one
per outlet. Transient failures give the claim back and raise RetryableDeliveryError
(the caller retries: SQS on AWS, the local retry queue on one machine); a channel the
bot can no longer post to gets its subscriptions disabled instead of retrying forever.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from vigil.domain.models import Alert, Delivery
from vigil.render.slack import mrkdwn_to_text, render_alert, render_reply
from vigil.services.store import Store

log = logging.getLogger("vigil.services.delivery")

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_OUTBOX = Path(".vigil") / "outbox.jsonl"

# The bot can no longer post to this channel: retrying cannot help until a person acts.
CHANNEL_GONE = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "restricted_action",
    "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel", "team_access_not_granted", "ekm_access_denied",
})
# The token itself is refused: every channel is affected, so no single channel is
# disabled (that would need a /vigil resume in each one after the token is fixed);
# the alert stays queued (local retry queue / SQS then DLQ) and the log says why.
AUTH_FAILED = frozenset({
    "invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed",
    "missing_scope", "not_allowed_token_type", "no_permission", "org_login_required",
})
TRANSIENT = frozenset({
    "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
    "request_timeout",
})


class RetryableDeliveryError(Exception):
    """Slack did not take the alert now; deliver it again later (nothing was recorded)."""


class SlackAuthError(RetryableDeliveryError):
    """Slack refused the bot token: fix the token, then the queued alerts go out."""


class ChatClient(Protocol):
    """The part of slack_sdk's WebClient Vigil uses (OutboxClient provides it too)."""

    def chat_postMessage(self, **kwargs: Any) -> Any: ...

    def chat_update(self, **kwargs: Any) -> Any: ...


# ---------------------------------------------------------------- retry handlers


def _retry_after(response: HttpResponse | None) -> float:
    if response is None:
        return 1.0
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            raw = values[0] if isinstance(values, list | tuple) else values
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return 1.0
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


class _BackoffSleepMixin(RetryHandler):
    sleep: Callable[[float], None]

    def prepare_for_next_attempt(self, *, state: RetryState, request: HttpRequest,
                                 response: HttpResponse | None = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self.sleep(self.interval_calculator.calculate_sleep_duration(state.current_attempt))
        state.increment_current_attempt()


class ServerErrorHandler(_BackoffSleepMixin, ServerErrorRetryHandler):
    """5xx: a short backoff and one more try; then the queue retries later."""

    def __init__(self, max_retry_count: int = 2, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep

    def _can_retry(self, *, state: RetryState, request: HttpRequest,
                   response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


class ConnectionErrorHandler(_BackoffSleepMixin, ConnectionErrorRetryHandler):
    def __init__(self, max_retry_count: int = 2, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.sleep = sleep


def retry_handlers(sleep: Callable[[float], None] = time.sleep) -> list[RetryHandler]:
    return [RetryAfterHandler(sleep=sleep), ServerErrorHandler(sleep=sleep), ConnectionErrorHandler(sleep=sleep)]


def web_client(token: str, *, base_url: str | None = None, sleep: Callable[[float], None] = time.sleep,
               timeout: int = 10) -> WebClient:
    """slack_sdk's WebClient pointed at SLACK_API_URL, with Vigil's retry policy."""
    return WebClient(
        token=token,
        base_url=base_url or os.environ.get("SLACK_API_URL") or DEFAULT_API_URL,
        timeout=timeout,
        retry_handlers=retry_handlers(sleep),
    )


# ---------------------------------------------------------------- outbox


class OutboxClient:
    """Stands in for WebClient without a token: each call becomes one JSON line.

    Lines are `{"method": ..., "payload": {...}}` with the body WebClient would have
    sent, and each alert is previewed as readable text for the terminal.
    """

    def __init__(self, path: str | Path = DEFAULT_OUTBOX, preview: TextIO | None = None) -> None:
        self.path = Path(path)
        self.preview = preview
        self._lock = threading.Lock()
        self._last_ts = 0

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return self.api_call("chat.postMessage", json=kwargs)

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        return self.api_call("chat.update", json=kwargs)

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        return self.api_call("chat.postEphemeral", json=kwargs)

    def api_call(self, api_method: str, *, json: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        # WebClient drops None values before sending; the outbox records the same body.
        payload = {k: v for k, v in {**(params or {}), **(json or {})}.items() if v is not None}
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(_json_line({"method": api_method, "payload": payload}))
            ts = self._next_ts()
        if self.preview is not None:
            self.preview.write(preview_text(api_method, payload))
            self.preview.flush()
        return {"ok": True, "channel": payload.get("channel", ""), "ts": payload.get("ts", ts)}

    def _next_ts(self) -> str:
        # Slack ts values are unique per channel; microseconds, strictly increasing.
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def preview_text(method: str, payload: Mapping[str, Any]) -> str:
    """A terminal rendering of a message: block texts with mrkdwn links made readable."""
    where = payload.get("channel", "?")
    thread = " (thread reply)" if payload.get("thread_ts") else ""
    lines = [f"── {method} → {where}{thread} " + "─" * 20]
    for block in payload.get("blocks") or ():
        lines.extend(_block_lines(block))
    if not payload.get("blocks"):
        lines.append(mrkdwn_to_text(str(payload.get("text", ""))))
    return "\n".join(lines) + "\n\n"


def _block_lines(block: Mapping[str, Any]) -> list[str]:
    to_text = mrkdwn_to_text
    kind = block.get("type")
    if kind in ("section", "header"):
        return ["  " + line for line in to_text(str(block.get("text", {}).get("text", ""))).splitlines()]
    if kind == "context":
        return ["  " + " ".join(to_text(str(e.get("text", ""))) for e in block.get("elements", ()))]
    if kind == "actions":
        labels = [str(e.get("text", {}).get("text", "")) for e in block.get("elements", ())]
        return ["  " + "  ".join(f"[{label}]" for label in labels)]
    return []


def make_client(outbox_path: str | Path | None = None, *, preview: bool = True,
                preview_stream: TextIO | None = None) -> ChatClient:
    """WebClient when SLACK_BOT_TOKEN is set, else the outbox (with a terminal preview)."""
    token = os.environ.get("SLACK_BOT_TOKEN", "").strip()
    if token:
        return web_client(token)
    stream = (preview_stream or sys.stdout) if preview else None
    return OutboxClient(outbox_path or DEFAULT_OUTBOX, preview=stream)


# ---------------------------------------------------------------- the deliverer


class ChannelUnavailable(Exception):
    """The bot cannot post to this channel (archived, removed, not a member)."""


class MessageRejected(Exception):
    """Slack refused this payload itself (a bug on our side); retrying the same fails."""


class Deliverer:
    """Posts alerts once per (story, channel), paced at about one message per second per channel."""

    def __init__(self, store: Store, client: ChatClient, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 topic_names: Mapping[str, str] | None = None) -> None:
        self.store = store
        self.client = client
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.topic_names = topic_names
        self._next_slot: dict[str, float] = {}
        self._pace_lock = threading.Lock()

    def deliver(self, alert: Alert) -> str:
        """Deliver one alert; returns "sent", "replied", "duplicate", "disabled", "paused",
        "muted" or "failed".

        Raises RetryableDeliveryError when it should be tried again later.
        """
        settings = self.store.get_channel(alert.channel)
        # Routing checked these when the alert was made; the channel may have changed
        # since (a queued alert, a click on Mute), and the latest word wins.
        if settings.disabled_reason:
            return "disabled"
        if settings.paused:
            return "paused"
        if alert.item.source_id in settings.muted_sources:
            return "muted"
        if alert.kind == "update":
            delivery = self.store.get_delivery(alert.story.id, alert.channel)
            if delivery is None:
                # The channel never saw this story (e.g. it subscribed since): start the thread.
                return self._deliver_new(alert)
            return self._after_claim_lost(alert, delivery)
        return self._deliver_new(alert)

    # -- top-level message --------------------------------------------------

    def _deliver_new(self, alert: Alert) -> str:
        story_id, channel = alert.story.id, alert.channel
        if not self.store.claim_delivery(story_id, channel):
            return self._after_claim_lost(alert)
        try:
            ts = self.post(channel, render_alert(alert, self.topic_names))
        except ChannelUnavailable as exc:
            self.store.release_delivery(story_id, channel)
            self._disable(channel, str(exc))
            return "disabled"
        except MessageRejected as exc:
            self.store.release_delivery(story_id, channel)
            log.error("slack rejected alert: story=%s channel=%s error=%s", story_id, channel, exc)
            return "failed"
        except RetryableDeliveryError:
            self.store.release_delivery(story_id, channel)
            raise
        self._complete(story_id, channel, ts, alert.item.source_id)
        log.info("alert sent: story=%s channel=%s ts=%s", story_id, channel, ts)
        return "sent"

    def _complete(self, story_id: str, channel: str, ts: str, outlet: str) -> None:
        # Slack has the message: raising now would make the queue post it again, so
        # try hard to record it and otherwise log (the claim's lease bounds the damage).
        for attempt in range(3):
            try:
                self.store.complete_delivery(story_id, channel, ts, outlet)
                return
            except Exception as exc:  # the store's backend errors vary (sqlite, dynamodb)
                log.error("recording delivery failed: story=%s channel=%s attempt=%d error=%s",
                          story_id, channel, attempt + 1, exc)
                self.sleep(0.2 * (attempt + 1))

    def _after_claim_lost(self, alert: Alert, delivery: Delivery | None = None) -> str:
        delivery = delivery or self.store.get_delivery(alert.story.id, alert.channel)
        if delivery is None or delivery.status != "sent":
            # Another worker holds the claim (or just released it): its outcome decides
            # whether this becomes a thread reply, so look again later.
            raise RetryableDeliveryError(f"story {alert.story.id} is being posted to {alert.channel}")
        return self._reply(alert)

    # -- thread reply -------------------------------------------------------

    def _reply(self, alert: Alert) -> str:
        story_id, channel = alert.story.id, alert.channel
        delivery = self.store.claim_outlet(story_id, channel, alert.item.source_id)
        if delivery is None:
            return "duplicate"
        payload = {**render_reply(alert), "thread_ts": delivery.ts}
        try:
            self.post(channel, payload)
        except ChannelUnavailable as exc:
            self._disable(channel, str(exc))
            return "disabled"
        except MessageRejected as exc:
            log.error("slack rejected reply: story=%s channel=%s error=%s", story_id, channel, exc)
            return "failed"
        except RetryableDeliveryError:
            # Give the outlet back so the retry (queue or next run) can post the reply.
            self.store.release_outlet(story_id, channel, alert.item.source_id)
            raise
        log.info("reply sent: story=%s channel=%s outlet=%s", story_id, channel, alert.item.source_id)
        return "replied"

    # -- Slack calls ----------------------------------------------------------

    def post(self, channel: str, payload: dict[str, Any]) -> str:
        """Post (paced) and return the message ts.

        Raises RetryableDeliveryError, ChannelUnavailable or MessageRejected.
        """
        try:
            return self._call(channel, payload)
        except MessageRejected:
            if not payload.get("blocks"):
                raise
        # Blocks Slack refuses (a rendering bug) should not cost the alert: plain text.
        log.warning("blocks rejected, posting text only: channel=%s", channel)
        plain = {k: v for k, v in payload.items() if k not in ("blocks", "metadata")}
        return self._call(channel, plain)

    def _call(self, channel: str, payload: dict[str, Any]) -> str:
        self._pace(channel)
        try:
            response = self.client.chat_postMessage(channel=channel, **payload)
        except SlackApiError as exc:
            raise _classify(exc) from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:
            raise RetryableDeliveryError(f"slack unreachable: {exc}") from exc
        ts = response.get("ts") if response is not None else None
        if not ts:
            raise RetryableDeliveryError("slack answered without a message ts")
        return str(ts)

    def _pace(self, channel: str) -> None:
        """Keep at least `interval` seconds between posts to one channel (Slack's guidance)."""
        with self._pace_lock:
            now = self.clock()
            slot = max(now, self._next_slot.get(channel, now))
            self._next_slot[channel] = slot + self.interval
        if slot > now:
            self.sleep(slot - now)

    def _disable(self, channel: str, reason: str) -> None:
        disable_channel(self.store, channel, reason)


def disable_channel(store: Store, channel: str, reason: str) -> None:
    """Stop delivering to a channel Slack says we cannot post to, until /vigil resume."""
    settings = store.get_channel(channel)
    settings.disabled_reason = reason
    store.put_channel(settings)
    for sub in store.subscriptions(channel):
        if sub.active:
            sub.active = False
            store.put_subscription(sub)
    log.warning("channel disabled: channel=%s reason=%s (re-invite the bot, then /vigil resume)",
                channel, reason)


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
