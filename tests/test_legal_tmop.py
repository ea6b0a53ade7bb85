"""The TMOP table (issue 13 item 3): the rate cap of an advance is the TMOP of its approval's half-year."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from banquasso.pool.guard import commitment_guard
from banquasso.registry.db import open_registry
from banquasso.registry.service import load_views
from banquasso.terms import rules
from banquasso.terms.policy import default_policy
from banquasso.terms.tmop import TMOP_INVALID, TmopTable, half_year, load_tmop, rate_cap
from comptasso.books.facade import open_books
from tests.test_guard import approve_args
from tests.test_registry import db_url, make_group, propose_args, run  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
TABLE = '[tmop]\n"2023-S1" = 0.0314\n"2023-S2" = 0.0337\n'


def test_half_years() -> None:
    assert half_year(dt.date(2026, 6, 30)) == "2026-S1" and half_year(dt.date(2026, 7, 1)) == "2026-S2"


def test_the_shipped_table_loads_and_cites_its_values() -> None:
    table, problems = load_tmop(ROOT / "rules")
    assert problems == [] and table is not None
    assert table.rate_for(dt.date(2023, 10, 1)) == Decimal("0.0337")
    text = (ROOT / "rules" / "tmop.toml").read_text(encoding="utf-8")
    assert all("#" in line for line in text.splitlines() if line.startswith('"'))  # every value has its source


def test_the_cap_is_the_tmop_of_the_half_year_else_max_rate_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "tmop.toml").write_text(TABLE, encoding="utf-8")
    table, _ = load_tmop(tmp_path)
    assert table is not None
    cap = rate_cap(table, dt.date(2023, 3, 1), Decimal("0.035"))
    assert (cap.rate, cap.key, cap.warning) == (Decimal("0.0314"), 'tmop."2023-S1"', None)
    missing = rate_cap(table, dt.date(2026, 11, 30), Decimal("0.035"))
    assert (missing.rate, missing.key) == (Decimal("0.035"), "terms.max_rate")
    assert missing.warning is not None and "2026-S2" in missing.warning
    assert load_tmop(tmp_path / "absent") == (TmopTable(), [])


@pytest.mark.parametrize(("text", "line", "needle"), [
    ('[tmop]\n"2023-S3" = 0.03\n', 2, "tmop.2023-S3 : semestre attendu"),
    ('[tmop]\n"2023-S1" = 1.5\n', 2, "tmop.2023-S1 : taux attendu entre 0 et 1"),
    ('[tmop]\n"2023-S1" = "trois"\n', 2, "taux attendu"),
    ('[taux]\n"2023-S1" = 0.03\n', 1, "taux : clé inconnue"),
])
def test_bad_tables_name_file_line_and_key(tmp_path: Path, text: str, line: int, needle: str) -> None:
    (tmp_path / "tmop.toml").write_text(text, encoding="utf-8")
    table, problems = load_tmop(tmp_path)
    assert table is None
    [problem] = problems
    assert (problem.line, problem.code) == (line, TMOP_INVALID) and needle in problem.message
    assert problem.file.endswith("tmop.toml")


def test_a_toml_syntax_error_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "tmop.toml").write_text("[tmop\n", encoding="utf-8")
    table, problems = load_tmop(tmp_path)
    assert table is None and [p.code for p in problems] == ["toml-syntax"]


def test_the_guard_refuses_a_rate_above_the_tmop_of_the_approval_half_year(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    (rules_dir / "tmop.toml").write_text(TABLE, encoding="utf-8")
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    books, _ = open_books(ledgers, rules_dir)
    assert books is not None
    [view] = load_views(open_registry(ledgers))
    as_of = dt.date(2026, 11, 30)

    def breaches(rate: str, approved: dt.date) -> list[rules.Breach]:
        candidate = replace(view, rate=Decimal(rate), approved_on=approved, state="approved")
        return [b for b in commitment_guard(books, default_policy(), [], candidate, as_of) if b.code == rules.MAX_RATE]

    [over] = breaches("0.0338", dt.date(2023, 9, 1))
    assert over.key == 'tmop."2023-S2"' and over.legal and "0.0337" in over.message
    assert breaches("0.0337", dt.date(2023, 9, 1)) == []
    [first_half] = breaches("0.0320", dt.date(2023, 3, 1))  # 2023-S1: 3,14 %
    assert first_half.key == 'tmop."2023-S1"'
    # 2026-S2 has no value: the cap is terms.max_rate (0.035).
    assert breaches("0.0340", as_of) == []
    assert [b.key for b in breaches("0.0360", as_of)] == ["terms.max_rate"]


def test_approve_warns_when_the_table_has_no_value_and_refuses_a_bad_table(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    (rules_dir / "tmop.toml").write_text('[tmop]\n"2026-S9" = 0.03\n', encoding="utf-8")
    bad = run(approve_args("BQA-2026-0001"), ledgers, rules_dir)
    assert bad.exit_code == 1 and "tmop.toml:2" in bad.output and "2026-S9" in bad.output
    (rules_dir / "tmop.toml").write_text(TABLE, encoding="utf-8")
    result = run(approve_args("BQA-2026-0001"), ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    assert "Avertissement : rules/tmop.toml n'a pas de TMOP pour le semestre 2026-S2" in result.stderr
