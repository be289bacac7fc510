"""`make eval`: the report, its errors, and the quality bar on the labeled dev set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.domain.classify import Classifier
from vigil.entrypoints.evaluate import EvaluationError, baseline_topics, main, predictor, read_items, score

TOPICS = ["russia-china-military", "sanctions", "taiwan"]


def write_items(path: Path, items: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def test_report_shows_scores_baseline_and_confusion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = write_items(
        tmp_path / "items.jsonl",
        [
            {"id": "t1", "title": "PLA drills encircle Taiwan", "summary": "", "topics": ["taiwan"]},
            {"id": "t2", "title": "Taiwan typhoon closes offices", "summary": "", "topics": []},
            {"id": "t3", "title": "Beijing sends warships toward Taipei", "summary": "", "topics": []},
        ],
    )
    assert main([str(items)]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out
    assert "FP t3: Beijing sends warships toward Taipei" in out
    assert "taiwan: 1 true positives, 1 false positives, 0 false negatives (baseline: 2 FP, 0 FN)" in out


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl: file not found" in capsys.readouterr().err


def test_malformed_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "title": "x", "topics": []}\n{oops\n', encoding="utf-8")
    with pytest.raises(EvaluationError, match="line 2"):
        read_items(path)


def test_dev_set_f1_per_topic_beats_baseline(shared_data: Path) -> None:
    items = read_items(shared_data / "dev-items.jsonl")
    ours = score(items, predictor(Classifier(load_topics())), TOPICS)
    base = score(items, predictor(Classifier(baseline_topics())), TOPICS)
    for topic in TOPICS:
        assert ours[topic].f1 >= 0.95, (topic, ours[topic].f1)
        assert ours[topic].f1 > base[topic].f1, topic
