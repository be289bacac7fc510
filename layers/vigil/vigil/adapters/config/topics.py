"""Topics from TOML: `[[topics]]` tables (id, name, description, query, urgent, notable).

A top-level `actors = '...'` query names who and where (countries, capitals); it only
orders the evidence shown in alerts (subject terms first), never what matches.

A file may also hold a `[terms]` table of named term lists (`russia = 'russia* OR
moscow ...'`); queries refer to them as `@russia`. They are expanded when the file is
loaded, so every `Topic.query` is self-contained.

Validating and expanding the shipped file costs tens of milliseconds per process (a
cold start pays it), so it is done once at build time: `data/topics.json` holds the
result with the SHA-256 of the `topics.toml` it came from, and is used only while
that hash still matches (`make topics` rebuilds it; a test checks it is current).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from vigil.adapters.config.sources import default_path, read_toml
from vigil.domain.errors import ConfigError
from vigil.domain.models import Topic
from vigil.domain.query import QueryEngine, QueryError, expand, parse

_TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_QUERY_FIELDS = ("query", "urgent", "notable", "actors")


PREBUILT = "topics.json"


def load_topics(path: Path | None = None) -> list[Topic]:
    """Topics from a TOML file (default: the three shipped topics); ConfigError if invalid."""
    if not path:
        prebuilt = _prebuilt_topics()
        if prebuilt is not None:
            return prebuilt
    return _load_toml(Path(path) if path else default_path("topics.toml"))


def _prebuilt_topics() -> list[Topic] | None:
    """The shipped topics as validated at build time, or None when topics.toml changed since."""
    try:
        data = json.loads(default_path(PREBUILT).read_text(encoding="utf-8"))
        current = hashlib.sha256(default_path("topics.toml").read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("toml_sha256") != current:
        return None
    return [Topic(**fields) for fields in data["topics"]]


def prebuilt_json() -> str:
    """The content of data/topics.json for the shipped topics.toml as it is now."""
    toml = default_path("topics.toml")
    topics = _load_toml(toml)
    fields = ("id", "name", "description", "query", "urgent", "notable", "actors")
    return json.dumps({
        "toml_sha256": hashlib.sha256(toml.read_bytes()).hexdigest(),
        "topics": [{f: getattr(t, f) for f in fields} for t in topics],
    }, ensure_ascii=False, indent=1) + "\n"


def _load_toml(file: Path) -> list[Topic]:
    data = read_toml(file)
    terms = _terms(data.get("terms", {}), file)
    tables = data.get("topics")
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"{file}: no [[topics]] tables")
    topics: list[Topic] = []
    seen: set[str] = set()
    actors = data.get("actors", "")
    for n, table in enumerate(tables, start=1):
        if isinstance(table, dict) and "actors" not in table:
            table = {**table, "actors": actors}
        topic = _topic(table, terms, f"{file}: topic #{n}")
        if topic.id in seen:
            raise ConfigError(f"{file}: topic #{n}: duplicate id {topic.id!r}")
        seen.add(topic.id)
        topics.append(topic)
    return topics


def load_term_lists(path: Path | None = None) -> dict[str, str]:
    """The `[terms]` lists of a topics file (default: the shipped one), for custom topics."""
    file = Path(path) if path else default_path("topics.toml")
    return _terms(read_toml(file).get("terms", {}), file)


def _terms(table: Any, file: Path) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{file}: [terms] must be a table of name = 'query' entries")
    for name, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{file}: [terms] {name}: must be a non-empty query string")
    return dict(table)


def _topic(table: Any, terms: dict[str, str], where: str) -> Topic:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    tid = table.get("id")
    if not isinstance(tid, str) or not _TOPIC_ID.match(tid):
        raise ConfigError(f"{where}: 'id' must be a lowercase slug (a-z, 0-9, -), got {tid!r}")
    where = f"{where} ({tid})"
    name, description = table.get("name", tid), table.get("description", "")
    if not isinstance(name, str) or not isinstance(description, str):
        raise ConfigError(f"{where}: 'name' and 'description' must be strings")
    if not isinstance(table.get("query"), str) or not table["query"].strip():
        raise ConfigError(f"{where}: 'query' is required")
    queries = {field: _query(table.get(field, ""), field, terms, where) for field in _QUERY_FIELDS}
    return Topic(id=tid, name=name, description=description.strip(), **queries)


def _query(value: Any, field: str, terms: dict[str, str], where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {field!r} must be a query string")
    if not value.strip():
        return ""
    try:
        # Parse before expanding so an error points into the text the author wrote.
        parse(value, terms)
        source = " ".join(expand(value, terms).split())
        QueryEngine({field: source})  # compile now so a bad query fails at load time
    except QueryError as exc:
        raise ConfigError(f"{where}: {field}: {exc.brief}") from None
    return source


if __name__ == "__main__":  # `make topics`: rebuild data/topics.json
    default_path(PREBUILT).write_text(prebuilt_json(), encoding="utf-8")
    sys.exit(0)
