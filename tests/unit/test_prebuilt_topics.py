"""The shipped topics are validated once at build time (data/topics.json), never per cold start."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigil.adapters.config import topics as topics_config
from vigil.adapters.config.sources import default_path
from vigil.domain.classify import Classifier


def test_prebuilt_topics_are_current_run_make_topics_if_not() -> None:
    assert default_path(topics_config.PREBUILT).read_text(encoding="utf-8") == topics_config.prebuilt_json()


def test_prebuilt_topics_equal_the_validated_toml() -> None:
    prebuilt = topics_config._prebuilt_topics()
    assert prebuilt is not None
    assert prebuilt == topics_config._load_toml(default_path("topics.toml"))
    assert topics_config.load_topics() == prebuilt


def test_a_stale_prebuilt_file_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a topics.toml edited after topics.json was built
    toml = tmp_path / "topics.toml"
    toml.write_bytes(default_path("topics.toml").read_bytes() + b"\n# edited\n")
    (tmp_path / topics_config.PREBUILT).write_text(default_path(topics_config.PREBUILT).read_text("utf-8"), "utf-8")
    monkeypatch.setattr(topics_config, "default_path", lambda name: tmp_path / name)
    # Then the prebuilt form is not used, and the TOML is validated as before
    assert topics_config._prebuilt_topics() is None
    assert topics_config.load_topics() == topics_config._load_toml(toml)


def test_classifiers_of_the_same_topics_share_one_compiled_engine() -> None:
    shipped = topics_config.load_topics()
    first, second = Classifier(shipped), Classifier(list(shipped))
    assert first._compile().engine is second._compile().engine


def _classified(classifier: Classifier, path: Path) -> str:
    import io

    from vigil.domain.classify import classify_jsonl

    out = io.StringIO()
    with path.open(encoding="utf-8") as infile:
        classify_jsonl(infile, out, classifier)
    return out.getvalue()


@pytest.mark.parametrize("name", ["dev-items.jsonl", "generalization.jsonl"])
def test_a_shared_engine_classifies_as_a_freshly_compiled_one(name: str, request: pytest.FixtureRequest) -> None:
    # `vigil classify` output (topics, scores, evidence) through the cached engine, after it
    # has already classified another set, equals a Classifier compiled on its own.
    from vigil.domain import classify as classify_module

    path = (Path(__file__).parent / "data" / name if name == "generalization.jsonl"
            else request.getfixturevalue("shared_data") / name)
    shipped = topics_config.load_topics()
    warm = Classifier(shipped)
    _classified(warm, Path(__file__).parent / "data" / "generalization.jsonl")
    fresh = Classifier(shipped)
    fresh.use(classify_module._compile.__wrapped__(tuple(fresh.topics)))
    assert fresh._compile().engine is not warm._compile().engine
    assert _classified(Classifier(shipped), path) == _classified(fresh, path)
