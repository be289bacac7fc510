"""A terminal rendering of Slack messages, for the local preview of the outbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil.render.slack import CONFIRMATIONS_BLOCK_ID, mrkdwn_to_text


def preview_text(method: str, payload: Mapping[str, Any]) -> str:
    """Block texts with mrkdwn links made readable."""
    where = payload.get("channel", "?")
    thread = " (thread reply)" if payload.get("thread_ts") else ""
    lines = [f"── {method} → {where}{thread} " + "─" * 20]
    blocks = payload.get("blocks") or ()
    if method == "chat.update" and any(b.get("block_id") == CONFIRMATIONS_BLOCK_ID for b in blocks):
        # An edit of a posted alert changes its confirmation line: say which alert, and that line.
        lines[0] = f"── alert edited → {where} " + "─" * 20
        lines.append("  " + mrkdwn_to_text(str(payload.get("text", ""))))
        blocks = [b for b in blocks if b.get("block_id") == CONFIRMATIONS_BLOCK_ID]
    for block in blocks:
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
