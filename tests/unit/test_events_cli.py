"""`vigil event`: requests signed now, verifiable by Slack's own verifier."""

from __future__ import annotations

import base64
import json
import shlex
from urllib.parse import parse_qsl

import pytest
from slack_sdk.signature import SignatureVerifier
from vigil.entrypoints import events
from vigil.entrypoints.cli import main
from vigil.runtime.settings import TEST_SIGNING_SECRET


@pytest.fixture(autouse=True)
def no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)


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


def test_signs_with_slack_signing_secret_when_it_is_set(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the secret a local `vigil serve` verifies with
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "real-app-secret")
    # When an event is written without --secret
    event = _event(capsys, "slack-command", "status")
    # Then that secret signed it, not the public test secret
    body = base64.b64decode(event["body"]).decode()
    ts, sig = event["headers"]["x-slack-request-timestamp"], event["headers"]["x-slack-signature"]
    assert SignatureVerifier("real-app-secret").is_valid(body, ts, sig)
    assert not SignatureVerifier(TEST_SIGNING_SECRET).is_valid(body, ts, sig)


def test_the_docstrings_curl_example_posts_to_the_commands_path(capsys: pytest.CaptureFixture[str]) -> None:
    [example] = [line.strip() for line in (events.__doc__ or "").splitlines() if "--format curl" in line]
    args = shlex.split(example.split("|")[0])[2:]  # drop "vigil event"

    assert main(["event", *args]) == 0
    words = shlex.split(capsys.readouterr().out)
    assert words[4] == "http://127.0.0.1:3000/slack/commands"
