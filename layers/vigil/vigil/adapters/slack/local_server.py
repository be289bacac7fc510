"""A local HTTP server for Slack's endpoints (`vigil serve`): http.server around one
transport-neutral request function, `handle(path, headers, body) -> (status, headers, body)`.

Hardened for a tunnel to the internet: every connection has one deadline for its whole
request (a client that sends a byte at a time cannot hold a thread), bodies are capped
(Content-Length or chunked), and a failing store or handler gets an HTTP answer
instead of a dropped connection.
"""

from __future__ import annotations

import io
import logging
import re
import socket
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, ClassVar
from urllib.parse import urlsplit

from vigil.domain.errors import StoreError

log = logging.getLogger("vigil.adapters.slack.local_server")

Response = tuple[int, dict[str, str], bytes]
Handle = Callable[[str, Mapping[str, str], bytes], Response]

# Seconds a connection gets to deliver its whole request (request line, headers, body).
REQUEST_TIMEOUT = 10.0
_MAX_CHUNK_LINE = 1024  # a chunk-size line or trailer line longer than this is not a real client
_MAX_TRAILER_LINES = 32
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_TEXT = {"Content-Type": "text/plain; charset=utf-8"}


class BodyTooLarge(Exception):
    """The request body is over the cap."""


class MalformedBody(Exception):
    """The request body framing is broken (bad chunk sizes, truncated)."""


class _Unsupported(Exception):
    """A request feature this server does not implement (501)."""


class _DeadlineSocketReader(io.RawIOBase):
    """Raw reads from a socket that all end at one deadline: each recv waits only for
    what is left, so trickling bytes cannot stretch a request past it."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


def read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    """A `Transfer-Encoding: chunked` body (RFC 9112 section 7.1), at most `limit` bytes."""
    body = bytearray()
    while True:
        size = _chunk_size(rfile.readline(_MAX_CHUNK_LINE + 1))
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyTooLarge(f"chunked body over {limit} bytes")
        chunk = rfile.read(size)
        if len(chunk) != size or rfile.readline(3) not in (b"\r\n", b"\n"):
            raise MalformedBody("truncated or unterminated chunk")
        body += chunk
    for _ in range(_MAX_TRAILER_LINES):  # trailer fields are ignored, up to the blank line
        line = rfile.readline(_MAX_CHUNK_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return bytes(body)
        if not line.endswith(b"\n"):
            raise MalformedBody("truncated trailer")
    raise MalformedBody("too many trailer lines")


def _chunk_size(line: bytes) -> int:
    if not line.endswith(b"\n"):
        raise MalformedBody("truncated or overlong chunk-size line")
    size = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
    if not _CHUNK_SIZE.fullmatch(size):
        raise MalformedBody(f"bad chunk size {size[:20]!r}")
    return int(size, 16)


class SlackRequestHandler(BaseHTTPRequestHandler):
    """POST to `handle`; GET /health for tunnels and uptime probes. Bound by make_server."""

    server_version = "vigil"
    handle_request: ClassVar[Handle]
    max_body: ClassVar[int]
    timeout = REQUEST_TIMEOUT  # socketserver sets it on the connection in setup()

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # releases the socket file; the deadline reader replaces it
        deadline = time.monotonic() + self.timeout
        self.rfile = io.BufferedReader(_DeadlineSocketReader(self.connection, deadline))

    def do_POST(self) -> None:
        try:
            body = self._read_body()
        except BodyTooLarge:
            self._send(413, _TEXT, b"request too large")
            return
        except MalformedBody as exc:
            self._send(400, _TEXT, f"bad request body: {exc}".encode())
            return
        except TimeoutError:
            self._send(408, _TEXT, b"request timed out")
            return
        except _Unsupported as exc:
            self._send(501, _TEXT, str(exc).encode())
            return
        self._send(*self._answer(body))

    def _read_body(self) -> bytes:
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding == "chunked":  # a tunnel may forward Slack's request this way
            return read_chunked(self.rfile, self.max_body)
        if encoding:
            raise _Unsupported(f"transfer-encoding {encoding!r} is not supported")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise BodyTooLarge("unreadable Content-Length") from None
        if length < 0 or length > self.max_body:
            raise BodyTooLarge(f"Content-Length {length}")
        body = self.rfile.read(length)
        if len(body) != length:
            raise MalformedBody("body shorter than Content-Length")
        return body

    def _answer(self, body: bytes) -> Response:
        try:
            return self.handle_request(self.path, dict(self.headers.items()), body)
        except StoreError as exc:
            log.error("state store unavailable: %s", exc)
            return 503, {**_TEXT, "Retry-After": "5"}, b"state store unavailable, try again"
        except Exception:
            # http.server would drop the connection; the caller gets an answer instead.
            log.exception("slack request failed path=%s", self.path)
            return 500, _TEXT, b"internal error"

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/health":
            self._send(200, _TEXT, b"ok")
        else:
            self._send(404, _TEXT, b"not found")

    def _send(self, status: int, headers: Mapping[str, str], payload: bytes) -> None:
        # Reads shrank the socket timeout to what was left of the deadline; writing gets its own.
        self.connection.settimeout(self.timeout)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(host: str, port: int, handle: Handle, *, max_body: int,
                timeout: float = REQUEST_TIMEOUT) -> ThreadingHTTPServer:
    """A threaded server (not started) that answers POSTs with `handle`."""
    bound = type("BoundSlackRequestHandler", (SlackRequestHandler,), {
        "handle_request": staticmethod(handle), "max_body": max_body, "timeout": timeout,
    })
    server = _Server((host, port), bound)
    server.daemon_threads = True
    return server


class _Server(ThreadingHTTPServer):
    # A burst of Slack requests (a team changing settings at once) overflows the default
    # listen backlog of 5, and the connections beyond it are reset unanswered.
    request_queue_size = 128
