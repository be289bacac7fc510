"""The `/vigil` slash command: parse, validate, change the store, answer.

Pure apart from the store passed in, so the local server, the Lambda and the tests
share it. Every subcommand validates all of its arguments before it writes anything:
a bad argument gets that subcommand's usage line and changes nothing. Replies are
ephemeral (only the caller sees them) unless the command changed the channel, which
then gets a short in-channel confirmation so the team knows who changed what.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from vigil.domain import provenance
from vigil.domain.addresses import host_problem, shareable_error
from vigil.domain.clock import now_utc
from vigil.domain.errors import Contention
from vigil.domain.models import ChannelSettings, Severity, Source, Topic
from vigil.domain.query import QueryError, expand, operators_any_case
from vigil.domain.query import parse as parse_query
from vigil.domain.topic_limits import counted_term_lists, custom_topic_problem
from vigil.render.slack import escape, topic_name
from vigil.services.store import Store

MAX_TOPIC_QUERY = 1000
# A reply is one Slack message: Slack cuts text at 40,000 characters (and a wall of
# text that long helps nobody), so listings stop here with "… and N more". A channel
# with the most custom topics allowed still fits.
MAX_REPLY_CHARS = 12_000
# One line of `list` (subscriptions, muted sources, custom topics) gets at most this much.
MAX_LIST_LINE = 4_000
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Slack sends links typed in a command as <url> or <url|label>.
_SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|[^>]*)?>")
# How close a mistyped subcommand, topic or source must be to get "did you mean".
SUGGEST_CUTOFF = 0.6
# Dashes people type for the en dash in "Russia–China" (and vice versa).
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212", "-"))
# A topic's summary in `/vigil topics` is cut here, so each topic is one line.
MAX_TOPIC_SUMMARY = 110
NOT_SAVED = ("Vigil could not save that: this channel's settings kept changing at the same moment. "
             "Check `/vigil list` and try again.")


class UsageError(Exception):
    """Bad arguments; the reply is the subcommand's usage line (plus why)."""


@dataclass(slots=True)
class SlashCommand:
    """The fields of Slack's slash-command request that Vigil uses."""

    channel: str
    user: str
    text: str = ""
    command: str = "/vigil"
    channel_name: str = ""
    team: str = ""
    response_url: str = ""

    @classmethod
    def from_form(cls, form: dict[str, str]) -> SlashCommand:
        return cls(
            channel=form.get("channel_id", ""), user=form.get("user_id", ""), text=form.get("text", ""),
            command=form.get("command", "/vigil"), channel_name=form.get("channel_name", ""),
            team=form.get("team_id", ""), response_url=form.get("response_url", ""),
        )


@dataclass(slots=True)
class CommandReply:
    text: str
    in_channel: bool = False
    # Shown to the caller as well when the in-channel confirmation is short.
    detail: str = ""

    def as_slack(self) -> dict[str, Any]:
        text = f"{self.text}\n{self.detail}" if self.detail else self.text
        return {"response_type": "in_channel" if self.in_channel else "ephemeral", "text": text}


@dataclass(frozen=True, slots=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    run: Callable[[Commands, SlashCommand, list[str]], CommandReply]
    admin_only: bool = False


@dataclass(slots=True)
class Commands:
    """`/vigil` over a store, the configured topics and sources, and the admin user ids."""

    store: Store
    topics: Sequence[Topic]
    sources: Sequence[Source]
    admins: frozenset[str] = frozenset()
    now: Callable[[], datetime] = now_utc
    # Whether `source add` accepts feeds on loopback, private or link-local addresses;
    # the fetcher's own switch (VIGIL_ALLOW_PRIVATE_NETWORKS), passed in by the runtime.
    allow_private_networks: bool = False
    # Named term lists (`@russia` ...) of the topics file, usable in custom topics.
    terms: Mapping[str, str] = field(default_factory=dict)
    # Where `sources` came from, shown by `/vigil sources` ("": the shipped list).
    sources_origin: str = ""
    name: str = "/vigil"
    _table: dict[str, Subcommand] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._table = {s.name: s for s in SUBCOMMANDS}

    # entry point -----------------------------------------------------------

    def handle(self, cmd: SlashCommand) -> CommandReply:
        words = clean_text(cmd.text).split()
        sub = self._lookup(words)
        if sub is None:
            return self._unknown(words)
        args = words[len(sub.name.split()):]
        if sub.admin_only and cmd.user not in self.admins:
            return CommandReply(f"Only Vigil admins can use `{self.name} {sub.name}`.")
        try:
            return sub.run(self, cmd, args)
        except UsageError as exc:
            why = f"{exc}\n" if str(exc) else ""
            return CommandReply(f"{why}Usage: `{self.name} {sub.usage}`")
        except Contention:
            # Never a confirmation for a change that was not stored.
            return CommandReply(NOT_SAVED)

    def _lookup(self, words: list[str]) -> Subcommand | None:
        if not words:
            return self._table["help"]
        two = " ".join(w.lower() for w in words[:2])
        return self._table.get(two) or self._table.get(words[0].lower())

    def _unknown(self, words: list[str]) -> CommandReply:
        """A reply to text that names no subcommand: the group's usage (`topic` alone),
        "did you mean" for a typo, or the whole help."""
        first = words[0].lower()
        group = [s for s in SUBCOMMANDS if s.name.startswith(f"{first} ")]
        if group:
            what = f"`{self.name} {escape(first)}` needs one of: " if len(words) == 1 else (
                f"Unknown subcommand `{escape(' '.join(words[:2]))}`. Try one of: ")
            return CommandReply(what + "\n" + self.usage_lines(group))
        guess = self._guess(words)
        if guess is not None:
            sub, rest = guess
            typed = " ".join(words[: len(words) - len(rest)])
            example = _cut(" ".join([self.name, sub.name, *rest]), MAX_TOPIC_SUMMARY)
            return CommandReply(f"Unknown subcommand `{escape(typed)}`. Did you mean `{escape(example)}`?\n"
                                f"{self.usage_lines([sub])}")
        return CommandReply(f"Unknown subcommand `{escape(' '.join(words[:2]))}`. Try `{self.name} help`.\n"
                            f"{self.usage_lines()}")

    def _guess(self, words: list[str]) -> tuple[Subcommand, list[str]] | None:
        """The subcommand a mistyped one most likely meant, and the words after it."""
        if len(words) >= 2:
            two = " ".join(words[:2]).lower()
            found = closest(two, [s.name for s in SUBCOMMANDS if " " in s.name])
            if found:
                return self._table[found], words[2:]
        found = closest(words[0].lower(), [s.name for s in SUBCOMMANDS if " " not in s.name])
        return (self._table[found], words[1:]) if found else None

    def usage_lines(self, subs: Iterable[Subcommand] = ()) -> str:
        return "\n".join(f"• `{self.name} {s.usage}` — {s.summary}" for s in (subs or SUBCOMMANDS))

    # lookups ---------------------------------------------------------------

    def channel_topics(self, channel: str) -> list[Topic]:
        return [*self.topics, *self.store.custom_topics(channel)]

    def find_topic(self, channel: str, wanted: str) -> Topic | None:
        """A topic of this channel by id or name (any case, any dash)."""
        key = name_key(wanted)
        for topic in self.channel_topics(channel):
            if key in (name_key(topic.id), name_key(topic.name)):
                return topic
        return None

    def all_sources(self) -> list[Source]:
        return self.store.with_custom_sources(self.sources)

    def find_source(self, wanted: str) -> Source | None:
        """A source by id or name (any case, any dash)."""
        key = name_key(wanted)
        for source in self.all_sources():
            if key in (name_key(source.id), name_key(source.name)):
                return source
        return None

    def topic_names(self, channel: str) -> dict[str, str]:
        return {t.id: t.name for t in self.channel_topics(channel)}


def name_key(text: str) -> str:
    """How names compare: case, dashes and runs of spaces do not matter."""
    return " ".join(text.translate(_DASHES).lower().split())


def closest(wanted: str, choices: Iterable[str]) -> str | None:
    """The choice `wanted` most likely misspells (difflib), or None."""
    # Imported where used (like zoneinfo below): only a mistyped command needs it, and the
    # Slack function imports this module in its cold start.
    import difflib

    found = difflib.get_close_matches(wanted, list(choices), n=1, cutoff=SUGGEST_CUTOFF)
    return found[0] if found else None


def did_you_mean(wanted: str, names: Iterable[tuple[str, str]]) -> str:
    """` Did you mean `ID`?` for the (name, id) whose name `wanted` most likely misspells, else ""."""
    ids = {name_key(name): ident for name, ident in names if name}
    found = closest(name_key(wanted), ids)
    return f" Did you mean `{escape(ids[found])}`?" if found else ""


def clean_text(text: str) -> str:
    """Undo Slack's formatting of command text: links to plain URLs, entities to characters."""
    text = _SLACK_LINK.sub(lambda m: m.group(1), text or "")
    return html.unescape(text.replace("\u00a0", " ")).strip()


def confirm(cmd: SlashCommand, what: str) -> CommandReply:
    return CommandReply(f"<@{cmd.user}> {what}", in_channel=True)


# ---------------------------------------------------------------- subcommands


def _help(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    return CommandReply(f"*Vigil* watches the news for your topics and posts each story once.\n"
                        f"{c.usage_lines()}")


def _topics(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    _no_args(args)
    subscribed = {s.topic for s in c.store.subscriptions(cmd.channel)}
    lines = []
    for topic in c.channel_topics(cmd.channel):
        mark = ":white_check_mark:" if topic.id in subscribed else ":white_medium_square:"
        lines.append(f"{mark} {_topic_line(topic)}")
    return CommandReply("*Topics*\n" + "\n".join(capped_lines(lines)) if lines else "No topics are configured.")


def _topic_line(topic: Topic) -> str:
    """One line: id, name and what it is about (its query, for a custom topic)."""
    if topic.channel:
        # A custom topic's description is its query as the channel wrote it.
        query = _cut(topic.description or topic.query, MAX_TOPIC_SUMMARY)
        return (f"`{escape(topic.id)}` — `{escape(query)}` "
                f"_(custom topic of this channel, {topic.severity.label})_")
    summary = f" — {escape(topic_summary(topic.description))}" if topic.description else ""
    return f"`{escape(topic.id)}` *{escape(topic.name)}*{summary}"


def topic_summary(description: str, limit: int = MAX_TOPIC_SUMMARY) -> str:
    """The opening clause of a topic's definition (up to `:`, `;` or `.`), on one line."""
    flat = " ".join(description.split())
    clause = re.split(r"[:;.](?:\s|$)", flat, maxsplit=1)[0]
    return _cut(clause, limit)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


# Slack slash commands from a direct message carry a channel id starting with D
# (channel_name "directmessage"), from a group DM a channel_name "mpdm-…". Apps cannot
# be invited to either, so alerts could never be posted there.
def _direct_message(cmd: SlashCommand) -> bool:
    return (cmd.channel.startswith("D") or cmd.channel_name == "directmessage"
            or cmd.channel_name.startswith("mpdm-"))


DM_REFUSAL = ("Vigil cannot post alerts in a direct message: Slack does not let apps join DMs. "
              "Run this in a channel (public or private) and `/invite @Vigil` there.")


def _subscribe(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    topic = _one_topic(c, cmd, args)
    if _direct_message(cmd):
        return CommandReply(DM_REFUSAL)
    if not c.store.subscribe(cmd.channel, topic.id, c.now()):
        return CommandReply(f"This channel is already subscribed to *{escape(topic.name)}*.")
    _clear_disabled(c, cmd.channel)
    reply = confirm(cmd, f"subscribed this channel to *{escape(topic.name)}*. "
                         "New stories from now on are posted here (no backlog).")
    reply.detail = "If alerts do not arrive, invite the app: `/invite @Vigil`."
    return reply


def _unsubscribe(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    topic = _one_topic(c, cmd, args)
    if not c.store.delete_subscription(cmd.channel, topic.id):
        return CommandReply(f"This channel is not subscribed to *{escape(topic.name)}*.")
    return confirm(cmd, f"unsubscribed this channel from *{escape(topic.name)}*.")


def _list(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    _no_args(args)
    settings = c.store.get_channel(cmd.channel)
    names = c.topic_names(cmd.channel)
    subs = c.store.subscriptions(cmd.channel)
    sub_text = capped_join(
        [f"{escape(topic_name(s.topic, names))}{'' if s.active else ' (inactive)'}" for s in subs]
    ) or "none (try `/vigil topics`)"
    lines = [
        f"*Subscriptions:* {sub_text}",
        f"*Threshold:* {settings.threshold.label}",
        f"*Delivery:* {'digest ' + settings.digest if settings.digest != 'off' else 'immediate'}",
        f"*Muted sources:* {capped_join([escape(s) for s in sorted(settings.muted_sources)]) or 'none'}",
    ]
    if settings.paused:
        lines.append("*Paused:* yes (`/vigil resume` to restart)")
    if settings.disabled_reason:
        lines.append(f"*Disabled:* Slack said `{escape(settings.disabled_reason)}` — invite the app, "
                     "then `/vigil resume`")
    custom = c.store.custom_topics(cmd.channel)
    if custom:
        lines.append("*Custom topics:* " + capped_join([f"`{escape(t.id)}`" for t in custom]))
    return CommandReply("\n".join(lines))


def capped_lines(lines: list[str], limit: int = MAX_REPLY_CHARS) -> list[str]:
    """The lines that fit in `limit` characters, then "… and N more" for the rest."""
    used = 0
    for i, line in enumerate(lines):
        used += len(line) + 1
        if used > limit:
            return [*lines[:i], f"… and {len(lines) - i} more"]
    return lines


def capped_join(parts: list[str], limit: int = MAX_LIST_LINE) -> str:
    """`parts` joined with commas, as many as fit in `limit` characters, then "… and N more"."""
    used = 0
    for i, part in enumerate(parts):
        used += len(part) + 2
        if used > limit:
            return ", ".join(parts[:i]) + f" … and {len(parts) - i} more"
    return ", ".join(parts)


def _mute(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    source = _one_source(c, args)
    if c.store.update_channel(cmd.channel, lambda s: muted(s, source.id)) is None:
        return CommandReply(f"*{escape(source.display_name)}* is already muted here.")
    return confirm(cmd, f"muted *{escape(source.display_name)}* in this channel.")


def muted(settings: ChannelSettings, source_id: str) -> ChannelSettings | None:
    """The settings with `source_id` muted; None when it already is."""
    if source_id in settings.muted_sources:
        return None
    return replace(settings, muted_sources=settings.muted_sources | {source_id})


def _unmuted(settings: ChannelSettings, source_id: str) -> ChannelSettings | None:
    if source_id not in settings.muted_sources:
        return None
    return replace(settings, muted_sources=settings.muted_sources - {source_id})


def _unmute(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    if not args:
        raise UsageError()
    wanted = " ".join(args)
    source = c.find_source(wanted)
    # A source removed since it was muted can still be unmuted by its id.
    source_id = source.id if source else wanted
    if c.store.update_channel(cmd.channel, lambda s: _unmuted(s, source_id)) is None:
        muted_here = c.store.get_channel(cmd.channel).muted_sources
        hint = did_you_mean(wanted, [(m, m) for m in muted_here])
        return CommandReply(f"`{escape(wanted)}` is not muted here.{hint}")
    return confirm(cmd, f"unmuted *{escape(source.display_name if source else source_id)}* in this channel.")


def _threshold(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    if len(args) != 1:
        raise UsageError()
    try:
        level = Severity.parse(args[0])
    except ValueError:
        raise UsageError(f"`{escape(args[0])}` is not a severity.") from None
    c.store.update_channel(cmd.channel, lambda s: replace(s, threshold=level))
    return confirm(cmd, f"set this channel's threshold to *{level.label}*: "
                        f"only {level.label} stories and above are posted.")


def _digest(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    mode = parse_digest_args(args)
    c.store.update_channel(cmd.channel, lambda s: replace(s, digest=mode))
    if mode == "off":
        return confirm(cmd, "turned the digest off: stories are posted as they come.")
    return confirm(cmd, f"switched this channel to a *{mode}* digest instead of one message per story.")


def parse_digest_args(args: list[str]) -> str:
    """`daily HH:MM [TZ]` | `hourly` | `off` -> the stored digest mode."""
    if not args:
        raise UsageError()
    kind = args[0].lower()
    if kind in ("hourly", "off") and len(args) == 1:
        return kind
    if kind != "daily" or len(args) not in (2, 3):
        raise UsageError()
    match = _TIME_RE.match(args[1])
    if not match:
        raise UsageError(f"`{escape(args[1])}` is not a time (HH:MM, 24-hour).")
    tz = args[2] if len(args) == 3 else "UTC"
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"`{escape(tz)}` is not a time zone (e.g. Europe/Berlin, UTC).") from None
    return f"daily {int(match.group(1)):02d}:{match.group(2)} {tz}"


def _pause(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    _no_args(args)
    if c.store.update_channel(cmd.channel, lambda s: None if s.paused else replace(s, paused=True)) is None:
        return CommandReply("This channel is already paused.")
    return confirm(cmd, "paused Vigil in this channel. `/vigil resume` restarts it.")


def _resume(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    _no_args(args)

    def running(s: ChannelSettings) -> ChannelSettings | None:
        return replace(s, paused=False, disabled_reason="") if s.paused or s.disabled_reason else None

    if c.store.update_channel(cmd.channel, running) is None:
        return CommandReply("Vigil is already running in this channel.")
    c.store.set_subscriptions_active(cmd.channel, True)
    return confirm(cmd, "resumed Vigil in this channel.")


def _clear_disabled(c: Commands, channel: str) -> None:
    """Undo a delivery failure's disabling: someone is evidently using the channel again."""
    c.store.update_channel(channel, lambda s: replace(s, disabled_reason="") if s.disabled_reason else None)
    c.store.set_subscriptions_active(channel, True)


def _status(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    _no_args(args)
    now = c.now()
    cycles = c.store.cycles(limit=300)
    last = _last_cycle(cycles, len(c.all_sources()))
    return CommandReply("\n".join([
        *_cycle_lines(cycles, last, now),
        *_over_budget_lines(last, cmd.channel),
        *_failing_lines(c),
        _feedback_line(c.store.feedback(cmd.channel)),
    ]))


# On AWS a large cycle fans out to parallel batches, each recording its own summary;
# records this close to the newest one can belong to the same cycle.
CYCLE_SPREAD = timedelta(minutes=3)
_CYCLE_COUNTS = ("sources_ok", "sources_failed", "items_new", "alerts")
# The sources a cycle record accounts for: polled, not due, or left for the next run.
_CYCLE_SOURCES = ("sources_ok", "sources_failed", "sources_skipped", "sources_deferred")


def _cycle_lines(cycles: list[dict[str, Any]], last_cycle: list[dict[str, Any]], now: datetime) -> list[str]:
    if not cycles:
        return ["*Last poll:* none yet"]
    when = _parse_time(cycles[0].get("at"))
    ago = f"{_ago(now - when)} ago" if when else "at an unknown time"
    last = {key: sum(_count(cy, key) for cy in last_cycle) for key in _CYCLE_COUNTS}
    today = now.date()
    alerts_today = sum(int(cy.get("alerts", 0) or 0) for cy in cycles
                       if (t := _parse_time(cy.get("at"))) and t.date() == today)
    return [
        f"*Last poll:* {ago} — {last['sources_ok']} sources ok, "
        f"{last['sources_failed']} failed, {last['items_new']} new items, "
        f"{last['alerts']} alerts",
        f"*Alerts today (UTC):* {alerts_today}",
    ]


def _last_cycle(cycles: list[dict[str, Any]], sources: int) -> list[dict[str, Any]]:
    """The records of the newest cycle: the newest one and its batches (newest first).

    Batches of one fanned-out cycle poll different sources, so together they account
    for at most the `sources` Vigil has; two runs a minute apart (cron, `vigil run`
    twice) each account for all of them, and are not added up.
    """
    if not cycles:
        return []
    when = _parse_time(cycles[0].get("at"))
    batch: list[dict[str, Any]] = []
    covered = 0
    for record in cycles:
        at = _parse_time(record.get("at"))
        covered += sum(_count(record, key) for key in _CYCLE_SOURCES)
        if not (when and at and when - at <= CYCLE_SPREAD) or (batch and covered > sources):
            break
        batch.append(record)
    return batch or cycles[:1]


def _count(record: dict[str, Any], key: str) -> int:
    try:
        return int(record.get(key, 0) or 0)
    except (TypeError, ValueError):
        return 0


def _over_budget_lines(cycle: list[dict[str, Any]], channel: str) -> list[str]:
    """This channel's custom topics that the last poll skipped on some items as too costly."""
    items: Counter[str] = Counter()
    for record in cycle:
        for entry in record.get("over_budget") or ():
            if len(entry) == 3 and entry[0] == channel:
                items[str(entry[1])] += int(entry[2] or 0)
    if not items:
        return []
    shown = capped_join([f"`{escape(name)}` on {n} items" for name, n in sorted(items.items())])
    return [f"*Custom topics skipped as too costly (last poll):* {shown} — simplify them "
            "(fewer or shorter NEARs), or `/vigil topic remove` them"]


def _failing_lines(c: Commands) -> list[str]:
    failing = sorted((s for s in c.store.source_states() if s.consecutive_failures > 0),
                     key=lambda s: -s.consecutive_failures)
    if not failing:
        return ["*Failing sources:* none"]
    lines = [f"*Failing sources:* {len(failing)}"]
    for state in failing[:10]:
        error = escape(shareable_error(state.last_error)[:120]) or f"status {state.last_status}"
        lines.append(f"• `{escape(state.source_id)}` — {state.consecutive_failures} failures: {error}")
    if len(failing) > 10:
        lines.append(f"…and {len(failing) - 10} more")
    return lines


def _feedback_line(rows: Iterable[dict[str, Any]]) -> str:
    counts = Counter(str(r.get("verdict", "")) for r in rows)
    return (f"*Feedback here:* {counts.get('relevant', 0)} relevant, "
            f"{counts.get('not_relevant', 0)} not relevant")


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _sources(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    _no_args(args)
    muted = c.store.get_channel(cmd.channel).muted_sources
    failing = {s.source_id for s in c.store.source_states() if s.consecutive_failures > 0}
    custom = {s.id for s in c.store.custom_sources()}
    lines = []
    for source in c.all_sources():
        flags = [f for f, on in (("muted here", source.id in muted), ("failing", source.id in failing),
                                 ("added from Slack", source.id in custom)) if on]
        note = f" _({', '.join(flags)})_" if flags else ""
        kind = "" if source.kind == "feed" else f" · {escape(source.kind)}"
        owner = source.owner if source.owner and source.owner != source.provenance else ""
        owned = f" · owned by {escape(owner)}" if owner else ""
        lines.append(f"• `{escape(source.id)}` {escape(source.display_name)}{note} · "
                     f"{escape(provenance.label(source.provenance))}{owned}{kind}")
    if not lines:
        return CommandReply("No sources are configured.")
    # An ephemeral reply is one message: keep it well under Slack's 40k text limit.
    shown = lines[:150]
    more = [f"…and {len(lines) - 150} more"] if len(lines) > 150 else []
    origin = f", from `{escape(c.sources_origin)}`" if c.sources_origin else ""
    return CommandReply("\n".join([f"*Sources ({len(lines)}{origin})*", *shown, *more]))


def _topic_add(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    if len(args) < 2:
        raise UsageError()
    if _direct_message(cmd):
        return CommandReply(DM_REFUSAL)
    name, level, query = _topic_add_args(args)
    if not _NAME_RE.match(name):
        raise UsageError("NAME is 1–40 lower-case letters, digits and dashes.")
    if any(t.id == name for t in c.topics):
        raise UsageError(f"`{escape(name)}` is a built-in topic; pick another name.")
    if len(query) > MAX_TOPIC_QUERY:
        raise UsageError(f"QUERY is longer than {MAX_TOPIC_QUERY} characters.")
    try:
        written = operators_any_case(query)
        parse_query(written, c.terms)  # the error points into what the user typed
        counted = parse_query(written, counted_term_lists(c.terms))
        # Stored self-contained, like the shipped topics: term lists written out.
        expanded = " ".join(expand(written, c.terms).split())
    except QueryError as exc:
        raise UsageError(f"That query does not parse: {escape(exc.brief)}") from None
    # Replacing a topic of the same name does not add one.
    others = sum(1 for t in c.store.custom_topics(cmd.channel) if t.id != name)
    problem = custom_topic_problem(counted, others)
    if problem:
        return CommandReply(problem)
    threshold = c.store.get_channel(cmd.channel).threshold
    severity = level or threshold
    c.store.put_custom_topic(Topic(id=name, name=name, query=expanded, description=query, channel=cmd.channel,
                                   severity=severity))
    c.store.subscribe(cmd.channel, name, c.now())
    reply = confirm(cmd, f"added the custom topic *{escape(name)}* (`{escape(query)}`, {severity.label}) "
                         "and subscribed this channel to it.")
    if severity < threshold:
        reply.detail = (f":warning: This channel's threshold is *{threshold.label}*, so stories of this "
                        f"{severity.label} topic are not posted here: add it as `{threshold.label}` "
                        f"(`{c.name} topic add {escape(name)} {threshold.label} …`) or lower the threshold.")
    return reply


_SEVERITY_WORDS = frozenset(level.label for level in Severity)


def _topic_add_args(args: list[str]) -> tuple[str, Severity | None, str]:
    """NAME, the severity if given, and QUERY of `topic add NAME [SEVERITY] QUERY`.

    A lone word after NAME is the query, so `topic add drills urgent` searches for "urgent".
    """
    if len(args) >= 3 and args[1].lower() in _SEVERITY_WORDS:
        return args[0].lower(), Severity.parse(args[1]), " ".join(args[2:])
    return args[0].lower(), None, " ".join(args[1:])


def _topic_remove(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    if len(args) != 1:
        raise UsageError()
    name = args[0].lower()
    if not c.store.delete_custom_topic(cmd.channel, name):
        hint = did_you_mean(name, [(t.id, t.id) for t in c.store.custom_topics(cmd.channel)])
        return CommandReply(f"This channel has no custom topic `{escape(name)}`.{hint}")
    c.store.delete_subscription(cmd.channel, name)
    return confirm(cmd, f"removed the custom topic *{escape(name)}*.")


def _source_add(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    if not 1 <= len(args) <= 6:
        raise UsageError()
    url = args[0]
    host = _feed_host(url)
    # Names are checked after DNS on every fetch; an address literal can be refused now.
    blocked = "" if c.allow_private_networks else host_problem(host)
    if blocked:
        return CommandReply(
            f"Not added: `{escape(host)}` is not a public address ({escape(blocked)}). Vigil fetches "
            "feeds only from public addresses unless its operator allows private networks."
        )
    name = " ".join(args[1:])
    source_id = _slug(name or host.removeprefix("www."))
    if not source_id:
        raise UsageError("NAME needs at least one letter or digit.")
    if c.find_source(source_id) or any(s.url == url for s in c.all_sources()):
        return CommandReply(f"A source `{escape(source_id)}` or that URL already exists.")
    origin = provenance.of_url(url)
    c.store.put_custom_source(Source(id=source_id, url=url, name=name, provenance=origin,
                                     owner=provenance.owner_of(url, origin)))
    return CommandReply(f"Added source `{escape(source_id)}` ({escape(url)}); it is polled from the next cycle.")


def _feed_host(url: str) -> str:
    """The host of an http(s) URL; UsageError for anything else."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise UsageError(f"`{escape(url)}` is not an http(s) feed URL.")
    return parts.hostname


def _source_remove(c: Commands, cmd: SlashCommand, args: list[str]) -> CommandReply:
    if len(args) != 1:
        raise UsageError()
    if any(s.id == args[0] for s in c.sources):
        return CommandReply(f"`{escape(args[0])}` comes from the sources file; remove it there.")
    if not c.store.delete_custom_source(args[0]):
        return CommandReply(f"There is no source `{escape(args[0])}` added from Slack.")
    return CommandReply(f"Removed source `{escape(args[0])}`.")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def _no_args(args: list[str]) -> None:
    if args:
        raise UsageError()


def _one_topic(c: Commands, cmd: SlashCommand, args: list[str]) -> Topic:
    """The topic named by all of `args` (an id, or a name with spaces)."""
    if not args:
        raise UsageError()
    wanted = " ".join(args)
    topic = c.find_topic(cmd.channel, wanted)
    if topic is None:
        topics = c.channel_topics(cmd.channel)
        hint = did_you_mean(wanted, [(n, t.id) for t in topics for n in (t.id, t.name)])
        known = capped_join([f"`{escape(t.id)}`" for t in topics])
        raise UsageError(f"No topic `{escape(wanted)}`.{hint} Topics: {known}.")
    return topic


def _one_source(c: Commands, args: list[str]) -> Source:
    """The source named by all of `args` (an id, or a name with spaces)."""
    if not args:
        raise UsageError()
    wanted = " ".join(args)
    source = c.find_source(wanted)
    if source is None:
        hint = did_you_mean(wanted, [(n, s.id) for s in c.all_sources() for n in (s.id, s.name)])
        raise UsageError(f"No source `{escape(wanted)}`.{hint} (see `{c.name} sources`)")
    return source


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", "help", "this list", _help),
    Subcommand("topics", "topics", "topics you can subscribe to", _topics),
    Subcommand("subscribe", "subscribe TOPIC", "post this topic's stories here (id or name)", _subscribe),
    Subcommand("unsubscribe", "unsubscribe TOPIC", "stop posting this topic here", _unsubscribe),
    Subcommand("list", "list", "this channel's subscriptions and settings", _list),
    Subcommand("mute", "mute SOURCE", "ignore a source in this channel (id or name)", _mute),
    Subcommand("unmute", "unmute SOURCE", "stop ignoring a source", _unmute),
    Subcommand("threshold", "threshold routine|notable|urgent", "lowest severity posted here", _threshold),
    Subcommand("digest", "digest daily HH:MM [TZ] | digest hourly | digest off",
               "one summary message per period instead of one per story", _digest),
    Subcommand("pause", "pause", "stop posting here for now", _pause),
    Subcommand("resume", "resume", "start posting here again", _resume),
    Subcommand("status", "status", "last poll, failing sources, alerts today, feedback", _status),
    Subcommand("sources", "sources", "the sources Vigil reads", _sources),
    Subcommand("topic add", "topic add NAME [routine|notable|urgent] QUERY",
               "a custom topic for this channel (severity: default the channel's threshold)", _topic_add),
    Subcommand("topic remove", "topic remove NAME", "remove a custom topic", _topic_remove),
    Subcommand("source add", "source add URL [NAME]", "add a feed (admins)", _source_add, admin_only=True),
    Subcommand("source remove", "source remove ID", "remove a feed added from Slack (admins)", _source_remove,
               admin_only=True),
)
