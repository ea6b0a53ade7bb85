"""The tooling contract: `ruff check` and `mypy --strict` (configured in pyproject.toml) pass over the source,
the tests and the benchmarks.

`make lint` runs both tools over everything and fails on any finding. Until every file is clean, these tests
hold the line inside `make test`: a file outside the pending lists below may have no finding at all, and a
pending file that has become clean must leave its list, so the lists only shrink. When both are empty,
`make test` can call `make lint` and this file can go.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("comptasso", "banquasso", "tests", "bench")

# Files with ruff findings today, left to the engineers who own them (one a line, to merge cleanly).
PENDING_RUFF = frozenset({
    "banquasso/forecast/risk.py",
    "banquasso/registry/db.py",
    "banquasso/registry/postings.py",
    "banquasso/registry/reconcile.py",
    "banquasso/terms/policy.py",
    "comptasso/books/cache.py",
    "comptasso/books/facade.py",
    "comptasso/books/group.py",
    "comptasso/books/loading.py",
    "comptasso/books/reference.py",
    "comptasso/books/safety.py",
    "comptasso/model/checks.py",
    "comptasso/plugins/consolidation.py",
    "comptasso/reports/annual.py",
    "comptasso/reports/fec.py",
    "comptasso/reports/fec_verify.py",
    "comptasso/web/access.py",
    "tests/test_access.py",
    "tests/test_advance_e2e.py",
    "tests/test_annual.py",
    "tests/test_browser.py",
    "tests/test_fava.py",
    "tests/test_fava_ext.py",
    "tests/test_forecast_cli.py",
    "tests/test_ledger_write.py",
    "tests/test_reconcile.py",
    "tests/test_registry.py",
    "tests/test_scheduler.py",
})

# Files with mypy --strict errors today, likewise.
PENDING_MYPY = frozenset({
    "banquasso/forecast/backtest.py",
    "banquasso/forecast/frames.py",
    "banquasso/forecast/risk.py",
    "banquasso/registry/reconcile.py",
    "comptasso/books/loading.py",
    "comptasso/model/checks.py",
    "comptasso/plugins/consolidation.py",
    "comptasso/reports/annual.py",
    "tests/test_access.py",
    "tests/test_advance_e2e.py",
    "tests/test_annual.py",
    "tests/test_browser.py",
    "tests/test_fava_ext.py",
    "tests/test_fec.py",
    "tests/test_forecast_cli.py",
    "tests/test_ledger_write.py",
    "tests/test_loading.py",
    "tests/test_reconcile.py",
    "tests/test_registry.py",
    "tests/test_scheduler.py",
})

MYPY_ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+: error: ", re.MULTILINE)


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=900)


def ruff_findings() -> Counter[str]:
    """Findings of `ruff check` per file (relative path)."""
    result = _run(sys.executable, "-m", "ruff", "check", "--output-format", "json", *TARGETS)
    assert result.returncode in (0, 1), result.stderr
    return Counter(Path(item["filename"]).resolve().relative_to(ROOT).as_posix()
                   for item in json.loads(result.stdout))


def mypy_errors() -> Counter[str]:
    """Errors of `mypy` (strict, the files of pyproject.toml) per file (relative path)."""
    result = _run(sys.executable, "-m", "mypy", "--no-error-summary")
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return Counter(match["path"] for match in MYPY_ERROR.finditer(result.stdout))


def _verdict(tool: str, found: Counter[str], pending: frozenset[str]) -> list[str]:
    new = [f"{path}: {count} {tool} finding(s) in a file meant to be clean"
           for path, count in sorted(found.items()) if path not in pending]
    cleaned = [f"{path}: no {tool} finding any more, remove it from the pending list"
               for path in sorted(pending) if path not in found]
    return new + cleaned


def test_verdict_reports_new_findings_and_cleaned_files() -> None:
    found = Counter({"a.py": 2, "b.py": 1})
    assert _verdict("ruff", found, frozenset({"b.py", "c.py"})) == [
        "a.py: 2 ruff finding(s) in a file meant to be clean",
        "c.py: no ruff finding any more, remove it from the pending list",
    ]
    assert _verdict("ruff", found, frozenset({"a.py", "b.py"})) == []


def test_pending_files_exist() -> None:
    assert [p for p in sorted(PENDING_RUFF | PENDING_MYPY) if not (ROOT / p).is_file()] == []


@pytest.mark.slow
def test_ruff_passes_outside_the_pending_files() -> None:
    assert _verdict("ruff", ruff_findings(), PENDING_RUFF) == []


@pytest.mark.slow
def test_mypy_strict_passes_outside_the_pending_files() -> None:
    assert _verdict("mypy", mypy_errors(), PENDING_MYPY) == []
