"""Slack's HTTP endpoints, transport-neutral: `vigil serve` and the Lambda both call
`handle_slack_request(path, headers, body, deps)`.

Order matters: the signature is verified before anything is parsed or changed, so a
forged, replayed (older than 5 minutes) or unsigned request gets 401 and no effect.
Slack waits 3 seconds for an answer: quick commands answer inline; slow ones (and
message updates after a click) become a `DeferredJob` handed to `deps.defer`, which
runs it later (a thread locally, the queue on AWS) and answers through `response_url`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from vigil.services.commands import Commands, SlashCommand, clean_text
from vigil.services.interactions import handle_block_actions

log = logging.getLogger("vigil.services.slack_requests")

COMMANDS_PATH = "/slack/commands"
INTERACTIONS_PATH = "/slack/interactions"
MAX_BODY = 64 * 1024  # Slack's requests are a few KB; anything bigger is not Slack
# Subcommands that may take longer than Slack's 3 s on a cold or busy store.
SLOW_SUBCOMMANDS = frozenset({"status", "sources"})

Response = tuple[int, dict[str, str], bytes]
DeferredJob = dict[str, Any]  # JSON-serializable, so it can travel through a queue


class _Clock:
    """slack_sdk's SignatureVerifier clock interface over an injectable time function."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class ResponseUrlUnavailable(Exception):
    """Slack could not take a response_url reply now (5xx, 429); a retry may succeed."""


def post_to_response_url(url: str, body: dict[str, Any]) -> None:
    """Send a reply to a Slack `response_url` (valid 30 minutes, up to 5 times).

    Raises ResponseUrlUnavailable on a transient answer; a 4xx (expired or used-up URL)
    is logged, since sending the same again cannot succeed.
    """
    response = WebhookClient(url, timeout=10).send_dict(body)
    if response.status_code == 200:
        return
    if response.status_code == 429 or response.status_code >= 500:
        raise ResponseUrlUnavailable(f"response_url answered {response.status_code}")
    log.warning("response_url refused: status=%s body=%s", response.status_code, response.body[:200])


def response_url_allowed(url: str) -> bool:
    """Only Slack's own hooks host: a response_url is where we send channel data."""
    parts = urlsplit(url)
    return parts.scheme == "https" and parts.hostname == "hooks.slack.com"


@dataclass(slots=True)
class SlackDeps:
    signing_secret: str
    commands: Commands
    # Runs a DeferredJob later; by default right away (fine for tests, not for Slack).
    defer: Callable[[DeferredJob], None] | None = None
    respond: Callable[[str, dict[str, Any]], None] = post_to_response_url
    is_allowed_response_url: Callable[[str], bool] = response_url_allowed
    clock: Callable[[], float] = time.time
    _verifier: SignatureVerifier | None = field(default=None, init=False)

    @property
    def verifier(self) -> SignatureVerifier:
        if self._verifier is None:
            self._verifier = SignatureVerifier(self.signing_secret, clock=_Clock(self.clock))
        return self._verifier

    def schedule(self, job: DeferredJob) -> None:
        if self.defer is None:
            run_deferred(job, self)
        else:
            self.defer(job)


def handle_slack_request(path: str, headers: Mapping[str, str], body: bytes, deps: SlackDeps) -> Response:
    """One Slack HTTP request in, (status, headers, body) out."""
    if not is_valid_slack_request(body, headers, deps):
        log.warning("slack request rejected: bad or missing signature path=%s", path)
        return _text(401, "invalid signature")
    path = urlsplit(path).path.rstrip("/")
    form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    if form.get("ssl_check"):
        return _text(200, "")
    if path == COMMANDS_PATH:
        return _handle_command(form, deps)
    if path == INTERACTIONS_PATH:
        return _handle_interaction(form, deps)
    return _text(404, "not found")


def is_valid_slack_request(body: bytes, headers: Mapping[str, str], deps: SlackDeps) -> bool:
    if len(body) > MAX_BODY:
        return False
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-slack-request-timestamp")
    signature = lowered.get("x-slack-signature")
    if not timestamp or not signature or not timestamp.strip().isdigit():
        return False
    try:
        return deps.verifier.is_valid(body=body, timestamp=timestamp.strip(), signature=signature)
    except (ValueError, UnicodeDecodeError):
        return False


# ---------------------------------------------------------------- commands


def _handle_command(form: dict[str, str], deps: SlackDeps) -> Response:
    cmd = SlashCommand.from_form(form)
    if not cmd.channel or not cmd.user:
        return _text(400, "missing channel_id or user_id")
    words = clean_text(cmd.text).lower().split()
    if words and words[0] in SLOW_SUBCOMMANDS and deps.is_allowed_response_url(cmd.response_url):
        deps.schedule({"kind": "command", "form": form})
        return _json(200, {"response_type": "ephemeral", "text": "Working on it…"})
    return _json(200, deps.commands.handle(cmd).as_slack())


# ---------------------------------------------------------------- interactions


def _handle_interaction(form: dict[str, str], deps: SlackDeps) -> Response:
    try:
        payload = json.loads(form.get("payload", ""))
    except ValueError:
        return _text(400, "payload is not JSON")
    if not isinstance(payload, dict):
        return _text(400, "payload is not an object")
    result = handle_block_actions(payload, deps.commands.store)
    if result.update is not None and deps.is_allowed_response_url(result.response_url):
        deps.schedule({"kind": "respond", "url": result.response_url, "body": result.update})
    return _text(200, "")


# ---------------------------------------------------------------- deferred work


def run_deferred(job: DeferredJob, deps: SlackDeps, *, reraise: bool = False) -> None:
    """Do the slow part of a request and answer through its response_url.

    `reraise` is for queue workers: the failure goes back to the queue, which retries
    (a response_url stays valid for 30 minutes). A server thread logs it instead.
    """
    try:
        if job.get("kind") == "command":
            form = job["form"]
            reply = deps.commands.handle(SlashCommand.from_form(form)).as_slack()
            deps.respond(form["response_url"], reply)
        elif job.get("kind") == "respond":
            deps.respond(job["url"], job["body"])
        else:
            log.warning("unknown deferred job kind=%s", job.get("kind"))
    except Exception:
        # One failed reply must not take down the server thread.
        log.exception("deferred slack work failed kind=%s", job.get("kind"))
        if reraise:
            raise


def _json(status: int, data: dict[str, Any]) -> Response:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode()


def _text(status: int, text: str) -> Response:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
