"""Fonds dédiés: the unused part of an earmarked grant, its 689/19x entry and its release through 789."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from beancount import loader
from beancount.core import data

from comptasso.model.fonds_dedies import closing_entries, fonds_dedies_rows, fonds_dedies_table
from tests.forecast_helpers import OPEN, opening

Y26 = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
Y27 = (dt.date(2027, 1, 1), dt.date(2027, 12, 31))

LEDGER = OPEN + opening("20000.00") + """
2025-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR
2025-01-01 open Expenses:6894-Reports-Fonds-Dedies EUR
2025-01-01 open Income:7894-Utilisations-Fonds-Dedies EUR

2026-03-01 * "Fondation X" "Convention FD-1 - festival"
  convention: "FD-1"
  funder: "fondation-x"
  action: "festival"
  fonds_dedies: TRUE
  Assets:441-Subventions-A-Recevoir  10000.00 EUR
  Income:741-Subventions  -10000.00 EUR
2026-03-01 custom "subvention-echeance" "FD-1" 2026-04-01 10000.00 EUR

2026-03-05 * "Région" "Convention R-1, non affectée"
  convention: "R-1"
  funder: "region-sud"
  action: "festival"
  Assets:441-Subventions-A-Recevoir  5000.00 EUR
  Income:741-Subventions  -5000.00 EUR
2026-03-05 custom "subvention-echeance" "R-1" 2026-04-01 5000.00 EUR

2026-05-01 * "Imprimerie" "Affiches du festival"
  action: "festival"
  Expenses:606-Achats  2500.00 EUR
  Assets:512-Banque
2026-06-30 * "Banque" "Salaires du festival" #festival
  Expenses:641-Salaires  3500.00 EUR
  Assets:512-Banque
2026-07-01 * "Banque" "Salaires hors action"
  Expenses:641-Salaires  1000.00 EUR
  Assets:512-Banque
2027-02-01 * "Imprimerie" "Festival 2027"
  action: "festival"
  Expenses:606-Achats  1500.00 EUR
  Assets:512-Banque
"""


def _entries(text: str) -> list[data.Directive]:
    entries, errors, _ = loader.load_string(text)
    assert not errors, errors
    return entries


def test_unused_part_of_the_year_is_the_grant_less_the_actions_charges() -> None:
    rows = fonds_dedies_rows(_entries(LEDGER), *Y26)
    assert len(rows) == 1                      # R-1 is not earmarked
    row = rows[0]
    assert (row.convention, row.action, row.funder) == ("FD-1", "festival", "fondation-x")
    assert row.opening == 0 and row.granted == Decimal("10000.00")
    assert row.charges == Decimal("6000.00")   # 2500 (metadata) + 3500 (tag); 1000 outside the action
    assert row.released == 0
    assert row.dotation == Decimal("4000.00")
    assert row.closing == Decimal("4000.00")


def test_proposed_entries_are_flagged_and_the_next_year_releases_them() -> None:
    rows = fonds_dedies_rows(_entries(LEDGER), *Y26)
    text = closing_entries(rows, Y26[1])
    assert text.startswith('2026-12-31 ! "Fonds dédiés" "Report en fonds dédiés FD-1 (festival)"')
    assert "Expenses:6894-Reports-Fonds-Dedies  4000.00 EUR" in text
    assert "Liabilities:194-Fonds-Dedies-Subventions  -4000.00 EUR" in text
    booked = _entries(LEDGER + "\n" + text)   # the entries balance and load
    reports = [e for e in booked if isinstance(e, data.Transaction)
               and (e.narration or "").startswith("Report en fonds")]
    assert [e.flag for e in reports] == ["!"]
    # the same year once booked gives the same proposal (the dotation is not an action charge)
    assert fonds_dedies_rows(booked, *Y26) == rows
    nxt = fonds_dedies_rows(booked, *Y27)
    assert len(nxt) == 1
    assert (nxt[0].opening, nxt[0].granted, nxt[0].charges) == (Decimal("4000.00"), Decimal(0), Decimal("1500.00"))
    assert (nxt[0].released, nxt[0].dotation, nxt[0].closing) == (Decimal("1500.00"), Decimal(0), Decimal("2500.00"))
    release = closing_entries(nxt, Y27[1])
    assert "Liabilities:194-Fonds-Dedies-Subventions  1500.00 EUR" in release
    assert "Income:7894-Utilisations-Fonds-Dedies  -1500.00 EUR" in release
    assert "6894" not in release
    _entries(LEDGER + "\n" + text + "\n" + release)


def test_charges_beyond_the_grant_leave_nothing_dedicated() -> None:
    ledger = LEDGER.replace("Expenses:641-Salaires  3500.00 EUR", "Expenses:641-Salaires  9000.00 EUR")
    row = fonds_dedies_rows(_entries(ledger), *Y26)[0]
    assert (row.charges, row.dotation, row.closing) == (Decimal("11500.00"), Decimal(0), Decimal(0))
    assert closing_entries([row], Y26[1]) == ""


def test_the_annexe_table_is_the_same_rule() -> None:
    table = fonds_dedies_table(_entries(LEDGER), *Y26)
    assert table == [{"convention": "FD-1", "funder": "fondation-x", "action": "festival",
                      "opening": Decimal("0.00"), "granted": Decimal("10000.00"), "charges": Decimal("6000.00"),
                      "released": Decimal("0.00"), "dotation": Decimal("4000.00"), "closing": Decimal("4000.00")}]
    assert fonds_dedies_table(_entries(LEDGER), dt.date(2025, 1, 1), dt.date(2025, 12, 31)) == []


# ------------------------------------------------------------------------------------- banquasso fonds-dedies

def _cli_group(tmp_path: Path) -> tuple[Path, list[str]]:
    from tests.conftest import write_group

    base = LEDGER.replace("2025-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR\n", "").replace(
        "2025-01-01 open Expenses:6894-Reports-Fonds-Dedies EUR\n", "").replace(
        "2025-01-01 open Income:7894-Utilisations-Fonds-Dedies EUR\n", "")
    ledgers, rules = write_group(tmp_path, {"velo-gap": base})
    return ledgers, ["--ledgers", str(ledgers), "--rules", str(rules)]


def Y26_ARGS(args: list[str]) -> list[str]:
    return ["fonds-dedies", *args, "--member", "velo-gap", "--year", "2026", "--as-of", "2026-12-31"]


def Y27_ARGS(args: list[str]) -> list[str]:
    return ["fonds-dedies", *args, "--member", "velo-gap", "--year", "2027", "--as-of", "2027-12-31"]


def test_fonds_dedies_write_is_flagged_included_checked_and_idempotent(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from banquasso.commands.main import main
    from comptasso.books.facade import open_books

    ledgers, args = _cli_group(tmp_path)
    runner = CliRunner()
    shown = runner.invoke(main, [*Y26_ARGS(args), "--json"])
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.stdout)
    assert doc["written"] is False and doc["rows"][0]["dotation"] == "4000.00"
    assert not (ledgers / "velo-gap" / "fonds-dedies.beancount").exists()

    wrote = runner.invoke(main, [*Y26_ARGS(args), "--write"])
    assert wrote.exit_code == 0, wrote.output
    assert "reportés (689) 4 000,00 €" in wrote.stdout
    written = (ledgers / "velo-gap" / "fonds-dedies.beancount").read_text(encoding="utf-8")
    assert '2026-12-31 ! "Fonds dédiés" "Report en fonds dédiés FD-1 (festival)"' in written
    assert "2026-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR" in written
    main_text = (ledgers / "velo-gap" / "main.beancount").read_text(encoding="utf-8")
    assert main_text.count('include "fonds-dedies.beancount"') == 1

    again = runner.invoke(main, [*Y26_ARGS(args), "--write"])
    assert again.exit_code == 0 and "déjà proposées" in again.stdout
    assert (ledgers / "velo-gap" / "fonds-dedies.beancount").read_text(encoding="utf-8") == written

    nxt = runner.invoke(main, [*Y27_ARGS(args), "--write"])
    assert nxt.exit_code == 0, nxt.output
    assert "utilisés (789) 1 500,00 €" in nxt.stdout
    books, _ = open_books(ledgers, ledgers.parent / "rules", cache_dir=False)
    assert books is not None and not [p for p in books.all_problems() if p.is_error]
    entries = books.ledger("velo-gap").entries
    assert [r.closing for r in fonds_dedies_rows(entries, *Y27)] == [Decimal("2500.00")]


def test_fonds_dedies_unknown_member_changes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from banquasso.commands.main import main

    ledgers, args = _cli_group(tmp_path)
    before = (ledgers / "velo-gap" / "main.beancount").read_bytes()
    result = CliRunner().invoke(main, ["fonds-dedies", *args, "--member", "x", "--year", "2026",
                                       "--as-of", "2026-12-31", "--write"])
    assert result.exit_code in (1, 2) and "inconnu" in result.output
    assert (ledgers / "velo-gap" / "main.beancount").read_bytes() == before
    assert not (ledgers / "velo-gap" / "fonds-dedies.beancount").exists()


def test_fonds_dedies_before_the_year_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from banquasso.commands.main import main

    _, args = _cli_group(tmp_path)
    result = CliRunner().invoke(main, ["fonds-dedies", *args, "--member", "velo-gap", "--year", "2027",
                                       "--as-of", "2026-06-30"])
    assert result.exit_code == 2 and "n'a pas commencé" in result.output


def test_the_annexe_reads_the_funds_as_the_fonds_dedies_command_does() -> None:
    """Before the closing is booked the annexe shows the unused part; once booked, the same figures as movements."""
    from comptasso.model.fonds_dedies import FundMovement
    from comptasso.reports.annexe import build_annexe
    from comptasso.reports.annual import annual_accounts

    def annexe(text: str, year: int) -> list[FundMovement]:
        entries = _entries(text)
        accounts = annual_accounts(entries, year, dt.date(year + 1, 3, 31), member_id="a", member_name="A")
        return list(build_annexe(entries, accounts).dedicated_funds)

    [before] = annexe(LEDGER, 2026)
    [row] = fonds_dedies_rows(_entries(LEDGER), *Y26)
    assert (before.convention, before.action, before.opening, before.increases, before.unused) == (
        "FD-1", "festival", Decimal(0), Decimal(0), row.dotation)
    booked = LEDGER + "\n" + closing_entries([row], Y26[1])
    [after] = annexe(booked, 2026)
    assert (after.increases, after.decreases, after.closing, after.unused) == (
        row.dotation, row.released, row.closing, row.dotation)
    [next_row] = fonds_dedies_rows(_entries(booked), *Y27)
    [next_year] = annexe(booked, 2027)
    assert next_year.opening == next_row.opening == Decimal("4000.00")
    assert (next_year.released, next_year.unused) == (next_row.released, next_row.dotation)
