"""Run a call with a generous deadline, so a test of a bounded computation fails
instead of hanging when the bound is broken (the suite has no timeout plugin)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def within(seconds: float, call: Callable[[], T]) -> T:
    """`call()`'s result; fails the test if it has not returned after `seconds`.

    The call runs on a daemon thread: on failure it is left running (Python cannot stop
    a thread) and ends with the test process.
    """
    outcome: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the test thread below
            error.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    if error:
        raise error[0]
    return outcome[0]
