"""A local HTTP server for Slack's endpoints (`vigil serve`): http.server around one
transport-neutral request function, `handle(path, headers, body) -> (status, headers, body)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import urlsplit

log = logging.getLogger("vigil.adapters.slack.local_server")

Response = tuple[int, dict[str, str], bytes]
Handle = Callable[[str, Mapping[str, str], bytes], Response]
_TEXT = {"Content-Type": "text/plain"}


class SlackRequestHandler(BaseHTTPRequestHandler):
    """POST to `handle`; GET /health for tunnels and uptime probes. Bound by make_server."""

    server_version = "vigil"
    handle_request: ClassVar[Handle]
    max_body: ClassVar[int]

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.max_body:
            self._send(413, _TEXT, b"request too large")
            return
        body = self.rfile.read(length)
        self._send(*self.handle_request(self.path, dict(self.headers.items()), body))

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/health":
            self._send(200, _TEXT, b"ok")
        else:
            self._send(404, _TEXT, b"not found")

    def _send(self, status: int, headers: Mapping[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(host: str, port: int, handle: Handle, *, max_body: int) -> ThreadingHTTPServer:
    """A threaded server (not started) that answers POSTs with `handle`."""
    bound = type("BoundSlackRequestHandler", (SlackRequestHandler,), {
        "handle_request": staticmethod(handle), "max_body": max_body,
    })
    server = ThreadingHTTPServer((host, port), bound)
    server.daemon_threads = True
    return server
