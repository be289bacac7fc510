"""Configuration files for entry points and handlers: topics, sources, the classifier.

Entry points go through here instead of importing the file adapters themselves.
"""

from __future__ import annotations

from pathlib import Path

from vigil.adapters.config.sources import load_sources
from vigil.adapters.config.topics import load_term_lists, load_topics
from vigil.domain.classify import Classifier
from vigil.domain.models import Source, Topic


def configured_topics(topics_file: str | Path | None = None) -> list[Topic]:
    """The topics of a TOML file, or the shipped ones; ConfigError if invalid."""
    return load_topics(Path(topics_file) if topics_file else None)


def configured_term_lists(topics_file: str | Path | None = None) -> dict[str, str]:
    """The named term lists (`@russia` ...) of a topics file, which custom topics may use."""
    return load_term_lists(Path(topics_file) if topics_file else None)


def configured_sources(sources_file: str | Path | None = None) -> list[Source]:
    """The sources of a TOML file, or the shipped list; ConfigError if invalid."""
    return load_sources(sources_file)


def load_classifier(topics_file: str | Path | None = None) -> Classifier:
    return Classifier(configured_topics(topics_file))
