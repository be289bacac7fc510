"""Domain records to JSON-ready dicts and back, and the versioned wire formats.

Store records use `to_record`/`from_record`: each field converted by its declared
type (datetime, Severity, frozenset, tuple), resolved once per class. Every message
that crosses a queue, and every record a later version must still read, is wrapped
in an envelope `{"schema": N, "type": NAME, ...}` by `wrap`/`unwrap`, so an old
message is recognised (or refused with WireFormatError) instead of misread.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from vigil.domain.errors import WireFormatError
from vigil.domain.models import Alert, Item, Severity, Source, Story, TopicMatch

Record = dict[str, Any]
Converter = Callable[[Any], Any]

SCHEMA = 1


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Severity):
        return int(value)
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def encode_value(value: Any) -> Any:
    """One value as JSON-ready data (datetimes as UTC ISO strings)."""
    return _encode(value)


def to_record(obj: Any) -> Record:
    return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _converter(hint: Any) -> Converter | None:
    """How to turn the stored form of a field of type `hint` back into that type."""
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _converter(inner[0]) if len(inner) == 1 else None
    if hint is datetime:
        return parse_time
    if hint is Severity:
        return lambda v: Severity(int(v))
    if origin is frozenset:
        return lambda v: frozenset(v or ())
    if origin is tuple:
        return lambda v: tuple(v or ())
    return None


@functools.cache
def _converters(cls: type) -> dict[str, Converter | None]:
    hints = typing.get_type_hints(cls)
    return {f.name: _converter(hints[f.name]) for f in dataclasses.fields(cls)}


def from_record(cls: type, data: Record) -> Any:
    kwargs: dict[str, Any] = {}
    for name, convert in _converters(cls).items():
        if name in data:
            value = data[name]
            kwargs[name] = convert(value) if convert is not None and value is not None else value
    return cls(**kwargs)


# ---------------------------------------------------------------- envelopes


def wrap(kind: str, body: Record) -> Record:
    return {"schema": SCHEMA, "type": kind, **body}


def unwrap(kind: str, data: Any) -> Record:
    """The body of a `kind` envelope; WireFormatError for anything else.

    Messages from before envelopes existed (no "schema") are read as schema 1, so a
    queue drained across a deploy loses nothing.
    """
    if not isinstance(data, dict):
        raise WireFormatError(f"{kind}: expected a JSON object, got {type(data).__name__}")
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise WireFormatError(f"{kind}: schema {schema!r} is not supported (this code reads {SCHEMA})")
    found = data.get("type", kind)
    if found != kind:
        raise WireFormatError(f"expected a {kind} message, got {found!r}")
    return {k: v for k, v in data.items() if k not in ("schema", "type")}


# ---------------------------------------------------------------- alerts


def alert_to_dict(alert: Alert) -> Record:
    return wrap("alert", {
        "channel": alert.channel,
        "kind": alert.kind,
        "story": to_record(alert.story),
        "item": to_record(alert.item),
        "matches": [to_record(m) for m in alert.matches],
    })


def alert_from_dict(data: Any) -> Alert:
    body = unwrap("alert", data)
    try:
        return Alert(
            channel=body["channel"],
            kind=body.get("kind", "new"),
            story=from_record(Story, body["story"]),
            item=from_record(Item, body["item"]),
            matches=tuple(from_record(TopicMatch, m) for m in body.get("matches", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WireFormatError(f"alert: malformed: {exc!r}") from exc


# ---------------------------------------------------------------- fetch batches


def batch_to_dict(sources: list[Source], enqueued_at: datetime) -> Record:
    return wrap("fetch_batch", {"sources": [to_record(s) for s in sources], "enqueued_at": _encode(enqueued_at)})


def batch_from_dict(data: Any) -> list[Source]:
    body = unwrap("fetch_batch", data)
    if not isinstance(body.get("sources"), list):
        raise WireFormatError("fetch message has no 'sources' list")
    try:
        return [from_record(Source, s) for s in body["sources"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise WireFormatError(f"fetch_batch: malformed source: {exc!r}") from exc


# ---------------------------------------------------------------- outbox references


def outbox_ref_to_dict(key: str) -> Record:
    """An SQS message that names an outbox entry: the entry itself stays in the store."""
    return wrap("outbox_ref", {"key": key})


def outbox_ref_from_dict(data: Any) -> str:
    body = unwrap("outbox_ref", data)
    key = body.get("key")
    if not isinstance(key, str) or not key:
        raise WireFormatError("outbox_ref: no key")
    return key


# ---------------------------------------------------------------- deferred Slack jobs


def job_to_dict(kind: str, body: Record) -> Record:
    return wrap("slack_job", {"kind": kind, **body})


def job_from_dict(data: Any) -> Record:
    body = unwrap("slack_job", data)
    if not isinstance(body.get("kind"), str):
        raise WireFormatError("slack_job: no kind")
    return body
