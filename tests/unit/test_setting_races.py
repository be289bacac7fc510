"""Setting changes that race other writers: never confirmed unless stored, never resurrecting."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from vigil.adapters.state.memory import MemoryKV
from vigil.domain.codec import to_record
from vigil.domain.errors import Conflict
from vigil.domain.models import ChannelSettings, Source, Subscription, Topic
from vigil.ports import Record
from vigil.render.slack import ACTION_MUTE_SOURCE
from vigil.services.commands import NOT_SAVED, Commands, SlashCommand
from vigil.services.delivery import disable_channel
from vigil.services.interactions import handle_block_actions
from vigil.services.store import Store

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOPICS = [Topic("taiwan", "Taiwan", '"taiwan"'), Topic("sanctions", "Sanctions", "sanctions")]
SOURCES = [Source("reuters", "https://reuters.example/feed", "Reuters"), Source("ap", "https://ap.example/rss")]


class AlwaysOvertakenKV(MemoryKV):
    """Another writer changes the channel settings between every read and conditional write."""

    def put(self, pk: str, sk: str, data: Record, *, expect_version: int | bool | None = False,
            ttl: datetime | None = None) -> int:
        if pk == "CHANNEL" and expect_version is not False:
            raise Conflict(f"{pk}/{sk}: overtaken")
        return super().put(pk, sk, data, expect_version=expect_version, ttl=ttl)


@pytest.fixture
def contended() -> Store:
    return Store(AlwaysOvertakenKV(), sleep=lambda _seconds: None)


@pytest.mark.parametrize(("before", "text"), [
    (ChannelSettings("C1"), "mute reuters"),
    (ChannelSettings("C1", muted_sources=frozenset({"reuters"})), "unmute reuters"),
    (ChannelSettings("C1"), "threshold urgent"),
    (ChannelSettings("C1"), "digest hourly"),
    (ChannelSettings("C1"), "pause"),
    (ChannelSettings("C1", paused=True), "resume"),
])
def test_a_change_that_keeps_losing_races_is_not_confirmed(contended: Store, before: ChannelSettings,
                                                           text: str) -> None:
    contended.put_channel(before)
    commands = Commands(contended, TOPICS, SOURCES, now=lambda: NOW)

    reply = commands.handle(SlashCommand(channel="C1", user="U1", text=text)).as_slack()

    assert reply == {"response_type": "ephemeral", "text": NOT_SAVED}
    assert contended.get_channel("C1") == before


def test_a_mute_click_that_keeps_losing_races_says_it_was_not_saved(contended: Store) -> None:
    payload = {"type": "block_actions", "user": {"id": "U2"}, "channel": {"id": "C1"},
               "message": {"text": "alert", "blocks": []},
               "actions": [{"action_id": ACTION_MUTE_SOURCE,
                            "value": '{"story": "s1", "topic": "taiwan", "source": "ap", "item": "k"}'}]}

    result = handle_block_actions(payload, contended)

    status = result.update["blocks"][-1]["elements"][-1]["text"] if result.update else ""
    assert "could not mute" in status and "muted *ap*" not in status
    assert contended.get_channel("C1").muted_sources == frozenset()


class UnsubscribedMidway(Store):
    """An unsubscribe of C1/taiwan lands just after the channel's subscriptions are listed."""

    def subscriptions(self, channel: str | None = None) -> list[Subscription]:
        listed = super().subscriptions(channel)
        self.delete_subscription("C1", "taiwan")
        return listed


def test_disabling_a_channel_does_not_resurrect_a_subscription_removed_meanwhile() -> None:
    store = UnsubscribedMidway(MemoryKV())
    store.put_subscription(Subscription("C1", "taiwan"))
    store.put_subscription(Subscription("C1", "sanctions"))

    disable_channel(store, "C1", "channel_not_found")

    remaining = Store.subscriptions(store, "C1")
    assert [(s.topic, s.active) for s in remaining] == [("sanctions", False)]
    assert store.get_channel("C1").disabled_reason == "channel_not_found"


class MutedAfterFirstRead(MemoryKV):
    """A mute of `ap` in C1 is saved just after the first read of C1's settings."""

    def __init__(self) -> None:
        super().__init__()
        self.pending = True

    def get(self, pk: str, sk: str) -> Record | None:
        record = super().get(pk, sk)
        if (pk, sk) == ("CHANNEL", "C1") and self.pending:
            self.pending = False
            super().put(pk, sk, to_record(ChannelSettings("C1", muted_sources=frozenset({"ap"}))))
        return record


def test_disabling_a_channel_keeps_a_mute_saved_meanwhile() -> None:
    store = Store(MutedAfterFirstRead())

    disable_channel(store, "C1", "is_archived")

    assert store.get_channel("C1") == ChannelSettings("C1", muted_sources=frozenset({"ap"}),
                                                      disabled_reason="is_archived")
