"""Limits on custom topics, so no channel member can plant a query that stalls the poll.

Every channel's custom topics are compiled into the one engine every item passes
through. `/vigil topic add` refuses a query beyond these limits with one line saying
which (`custom_topic_problem`); the classifier also gives each custom topic its own
allowance of work per item (`CUSTOM_TOPIC_WORK`), which catches what no limit on the
query's shape can: an item that repeats a word the query chains NEARs over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from vigil.domain.query import And, Leaf, Near, Node, Not, Or, QueryError, parse

MAX_CUSTOM_TOPICS = 50  # per channel
MAX_TERMS = 30  # terms and phrases, each time it is written
MAX_NEARS = 6
# NEARs inside one another (`a NEAR/5 b NEAR/5 c` nests 2, as deep as the shipped
# topics go). Each level multiplies the spans an item can produce by the matches of
# one more term.
MAX_NEAR_DEPTH = 2
# Compiled size: one per word of a term or phrase and one per operator.
MAX_SIZE = 100
# Work per item for one custom topic (see `vigil.domain.query.DEFAULT_WORK` for the
# unit): about 6 ms. The deepest NEAR chain allowed over "the" costs 1,000-6,000
# units on an ordinary 2,000-character item; a sensible topic, tens.
CUSTOM_TOPIC_WORK = 20_000


@dataclass(frozen=True, slots=True)
class QueryShape:
    """What a query's cost grows with."""

    terms: int
    nears: int
    near_depth: int
    size: int


def shape(node: Node) -> QueryShape:
    """Terms, NEARs, NEAR nesting and compiled size of a parsed query."""
    if isinstance(node, Leaf):
        return QueryShape(terms=1, nears=0, near_depth=0, size=len(node.pattern))
    if isinstance(node, Not):
        inner = shape(node.child)
        return QueryShape(inner.terms, inner.nears, inner.near_depth, inner.size + 1)
    children = [shape(c) for c in _children(node)]
    near = 1 if isinstance(node, Near) else 0
    return QueryShape(
        terms=sum(c.terms for c in children),
        nears=near + sum(c.nears for c in children),
        near_depth=near + max(c.near_depth for c in children),
        size=1 + sum(c.size for c in children),
    )


def _children(node: And | Or | Near) -> tuple[Node, ...]:
    return (node.left, node.right) if isinstance(node, Near) else node.children


def counted_term_lists(defs: Mapping[str, str]) -> dict[str, str]:
    """Term lists as the limits count them, for `parse(query, counted_term_lists(defs))`.

    A list of alternatives (`russia OR moscow OR ...`) is matched by one set lookup,
    however long, so it counts as one term; a list with structure (AND, NOT, NEAR)
    counts as what it holds, its own references counted the same way.
    """
    counted: dict[str, str] = {}
    for name, text in defs.items():
        try:
            tree = parse(text, defs)
        except QueryError:
            continue  # a reference to it fails with the real error when parsed with `defs`
        counted[name] = "termlist" if _alternatives(tree) else text
    return counted


def _alternatives(node: Node) -> bool:
    return isinstance(node, Leaf) or (isinstance(node, Or) and all(isinstance(c, Leaf) for c in node.children))


def custom_topic_problem(query: Node, topics_in_channel: int) -> str | None:
    """Why a channel that has `topics_in_channel` other custom topics may not add this
    query, in one line; None when it may."""
    if topics_in_channel >= MAX_CUSTOM_TOPICS:
        return (f"This channel already has {topics_in_channel} custom topics, the most allowed is "
                f"{MAX_CUSTOM_TOPICS}; remove one first (`topic remove NAME`).")
    found = shape(query)
    for value, limit, what in (
        (found.terms, MAX_TERMS, "it has {} terms and phrases (at most {})"),
        (found.nears, MAX_NEARS, "it has {} NEARs (at most {})"),
        (found.near_depth, MAX_NEAR_DEPTH,
         "it nests {} NEARs inside one another (at most {}, as in `a NEAR/5 b NEAR/5 c`)"),
        (found.size, MAX_SIZE, "it has {} words and operators (at most {})"),
    ):
        if value > limit:
            return f"That query is too costly for a custom topic: {what.format(value, limit)}."
    return None
