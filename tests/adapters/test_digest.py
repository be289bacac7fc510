"""Digests against the fake Slack: due periods, grouping, empty periods, failures."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from vigil.adapters.slack.client import SlackChatClient
from vigil.adapters.slack.client import web_client as slack_web_client
from vigil.domain.models import ChannelSettings, Severity, Story, Subscription
from vigil.services.delivery import Deliverer
from vigil.services.digests import is_due, run_digests
from vigil.services.store import Store

from tests.fakeslack import FakeSlack, server_error, slack_error

NOW = datetime(2025, 3, 1, 7, 5, tzinfo=UTC)  # 08:05 in Berlin


def web_client(token: str, sleep: Callable[[float], None] = lambda _: None) -> SlackChatClient:
    """The Slack chat client at the fake Slack (the fixture sets SLACK_API_URL)."""
    return SlackChatClient(slack_web_client(token, base_url=os.environ["SLACK_API_URL"], sleep=sleep))


def story(n: int, severity: Severity = Severity.ROUTINE) -> Story:
    return Story(id=f"s{n}", title=f"Story {n}", first_seen=NOW, last_seen=NOW, severity=severity,
                 sources=("reuters",), url=f"https://x.example/{n}")


def channel(store: Store, name: str, digest: str) -> None:
    store.put_channel(ChannelSettings(name, digest=digest))


@pytest.mark.parametrize(("mode", "now", "due"), [
    ("hourly", NOW, True),
    ("hourly", NOW.replace(minute=59), True),
    ("off", NOW, False),
    ("daily 08:00 Europe/Berlin", NOW, True),
    ("daily 08:00 Europe/Berlin", NOW + timedelta(hours=1), False),
    ("daily 08:00 Europe/Berlin", NOW - timedelta(minutes=10), False),
    ("daily 23:30 UTC", datetime(2025, 3, 2, 0, 10, tzinfo=UTC), True),
    ("daily 07:00", NOW, True),
    ("daily 07:00 Nowhere/Atlantis", NOW, False),
])
def test_due_periods(mode: str, now: datetime, due: bool) -> None:
    assert is_due(mode, now) is due


def test_hourly_on_a_quarter_hour_schedule_is_due_once_an_hour() -> None:
    assert is_due("hourly", NOW, timedelta(minutes=15))
    assert not is_due("hourly", NOW.replace(minute=20), timedelta(minutes=15))


def test_due_channels_get_one_message_grouped_by_topic(store: Store, fake_slack: FakeSlack) -> None:
    channel(store, "C1", "daily 08:00 Europe/Berlin")
    channel(store, "C2", "daily 20:00 Europe/Berlin")
    channel(store, "C3", "hourly")
    store.put_subscription(Subscription("C1", "taiwan"))
    store.queue_digest("C1", story(1), "taiwan")
    store.queue_digest("C1", story(2, Severity.URGENT), "taiwan")
    store.queue_digest("C1", story(3), "sanctions")
    store.queue_digest("C2", story(4), "taiwan")

    outcomes = run_digests(store, web_client("xoxb-test"), NOW)

    assert outcomes == {"sent": 1, "empty": 1}  # C3 had nothing: no message
    [call] = fake_slack.posted()
    assert call.body["channel"] == "C1"
    texts = [b.get("text", {}).get("text", "") for b in call.body["blocks"]]
    assert texts[0] == "Vigil digest (daily): 3 stories"
    assert texts[1].startswith("*Sanctions")
    assert texts[3] == "*Taiwan* (2)" and texts[4].index("Story 2") < texts[4].index("Story 1")
    assert store.take_digest("C1") == [] and len(store.take_digest("C2")) == 1


def test_failed_digest_is_queued_again(store: Store, fake_slack: FakeSlack) -> None:
    channel(store, "C1", "hourly")
    store.queue_digest("C1", story(1), "taiwan")
    fake_slack.script("chat.postMessage", server_error(), server_error(), server_error())

    assert run_digests(store, web_client("xoxb-test", sleep=lambda _: None), NOW) == {"retry": 1}

    [entry] = store.take_digest("C1")
    assert (entry["story_id"], entry["topic"], entry["title"]) == ("s1", "taiwan", "Story 1")


def test_digest_to_a_lost_channel_disables_it(store: Store, fake_slack: FakeSlack) -> None:
    channel(store, "C1", "hourly")
    store.put_subscription(Subscription("C1", "taiwan"))
    store.queue_digest("C1", story(1), "taiwan")
    fake_slack.script("chat.postMessage", slack_error("is_archived"))

    deliverer = Deliverer(store, web_client("xoxb-test"), sleep=lambda _: None)
    assert run_digests(store, deliverer.client, NOW, deliverer=deliverer) == {"disabled": 1}
    assert store.get_channel("C1").disabled_reason == "is_archived"


def test_paused_channels_get_no_digest(store: Store, fake_slack: FakeSlack) -> None:
    store.put_channel(ChannelSettings("C1", digest="hourly", paused=True))
    store.queue_digest("C1", story(1), "taiwan")

    assert run_digests(store, web_client("xoxb-test"), NOW) == {}
    assert fake_slack.posted() == []
