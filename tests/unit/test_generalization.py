"""The shipped topics on a generalization set written for this project (not the dev set).

`data/generalization.jsonl` holds news-style headlines and lead sentences written in
our own words (never copied from the data sets or from real headlines), labeled by the
rules of ../shared/data/LABELING.md. It covers every topic, the hard negatives the
rules name (North Korean troops, Iran-only sanctions, parades, pipelines, Taiwan
earthquakes and chip earnings, EV duties, Jimmy Lai, Syria relief, captured recruits,
the UN veto ...) and vocabulary the dev set may not use (war games, Vostok, Kinmen,
HIMARS, OFAC, SDN, CHPL, Sovcomflot, Russian and Chinese terms). It guards against
rules that fit the dev set only: every topic must keep F1 >= 0.9 here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vigil.adapters.config.topics import load_topics
from vigil.domain.classify import Classifier
from vigil.entrypoints.evaluate import TopicScore, predictor, score

DATA = Path(__file__).parent / "data" / "generalization.jsonl"
TOPICS = ["russia-china-military", "sanctions", "taiwan"]
MIN_F1 = 0.9


def _items() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def scores() -> dict[str, TopicScore]:
    return score(_items(), predictor(Classifier(load_topics())), TOPICS)


def test_set_is_well_formed_and_covers_every_topic_and_negatives() -> None:
    items = _items()
    assert len(items) >= 60
    assert len({i["id"] for i in items}) == len(items)
    for topic in TOPICS:
        assert sum(topic in i["topics"] for i in items) >= 15, topic
    assert sum(not i["topics"] for i in items) >= 20
    assert {i["lang"] for i in items} == {"en", "ru", "zh"}
    for item in items:
        assert item["topics"] == sorted(item["topics"]) and set(item["topics"]) <= set(TOPICS)


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_generalizes(topic: str, scores: dict[str, TopicScore]) -> None:
    s = scores[topic]
    errors = [f"FP {i['id']}: {i['title']}" for i in s.false_pos] + [f"FN {i['id']}: {i['title']}" for i in s.false_neg]
    # Shown with -rA / on failure: the per-topic figures and what went wrong.
    print(f"{topic}: P {s.precision:.2f} R {s.recall:.2f} F1 {s.f1:.2f}", *errors, sep="\n  ")
    assert s.f1 >= MIN_F1, "\n".join(errors)
