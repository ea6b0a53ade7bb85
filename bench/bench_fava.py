"""Fava over a generated group: first page, peak memory, pages after a save; CPU against bean-check.

`python -m bench fava` serves the 50-member × 3-year generated group (BENCH_FAVA_SIZES, e.g.
`50x3,200x3`, for others) through `comptasso serve`'s app (Flask test client, no log-in), in a child
process of its own so that its peak memory is the server's alone. The child measures, in CPU seconds of
its own (every thread) and wall seconds: checking the books and loading every ledger and the group view
up to the group's first page (Fava's income statement), the first pool page (the plan, or its memo), a
member's page first opened (its request's thread), the pool page right after a member's ledger changed
(it shows the previous plan, « recalcul en cours », and does not wait for Fava to reload the group view:
comptasso.web.fava_adapter.DeferredReloads), that member's page (Fava reloads that member), both with
their CPU twice: the whole process's, which includes the background recompute the save started, and the
request's own thread's; then, once the recompute ended, Fava's own page of the group view, which reloads
the view the pool page left for it. Its peak resident memory (VmHWM) is read from /proc/self/status
after the first page and at the end. The child polls the files (COMPTASSO_POLL_WATCHER=1): 200 ledgers
exhaust the system's file notifications. The baseline is `bean-check` once per member ledger,
Beancount's cache off (CPU of the children). `python -m bench.bench_fava LEDGERS RULES` runs the child
alone and prints its JSON.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Result, bean_check_cpu, generated_group, rules_dir, sizes

AS_OF = "2026-11-30"
EXT = "extension/BanquAssoExtension"


def peak_rss_mib() -> float:
    """The process's peak resident memory (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    """CPU seconds of this process and of its ended children (the plan solved in a child, fava_ext.child_solve)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, CPU seconds of this process and its children, wall seconds)."""
    cpu, wall = _cpu(), time.perf_counter()
    result = func()
    return result, _cpu() - cpu, time.perf_counter() - wall


def _thread_timed(func: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, CPU seconds of the calling thread alone — the request's, not a background recompute's, wall)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    result = func()
    return result, time.thread_time() - cpu, time.perf_counter() - wall


def serve_once(ledgers: Path, rules: Path) -> dict[str, Any]:
    """The child's measures (see the module's docstring)."""
    from comptasso.web import fava_adapter as fava
    from comptasso.web.serve import build_app, lasting_heap, prepare

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as work:
        def start() -> Any:
            with lasting_heap():  # as `comptasso serve` starts
                served, problems = prepare(ledgers, rules, Path(work))
                assert served, problems
                app = build_app(served)
            slugs = {Path(fava.ledger_file(led)).resolve(): slug for slug, led in fava.ledgers(app)}
            client = app.test_client()
            group = slugs[(ledgers / "group.beancount").resolve()]
            page = client.get(f"/{group}/income_statement/")
            assert page.status_code == 200, page.status_code
            return app, client, slugs, group

        (app, client, slugs, group), out["first_page_cpu"], out["first_page_wall"] = _timed(start)
        out["first_page_peak_mib"] = peak_rss_mib()
        member_file = min(ledgers.glob("*/main.beancount"))
        member = slugs[member_file.resolve()]
        pool_url = f"/{group}/{EXT}/pool_data?as_of={AS_OF}"
        _, out["pool_cpu"], out["pool_wall"] = _timed(lambda: client.get(pool_url))
        first_member_url = f"/{member}/{EXT}/forecast_data?as_of={AS_OF}"
        _, out["member_first_cpu"], out["member_first_wall"] = _thread_timed(lambda: client.get(first_member_url))
        original = member_file.read_bytes()
        try:
            member_file.write_bytes(original + b"\n; bench_fava: one member edited\n")
            cpu = _cpu()
            after, out["pool_after_save_thread_cpu"], out["pool_after_save_wall"] = _thread_timed(
                lambda: client.get(pool_url))
            out["pool_after_save_cpu"] = _cpu() - cpu
            out["recomputing"] = bool(after.get_json().get("recomputing"))
            member_url = f"/{member}/{EXT}/forecast_data?as_of={AS_OF}"
            cpu = time.process_time()
            _, out["member_after_save_thread_cpu"], out["member_after_save_wall"] = _thread_timed(
                lambda: client.get(member_url))
            out["member_after_save_cpu"] = time.process_time() - cpu
            _, out["member_again_cpu"], out["member_again_wall"] = _timed(lambda: client.get(member_url))
            extension = next(e for e in dict(fava.ledgers(app))[group].extensions._exts
                             if e.name == "BanquAssoExtension")
            extension._pages.wait()
            page, out["fava_after_save_thread_cpu"], out["fava_after_save_wall"] = _thread_timed(
                lambda: client.get(f"/{group}/income_statement/"))
            assert page.status_code == 200, page.status_code
        finally:
            member_file.write_bytes(original)
    out["peak_mib"] = peak_rss_mib()
    out["child_peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child
    out["total_cpu"] = _cpu()
    return out


def _child(ledgers: Path, rules: Path) -> dict[str, Any]:
    env = {**os.environ, "COMPTASSO_POLL_WATCHER": "1"}
    done = subprocess.run([sys.executable, "-m", "bench.bench_fava", str(ledgers), str(rules)], check=True,
                          capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    measures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measures


def _measure(members: int, years: int) -> list[Result]:
    ledgers = generated_group(members, years)
    baseline = bean_check_cpu(ledgers)
    label = f"{members} membres × {years} ans"
    rules = ledgers.parent / "rules"  # where the group view's plugin line looks (no rules= in it)
    if not rules.exists():
        shutil.copytree(rules_dir(), rules)
    m = _child(ledgers, rules)
    print(f"# fava {label}: peak RSS {m['first_page_peak_mib']:.0f} MiB at the first page, {m['peak_mib']:.0f} MiB "
          f"at the end; wall: first page {m['first_page_wall']:.1f} s, pool {m['pool_wall']:.1f} s, pool after a "
          f"save {m['pool_after_save_wall']:.2f} s (« recalcul en cours »: {m['recomputing']}), Fava's group page "
          f"after the save {m['fava_after_save_wall']:.1f} s, member page after "
          f"a save {m['member_after_save_wall']:.2f} s, again {m['member_again_wall']:.2f} s; child CPU in all "
          f"{m['total_cpu']:.1f} s; largest solver child {m.get('child_peak_mib', 0):.0f} MiB", file=sys.stderr)
    base = "bean-check per member (CPU)"
    return [
        Result(f"fava: check the books, load every ledger and the group view, first page (CPU) — {label}",
               m["first_page_cpu"], base, baseline),
        Result(f"fava: first pool page (CPU) — {label}", m["pool_cpu"], base, baseline),
        Result(f"fava: pool page right after a save (CPU, every thread) — {label}", m["pool_after_save_cpu"], base,
               baseline),
        Result(f"fava: pool page right after a save (CPU of the request's thread) — {label}",
               m["pool_after_save_thread_cpu"], base, baseline),
        Result(f"fava: member page, first opened (CPU of the request's thread) — {label}", m["member_first_cpu"], base,
               baseline),
        Result(f"fava: member page after a save (CPU, every thread) — {label}", m["member_after_save_cpu"], base,
               baseline),
        Result(f"fava: member page after a save (CPU of the request's thread) — {label}",
               m["member_after_save_thread_cpu"], base, baseline),
        Result(f"fava: member page again (CPU) — {label}", m["member_again_cpu"], base, baseline),
        Result(f"fava: Fava's own group page after the save (Fava reloads the view; request's thread) — {label}",
               m["fava_after_save_thread_cpu"], base, baseline),
    ]


def run() -> list[Result]:
    results: list[Result] = []
    for members, years in sizes("BENCH_FAVA_SIZES"):
        results.extend(_measure(members, years))
    return results


if __name__ == "__main__":
    print(json.dumps(serve_once(Path(sys.argv[1]), Path(sys.argv[2]))))
