"""`vigil serve` as a user runs it: a process on a free port, signed requests over HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.services.store import Store

from tests.fakeslack import FakeSlack

pytestmark = pytest.mark.slow

SECRET = "e2e-signing-secret"
VIGIL = Path(sys.executable).with_name("vigil")


def sign(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def server(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[tuple[str, Path]]:
    state = tmp_path / "state.db"
    env = {**os.environ, "SLACK_SIGNING_SECRET": SECRET, "VIGIL_ALLOW_PRIVATE_NETWORKS": "1",
           "VIGIL_ADMINS": "UADMIN"}
    proc = subprocess.Popen([str(VIGIL), "serve", "--port", "0", "--state", str(state)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "listening on http://" in line, (line, proc.stderr.read() if proc.stderr else "")
        base = line.split("listening on ", 1)[1].split()[0]
        yield base, state
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def command(text: str, response_url: str, user: str = "U1") -> bytes:
    return urlencode({"team_id": "T1", "channel_id": "C1", "channel_name": "news", "user_id": user,
                      "command": "/vigil", "text": text, "response_url": response_url,
                      "trigger_id": "1.2.3"}).encode()


def wait_for(predicate: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_signed_commands_change_the_shared_state(server: tuple[str, Path], fake_slack: FakeSlack) -> None:
    base, state = server
    response_url = f"{fake_slack.base_url}/commands/1"

    status, body = post(f"{base}/slack/commands", command("subscribe taiwan", response_url),
                        sign(command("subscribe taiwan", response_url)))

    assert status == 200 and json.loads(body)["response_type"] == "in_channel"
    store = Store(SQLiteKV(state))
    try:
        assert [s.topic for s in store.subscriptions("C1")] == ["taiwan"]
    finally:
        store.close()


def test_slow_command_is_answered_through_response_url(server: tuple[str, Path], fake_slack: FakeSlack) -> None:
    base, _ = server
    body = command("status", f"{fake_slack.base_url}/commands/2")

    status, reply = post(f"{base}/slack/commands", body, sign(body))

    assert status == 200 and json.loads(reply)["text"] == "Working on it…"
    assert wait_for(lambda: fake_slack.calls_to("response_url:/commands/2"))
    assert "*Last poll:*" in fake_slack.calls_to("response_url:/commands/2")[0].body["text"]


def test_button_click_records_feedback_and_updates_the_message(server: tuple[str, Path],
                                                               fake_slack: FakeSlack) -> None:
    base, state = server
    payload = {"type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C1"},
               "message": {"ts": "1.0", "text": "alert", "blocks": []},
               "response_url": f"{fake_slack.base_url}/actions/1",
               "actions": [{"action_id": "vigil_not_relevant",
                            "value": json.dumps({"story": "s1", "topic": "taiwan", "source": "ap", "item": "k"})}]}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    status, _ = post(f"{base}/slack/interactions", body, sign(body))

    assert status == 200
    assert wait_for(lambda: fake_slack.calls_to("response_url:/actions/1"))
    store = Store(SQLiteKV(state))
    try:
        assert [r["verdict"] for r in store.feedback("C1")] == ["not_relevant"]
    finally:
        store.close()


@pytest.mark.parametrize("headers", [
    sign(b"other body"),
    sign(command("subscribe taiwan", "https://hooks.slack.com/x"), secret="wrong"),
    sign(command("subscribe taiwan", "https://hooks.slack.com/x"), timestamp=int(time.time()) - 600),
    {"Content-Type": "application/x-www-form-urlencoded"},
], ids=["other-body", "forged", "stale", "missing"])
def test_unsigned_or_forged_requests_get_401_and_change_nothing(server: tuple[str, Path],
                                                                headers: dict[str, str]) -> None:
    base, state = server
    body = command("subscribe taiwan", "https://hooks.slack.com/x")

    status, _ = post(f"{base}/slack/commands", body, headers)

    assert status == 401
    store = Store(SQLiteKV(state))
    try:
        assert store.subscriptions() == []
    finally:
        store.close()


def test_serve_without_signing_secret_fails_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SLACK_SIGNING_SECRET"}

    result = subprocess.run([str(VIGIL), "serve", "--port", "0", "--state", str(tmp_path / "s.db")], env=env,
                            capture_output=True, text=True, timeout=30, check=False)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "SLACK_SIGNING_SECRET" in result.stderr


@pytest.mark.parametrize("change", [{"user": "x"}, {"actions": {}}, {"channel": 5}], ids=["user", "actions", "channel"])
def test_signed_click_with_unexpected_types_gets_400(server: tuple[str, Path], change: dict[str, object]) -> None:
    base, state = server
    payload = {"type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C1"},
               "actions": [{"action_id": "vigil_mute_source",
                            "value": json.dumps({"story": "s1", "topic": "taiwan", "source": "ap", "item": "k"})}],
               **change}
    body = urlencode({"payload": json.dumps(payload)}).encode()

    status, text = post(f"{base}/slack/interactions", body, sign(body))

    assert status == 400 and "malformed payload" in text
    store = Store(SQLiteKV(state))
    try:
        assert store.channels() == []
    finally:
        store.close()
