"""`vigil event`: requests signed now, verifiable by Slack's own verifier."""

from __future__ import annotations

import base64
import json
import shlex
from urllib.parse import parse_qsl

import pytest
from slack_sdk.signature import SignatureVerifier
from vigil.entrypoints.cli import main
from vigil.entrypoints.events import TEST_SIGNING_SECRET


def _event(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["event", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_slash_command_event_is_freshly_signed(capsys: pytest.CaptureFixture[str]) -> None:
    event = _event(capsys, "slack-command", "subscribe taiwan")
    body = base64.b64decode(event["body"]).decode()
    headers = event["headers"]
    assert SignatureVerifier(TEST_SIGNING_SECRET).is_valid(
        body, headers["x-slack-request-timestamp"], headers["x-slack-signature"])
    assert dict(parse_qsl(body))["text"] == "subscribe taiwan"
    assert (event["rawPath"], event["isBase64Encoded"]) == ("/slack/commands", True)


def test_own_secret_signs_and_test_secret_does_not_verify(capsys: pytest.CaptureFixture[str]) -> None:
    event = _event(capsys, "slack-command", "status", "--secret", "s3cret")
    body = base64.b64decode(event["body"]).decode()
    ts, sig = event["headers"]["x-slack-request-timestamp"], event["headers"]["x-slack-signature"]
    assert SignatureVerifier("s3cret").is_valid(body, ts, sig)
    assert not SignatureVerifier(TEST_SIGNING_SECRET).is_valid(body, ts, sig)


def test_interaction_carries_a_block_action(capsys: pytest.CaptureFixture[str]) -> None:
    event = _event(capsys, "slack-interaction", "vigil_mute_source", "--story", "s1", "--source", "bbc")
    payload = json.loads(dict(parse_qsl(base64.b64decode(event["body"]).decode()))["payload"])
    [action] = payload["actions"]
    assert action["action_id"] == "vigil_mute_source"
    assert json.loads(action["value"])["source"] == "bbc"


def test_curl_format_is_a_shell_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["event", "slack-command", "help", "--format", "curl", "--url", "http://127.0.0.1:9/"]) == 0
    words = shlex.split(capsys.readouterr().out)
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://127.0.0.1:9/slack/commands"]
    assert any(w.startswith("x-slack-signature: v0=") for w in words)
