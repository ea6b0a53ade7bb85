"""Fava over a generated group: the first page, the pool page after a save, peak memory; against bean-check.

`python -m bench fava` serves the 50-member × 3-year generated group (BENCH_FAVA_SIZES, e.g.
`50x3,200x3`, for others) through `comptasso serve`'s app (Flask test client, no log-in) and measures
in wall seconds: preparing and loading every ledger and the group view, the first pool page, the
pool page right after a member's ledger changed (it shows the previous plan, « recalcul en cours »),
and a member page. Peak memory (the process's maximum resident set) is printed to stderr. The
baseline is `bean-check` once per member ledger (CPU of the children), as in bench_memo.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_memo import AS_OF, bean_check_cpu
from bench.common import Result, generated_group, rules_dir
from comptasso.web.serve import build_app, prepare

EXT = "extension/BanquAssoExtension"


def _sizes() -> list[tuple[int, int]]:
    text = os.environ.get("BENCH_FAVA_SIZES", "50x3")
    return [(int(m), int(y)) for m, y in (part.split("x") for part in text.split(",") if part)]


def _wall(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    label = f"{members} membres × {years} ans"
    rules = ledgers.parent / "rules"  # where the group view's plugin line looks (no rules= in it)
    if not rules.exists():
        shutil.copytree(rules_dir(), rules)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        served, problems = prepare(ledgers, rules, Path(work))
        assert served, problems
        app = build_app(served)
        first_load = time.perf_counter() - start
        slugs = {Path(led.beancount_file_path).resolve(): slug for slug, led in app.config["LEDGERS"].items()}
        group = slugs[(ledgers / "group.beancount").resolve()]
        member_file = min(ledgers.glob("*/main.beancount"))
        member = slugs[member_file.resolve()]
        client = app.test_client()
        pool_url = f"/{group}/{EXT}/pool_data?as_of={AS_OF.isoformat()}"
        first_pool = _wall(lambda: client.get(pool_url))
        original = member_file.read_bytes()
        try:
            member_file.write_bytes(original + b"\n; bench_fava: one member edited\n")
            after_save = _wall(lambda: client.get(pool_url))
            marked = client.get(pool_url).get_json()["recomputing"]
            member_page = _wall(lambda: client.get(f"/{member}/{EXT}/forecast_data?as_of={AS_OF.isoformat()}"))
            extension = next(e for e in app.config["LEDGERS"][group].extensions._exts
                             if e.name == "BanquAssoExtension")
            extension._pages.wait()
        finally:
            member_file.write_bytes(original)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# fava {label}: peak RSS {peak:.0f} MiB, pool page marked « recalcul en cours » after the save: "
          f"{marked}", file=sys.stderr)
    base = "bean-check per member (CPU)"
    return [
        Result(f"fava: load every ledger and the group view — {label}", first_load, base, baseline),
        Result(f"fava: first pool page — {label}", first_pool, base, baseline),
        Result(f"fava: pool page right after a save — {label}", after_save, base, baseline),
        Result(f"fava: member page after a save — {label}", member_page, base, baseline),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in _sizes():
        results.extend(_measure(members, years))
    return results
