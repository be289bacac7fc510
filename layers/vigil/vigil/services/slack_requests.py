"""Slack's requests, transport-neutral: `vigil serve` and the Lambda call
`handle_slack_request(path, headers, body, deps)` for HTTP; `vigil serve --socket-mode`
calls `handle_socket_request(kind, payload, deps)` for each Socket Mode envelope. Both
reach the same command and button code.

Order matters: the signature is verified before anything is parsed or changed, so a
forged, replayed (older than 5 minutes) or unsigned request gets 401 and no effect.
Slack waits 3 seconds for an answer: quick commands answer inline; slow ones (and
message updates after a click) become a `DeferredJob` handed to `deps.defer`, which
runs it later (a thread locally, the queue on AWS) and answers through `response_url`.

The I/O is injected (`SlackDeps.verify`, `SlackDeps.respond`): the runtime passes
slack_sdk's signature verifier and response_url poster (`vigil.adapters.slack.inbound`).
Socket Mode envelopes are not signed: the app-level token authenticates the WebSocket
that carries them, so they skip `verify`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from vigil.domain.codec import job_from_dict, job_to_dict
from vigil.services.commands import Commands, SlashCommand, clean_text
from vigil.services.interactions import handle_block_actions, payload_problem

log = logging.getLogger("vigil.services.slack_requests")

COMMANDS_PATH = "/slack/commands"
INTERACTIONS_PATH = "/slack/interactions"
MAX_BODY = 64 * 1024  # Slack's requests are a few KB; anything bigger is not Slack
# Subcommands that may take longer than Slack's 3 s on a cold or busy store.
SLOW_SUBCOMMANDS = frozenset({"status", "sources"})

Response = tuple[int, dict[str, str], bytes]
DeferredJob = dict[str, Any]  # JSON-serializable, so it can travel through a queue
# verify(body, headers): the request is signed with our secret and recent.
Verify = Callable[[bytes, Mapping[str, str]], bool]
# respond(response_url, body): post a reply to Slack's response_url.
Respond = Callable[[str, dict[str, Any]], None]


def response_url_allowed(url: str, *, any_host: bool = False) -> bool:
    """Where a reply may be sent. Only Slack's own hooks host, since a response_url is
    where we send channel data; `any_host` (private networks allowed: loopback tests, a
    fake Slack) admits any http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if any_host:
        return parts.scheme in ("http", "https") and bool(host)
    return parts.scheme == "https" and host == "hooks.slack.com"


@dataclass(slots=True)
class SlackDeps:
    commands: Commands
    respond: Respond
    # None refuses every request: a worker that only runs deferred jobs holds no signing secret.
    verify: Verify | None = None
    # Runs a DeferredJob later; by default right away (fine for tests, not for Slack).
    defer: Callable[[DeferredJob], None] | None = None
    # See response_url_allowed: True only where private networks are allowed.
    any_response_url: bool = False

    def is_allowed_response_url(self, url: str) -> bool:
        return response_url_allowed(url, any_host=self.any_response_url)

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
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return _text(400, "body is not UTF-8")
    if form.get("ssl_check"):
        return _text(200, "")
    if path == COMMANDS_PATH:
        return _handle_command(form, deps)
    if path == INTERACTIONS_PATH:
        return _handle_interaction(form, deps)
    return _text(404, "not found")


def is_valid_slack_request(body: bytes, headers: Mapping[str, str], deps: SlackDeps) -> bool:
    if len(body) > MAX_BODY or deps.verify is None:
        return False
    return deps.verify(body, headers)


# ---------------------------------------------------------------- commands


def _handle_command(form: dict[str, str], deps: SlackDeps) -> Response:
    cmd = SlashCommand.from_form(form)
    if not cmd.channel or not cmd.user:
        return _text(400, "missing channel_id or user_id")
    return _json(200, command_reply(form, deps))


def command_reply(form: dict[str, str], deps: SlackDeps) -> dict[str, Any]:
    """The answer to a slash command; slow subcommands answer later through response_url."""
    cmd = SlashCommand.from_form(form)
    words = clean_text(cmd.text).lower().split()
    if words and words[0] in SLOW_SUBCOMMANDS and deps.is_allowed_response_url(cmd.response_url):
        deps.schedule(job_to_dict("command", {"form": form}))
        return {"response_type": "ephemeral", "text": "Working on it…"}
    return deps.commands.handle(cmd).as_slack()


# ---------------------------------------------------------------- interactions


def _handle_interaction(form: dict[str, str], deps: SlackDeps) -> Response:
    try:
        payload = json.loads(form.get("payload", ""))
    except ValueError:
        return _text(400, "payload is not JSON")
    if not isinstance(payload, dict):
        return _text(400, "payload is not an object")
    problem = payload_problem(payload)
    if problem:
        return _text(400, f"malformed payload: {problem}")
    apply_interaction(payload, deps)
    return _text(200, "")


def apply_interaction(payload: dict[str, Any], deps: SlackDeps) -> None:
    """Apply a button click (its shape checked) and schedule the message update."""
    result = handle_block_actions(payload, deps.commands.store)
    if result.update is not None and deps.is_allowed_response_url(result.response_url):
        deps.schedule(job_to_dict("respond", {"url": result.response_url, "body": result.update}))


# ---------------------------------------------------------------- Socket Mode

# Envelope types Vigil answers; Slack sends others (events_api) only if the app asks.
SOCKET_COMMAND = "slash_commands"
SOCKET_INTERACTION = "interactive"


def handle_socket_request(kind: str, payload: Any, deps: SlackDeps) -> dict[str, Any] | None:
    """One Socket Mode envelope's payload in; the payload of its acknowledgement out
    (a slash command's reply, as over HTTP; None for a bare acknowledgement)."""
    if not isinstance(payload, dict):
        log.warning("socket mode envelope ignored: payload is not an object kind=%s", kind)
        return None
    if kind == SOCKET_COMMAND:
        # The same fields as the HTTP form; values are strings there, so here too.
        form = {str(k): str(v) for k, v in payload.items() if isinstance(v, str | int | float | bool)}
        if not form.get("channel_id") or not form.get("user_id"):
            log.warning("socket mode command ignored: missing channel_id or user_id")
            return None
        return command_reply(form, deps)
    if kind == SOCKET_INTERACTION:
        problem = payload_problem(payload)
        if problem:
            log.warning("socket mode interaction ignored: malformed payload: %s", problem)
            return None
        apply_interaction(payload, deps)
        return None
    log.info("socket mode envelope ignored kind=%s", kind)
    return None


# ---------------------------------------------------------------- deferred work


def run_deferred(job: DeferredJob, deps: SlackDeps, *, reraise: bool = False) -> None:
    """Do the slow part of a request and answer through its response_url.

    `reraise` is for queue workers: the failure goes back to the queue, which retries
    (a response_url stays valid for 30 minutes). A server thread logs it instead.
    """
    kind = job.get("kind") if isinstance(job, dict) else None
    try:
        body = job_from_dict(job)
        if kind == "command":
            form = body["form"]
            reply = deps.commands.handle(SlashCommand.from_form(form)).as_slack()
            deps.respond(form["response_url"], reply)
        elif kind == "respond":
            deps.respond(body["url"], body["body"])
        else:
            log.warning("unknown deferred job kind=%s", kind)
    except Exception:
        # One failed reply must not take down the server thread.
        log.exception("deferred slack work failed kind=%s", kind)
        if reraise:
            raise


def _json(status: int, data: dict[str, Any]) -> Response:
    return status, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(data).encode()


def _text(status: int, text: str) -> Response:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()
