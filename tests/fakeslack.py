"""A fake Slack Web API on loopback: records every call, answers as scripted.

Point slack_sdk at it with `WebClient(base_url=fake.api_url)` or `SLACK_API_URL`.
By default every method answers `{"ok": true}` and chat.postMessage/chat.update also
return a fresh `ts`. Script failures per method, consumed in order:

    fake.script("chat.postMessage", rate_limited(retry_after=1), server_error(), ok())
    fake.script("chat.postMessage", slack_error("channel_not_found"))

Paths outside /api/ (e.g. /response/abc) accept response_url posts and are recorded
with method "response_url:<path>".

`conversations.history` and `conversations.replies` answer from the messages posted
(with their metadata when `include_all_metadata` is asked), like Slack. A reply can
be slowed (`delay`) or lost after Slack accepted the message (`lost()`: the message
exists, the connection closes before the answer), and `post_delay` slows every post.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: dict[str, Any] | None = None  # None: the default success body for the method
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # accept the call, then close the connection without an answer


def lost() -> Reply:
    """Slack takes the message, but the answer never arrives (a broken connection)."""
    return Reply(drop=True)


def ok(**extra: Any) -> Reply:
    return Reply(body={"ok": True, **extra}) if extra else Reply()


def rate_limited(retry_after: int = 1) -> Reply:
    return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Reply:
    return Reply(status, {"ok": False, "error": "internal_error"})


def slack_error(error: str) -> Reply:
    return Reply(200, {"ok": False, "error": error})


@dataclass(slots=True)
class Call:
    method: str
    body: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    ts: str = ""


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripts: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._ts = 0
        self.post_delay = 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # lifecycle ------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    # scripting and inspection ---------------------------------------------

    def script(self, method: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts.setdefault(method, deque()).extend(replies)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self._scripts.clear()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[Call]:
        """chat.postMessage calls Slack accepted (a message exists), optionally for one channel."""
        return [c for c in self.calls_to("chat.postMessage")
                if c.ts and (channel is None or c.body.get("channel") == channel)]

    def top_level(self, channel: str | None = None) -> list[Call]:
        return [c for c in self.posted(channel) if not c.body.get("thread_ts")]

    def replies(self, channel: str | None = None) -> list[Call]:
        return [c for c in self.posted(channel) if c.body.get("thread_ts")]

    def edits(self, channel: str | None = None) -> list[Call]:
        """chat.update calls Slack accepted, optionally for one channel."""
        return [c for c in self.calls_to("chat.update")
                if c.ts and (channel is None or c.body.get("channel") == channel)]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """A message as it stands: its post with the latest accepted edit applied."""
        post = next(c for c in self.posted(channel) if c.ts == ts)
        with self._lock:
            return self._current(post)

    # serving --------------------------------------------------------------

    def _answer(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[Reply, Call]:
        method = path[len("/api/"):].split("?", 1)[0] if path.startswith("/api/") else f"response_url:{path}"
        if "?" in path:
            body = {**dict(parse_qsl(path.split("?", 1)[1], keep_blank_values=True)), **body}
        with self._lock:
            queue = self._scripts.get(method)
            scripted = queue.popleft() if queue else Reply()
            call = Call(method, body, headers, scripted.status)
            reply = scripted
            if scripted.body is None:
                reply = Reply(scripted.status, self._success(method, body, call), scripted.headers,
                              scripted.delay, scripted.drop)
            self.calls.append(call)
        if method == "chat.postMessage" and self.post_delay:
            reply = Reply(reply.status, reply.body, reply.headers, reply.delay + self.post_delay, reply.drop)
        return reply, call

    def _history(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, thread = body.get("channel"), str(body.get("ts") or "")
        oldest = float(body.get("oldest") or 0)
        latest = float(body.get("latest") or "inf")
        inclusive = str(body.get("inclusive", "")).lower() in ("1", "true")
        metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for c in self.posted(channel):
            at = float(c.ts)
            if at < oldest or at > latest or (not inclusive and at in (oldest, latest) and not thread):
                continue
            if thread and c.ts != thread and c.body.get("thread_ts") != thread:
                continue
            if not thread and c.body.get("thread_ts"):
                continue
            shown = self._current(c)
            message = {"type": "message", "ts": c.ts, "text": shown.get("text", "")}
            if shown.get("blocks"):
                message["blocks"] = shown["blocks"]
            if metadata and shown.get("metadata"):
                message["metadata"] = shown["metadata"]
            messages.append(message)
        messages.sort(key=lambda m: float(m["ts"]), reverse=not thread)
        return {"ok": True, "messages": messages, "has_more": False}

    def _current(self, post: Call) -> dict[str, Any]:
        # Called under self._lock: the calls list cannot change meanwhile.
        body = dict(post.body)
        for c in self.calls:
            if c.method == "chat.update" and c.ts == post.ts and c.body.get("channel") == post.body.get("channel"):
                body.update({k: v for k, v in c.body.items() if k not in ("channel", "ts")})
        return body

    def _success(self, method: str, body: dict[str, Any], call: Call) -> dict[str, Any]:
        if method in ("chat.postMessage", "chat.update"):
            if method == "chat.postMessage":
                # Like Slack: the wall-clock time of the post, unique and increasing.
                self._ts = max(self._ts + 1, int(time.time() * 1_000_000))
                call.ts = f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"
            else:
                call.ts = str(body.get("ts", ""))
            return {"ok": True, "channel": body.get("channel", ""), "ts": call.ts,
                    "message": {"text": body.get("text", ""), "ts": call.ts}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(body)
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "team_id": "T1", "bot_id": "B1"}
        return {"ok": True}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply, _ = fake._answer(self.path, _parse_body(raw, headers), headers)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


def _parse_body(raw: bytes, headers: dict[str, str]) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8", errors="replace")
    if "json" in headers.get("content-type", ""):
        try:
            data = json.loads(text)
        except ValueError:
            return {"_raw": text}
        return data if isinstance(data, dict) else {"_raw": data}
    form: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True))
    # Form-encoded calls carry structured fields (blocks, metadata) as JSON strings.
    for key in ("blocks", "attachments", "metadata"):
        if isinstance(form.get(key), str):
            with contextlib.suppress(ValueError):
                form[key] = json.loads(form[key])
    return form
