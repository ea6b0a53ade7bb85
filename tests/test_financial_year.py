"""`exercice_debut` in group.toml: a member's financial year for the FEC, the reports and their names."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from comptasso.books.group import load_group, parse_month_day
from comptasso.cli.main import main
from comptasso.reports.fec_verify import verify_fec
from comptasso.reports.period import FinancialYear
from tests.conftest import write_group

SIREN = "123456789"

# A club whose year runs from 1 September to 31 August.
CLUB = """
option "operating_currency" "EUR"
2024-09-01 open Assets:512-Banque EUR
2024-09-01 open Assets:411-Adherents:Famille-Roux EUR
2024-09-01 open Equity:102-Fonds-Associatifs EUR
2024-09-01 open Income:756-Cotisations EUR
2024-09-01 open Income:706-Stages EUR
2024-09-01 open Expenses:606-Achats EUR

2024-09-01 * "Ouverture"
  Assets:512-Banque              2000.00 EUR
  Equity:102-Fonds-Associatifs  -2000.00 EUR
2024-09-15 * "Cotisations de rentrée"
  Assets:512-Banque        3000.00 EUR
  Income:756-Cotisations  -3000.00 EUR
2025-06-20 * "Famille Roux" "Stage de juillet" ^S2025-07
  echeance: 2025-07-31
  Assets:411-Adherents:Famille-Roux   150.00 EUR
  Income:706-Stages                  -150.00 EUR
2025-08-31 * "Fournitures"
  Expenses:606-Achats   400.00 EUR
  Assets:512-Banque    -400.00 EUR
2025-09-10 * "Famille Roux" "Règlement du stage" ^S2025-07
  Assets:512-Banque                   150.00 EUR
  Assets:411-Adherents:Famille-Roux  -150.00 EUR
2025-09-15 * "Cotisations de rentrée"
  Assets:512-Banque        3200.00 EUR
  Income:756-Cotisations  -3200.00 EUR
"""


def _club(tmp_path: Path, debut: str = '"09-01"') -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"club": CLUB})
    group = ledgers / "group.toml"
    group.write_text(group.read_text("utf-8").replace(
        'ledger = "club/', f'siren = "{SIREN}"\nexercice_debut = {debut}\nledger = "club/'), encoding="utf-8")
    return ledgers, rules


def test_financial_year_is_named_by_its_closing_year() -> None:
    september = FinancialYear.closing_in(2025, (9, 1))
    assert (september.start, september.end, september.label) == (dt.date(2024, 9, 1), dt.date(2025, 8, 31),
                                                                  "2024-2025")
    assert september.previous() == FinancialYear(dt.date(2023, 9, 1), dt.date(2024, 8, 31))
    calendar = FinancialYear.closing_in(2025)
    assert (calendar.start, calendar.end, calendar.label) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31), "2025")
    assert dt.date(2025, 8, 31) in september and dt.date(2025, 9, 1) not in september


def test_group_reads_exercice_debut(tmp_path: Path) -> None:
    ledgers, _ = _club(tmp_path)
    group, problems = load_group(ledgers)
    assert problems == [] and group is not None
    assert group.member("club").year_start == (9, 1)
    plain, _ = write_group(tmp_path / "plain", {"asso": CLUB})
    default, _ = load_group(plain)
    assert default is not None and default.member("asso").year_start == (1, 1)


@pytest.mark.parametrize(("value", "needle"), [
    ('"9-1"', "attendu MM-JJ"),
    ('"02-29"', "jour de l'année inexistant"),
    ('"13-01"', "jour de l'année inexistant"),
    ("901", "exercice_debut"),
], ids=["format", "leap-day", "month", "not-a-string"])
def test_bad_exercice_debut_names_the_key_and_line(tmp_path: Path, value: str, needle: str) -> None:
    ledgers, rules = _club(tmp_path, value)
    group, problems = load_group(ledgers)
    assert group is None
    assert any(p.line == 9 and "members[0].exercice_debut" in p.message and needle in p.message
               for p in problems), problems
    result = CliRunner().invoke(main, ["report", "club", "--year", "2025", "--json", "--ledgers", str(ledgers),
                                       "--rules", str(rules)])
    assert result.exit_code == 1 and "group.toml:9: members[0].exercice_debut" in result.stderr
    assert result.stdout == ""


def test_parse_month_day() -> None:
    assert parse_month_day("09-01") == (9, 1) and parse_month_day("12-31") == (12, 31)
    with pytest.raises(ValueError):
        parse_month_day("04-31")


def test_report_of_a_september_year(tmp_path: Path) -> None:
    ledgers, rules = _club(tmp_path)
    result = CliRunner().invoke(main, ["report", "club", "--year", "2025", "--as-of", "2025-12-31", "--json",
                                       "--ledgers", str(ledgers), "--rules", str(rules)])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["exercice"] == {"start": "2024-09-01", "end": "2025-08-31", "label": "2024-2025"}
    # September 2025's subscriptions and payment belong to the next year.
    assert document["compte_de_resultat"]["resultat"] == {"n": "2750.00", "n1": "0.00"}
    assert document["bilan"]["total_actif"] == {"n": "4750.00", "n1": "0.00"}


def test_fec_of_a_september_year(tmp_path: Path) -> None:
    ledgers, rules = _club(tmp_path)
    out = tmp_path / "out"
    runner = CliRunner()
    for year in (2025, 2026):
        result = runner.invoke(main, ["fec", "club", "--year", str(year), "--as-of", "2026-12-31",
                                      "--ledgers", str(ledgers), "--rules", str(rules), "--output", str(out)])
        assert result.exit_code == 0, result.stderr
    first, second = out / f"{SIREN}FEC20250831.txt", out / f"{SIREN}FEC20260831.txt"
    assert verify_fec(first)[1] == [] and verify_fec(second)[1] == []
    rows = [line.split("\t") for line in second.read_text("utf-8").splitlines()[1:]]
    assert rows[0][0] == "AN" and rows[0][3] == "20250901"
    # The July stage invoiced in 2024-2025 and paid in September 2025 is lettered across the year change.
    lettered = [(r[0], r[4], r[11], r[12], r[13], r[14]) for r in rows if r[13]]
    assert lettered == [("AN", "41100000", "150,00", "0,00", "S2025-07", "20250910"),
                        ("BQ", "41100000", "0,00", "150,00", "S2025-07", "20250910")]
    assert "Exercice : du 01/09/2025 au 31/08/2026" in (out / f"{SIREN}FEC20260831-description.txt").read_text("utf-8")
