"""One contract, two chat clients: the outbox file and Slack (the fake Slack Web API).

Delivery relies on exactly this: a post returns its ts, and a message Vigil posted is
found again by its story id (and outlet, in a thread) — how a crash is reconciled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from vigil.adapters.slack.client import SlackChatClient, web_client
from vigil.adapters.slack.outbox import OutboxClient
from vigil.ports import ChatClient

from tests.fakeslack import FakeSlack

EVENT = "vigil_story"


def _top(story: str) -> dict[str, object]:
    return {"text": f"story {story}", "metadata": {"event_type": EVENT, "event_payload": {"story_id": story}}}


def _reply(story: str, outlet: str, thread_ts: str) -> dict[str, object]:
    return {"text": f"also {outlet}", "thread_ts": thread_ts,
            "metadata": {"event_type": EVENT, "event_payload": {"story_id": story, "outlet": outlet}}}


@pytest.fixture(params=["outbox", "slack"])
def chat(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChatClient]:
    if request.param == "outbox":
        yield OutboxClient(tmp_path / "outbox.jsonl")
        return
    with FakeSlack() as fake:
        yield SlackChatClient(web_client("xoxb-test", base_url=fake.api_url, sleep=lambda _: None))


def _since() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=1)


def test_a_post_returns_a_distinct_ts(chat: ChatClient) -> None:
    first, second = chat.post_message("C1", _top("s1")), chat.post_message("C1", _top("s2"))
    assert first and second and first != second


def test_a_top_level_message_is_found_by_its_story(chat: ChatClient) -> None:
    ts = chat.post_message("C1", _top("s1"))
    chat.post_message("C1", _top("s2"))
    assert chat.find_message("C1", story_id="s1", oldest=_since()) == ts
    assert chat.find_message("C1", story_id="nope", oldest=_since()) is None
    assert chat.find_message("C2", story_id="s1", oldest=_since()) is None, "another channel's history"


def test_a_thread_reply_is_found_by_its_outlet(chat: ChatClient) -> None:
    parent = chat.post_message("C1", _top("s1"))
    reply = chat.post_message("C1", _reply("s1", "ap", parent))
    assert chat.find_message("C1", story_id="s1", oldest=_since(), thread_ts=parent, outlet="ap") == reply
    assert chat.find_message("C1", story_id="s1", oldest=_since(), thread_ts=parent, outlet="afp") is None
    # A reply is not the story's top-level message, and the parent is not a reply.
    assert chat.find_message("C1", story_id="s1", oldest=_since()) == parent


def test_messages_before_oldest_are_not_searched(chat: ChatClient) -> None:
    chat.post_message("C1", _top("s1"))
    assert chat.find_message("C1", story_id="s1", oldest=datetime.now(UTC) + timedelta(minutes=5)) is None


def _blocks(text: str) -> list[dict[str, object]]:
    return [{"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": text}}]


def test_an_edit_replaces_the_message_as_read_back(chat: ChatClient) -> None:
    ts = chat.post_message("C1", {**_top("s1"), "blocks": _blocks("one outlet")})
    other = chat.post_message("C1", {**_top("s2"), "blocks": _blocks("untouched")})
    chat.update_message("C1", ts, {"text": "story s1", "blocks": _blocks("two outlets"),
                                   "metadata": _top("s1")["metadata"]})
    edited = chat.get_message("C1", ts)
    assert edited is not None and edited["blocks"][0]["text"]["text"] == "two outlets"
    assert edited["metadata"]["event_payload"] == {"story_id": "s1"}, "the edit keeps the story's metadata"
    assert chat.get_message("C1", other)["blocks"][0]["text"]["text"] == "untouched"  # type: ignore[index]
    # Still found by its story: reconciliation is unaffected by edits.
    assert chat.find_message("C1", story_id="s1", oldest=_since()) == ts


def test_reading_a_message_that_is_not_there(chat: ChatClient) -> None:
    ts = chat.post_message("C1", _top("s1"))
    assert chat.get_message("C2", ts) is None, "another channel"
    assert chat.get_message("C1", "1.000001") is None
    reply = chat.post_message("C1", _reply("s1", "ap", ts))
    assert chat.get_message("C1", reply) is None, "a thread reply is not a top-level message"
