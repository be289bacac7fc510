"""Stands in for Slack without a token: each Web API call becomes one JSON line.

Lines are `{"method": ..., "payload": {...}}` with the body WebClient would have sent.
The file is also the outbox's "channel history": `find_message` reads it back, so a
run killed between writing a line and recording it is reconciled like real Slack.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from vigil.domain.errors import HistoryUnavailable
from vigil.render.slack import is_story_message, message_content

DEFAULT_OUTBOX = Path(".vigil") / "outbox.jsonl"

Formatter = Callable[[str, Mapping[str, Any]], str]


class OutboxClient:
    """`ChatClient` writing to a JSON Lines file, with an optional terminal preview."""

    def __init__(self, path: str | Path = DEFAULT_OUTBOX, preview: TextIO | None = None,
                 formatter: Formatter | None = None) -> None:
        self.path = Path(path)
        self.preview = preview
        self.formatter = formatter
        self._lock = threading.Lock()
        self._last_ts = 0

    # -- ChatClient --------------------------------------------------------------

    def post_message(self, channel: str, payload: dict[str, Any]) -> str:
        return str(self.api_call("chat.postMessage", json={"channel": channel, **payload})["ts"])

    def update_message(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
        self.api_call("chat.update", json={"channel": channel, "ts": ts, **payload})

    def get_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        # The latest line for `ts` is the message as it stands: its post or last edit.
        for line in reversed(self._lines()):
            payload = _call_at(line, channel, ts)
            if payload is not None:
                return message_content(payload)
        return None

    def find_message(self, channel: str, *, story_id: str, oldest: datetime,
                     thread_ts: str = "", outlet: str = "") -> str | None:
        for line in reversed(self._lines()):
            found = _match(line, channel, story_id, thread_ts, outlet)
            if found and _ts_value(found) >= oldest.timestamp():
                return found
        return None

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise HistoryUnavailable(f"{self.path}: {exc.strerror or exc}") from exc

    # -- the WebClient-shaped surface (digests, tests, `vigil event`) ------------

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return self.api_call("chat.postMessage", json=kwargs)

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        return self.api_call("chat.update", json=kwargs)

    def api_call(self, api_method: str, *, json: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, **_: Any) -> dict[str, Any]:
        # WebClient drops None values before sending; the outbox records the same body.
        payload = {k: v for k, v in {**(params or {}), **(json or {})}.items() if v is not None}
        with self._lock:
            ts = payload.get("ts") or self._next_ts()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = _json_line({"method": api_method, "payload": payload, "ts": ts})
            # One write of a whole line, then fsync: a kill leaves whole lines only, and
            # a line that exists is a message "Slack" has.
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
                out.flush()
                os.fsync(out.fileno())
        if self.preview is not None and self.formatter is not None:
            self.preview.write(self.formatter(api_method, payload))
            self.preview.flush()
        return {"ok": True, "channel": payload.get("channel", ""), "ts": ts}

    def _next_ts(self) -> str:
        # Slack ts values are unique per channel; microseconds, strictly increasing.
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _call(line: str, methods: tuple[str, ...], channel: str) -> tuple[str, dict[str, Any]] | None:
    """(ts, body) of a line recording one of `methods` in `channel`, else None."""
    try:
        record = json.loads(line)
    except ValueError:
        return None  # a torn last line from a killed writer
    payload = record.get("payload") if isinstance(record, dict) else None
    if record.get("method") not in methods or not isinstance(payload, dict) or payload.get("channel") != channel:
        return None
    return str(record.get("ts") or ""), payload


def _match(line: str, channel: str, story_id: str, thread_ts: str, outlet: str) -> str | None:
    found = _call(line, ("chat.postMessage",), channel)
    if found is None or (found[1].get("thread_ts") or "") != thread_ts:
        return None
    if not is_story_message(found[1].get("metadata"), story_id, outlet):
        return None
    return found[0] or None


def _call_at(line: str, channel: str, ts: str) -> dict[str, Any] | None:
    """The body of a post or edit of top-level message `ts` in `channel`, else None."""
    found = _call(line, ("chat.postMessage", "chat.update"), channel)
    if found is None or found[0] != ts or found[1].get("thread_ts"):
        return None
    return found[1]


def _ts_value(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0


def _json_line(record: Mapping[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
