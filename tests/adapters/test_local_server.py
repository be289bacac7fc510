"""`vigil serve`'s HTTP server (adapters/slack/local_server.py) on loopback, wired as
runtime.local wires it: hostile or broken clients, chunked bodies, a failing store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from vigil.adapters.config.sources import default_path
from vigil.adapters.slack.local_server import REQUEST_TIMEOUT
from vigil.adapters.state.memory import MemoryKV
from vigil.domain.errors import StoreError
from vigil.runtime.local import slack_deps, slack_http_server
from vigil.services.slack_requests import MAX_BODY
from vigil.services.store import Store

from tests.adapters.test_slack_app import SECRET, command_body, sign


class BrokenKV(MemoryKV):
    """A state backend that is down: every call fails as the real ones report it."""

    def _down(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreError("sqlite state.db: disk I/O error")

    get = batch_get = put = transact = delete = query = _down


@pytest.fixture
def running() -> Iterator[Callable[[ThreadingHTTPServer], tuple[str, int]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(server: ThreadingHTTPServer) -> tuple[str, int]:
        servers.append(server)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        host, port = server.server_address[:2]
        return str(host), int(port)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def slack_server(store: Store, timeout: float = REQUEST_TIMEOUT) -> ThreadingHTTPServer:
    """`vigil serve --sources` as runtime.local builds it, on a free loopback port (given the
    sources file, it reads nothing from the store before the first request)."""
    deps = slack_deps(store, signing_secret=SECRET, sources_file=default_path("sources.toml"), env={})
    return slack_http_server("127.0.0.1", 0, deps, timeout=timeout)


def exchange(address: tuple[str, int], raw: bytes, *, end: bool = False, wait: float = 5.0) -> bytes:
    """Send raw bytes (then end the request stream if `end`), read until the server closes."""
    with socket.create_connection(address, timeout=wait) as sock:
        sock.sendall(raw)
        if end:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


# ---------------------------------------------------------------- store failures


def test_store_failure_gets_503_with_a_short_body(running: Any) -> None:
    # Given a server whose state store is down
    address = running(slack_server(Store(BrokenKV())))
    body = command_body("subscribe taiwan")
    # When a signed command arrives
    response = exchange(address, request_head("/slack/commands", {**sign(body, int(time.time())),
                                                                  "Content-Length": str(len(body))}) + body)
    # Then it is answered (not dropped) with 503 and a one-line reason
    assert status_of(response) == 503
    head, _, text = response.partition(b"\r\n\r\n")
    assert text == b"state store unavailable, try again"
    assert b"Retry-After: 5" in head


# ---------------------------------------------------------------- slow clients


def test_a_client_that_stops_sending_its_body_is_cut_off(running: Any, store: Store) -> None:
    # Given a server with a 0.5 s request deadline
    address = running(slack_server(store, timeout=0.5))
    started = time.monotonic()
    # When a client announces 100 bytes, sends 10 and goes quiet
    response = exchange(address, request_head("/slack/commands", {"Content-Length": "100"}) + b"x" * 10)
    # Then the server answers 408 and closes the connection at the deadline, not never
    assert status_of(response) == 408
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_client_that_trickles_bytes_is_cut_off_at_the_deadline(running: Any, store: Store, phase: str) -> None:
    # Given a server with a 0.5 s deadline for the whole request
    address = running(slack_server(store, timeout=0.5))
    head = request_head("/slack/commands", {"Content-Length": "200"})
    upfront, trickled = (b"", head + b"x" * 200) if phase == "headers" else (head, b"x" * 200)
    # When a client sends one byte every 50 ms (each read alone is well within a socket timeout)
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(upfront)
        stop = threading.Event()
        threading.Thread(target=_trickle, args=(sock, trickled, stop), daemon=True).start()
        started = time.monotonic()
        try:
            response = read_until_closed(sock)
        finally:
            stop.set()
    # Then the connection ends near the deadline, long before the 10 s the bytes would take
    assert time.monotonic() - started < 3
    assert response == b"" or status_of(response) == 408


def _trickle(sock: socket.socket, data: bytes, stop: threading.Event) -> None:
    for i in range(len(data)):
        if stop.wait(0.05):
            return
        try:
            sock.send(data[i:i + 1])
        except OSError:
            return


# ---------------------------------------------------------------- chunked bodies


def chunked(body: bytes, sizes: tuple[int, ...]) -> bytes:
    out, at = b"", 0
    for n in sizes:
        out += f"{n:x};ext=1\r\n".encode() + body[at:at + n] + b"\r\n"
        at += n
    return out + f"{len(body) - at:x}\r\n".encode() + body[at:] + b"\r\n0\r\nX-Trailer: t\r\n\r\n"


def test_a_chunked_signed_command_is_read_and_applied(running: Any, store: Store) -> None:
    # Given a tunnel that forwards Slack's request with Transfer-Encoding: chunked
    address = running(slack_server(store))
    body = command_body("subscribe taiwan")
    headers = {**sign(body, int(time.time())), "Transfer-Encoding": "chunked"}
    # When it arrives in several chunks (with an extension and a trailer)
    response = exchange(address, request_head("/slack/commands", headers) + chunked(body, (7, 100)))
    # Then the body is the exact signed bytes: the command is applied
    assert status_of(response) == 200
    assert [s.topic for s in store.subscriptions("C1")] == ["taiwan"]


@pytest.mark.parametrize("framing", [f"{MAX_BODY + 1:x}\r\n".encode(),
                                     f"{MAX_BODY:x}\r\n".encode() + b"x" * MAX_BODY + b"\r\n1\r\n"],
                         ids=["one-chunk", "two-chunks"])
def test_a_chunked_body_over_the_cap_gets_413(running: Any, store: Store, framing: bytes) -> None:
    # The server stops at the chunk size that crosses the cap: nothing more is read.
    address = running(slack_server(store))
    response = exchange(address, request_head("/slack/commands", {"Transfer-Encoding": "chunked"}) + framing)
    assert status_of(response) == 413


@pytest.mark.parametrize("framing", [b"zz\r\nabc\r\n0\r\n\r\n", b"0x3\r\nabc\r\n0\r\n\r\n", b"5\r\nabc\r\n",
                                     b"3\r\nabcdef\r\n0\r\n\r\n"],
                         ids=["not-hex", "hex-prefix", "truncated", "overrun"])
def test_broken_chunked_framing_gets_400(running: Any, store: Store, framing: bytes) -> None:
    address = running(slack_server(store))
    response = exchange(address, request_head("/slack/commands", {"Transfer-Encoding": "chunked"}) + framing,
                        end=True)
    assert status_of(response) == 400
    assert store.subscriptions() == []


def test_other_transfer_encodings_get_501(running: Any, store: Store) -> None:
    address = running(slack_server(store))
    response = exchange(address, request_head("/slack/commands", {"Transfer-Encoding": "gzip, chunked"}))
    assert status_of(response) == 501
