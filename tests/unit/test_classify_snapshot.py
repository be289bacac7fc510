"""The shipped topics' classifications are pinned: topics, scores, severities and the
evidence ("why") phrases, item by item.

Speeding the classifier up must not change what it says. Two records were taken from
the classifier before the issue-13 work (commit 1f9b651) and are compared exactly:

- `data/classify-snapshot.jsonl`: every item of `data/generalization.jsonl` (written
  for this project), classified with title and summary, with the title alone and with
  the summary alone, plus every topic's score from `evaluate`;
- `SHARED_DIGEST`: a SHA-256 of the same records over `../shared/data/dev-items.jsonl`
  and the titles and summaries of `../shared/data/stories-dev.jsonl` (a digest, since
  the shared items and their quoted words are not copied into the repo).

A deliberate change to the topics or to scoring updates both: run this file as a
script (`PYTHONPATH=layers/vigil python tests/unit/test_classify_snapshot.py`), which
rewrites the snapshot and prints the new digest, and review the diff.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.domain.classify import Classifier

HERE = Path(__file__).parent
GENERALIZATION = HERE / "data" / "generalization.jsonl"
SNAPSHOT = HERE / "data" / "classify-snapshot.jsonl"
SHARED_DIGEST = "aa17b593fd987b9ef620d531440fc61d37e0c40fb253cc9689f7f89c7ca7a273"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _record(classifier: Classifier, item_id: str, title: str, summary: str) -> dict[str, Any]:
    """What the classifier says about one item, as plain JSON values."""

    def matches(t: str, s: str) -> list[list[Any]]:
        return [[m.topic, m.score, int(m.severity), list(m.evidence)] for m in classifier.classify(t, s)]

    return {
        "id": item_id,
        "both": matches(title, summary),
        "title": matches(title, ""),
        "summary": matches("", summary),
        "scores": {m.topic: m.score for m in classifier.evaluate(title, summary)},
    }


def _records(classifier: Classifier, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for n, row in enumerate(rows):
        yield _record(classifier, str(row.get("id", n)), row.get("title", ""), row.get("summary", ""))


def _shared_digest(classifier: Classifier, shared: Path) -> str:
    digest = hashlib.sha256()
    for name in ("dev-items.jsonl", "stories-dev.jsonl"):
        for record in _records(classifier, _rows(shared / name)):
            digest.update(json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(load_topics())


def test_generalization_items_classify_as_recorded(classifier: Classifier) -> None:
    expected = {r["id"]: r for r in _rows(SNAPSHOT)}
    got = {r["id"]: r for r in _records(classifier, _rows(GENERALIZATION))}
    assert got.keys() == expected.keys()
    changed = [f"{i}:\n  recorded {expected[i]}\n  now      {got[i]}" for i in expected if got[i] != expected[i]]
    assert not changed, f"{len(changed)} items classify differently:\n" + "\n".join(changed[:5])


def test_snapshot_covers_matches_evidence_and_severities() -> None:
    # A snapshot of empty results would pin nothing.
    records = _rows(SNAPSHOT)
    matched = [m for r in records for m in r["both"]]
    assert len(records) >= 300 and len(matched) >= 200
    assert all(m[3] for m in matched), "every match quotes evidence"
    assert {m[2] for m in matched} >= {1, 2, 3}, "routine, notable and urgent all occur"


def test_shared_items_classify_as_recorded(classifier: Classifier, shared_data: Path) -> None:
    assert _shared_digest(classifier, shared_data) == SHARED_DIGEST


if __name__ == "__main__":
    from tests.conftest import SHARED_DATA

    fresh = Classifier(load_topics())
    with SNAPSHOT.open("w", encoding="utf-8") as out:
        for record in _records(fresh, _rows(GENERALIZATION)):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {SNAPSHOT}")
    print(f"SHARED_DIGEST = {_shared_digest(fresh, SHARED_DATA)!r}")
