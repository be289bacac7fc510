"""Errors the core raises and understands; adapters translate their libraries' errors into these."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration file or setting is missing or malformed; the message is shown as is."""


class StoreError(Exception):
    """The state backend failed (unreachable, throttled, corrupt, read-only, misconfigured)."""


class Conflict(Exception):
    """A conditional write lost: the record changed or already exists."""


class Contention(StoreError):
    """A change lost to concurrent writers on every retry; nothing was written, try again."""


class WireFormatError(ValueError):
    """A queue message or stored record is not in a format (or schema version) this code reads."""


# ---------------------------------------------------------------- chat delivery


class RetryableDeliveryError(Exception):
    """Slack did not take the message now and certainly did not post it: try again later."""


class SlackAuthError(RetryableDeliveryError):
    """Slack refused the bot token: fix the token, then the queued alerts go out."""


class DeliveryOutcomeUnknown(RetryableDeliveryError):
    """The request may have reached Slack (the connection broke before the answer).

    Posting again blindly could duplicate the message; the claim stays pending and is
    reconciled from the channel's history (or its lease) before anything is re-posted.
    """


class ClaimHeldElsewhere(RetryableDeliveryError):
    """Another live worker is posting this message now: its outcome decides what happens next."""


class ChannelUnavailable(Exception):
    """The bot cannot post to this channel (archived, removed, not a member)."""


class MessageRejected(Exception):
    """Slack refused this payload itself (a bug on our side); retrying the same fails."""


class HistoryUnavailable(Exception):
    """The channel's history cannot be read (no history scope, or Slack unreachable)."""
