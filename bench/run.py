"""`make bench`: run every bench/bench_*.py module's `run()` and print its figures.

Benchmarks print figures and ratios against a baseline measured in the same run;
they never fail a build (timed assertions flake on a noisy machine).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = [p.stem.removeprefix("bench_") for p in sorted(HERE.glob("bench_*.py"))]
    chosen = [n for n in names if not wanted or n in wanted]
    if len(chosen) > 1:
        # One process per benchmark: memory one holds on to (moto's tables, parsed feeds)
        # would otherwise count in the next one's peak, and imports in its cold start.
        return max(subprocess.run([sys.executable, __file__, name], check=False).returncode for name in chosen)
    sys.path.insert(0, str(HERE.parent))
    failed = 0
    for name in chosen:
        path = HERE / f"bench_{name}.py"
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
