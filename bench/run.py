"""`make bench`: run every bench/bench_*.py module's `run()` and print its figures.

Benchmarks print figures and ratios against a baseline measured in the same run;
they never fail a build (timed assertions flake on a noisy machine).
"""

from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    sys.path.insert(0, str(HERE.parent))
    failed = 0
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for line in module.run():
                print(f"  {line}", flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
        print(f"  ({time.perf_counter() - started:.1f} s)\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
