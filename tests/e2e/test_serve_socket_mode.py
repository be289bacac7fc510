"""`vigil serve --socket-mode` as a user runs it, against a fake Slack: the Web API answers
apps.connections.open with a ws:// URL on loopback, where a fake Socket Mode endpoint
sends envelopes and reads their acknowledgements."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from vigil.adapters.state.sqlite import SQLiteKV
from vigil.render.slack import ACTION_MUTE_SOURCE, button_value
from vigil.services.store import Store

from tests.fakeslack import FakeSlack, ok, slack_error
from tests.fakesocketmode import FakeSocketMode

pytestmark = pytest.mark.slow

VIGIL = Path(sys.executable).with_name("vigil")


def start(tmp_path: Path, fake_slack: FakeSlack, token: str = "xapp-1-A1-fake",  # noqa: S107 - fake
          ) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env.update({"SLACK_APP_TOKEN": token, "SLACK_API_URL": fake_slack.api_url,
                "VIGIL_ALLOW_PRIVATE_NETWORKS": "1"})
    return subprocess.Popen([str(VIGIL), "serve", "--socket-mode", "--state", str(tmp_path / "state.db")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)


@pytest.fixture
def socket_mode(tmp_path: Path, fake_slack: FakeSlack) -> Iterator[tuple[FakeSocketMode, Path]]:
    with FakeSocketMode() as fake_ws:
        # One URL per connection attempt, as Slack issues them.
        fake_slack.script("apps.connections.open", *[ok(url=fake_ws.url) for _ in range(5)])
        proc = start(tmp_path, fake_slack)
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            assert "connected to Slack in Socket Mode" in line, (line, proc.stderr.read() if proc.stderr else "")
            yield fake_ws, tmp_path / "state.db"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def state(path: Path) -> Store:
    return Store(SQLiteKV(path))


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def command(text: str, response_url: str) -> dict[str, Any]:
    """A slash_commands envelope payload, the fields Slack sends over HTTP."""
    return {"token": "x", "team_id": "T1", "team_domain": "example", "channel_id": "C1",
            "channel_name": "news", "user_id": "U1", "user_name": "ana", "command": "/vigil", "text": text,
            "api_app_id": "A1", "is_enterprise_install": "false", "response_url": response_url,
            "trigger_id": "1.2.3"}


def mute_click(source: str, response_url: str) -> dict[str, Any]:
    return {
        "type": "block_actions", "user": {"id": "U2", "username": "bo", "team_id": "T1"},
        "api_app_id": "A1", "team": {"id": "T1"}, "channel": {"id": "C1", "name": "news"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C1"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "alert",
                    "blocks": [{"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": "*x*"}}]},
        "response_url": response_url,
        "actions": [{"type": "button", "block_id": "vigil_actions", "action_id": ACTION_MUTE_SOURCE,
                     "value": button_value("s1", "taiwan", source, "item-1"), "action_ts": "1700000001.0"}],
    }


def test_a_subscribe_envelope_is_acknowledged_with_the_reply_and_changes_the_channel(
        socket_mode: tuple[FakeSocketMode, Path], fake_slack: FakeSlack) -> None:
    fake_ws, db = socket_mode

    ack = fake_ws.request("slash_commands", command("subscribe taiwan", f"{fake_slack.base_url}/response/cmd"))

    assert ack["payload"]["response_type"] == "in_channel"
    assert ack["payload"]["text"].startswith("<@U1> subscribed this channel to *Taiwan*")
    store = state(db)
    try:
        assert [s.topic for s in store.subscriptions("C1")] == ["taiwan"]
    finally:
        store.close()


def test_a_slow_command_is_acknowledged_then_answered_through_response_url(
        socket_mode: tuple[FakeSocketMode, Path], fake_slack: FakeSlack) -> None:
    fake_ws, _ = socket_mode

    ack = fake_ws.request("slash_commands", command("status", f"{fake_slack.base_url}/response/status"))

    assert ack["payload"]["text"] == "Working on it…"
    assert eventually(lambda: bool(fake_slack.calls_to("response_url:/response/status")))
    assert "*Last poll:*" in fake_slack.calls_to("response_url:/response/status")[0].body["text"]


def test_a_mute_click_is_acknowledged_and_mutes_the_source(
        socket_mode: tuple[FakeSocketMode, Path], fake_slack: FakeSlack) -> None:
    fake_ws, db = socket_mode

    ack = fake_ws.request("interactive", mute_click("reuters-world", f"{fake_slack.base_url}/response/click"))

    assert set(ack) == {"envelope_id"}  # a bare acknowledgement
    store = state(db)
    try:
        assert store.get_channel("C1").muted_sources == frozenset({"reuters-world"})
    finally:
        store.close()
    assert eventually(lambda: bool(fake_slack.calls_to("response_url:/response/click")))
    [update] = fake_slack.calls_to("response_url:/response/click")
    assert "muted *reuters-world*" in update.body["blocks"][-1]["elements"][0]["text"]


def test_a_malformed_envelope_is_acknowledged_and_changes_nothing(
        socket_mode: tuple[FakeSocketMode, Path]) -> None:
    fake_ws, db = socket_mode

    for kind, payload in [("interactive", {"type": "block_actions", "actions": "nope"}),
                          ("slash_commands", {"text": "subscribe taiwan"}),  # no channel or user
                          ("events_api", {"event": {"type": "app_mention"}})]:
        assert set(fake_ws.request(kind, payload)) == {"envelope_id"}
    store = state(db)
    try:
        assert store.subscriptions() == [] and store.channels() == []
    finally:
        store.close()


def test_a_refused_app_token_is_a_one_line_error(tmp_path: Path, fake_slack: FakeSlack) -> None:
    fake_slack.script("apps.connections.open", slack_error("invalid_auth"))

    proc = start(tmp_path, fake_slack)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 2
    assert err.strip().splitlines() == [
        "vigil: error: Slack refused the Socket Mode connection: invalid_auth "
        "(check SLACK_APP_TOKEN and that Socket Mode is on for the app)"]


@pytest.mark.parametrize(("token", "problem"), [("xoxb-not-an-app-token", "app-level token (xapp-"),
                                              ("", "SLACK_APP_TOKEN is not set")])
def test_a_missing_or_wrong_app_token_is_a_one_line_error(tmp_path: Path, fake_slack: FakeSlack, token: str,
                                                          problem: str) -> None:
    proc = start(tmp_path, fake_slack, token=token)
    _, err = proc.communicate(timeout=30)

    assert proc.returncode == 2
    assert len(err.strip().splitlines()) == 1 and problem in err
