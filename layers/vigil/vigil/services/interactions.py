"""Button clicks on alerts: feedback (Relevant / Not relevant) and Mute this source.

The click is recorded in the store right away; the updated message (showing who did
what) is returned as a `response_url` body for the caller to send, because Slack
ignores the HTTP response of a block action and the update may go out after the ack.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from vigil.domain.errors import Contention
from vigil.render.slack import (
    ACTION_MUTE_SOURCE,
    ACTION_NOT_RELEVANT,
    ACTION_RELEVANT,
    context,
    escape,
    parse_button_value,
)
from vigil.services.commands import muted
from vigil.services.store import Store

log = logging.getLogger("vigil.services.interactions")

STATUS_BLOCK_ID = "vigil_status"
MAX_STATUS_LINES = 5
VERDICTS = {ACTION_RELEVANT: "relevant", ACTION_NOT_RELEVANT: "not_relevant"}


@dataclass(slots=True)
class InteractionResult:
    """What happened, and the message update to send to `response_url` (if any)."""

    outcome: str  # "feedback", "muted", "ignored"
    response_url: str = ""
    update: dict[str, Any] | None = None


# Parts of an interaction payload that Vigil reads, which Slack always sends as JSON objects.
_OBJECT_FIELDS = ("user", "channel", "container", "message")


def payload_problem(payload: dict[str, Any]) -> str:
    """Why a signed interaction payload cannot be read ("" when its shape is fine).

    Checked before anything is applied, so a payload with unexpected types is refused
    as a whole instead of failing halfway (AttributeError) after the signature check.
    """
    for name in _OBJECT_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], dict):
            return f"{name} is not an object"
    if not _objects_or_absent(payload.get("actions")):
        return "actions is not a list of objects"
    blocks = (payload.get("message") or {}).get("blocks")
    if not _objects_or_absent(blocks):
        return "message.blocks is not a list of objects"
    if not all(_objects_or_absent(block.get("elements")) for block in blocks or ()):
        return "message block elements are not a list of objects"
    return ""


def _objects_or_absent(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, dict) for v in value))


def handle_block_actions(payload: dict[str, Any], store: Store) -> InteractionResult:
    """Apply the first action of a `block_actions` payload from one of our alerts
    (its shape checked by `payload_problem` first)."""
    if payload.get("type") != "block_actions" or not payload.get("actions"):
        return InteractionResult("ignored")
    action = payload["actions"][0]
    action_id = str(action.get("action_id", ""))
    user = str((payload.get("user") or {}).get("id", ""))
    channel = str((payload.get("channel") or {}).get("id", "")) or str(
        (payload.get("container") or {}).get("channel_id", ""))
    value = parse_button_value(str(action.get("value", "")))
    if not user or not channel:
        return InteractionResult("ignored")

    if action_id in VERDICTS and value["story"] and value["topic"]:
        status = _record_feedback(store, channel, user, VERDICTS[action_id], value)
        outcome = "feedback"
    elif action_id == ACTION_MUTE_SOURCE and value["source"]:
        status = _mute(store, channel, user, value["source"])
        outcome = "muted"
    else:
        return InteractionResult("ignored")
    log.info("alert action: action=%s channel=%s user=%s story=%s", action_id, channel, user, value["story"])
    update = _update(payload, status)
    _remember_status(store, payload, channel, value["story"], update)
    return InteractionResult(outcome, str(payload.get("response_url", "")), update)


def _remember_status(store: Store, payload: dict[str, Any], channel: str, story_id: str,
                     update: dict[str, Any]) -> None:
    """Keep the alert as the click leaves it, so a later edit of its confirmation line
    keeps the status line even when Slack's history cannot be read."""
    ts = str((payload.get("message") or {}).get("ts") or (payload.get("container") or {}).get("message_ts") or "")
    if not story_id or not ts or not update.get("replace_original") or not update.get("blocks"):
        return
    try:
        store.remember_message(story_id, channel, ts, {"text": update.get("text", ""), "blocks": update["blocks"]})
    except Exception as exc:  # the click itself is recorded: this copy only helps a later edit
        log.warning("alert copy not kept: story=%s channel=%s error=%s", story_id, channel, exc)


def _update(payload: dict[str, Any], status: str) -> dict[str, Any]:
    """The alert with the status line; or, for a click that carries no message (an
    ephemeral one), the status as a new ephemeral reply: replacing a message Vigil
    cannot see would blank it."""
    message = payload.get("message")
    if not message or not (message.get("blocks") or message.get("text")):
        return {"response_type": "ephemeral", "replace_original": False, "text": status}
    return updated_message(message, status)


def _record_feedback(store: Store, channel: str, user: str, verdict: str, value: dict[str, str]) -> str:
    story = store.get_story(value["story"]) if value["story"] else None
    store.add_feedback(channel, user, verdict, value["story"], value["topic"], item_key=value["item"],
                       title=story.title if story else "")
    label = "relevant" if verdict == "relevant" else "not relevant"
    return f":memo: <@{user}> marked this *{label}*"


def _mute(store: Store, channel: str, user: str, source_id: str) -> str:
    try:
        store.update_channel(channel, lambda s: muted(s, source_id))
    except Contention:
        # The message must not say "muted" when it was not saved.
        log.warning("mute not saved: channel=%s source=%s (settings contended)", channel, source_id)
        return f":warning: <@{user}> could not mute *{escape(source_id)}* just now: please click again"
    return f":no_bell: <@{user}> muted *{escape(source_id)}* in this channel (`/vigil unmute {escape(source_id)}`)"


def updated_message(message: dict[str, Any], status: str) -> dict[str, Any]:
    """The original alert plus a status line; earlier status lines are kept (latest last)."""
    blocks = [b for b in message.get("blocks") or [] if b.get("block_id") != STATUS_BLOCK_ID]
    previous = next((b for b in message.get("blocks") or [] if b.get("block_id") == STATUS_BLOCK_ID), None)
    lines = [e.get("text", "") for e in (previous or {}).get("elements", [])] + [status]
    status_block = {**context(*lines[-MAX_STATUS_LINES:]), "block_id": STATUS_BLOCK_ID}
    return {
        "replace_original": True,
        "text": message.get("text", ""),
        "blocks": [*blocks, status_block],
        "unfurl_links": False,
        "unfurl_media": False,
    }
