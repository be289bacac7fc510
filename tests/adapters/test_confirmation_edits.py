"""The posted alert is edited (chat.update) as independent outlets and the official source join.

Against the fake Slack Web API through slack_sdk: an edit goes out once per rise of the
figures, a wire copy changes nothing, a failed edit is redone by the reply's retry, an
edit Slack refuses costs nothing else, and racing edits end on the latest figures.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from vigil.adapters.slack.client import SlackChatClient, web_client
from vigil.domain.errors import RetryableDeliveryError
from vigil.domain.models import Alert
from vigil.services.delivery import Deliverer
from vigil.services.interactions import handle_block_actions
from vigil.services.store import Store

from tests.adapters.test_deliver import make_alert
from tests.fakeslack import FakeSlack, server_error, slack_error


def confirmed(source: str, confirmations: int, *, official: bool = False, kind: str = "update") -> Alert:
    alert = make_alert(source=source, kind=kind)
    return replace(alert, story=replace(alert.story, confirmations=confirmations, official=official))


def line_of(message: dict[str, Any]) -> str:
    """The confirmation line of an alert as Slack shows it ("" when it has none)."""
    for block in message.get("blocks") or ():
        if block.get("block_id") == "vigil_confirmations":
            return " ".join(e["text"] for e in block["elements"])
    return ""


@pytest.fixture
def deliverer(store: Store, fake_slack: FakeSlack) -> Deliverer:
    client = SlackChatClient(web_client("xoxb-test", base_url=fake_slack.api_url, sleep=lambda _: None))
    return Deliverer(store, client, sleep=lambda _: None)


def posted_alert(deliverer: Deliverer, fake_slack: FakeSlack) -> str:
    assert deliverer.deliver(confirmed("reuters", 1, kind="new")) == "sent"
    [top] = fake_slack.top_level("C1")
    assert line_of(top.body) == "1 independent outlet"
    return top.ts


def test_a_second_independent_outlet_edits_the_count_once(deliverer: Deliverer, store: Store,
                                                          fake_slack: FakeSlack) -> None:
    ts = posted_alert(deliverer, fake_slack)

    assert deliverer.deliver(confirmed("ap", 2)) == "replied"
    assert deliverer.deliver(confirmed("ap", 2)) == "duplicate"  # a redelivery edits nothing more

    [edit] = fake_slack.edits("C1")
    assert edit.body["ts"] == ts
    assert "unfurl_links" not in edit.body, "chat.update takes no unfurl flags"
    shown = fake_slack.message("C1", ts)
    assert line_of(shown) == "2 independent outlets"
    # Everything else is the alert as posted: its story metadata, title and buttons.
    top = fake_slack.top_level("C1")[0].body
    assert shown["metadata"] == top["metadata"]
    others = [b for b in shown["blocks"] if b.get("block_id") != "vigil_confirmations"]
    assert others == [b for b in top["blocks"] if b.get("block_id") != "vigil_confirmations"]
    delivery = store.get_delivery("s1", "C1")
    assert delivery is not None and (delivery.shown_confirmations, delivery.shown_official) == (2, False)


def test_a_copy_of_the_same_wire_story_does_not_edit(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    posted_alert(deliverer, fake_slack)
    # A reprint of the wire story: the story's count of independent outlets stays 1.
    assert deliverer.deliver(confirmed("reprint", 1)) == "replied"
    assert fake_slack.edits() == []


def test_the_official_source_is_shown_when_it_joins(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    ts = posted_alert(deliverer, fake_slack)
    assert deliverer.deliver(confirmed("ofac", 1, official=True)) == "replied"
    official = ":classical_building: confirmed by an official source"
    assert line_of(fake_slack.message("C1", ts)) == f"1 independent outlet · {official}"
    assert len(fake_slack.edits()) == 1


def test_an_edit_slack_could_not_take_is_redone_by_the_retry(deliverer: Deliverer,
                                                             fake_slack: FakeSlack) -> None:
    ts = posted_alert(deliverer, fake_slack)
    fake_slack.script("chat.update", *[server_error(503)] * 3)
    # The reply went out; the edit did not, so the alert stays queued...
    with pytest.raises(RetryableDeliveryError):
        deliverer.deliver(confirmed("ap", 2))
    assert len(fake_slack.replies("C1")) == 1 and fake_slack.edits() == []
    # ...and its retry posts no second reply but makes the edit.
    assert deliverer.deliver(confirmed("ap", 2)) == "duplicate"
    assert len(fake_slack.replies("C1")) == 1
    assert line_of(fake_slack.message("C1", ts)) == "2 independent outlets"


def test_an_edit_slack_refuses_is_given_up_quietly(deliverer: Deliverer, store: Store,
                                                   fake_slack: FakeSlack) -> None:
    posted_alert(deliverer, fake_slack)
    fake_slack.script("chat.update", slack_error("edit_window_closed"))
    assert deliverer.deliver(confirmed("ap", 2)) == "replied"
    assert deliverer.deliver(confirmed("ap", 2)) == "duplicate"
    assert len(fake_slack.calls_to("chat.update")) == 1, "not retried: Slack will refuse it again"
    assert store.get_delivery("s1", "C1").shown_confirmations == 2  # type: ignore[union-attr]


def test_status_lines_a_click_added_are_kept(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    ts = posted_alert(deliverer, fake_slack)
    # A click replaced the message through response_url, adding its status line.
    clicked = fake_slack.top_level("C1")[0].body
    status = {"type": "context", "block_id": "vigil_status",
              "elements": [{"type": "mrkdwn", "text": "<@U1> marked this *relevant*"}]}
    deliverer.client.update_message("C1", ts, {"text": clicked["text"],  # type: ignore[attr-defined]
                                               "blocks": [*clicked["blocks"], status]})
    deliverer.deliver(confirmed("ap", 2))
    shown = fake_slack.message("C1", ts)
    assert line_of(shown) == "2 independent outlets"
    assert shown["blocks"][-1] == status


def test_without_history_the_alert_as_posted_is_edited(deliverer: Deliverer, fake_slack: FakeSlack) -> None:
    ts = posted_alert(deliverer, fake_slack)
    fake_slack.script("conversations.history", slack_error("missing_scope"))
    assert deliverer.deliver(confirmed("ap", 2)) == "replied"
    assert line_of(fake_slack.message("C1", ts)) == "2 independent outlets"
    assert fake_slack.message("C1", ts)["metadata"]["event_payload"] == {"story_id": "s1"}


@pytest.mark.parametrize("story_stored", [True, False], ids=["story-up-to-date", "story-lags"])
def test_racing_edits_end_on_the_latest_figures(store: Store, fake_slack: FakeSlack, story_stored: bool) -> None:
    """A (2 outlets) edits; before it records, B (3 outlets) edits and records first; A's
    edit then lands over B's. A sees the higher figure recorded and edits again, with at
    least that figure even when the stored story lags behind B's alert (a lost story
    update between concurrent fetch batches, or an expired story)."""
    slack_client = SlackChatClient(web_client("xoxb-test", base_url=fake_slack.api_url, sleep=lambda _: None))
    b = Deliverer(store, slack_client, sleep=lambda _: None)
    ts = posted_alert(b, fake_slack)

    class BeatenToIt:
        """Runs B's whole delivery just before A's first edit goes out."""

        def __init__(self) -> None:
            self.raced = False

        def __getattr__(self, name: str) -> Any:
            return getattr(slack_client, name)

        def update_message(self, channel: str, ts: str, payload: dict[str, Any]) -> None:
            if not self.raced:
                self.raced = True
                if story_stored:
                    story = confirmed("bbc", 3).story
                    now = datetime.now(UTC)  # a live story (the alert's own dates have expired)
                    store.put_story(replace(story, first_seen=now, last_seen=now))
                assert b.deliver(confirmed("bbc", 3)) == "replied"
            slack_client.update_message(channel, ts, payload)

    a = Deliverer(store, BeatenToIt(), sleep=lambda _: None)  # type: ignore[arg-type]
    assert a.deliver(confirmed("ap", 2)) == "replied"

    assert line_of(fake_slack.message("C1", ts)) == "3 independent outlets"
    assert [line_of(e.body) for e in fake_slack.edits()] == [
        "3 independent outlets", "2 independent outlets", "3 independent outlets"]
    assert store.get_delivery("s1", "C1").shown_confirmations == 3  # type: ignore[union-attr]


def test_without_history_a_clicks_status_line_survives_the_edit(deliverer: Deliverer, store: Store,
                                                                fake_slack: FakeSlack) -> None:
    ts = posted_alert(deliverer, fake_slack)
    posted = fake_slack.top_level("C1")[0].body
    [actions] = [b for b in posted["blocks"] if b.get("block_id") == "vigil_actions"]
    relevant = next(e for e in actions["elements"] if e["action_id"] == "vigil_relevant")
    click = {"type": "block_actions", "user": {"id": "U1"}, "channel": {"id": "C1"},
             "message": {"ts": ts, "text": posted["text"], "blocks": posted["blocks"]},
             "response_url": "https://hooks.slack.com/actions/T1/1/x",
             "actions": [{"action_id": "vigil_relevant", "value": relevant["value"]}]}
    assert handle_block_actions(click, store).outcome == "feedback"
    # (Slack shows the clicked version; the fake does not apply response_url replaces.)
    fake_slack.script("conversations.history", slack_error("missing_scope"))

    assert deliverer.deliver(confirmed("ap", 2)) == "replied"

    [edit] = fake_slack.edits("C1")
    assert line_of(edit.body) == "2 independent outlets"
    assert "marked this *relevant*" in str(edit.body["blocks"][-1]), "the click's status line is kept"
