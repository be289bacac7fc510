"""Limits on custom topics: what a query's cost grows with, and the one-line refusals."""

from __future__ import annotations

import pytest
from vigil.domain.query import parse
from vigil.domain.topic_limits import (
    MAX_CUSTOM_TOPICS,
    MAX_NEAR_DEPTH,
    MAX_NEARS,
    MAX_SIZE,
    MAX_TERMS,
    QueryShape,
    custom_topic_problem,
    shape,
)


def problem(query: str, topics_in_channel: int = 0) -> str | None:
    return custom_topic_problem(parse(query), topics_in_channel)


def test_shape_counts_terms_nears_nesting_and_size() -> None:
    # 4 terms (5 words), 1 NEAR; operators OR, NEAR, NOT and the implicit AND
    assert shape(parse('(a OR "b c") NEAR/3 d NOT e')) == QueryShape(terms=4, nears=1, near_depth=1, size=9)
    assert shape(parse("a NEAR/5 b NEAR/5 c")).near_depth == 2
    balanced = shape(parse("(a NEAR/5 b) NEAR/5 (c NEAR/5 d)"))
    assert (balanced.nears, balanced.near_depth) == (3, 2)
    assert shape(parse("(a NEAR/5 b) OR (c NEAR/5 d)")).near_depth == 1


def test_a_sensible_topic_and_the_costliest_allowed_shape_pass() -> None:
    assert problem('("drone swarm" OR uav*) NEAR/10 (taiwan OR kinmen) NEAR/10 (attack* OR drill*)') is None
    costliest = ("((the NEAR/1000 the) NEAR/1000 (the NEAR/1000 the)) "
                 "AND ((of NEAR/1000 of) NEAR/1000 (of NEAR/1000 of))")
    assert problem(costliest) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (" OR ".join(f"w{n}" for n in range(MAX_TERMS + 1)), f"it has {MAX_TERMS + 1} terms and phrases"),
        (" OR ".join(f"(a{n} NEAR/2 b{n})" for n in range(MAX_NEARS + 1)), f"it has {MAX_NEARS + 1} NEARs"),
        (" NEAR/2 ".join(["w"] * (MAX_NEAR_DEPTH + 2)), f"it nests {MAX_NEAR_DEPTH + 1} NEARs inside one another"),
        ('"' + " ".join(["w"] * (MAX_SIZE + 1)) + '"', f"it has {MAX_SIZE + 1} words and operators"),
    ],
)
def test_each_limit_is_refused_in_one_line_naming_it(query: str, expected: str) -> None:
    found = problem(query)
    assert found is not None
    assert found.startswith("That query is too costly for a custom topic: ")
    assert expected in found and "\n" not in found


def test_a_query_at_every_limit_passes() -> None:
    assert problem(" OR ".join(f"w{n}" for n in range(MAX_TERMS))) is None
    assert problem(" OR ".join(f"(a{n} NEAR/2 b{n})" for n in range(MAX_NEARS))) is None
    assert problem(" NEAR/2 ".join(["w"] * (MAX_NEAR_DEPTH + 1))) is None
    assert problem('"' + " ".join(["w"] * (MAX_SIZE - 2)) + '" OR x') is None  # words and x, and the OR


def test_a_full_channel_is_refused_whatever_the_query() -> None:
    assert problem("drone", MAX_CUSTOM_TOPICS - 1) is None
    found = problem("drone", MAX_CUSTOM_TOPICS)
    assert found is not None and f"{MAX_CUSTOM_TOPICS} custom topics" in found
