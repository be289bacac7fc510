"""A fake of Slack's Socket Mode endpoint on loopback: a tiny WebSocket server (stdlib only).

Slack's side of Socket Mode: `apps.connections.open` (answered by the fake Web API in
tests/fakeslack.py with `ok(url=fake.url)`) hands the client a WebSocket URL; Slack
greets with `hello`, sends envelopes (`{"type", "envelope_id", "payload"}`) and expects
each to be acknowledged with `{"envelope_id", "payload"?}`. `request()` sends one
envelope and waits for its acknowledgement. Pings are answered with pongs, so the
client's stale-connection check stays quiet.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import queue
import socket
import struct
import threading
import uuid
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._conn: socket.socket | None = None
        self._send_lock = threading.Lock()
        self.connected = threading.Event()
        self.connections = 0
        self.acks: queue.Queue[dict[str, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="fake-socket-mode")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake"

    def __enter__(self) -> FakeSocketMode:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()

    # what a test does --------------------------------------------------------

    def request(self, kind: str, payload: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send one envelope; the client's acknowledgement of it."""
        assert self.connected.wait(timeout), "the client never connected"
        envelope_id = str(uuid.uuid4())
        self.send({"type": kind, "envelope_id": envelope_id, "payload": payload,
                   "accepts_response_payload": kind == "slash_commands"})
        while True:
            ack = self.acks.get(timeout=timeout)
            if ack.get("envelope_id") == envelope_id:
                return ack

    def send(self, message: dict[str, Any]) -> None:
        self._send_frame(TEXT, json.dumps(message).encode())

    # serving ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            key = _handshake_key(reader)
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest()).decode()  # noqa: S324 - RFC 6455
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
            self._conn = conn
            self.connections += 1
            self.send({"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}})
            self.connected.set()
            while True:
                opcode, data = _read_frame(reader)
                if opcode == TEXT:
                    self.acks.put(json.loads(data))
                elif opcode == PING:
                    self._send_frame(PONG, data, conn)
                elif opcode == CLOSE:
                    return
        except (OSError, ConnectionError, ValueError):
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _send_frame(self, opcode: int, data: bytes, conn: socket.socket | None = None) -> None:
        target = conn or self._conn
        assert target is not None, "no connection"
        with self._send_lock:
            target.sendall(_frame(opcode, data))


def _handshake_key(reader: Any) -> bytes:
    request_line = reader.readline()
    if not request_line.startswith(b"GET "):
        raise ValueError(f"not a WebSocket handshake: {request_line!r}")
    key = b""
    while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    if not key:
        raise ValueError("no Sec-WebSocket-Key")
    return key


def _frame(opcode: int, data: bytes) -> bytes:
    """A final, unmasked frame (servers do not mask)."""
    head = bytes([0x80 | opcode])
    if len(data) < 126:
        head += bytes([len(data)])
    elif len(data) < 1 << 16:
        head += bytes([126]) + struct.pack("!H", len(data))
    else:
        head += bytes([127]) + struct.pack("!Q", len(data))
    return head + data


def _read_frame(reader: Any) -> tuple[int, bytes]:
    first, second = _exactly(reader, 2)
    opcode, masked, length = first & 0x0F, second & 0x80, second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", _exactly(reader, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _exactly(reader, 8))
    mask = _exactly(reader, 4) if masked else b"\0\0\0\0"
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(_exactly(reader, length)))
    return opcode, data


def _exactly(reader: Any, n: int) -> bytes:
    data = reader.read(n)
    if len(data) != n:
        raise ConnectionError("connection closed mid-frame")
    return data
