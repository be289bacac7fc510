"""Slack's requests exactly as Slack sends them (form-encoded, signed) through handle_slack_request.

Signatures are computed here with hmac/hashlib, independently of slack_sdk's verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from vigil.adapters.slack.inbound import post_to_response_url, request_verifier
from vigil.domain.models import Source, Topic
from vigil.render.slack import ACTION_MUTE_SOURCE, ACTION_NOT_RELEVANT, ACTION_RELEVANT, button_value
from vigil.services.commands import Commands, SlashCommand
from vigil.services.slack_requests import SlackDeps, handle_slack_request, response_url_allowed
from vigil.services.store import Store

from tests.fakeslack import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOPICS = [Topic("taiwan", "Taiwan", "taiwan")]
SOURCES = [Source("reuters", "https://reuters.example/feed", "Reuters")]


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


def command_body(text: str, user: str = "U1", channel: str = "C1",
                 response_url: str = "https://hooks.slack.com/commands/T1/1/abc") -> bytes:
    return urlencode({
        "token": "deprecated-verification-token", "team_id": "T1", "team_domain": "example",
        "channel_id": channel, "channel_name": "news", "user_id": user, "user_name": "ana",
        "command": "/vigil", "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": "1.2.3",
    }).encode()


def click_body(action_id: str, response_url: str = "https://hooks.slack.com/actions/T1/1/xyz") -> bytes:
    return urlencode({"payload": json.dumps(click_payload(action_id, response_url))}).encode()


def click_payload(action_id: str, response_url: str = "https://hooks.slack.com/actions/T1/1/xyz") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U2", "username": "bo", "team_id": "T1"},
        "api_app_id": "A1", "token": "deprecated", "trigger_id": "1.2.3",
        "team": {"id": "T1", "domain": "example"},
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": "C1"},
        "channel": {"id": "C1", "name": "news"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "[URGENT] Taiwan: drills",
                    "blocks": [{"type": "section", "block_id": "b1",
                                "text": {"type": "mrkdwn", "text": "*drills*"}}]},
        "response_url": response_url,
        "actions": [{"type": "button", "block_id": "vigil_actions", "action_id": action_id,
                     "value": button_value("s1", "taiwan", "reuters", "item-1"),
                     "text": {"type": "plain_text", "text": "x"}, "action_ts": "1700000001.0"}],
    }


@pytest.fixture
def responses() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
def deps(store: Store, responses: list[tuple[str, dict[str, Any]]]) -> SlackDeps:
    commands = Commands(store, TOPICS, SOURCES, admins=frozenset({"UADMIN"}))
    return SlackDeps(commands, respond=lambda url, body: responses.append((url, body)),
                     verify=request_verifier(SECRET))


def snapshot(store: Store) -> tuple[object, ...]:
    return (store.subscriptions(), store.channels(), store.feedback(), store.custom_sources())


def post(deps: SlackDeps, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, _, payload = handle_slack_request(path, headers if headers is not None else sign(body, int(time.time())),
                                              body, deps)
    try:
        return status, json.loads(payload) if payload else None
    except ValueError:
        return status, payload.decode()


def test_signed_subscribe_command_changes_the_channel(deps: SlackDeps, store: Store) -> None:
    status, reply = post(deps, "/slack/commands", command_body("subscribe taiwan"))

    assert status == 200
    assert reply["response_type"] == "in_channel"
    assert [s.topic for s in store.subscriptions("C1")] == ["taiwan"]


@pytest.mark.parametrize("text", ["help", "topics", "list", "threshold urgent", "digest hourly", "pause",
                                  "resume", "mute reuters", "unmute reuters", "topic add drones drone",
                                  "topic remove drones", "unsubscribe taiwan"])
def test_every_quick_subcommand_answers_inline(deps: SlackDeps, text: str) -> None:
    status, reply = post(deps, "/slack/commands", command_body(text))

    assert status == 200 and reply["response_type"] in ("ephemeral", "in_channel")


def test_admin_source_commands_through_the_endpoint(deps: SlackDeps, store: Store) -> None:
    status, reply = post(deps, "/slack/commands", command_body("source add https://n.example/rss News",
                                                                user="UADMIN"))
    assert status == 200 and "Added source `news`" in reply["text"]
    status, reply = post(deps, "/slack/commands", command_body("source remove news", user="UADMIN"))
    assert status == 200 and store.custom_sources() == []


@pytest.mark.parametrize("text", ["status", "sources"])
def test_slow_subcommands_ack_then_answer_through_response_url(deps: SlackDeps, text: str,
                                                               responses: list[tuple[str, Any]]) -> None:
    jobs: list[dict[str, Any]] = []
    deps.defer = jobs.append

    status, reply = post(deps, "/slack/commands", command_body(text))

    assert status == 200 and reply["text"] == "Working on it…"
    assert responses == []
    from vigil.services.slack_requests import run_deferred

    run_deferred(json.loads(json.dumps(jobs[0])), deps)  # jobs survive a trip through a queue
    [(url, body)] = responses
    assert url == "https://hooks.slack.com/commands/T1/1/abc"
    assert body["response_type"] == "ephemeral"


def test_bad_arguments_answer_with_usage_and_change_nothing(deps: SlackDeps, store: Store) -> None:
    before = snapshot(store)

    status, reply = post(deps, "/slack/commands", command_body("threshold extreme"))

    assert status == 200 and "Usage: `/vigil threshold routine|notable|urgent`" in reply["text"]
    assert snapshot(store) == before


def test_not_relevant_click_records_feedback_and_updates_the_message(
        deps: SlackDeps, store: Store, responses: list[tuple[str, Any]]) -> None:
    status, _ = post(deps, "/slack/interactions", click_body(ACTION_NOT_RELEVANT))

    assert status == 200
    [row] = store.feedback("C1")
    assert (row["user"], row["verdict"], row["story_id"], row["topic"], row["item_key"]) == (
        "U2", "not_relevant", "s1", "taiwan", "item-1")
    [(url, update)] = responses
    assert url == "https://hooks.slack.com/actions/T1/1/xyz"
    assert update["replace_original"] is True
    assert update["blocks"][-1]["elements"][0]["text"] == ":memo: <@U2> marked this *not relevant*"


def test_a_second_click_or_a_resent_request_counts_once(deps: SlackDeps, store: Store,
                                                       responses: list[tuple[str, Any]]) -> None:
    # Given one click on Relevant
    body = click_body(ACTION_RELEVANT)
    post(deps, "/slack/interactions", body)
    # When Slack resends the same request and the user clicks again
    post(deps, "/slack/interactions", body)
    post(deps, "/slack/interactions", click_body(ACTION_RELEVANT))
    # Then the channel has one verdict from that user on that item and topic
    assert [r["verdict"] for r in store.feedback("C1")] == ["relevant"]
    assert "*Feedback here:* 1 relevant, 0 not relevant" in deps.commands.handle(
        SlashCommand(channel="C1", user="U1", text="status")).text


def test_a_changed_verdict_replaces_the_earlier_one(deps: SlackDeps, store: Store) -> None:
    post(deps, "/slack/interactions", click_body(ACTION_RELEVANT))
    post(deps, "/slack/interactions", click_body(ACTION_NOT_RELEVANT))

    assert [r["verdict"] for r in store.feedback("C1")] == ["not_relevant"]


@pytest.mark.parametrize("value", ["garbage", "", '{"story": ""}', "[1, 2]", '{"topic": "taiwan"}'])
def test_a_click_with_a_garbage_button_value_records_nothing(deps: SlackDeps, store: Store, value: str,
                                                             responses: list[tuple[str, Any]]) -> None:
    payload = click_payload(ACTION_RELEVANT)
    payload["actions"][0]["value"] = value
    before = snapshot(store)

    status, _ = post(deps, "/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())

    assert status == 200
    assert snapshot(store) == before and responses == []


def test_a_click_without_a_message_does_not_blank_the_alert(deps: SlackDeps, store: Store,
                                                            responses: list[tuple[str, Any]]) -> None:
    # Given a click on an ephemeral copy of an alert: Slack sends no `message`
    payload = click_payload(ACTION_NOT_RELEVANT)
    del payload["message"]
    # When it is handled
    post(deps, "/slack/interactions", urlencode({"payload": json.dumps(payload)}).encode())
    # Then the feedback counts and the answer is a new ephemeral line, not an empty replacement
    assert len(store.feedback("C1")) == 1
    [(_, update)] = responses
    assert update == {"response_type": "ephemeral", "replace_original": False,
                      "text": ":memo: <@U2> marked this *not relevant*"}


def test_mute_click_mutes_the_source_for_the_channel(deps: SlackDeps, store: Store,
                                                     responses: list[tuple[str, Any]]) -> None:
    post(deps, "/slack/interactions", click_body(ACTION_MUTE_SOURCE))

    assert store.get_channel("C1").muted_sources == frozenset({"reuters"})
    assert "muted *reuters*" in responses[0][1]["blocks"][-1]["elements"][0]["text"]


def test_response_url_outside_slack_is_not_called(deps: SlackDeps, responses: list[tuple[str, Any]]) -> None:
    post(deps, "/slack/interactions", click_body(ACTION_NOT_RELEVANT, response_url="http://169.254.169.254/x"))

    assert responses == []
    assert response_url_allowed("https://hooks.slack.com/actions/1") and not response_url_allowed(
        "https://hooks.slack.com.evil.example/x")


@pytest.mark.parametrize(("url", "slack_only", "any_host"), [
    ("https://hooks.slack.com/actions/1", True, True),
    ("http://hooks.slack.com/actions/1", False, True),
    ("http://127.0.0.1:8080/actions/1", False, True),
    ("https://hooks.slack.com.evil.example/x", False, True),
    ("ftp://hooks.slack.com/x", False, False),
    ("https:///no-host", False, False),
    ("http://[::1/broken", False, False),
])
def test_one_response_url_check_for_slack_only_and_private_setups(url: str, slack_only: bool, any_host: bool) -> None:
    assert response_url_allowed(url) is slack_only
    assert response_url_allowed(url, any_host=True) is any_host


# ---------------------------------------------------------------- rejected requests


def forged(body: bytes) -> dict[str, str]:
    return sign(body, int(time.time()), secret="not-the-secret")


def stale(body: bytes) -> dict[str, str]:
    return sign(body, int(time.time()) - 301)


def future(body: bytes) -> dict[str, str]:
    return sign(body, int(time.time()) + 301)


def unsigned(body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded"}


def no_timestamp(body: bytes) -> dict[str, str]:
    headers = sign(body, int(time.time()))
    del headers["X-Slack-Request-Timestamp"]
    return headers


def bad_timestamp(body: bytes) -> dict[str, str]:
    headers = sign(body, int(time.time()))
    headers["X-Slack-Request-Timestamp"] = "soon"
    return headers


def signed_other_body(body: bytes) -> dict[str, str]:
    return sign(command_body("help"), int(time.time()))


@pytest.mark.parametrize("make_headers", [forged, stale, future, unsigned, no_timestamp, bad_timestamp,
                                          signed_other_body])
@pytest.mark.parametrize(("path", "body"), [
    ("/slack/commands", command_body("subscribe taiwan")),
    ("/slack/commands", command_body("source add https://x.example/rss", user="UADMIN")),
    ("/slack/interactions", click_body(ACTION_MUTE_SOURCE)),
    ("/slack/interactions", click_body(ACTION_NOT_RELEVANT)),
])
def test_bad_signature_is_rejected_without_side_effects(deps: SlackDeps, store: Store, path: str, body: bytes,
                                                        make_headers: Any,
                                                        responses: list[tuple[str, Any]]) -> None:
    before = snapshot(store)

    status, _ = post(deps, path, body, make_headers(body))

    assert status == 401
    assert snapshot(store) == before
    assert responses == []


def test_signature_check_uses_the_injected_clock(deps: SlackDeps, store: Store) -> None:
    body = command_body("subscribe taiwan")
    deps.verify = request_verifier(SECRET, clock=lambda: 1_000_000.0)

    assert post(deps, "/slack/commands", body, sign(body, 1_000_000 - 299))[0] == 200
    assert post(deps, "/slack/commands", body, sign(body, 1_000_000 - 301))[0] == 401


def test_unknown_path_and_malformed_payload(deps: SlackDeps) -> None:
    assert post(deps, "/slack/events", b"x=1")[0] == 404
    assert post(deps, "/slack/interactions", urlencode({"payload": "{nope"}).encode())[0] == 400


MALFORMED = {
    "user-string": {"user": "x"},
    "actions-object": {"actions": {}},
    "channel-number": {"channel": 5},
    "container-list": {"container": ["C1"]},
    "actions-strings": {"actions": ["vigil_mute_source"]},
    "message-string": {"message": "alert"},
    "blocks-object": {"message": {"blocks": {"type": "section"}}},
    "elements-number": {"message": {"blocks": [{"block_id": "vigil_status", "elements": 3}]}},
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("action", [ACTION_MUTE_SOURCE, ACTION_NOT_RELEVANT])
def test_signed_payload_with_unexpected_types_gets_400_and_changes_nothing(
        deps: SlackDeps, store: Store, responses: list[tuple[str, Any]], change: dict[str, Any], action: str) -> None:
    # Given a correctly signed click whose payload has a field of the wrong JSON type
    body = urlencode({"payload": json.dumps({**click_payload(action), **change})}).encode()
    before = snapshot(store)
    # When it arrives
    status, reply = post(deps, "/slack/interactions", body)
    # Then it is refused as a bad request, with nothing applied or answered
    assert status == 400 and reply.startswith("malformed payload")
    assert snapshot(store) == before
    assert responses == []


def test_accepted_body_that_is_not_utf8_gets_400(deps: SlackDeps) -> None:
    # slack_sdk's verifier refuses such a body (401); a verifier that passes it must not cause a 500.
    deps.verify = lambda body, headers: True
    assert post(deps, "/slack/commands", b"text=\xff\xfe")[0] == 400


def test_deferred_update_reaches_a_loopback_response_url(store: Store, fake_slack: FakeSlack) -> None:
    commands = Commands(store, TOPICS, SOURCES)
    deps = SlackDeps(commands, respond=post_to_response_url, verify=request_verifier(SECRET), any_response_url=True)

    post(deps, "/slack/interactions", click_body(ACTION_NOT_RELEVANT, f"{fake_slack.base_url}/actions/1"))

    [call] = fake_slack.calls_to("response_url:/actions/1")
    assert call.body["replace_original"] is True
