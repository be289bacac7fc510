"""Every /vigil subcommand, its happy path and its bad arguments (nothing changes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from vigil.domain.models import Severity, Source, SourceState, Subscription, Topic
from vigil.domain.topic_limits import MAX_CUSTOM_TOPICS
from vigil.services.commands import (
    MAX_LIST_LINE,
    MAX_REPLY_CHARS,
    SUBCOMMANDS,
    Commands,
    SlashCommand,
    clean_text,
    parse_digest_args,
)
from vigil.services.store import Store

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TOPICS = [Topic("taiwan", "Taiwan", '"taiwan"'), Topic("sanctions", "Sanctions", "sanctions")]
SOURCES = [Source("reuters", "https://reuters.example/feed", "Reuters"), Source("ap", "https://ap.example/rss")]


@pytest.fixture
def vigil(store: Store) -> Commands:
    return Commands(store, TOPICS, SOURCES, admins=frozenset({"UADMIN"}), now=lambda: NOW)


def run(vigil: Commands, text: str, user: str = "U1", channel: str = "C1") -> dict[str, str]:
    return vigil.handle(SlashCommand(channel=channel, user=user, text=text)).as_slack()


def snapshot(store: Store) -> tuple[object, ...]:
    return (store.subscriptions(), store.channels(), store.custom_topics(), store.custom_sources())


def test_help_lists_every_subcommand(vigil: Commands) -> None:
    reply = run(vigil, "help")

    assert reply["response_type"] == "ephemeral"
    for sub in SUBCOMMANDS:
        assert f"/vigil {sub.usage}" in reply["text"]
    assert run(vigil, "")["text"] == reply["text"]


def test_topics_marks_subscribed_ones(vigil: Commands, store: Store) -> None:
    store.put_subscription(Subscription("C1", "taiwan"))

    text = run(vigil, "topics")["text"]

    assert ":white_check_mark: `taiwan`" in text and ":white_medium_square: `sanctions`" in text


def test_subscribe_confirms_in_channel_and_records_creation_time(vigil: Commands, store: Store) -> None:
    reply = run(vigil, "subscribe Taiwan")

    assert reply["response_type"] == "in_channel"
    assert reply["text"].startswith("<@U1> subscribed this channel to *Taiwan*")
    [sub] = store.subscriptions("C1")
    assert (sub.topic, sub.active, sub.created_at) == ("taiwan", True, NOW)
    assert run(vigil, "subscribe taiwan")["response_type"] == "ephemeral"  # already: no noise


def test_subscribe_re_enables_a_channel_disabled_by_delivery(vigil: Commands, store: Store) -> None:
    store.put_subscription(Subscription("C1", "sanctions", active=False))
    settings = store.get_channel("C1")
    settings.disabled_reason = "not_in_channel"
    store.put_channel(settings)

    run(vigil, "subscribe taiwan")

    assert store.get_channel("C1").disabled_reason == ""
    assert all(s.active for s in store.subscriptions("C1"))


def test_unsubscribe(vigil: Commands, store: Store) -> None:
    run(vigil, "subscribe taiwan")

    assert run(vigil, "unsubscribe taiwan")["response_type"] == "in_channel"
    assert store.subscriptions("C1") == []
    assert "not subscribed" in run(vigil, "unsubscribe taiwan")["text"]


def test_list_shows_subscriptions_and_settings(vigil: Commands) -> None:
    run(vigil, "subscribe taiwan")
    run(vigil, "mute reuters")
    run(vigil, "threshold notable")
    run(vigil, "digest hourly")
    run(vigil, "pause")

    text = run(vigil, "list")["text"]

    assert "*Subscriptions:* Taiwan" in text
    assert "*Threshold:* notable" in text
    assert "*Delivery:* digest hourly" in text
    assert "*Muted sources:* reuters" in text
    assert "*Paused:* yes" in text


def test_mute_and_unmute_by_id_or_name(vigil: Commands, store: Store) -> None:
    assert run(vigil, "mute Reuters")["response_type"] == "in_channel"
    assert store.get_channel("C1").muted_sources == frozenset({"reuters"})
    assert "already muted" in run(vigil, "mute reuters")["text"]

    assert run(vigil, "unmute reuters")["response_type"] == "in_channel"
    assert store.get_channel("C1").muted_sources == frozenset()
    assert "not muted" in run(vigil, "unmute reuters")["text"]


def test_threshold(vigil: Commands, store: Store) -> None:
    assert run(vigil, "threshold URGENT")["response_type"] == "in_channel"
    assert store.get_channel("C1").threshold is Severity.URGENT


@pytest.mark.parametrize(("args", "mode"), [
    ("hourly", "hourly"), ("off", "off"), ("daily 8:05", "daily 08:05 UTC"),
    ("daily 18:30 Europe/Berlin", "daily 18:30 Europe/Berlin"),
])
def test_digest_modes(vigil: Commands, store: Store, args: str, mode: str) -> None:
    assert run(vigil, f"digest {args}")["response_type"] == "in_channel"
    assert store.get_channel("C1").digest == mode


def test_pause_and_resume(vigil: Commands, store: Store) -> None:
    run(vigil, "pause")
    assert store.get_channel("C1").paused
    assert "already paused" in run(vigil, "pause")["text"]

    assert run(vigil, "resume")["response_type"] == "in_channel"
    assert not store.get_channel("C1").paused
    assert "already running" in run(vigil, "resume")["text"]


def test_status_shows_last_cycle_failing_sources_alerts_today_and_feedback(vigil: Commands,
                                                                           store: Store) -> None:
    store.record_cycle({"sources_ok": 28, "sources_failed": 2, "items_new": 40, "alerts": 3})
    store.put_source_state(SourceState("ap", consecutive_failures=4, last_error="HTTP 503"))
    store.add_feedback("C1", "U1", "not_relevant", "s1", "taiwan")
    store.add_feedback("C1", "U2", "relevant", "s2", "taiwan")
    vigil.now = lambda: datetime.now(UTC)

    text = run(vigil, "status")["text"]

    assert "28 sources ok, 2 failed, 40 new items, 3 alerts" in text
    assert "*Alerts today (UTC):* 3" in text
    assert "`ap` — 4 failures: HTTP 503" in text
    assert "1 relevant, 1 not relevant" in text


def test_status_adds_up_the_batches_of_a_fanned_out_cycle(vigil: Commands, store: Store) -> None:
    # Given 700 sources, one cycle an hour ago and, just now, a cycle fanned out to three batches
    vigil.sources = [Source(f"s{n}", f"https://s{n}.example/rss") for n in range(700)]
    now = datetime.now(UTC)
    store.kv.put("CYCLE", "a", {"at": (now - timedelta(hours=1)).isoformat(), "sources_ok": 90, "alerts": 7})
    for n, (ok, failed, alerts) in enumerate([(250, 1, 2), (250, 0, 1), (120, 3, 0)]):
        at = (now - timedelta(seconds=40 - n * 10)).isoformat()
        store.kv.put("CYCLE", f"b{n}", {"at": at, "sources_ok": ok, "sources_failed": failed,
                                         "items_new": 10, "alerts": alerts})
    vigil.now = lambda: now
    # When the channel asks for status
    text = run(vigil, "status")["text"]
    # Then the last poll is the three batches together, not the older cycle
    assert "620 sources ok, 4 failed, 30 new items, 3 alerts" in text


def test_status_before_any_cycle(vigil: Commands) -> None:
    assert "*Last poll:* none yet" in run(vigil, "status")["text"]


def test_sources_lists_configured_and_custom_with_flags(vigil: Commands, store: Store) -> None:
    store.put_custom_source(Source("mine", "https://mine.example/rss", "Mine"))
    run(vigil, "mute ap")

    text = run(vigil, "sources")["text"]

    assert "*Sources (3)*" in text
    assert "`ap` ap _(muted here)_" in text
    assert "`mine` Mine _(added from Slack)_" in text


def test_topic_add_validates_the_query_and_subscribes(vigil: Commands, store: Store) -> None:
    reply = run(vigil, 'topic add drones “drone swarm” NEAR/5 taiwan')

    assert reply["response_type"] == "in_channel"
    [topic] = store.custom_topics("C1")
    assert (topic.id, topic.query, topic.channel) == ("drones", '"drone swarm" NEAR/5 taiwan', "C1")
    assert topic.description == "“drone swarm” NEAR/5 taiwan"  # as typed, for listings
    assert [s.topic for s in store.subscriptions("C1")] == ["drones"]
    assert store.custom_topics("C2") == []
    assert run(vigil, "subscribe drones", channel="C2")["text"].startswith("No topic")


def test_topic_remove(vigil: Commands, store: Store) -> None:
    run(vigil, "topic add drones drone")

    assert run(vigil, "topic remove drones")["response_type"] == "in_channel"
    assert store.custom_topics("C1") == [] and store.subscriptions("C1") == []


def test_topic_add_refuses_a_long_near_chain_in_one_line_and_changes_nothing(vigil: Commands, store: Store) -> None:
    # Given the query that stalled every channel's poll: 9 terms chained by 8 NEARs
    chain = " NEAR/1000 ".join(["the"] * 9)
    before = snapshot(store)
    # When a channel member adds it
    reply = run(vigil, f"topic add stall {chain}")
    # Then it is refused with one line saying which limit, only to them, and nothing is stored
    assert reply["response_type"] == "ephemeral"
    assert reply["text"] == "That query is too costly for a custom topic: it has 8 NEARs (at most 6)."
    assert snapshot(store) == before


def test_topic_add_refuses_a_channels_topic_beyond_the_limit_but_replaces_one(vigil: Commands,
                                                                             store: Store) -> None:
    for n in range(MAX_CUSTOM_TOPICS):
        store.put_custom_topic(Topic(id=f"t{n}", name=f"t{n}", query="drone", channel="C1"))
    before = snapshot(store)

    reply = run(vigil, "topic add one-more drone")

    assert reply["text"].startswith(f"This channel already has {MAX_CUSTOM_TOPICS} custom topics")
    assert "\n" not in reply["text"]
    assert snapshot(store) == before
    # Replacing an existing topic adds none, and another channel has its own count.
    assert run(vigil, "topic add t0 drones")["response_type"] == "in_channel"
    assert run(vigil, "topic add one-more drone", channel="C2")["response_type"] == "in_channel"


def test_topics_and_list_replies_stop_at_slacks_size_with_how_many_more(vigil: Commands, store: Store) -> None:
    # Given a channel left with far more custom topics than the limit allows (added
    # before there was one), each subscribed
    for n in range(2001):
        name = f"topic-{n:04d}-{'x' * 25}"
        store.put_custom_topic(Topic(id=name, name=name, query="drone", channel="C1"))
        store.put_subscription(Subscription("C1", name))
    # When the channel lists its topics and settings
    topics, listing = run(vigil, "topics")["text"], run(vigil, "list")["text"]
    # Then each reply fits one Slack message and says how many were left out
    assert len(topics) <= MAX_REPLY_CHARS + 100
    assert re.search(r"\n… and \d+ more$", topics)
    assert len(listing) < 3 * MAX_LIST_LINE
    assert re.search(r"\*Subscriptions:\* .* … and \d+ more\n", listing)
    assert re.search(r"\*Custom topics:\* .* … and \d+ more$", listing)
    shown = topics.count("custom topic of this channel")
    assert f"… and {2001 - shown} more" in topics


def test_status_shows_this_channels_topics_skipped_as_too_costly(vigil: Commands, store: Store) -> None:
    store.record_cycle({"sources_ok": 3, "over_budget": [["C1", "stall", 12], ["C2", "other", 1]]})
    vigil.now = lambda: datetime.now(UTC)

    text = run(vigil, "status")["text"]

    assert "*Custom topics skipped as too costly (last poll):* `stall` on 12 items" in text
    assert "other" not in text
    assert "too costly" not in run(vigil, "status", channel="C3")["text"]


def test_source_add_and_remove_for_admins(vigil: Commands, store: Store) -> None:
    reply = run(vigil, "source add <https://news.example/feed.xml|news.example/feed.xml> Example News",
                user="UADMIN")

    assert "Added source `example-news`" in reply["text"]
    assert store.custom_sources() == [Source("example-news", "https://news.example/feed.xml", "Example News")]
    assert "Removed" in run(vigil, "source remove example-news", user="UADMIN")["text"]
    assert store.custom_sources() == []
    assert "sources file" in run(vigil, "source remove reuters", user="UADMIN")["text"]


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://127.0.0.1:8080/feed",
    "http://[::1]/feed",
    "https://10.0.0.5/rss",
    "http://[::ffff:169.254.169.254]/",
    "http://2852039166/",  # 169.254.169.254 spelled as one number
    "http://localhost/feed",
])
def test_source_add_refuses_private_address_literals(vigil: Commands, store: Store, url: str) -> None:
    before = snapshot(store)

    reply = run(vigil, f"source add {url} Internal", user="UADMIN")

    assert reply["text"].startswith("Not added:") and "not a public address" in reply["text"]
    assert snapshot(store) == before


def test_source_add_accepts_private_addresses_when_private_networks_are_allowed(store: Store) -> None:
    vigil = Commands(store, TOPICS, SOURCES, admins=frozenset({"UADMIN"}), allow_private_networks=True)

    reply = run(vigil, "source add http://127.0.0.1:8080/feed Local", user="UADMIN")

    assert "Added source `local`" in reply["text"]
    assert [s.url for s in store.custom_sources()] == ["http://127.0.0.1:8080/feed"]


def test_source_add_accepts_public_names_and_addresses(vigil: Commands, store: Store) -> None:
    run(vigil, "source add https://93.184.216.34/rss Public", user="UADMIN")
    run(vigil, "source add https://feeds.example.org/rss Org", user="UADMIN")

    assert [s.id for s in store.custom_sources()] == ["org", "public"]


def test_status_names_no_addresses_for_a_source_the_address_guard_refused(vigil: Commands,
                                                                           store: Store) -> None:
    refusal = ("refused: intranet.example resolves to 10.0.0.5 (private), not a public address "
               "(set VIGIL_ALLOW_PRIVATE_NETWORKS=1 to allow private networks)")
    store.put_source_state(SourceState("ap", consecutive_failures=2, last_error=refusal))

    text = run(vigil, "status")["text"]

    assert "`ap` — 2 failures: blocked address" in text
    assert "10.0.0.5" not in text and "intranet.example" not in text


@pytest.mark.parametrize("text", ["source add https://x.example/rss", "source remove reuters"])
def test_source_commands_are_for_admins_only(vigil: Commands, store: Store, text: str) -> None:
    before = snapshot(store)

    assert "Only Vigil admins" in run(vigil, text, user="U1")["text"]
    assert snapshot(store) == before


@pytest.mark.parametrize(("text", "usage"), [
    ("subscribe", "subscribe TOPIC"),
    ("subscribe nonsense", "subscribe TOPIC"),
    ("subscribe taiwan extra", "subscribe TOPIC"),
    ("unsubscribe", "unsubscribe TOPIC"),
    ("mute", "mute SOURCE"),
    ("mute nosuchsource", "mute SOURCE"),
    ("unmute", "unmute SOURCE"),
    ("threshold", "threshold routine|notable|urgent"),
    ("threshold extreme", "threshold routine|notable|urgent"),
    ("digest", "digest daily HH:MM [TZ]"),
    ("digest weekly", "digest daily HH:MM [TZ]"),
    ("digest daily", "digest daily HH:MM [TZ]"),
    ("digest daily 25:00", "digest daily HH:MM [TZ]"),
    ("digest daily 8:00 Mars/Olympus", "digest daily HH:MM [TZ]"),
    ("digest hourly now", "digest daily HH:MM [TZ]"),
    ("pause now", "pause"),
    ("resume please", "resume"),
    ("list all", "list"),
    ("topics x", "topics"),
    ("status x", "status"),
    ("sources x", "sources"),
    ("topic add", "topic add NAME"),
    ("topic add onlyname", "topic add NAME"),
    ("topic add Bad_Name drone", "topic add NAME"),
    ("topic add taiwan drone", "topic add NAME"),
    ('topic add drones "unclosed phrase', "topic add NAME"),
    ("topic add drones (a OR", "topic add NAME"),
    ("topic add drones a AND", "topic add NAME"),
    ("topic remove", "topic remove NAME"),
])
def test_bad_arguments_get_the_usage_line_and_change_nothing(vigil: Commands, store: Store, text: str,
                                                             usage: str) -> None:
    before = snapshot(store)

    reply = run(vigil, text)

    assert reply["response_type"] == "ephemeral"
    assert f"Usage: `/vigil {usage}" in reply["text"]
    assert snapshot(store) == before


@pytest.mark.parametrize("text", [
    "source add", "source add ftp://x.example/feed", "source add file:///etc/passwd",
    "source add javascript:alert(1)", "source add http://x.example:99999/feed", "source add http://[::1/feed",
    "source remove",
])
def test_bad_admin_arguments_get_the_usage_line(vigil: Commands, store: Store, text: str) -> None:
    before = snapshot(store)

    assert "Usage: `/vigil source" in run(vigil, text, user="UADMIN")["text"]
    assert snapshot(store) == before


def test_unknown_subcommand_gets_help_and_changes_nothing(vigil: Commands, store: Store) -> None:
    before = snapshot(store)

    reply = run(vigil, "frobnicate taiwan <!channel>")

    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Unknown subcommand `frobnicate taiwan`")
    assert "/vigil subscribe TOPIC" in reply["text"]
    assert snapshot(store) == before


def test_user_text_is_escaped_in_replies(vigil: Commands) -> None:
    reply = run(vigil, "subscribe <!channel>")

    assert "<!channel>" not in reply["text"] and "&lt;!channel&gt;" in reply["text"]


def test_slack_formatting_in_command_text_is_undone() -> None:
    assert clean_text(" mute <https://a.example/x|a.example/x> &amp; &lt;b&gt; ") == "mute https://a.example/x & <b>"


def test_digest_arguments_parse() -> None:
    assert parse_digest_args(["DAILY", "07:00", "Asia/Taipei"]) == "daily 07:00 Asia/Taipei"
