"""Run every benchmark (`python -m bench [name ...]`) and print a Markdown table of the ratios."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench
from bench.common import Result


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    wanted = [n for n in names if not argv or any(a in n for a in argv)]
    print("| workload | time | baseline | baseline time | ratio |")
    print("|---|---|---|---|---|")
    for name in wanted:
        module = importlib.import_module(f"bench.{name}")
        results: list[Result] = module.run()
        for result in results:
            print(result.row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
