"""Reading a labeled JSON Lines file for the evaluations, with errors naming file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def numbered_objects(path: Path, error: type[Exception], not_found: str = "") -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; `error` for a missing, unreadable
    or malformed file (`not_found` is added to the missing-file message)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise error(f"{path}: file not found{not_found}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}: line {lineno}: invalid JSON ({exc.msg})") from None
