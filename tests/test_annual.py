"""`comptasso report`: bilan and compte de résultat (ANC 2018-06), N and N-1, PDF and JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
import pytest
from beancount.core import data
from beancount.core.amount import Amount
from beanquery.query import run_query
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from comptasso.books.loading import load_member_ledger
from comptasso.cli.main import main
from comptasso.reports import annual
from comptasso.reports.annual import AnnualAccounts, annual_accounts, balance_sheet_heading
from comptasso.reports.annual_pdf import render_annual_pdf
from comptasso.reports.period import FinancialYear
from tests.conftest import DEMO_AS_OF, DEMO_LEDGERS, write_group

LEDGER = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque EUR
2024-01-01 open Assets:2182-Materiel-Transport EUR
2024-01-01 open Assets:411-Usagers:Famille-Martin EUR
2024-01-01 open Liabilities:401-Fournisseurs:Biocoop EUR
2024-01-01 open Liabilities:421-Salaires-Dus EUR
2024-01-01 open Liabilities:1687-Avances-BanquAsso:Velo-Gap EUR
2024-01-01 open Equity:102-Fonds-Associatifs EUR
2024-01-01 open Income:706-Prestations EUR
2024-01-01 open Income:741-Subventions-Exploitation EUR
2024-01-01 open Income:756-Cotisations EUR
2024-01-01 open Income:768-Interets-BanquAsso EUR
2024-01-01 open Income:870-Benevolat EUR
2024-01-01 open Expenses:864-Personnel-Benevole EUR
2024-01-01 open Expenses:606-Achats EUR
2024-01-01 open Expenses:641-Salaires EUR
2024-01-01 open Expenses:645-Charges-Sociales EUR
2024-01-01 open Expenses:6618-Interets-BanquAsso EUR
2024-01-01 open Expenses:671-Penalites EUR

2024-01-01 * "Ouverture"
  Assets:512-Banque              10000.00 EUR
  Equity:102-Fonds-Associatifs  -10000.00 EUR
2024-03-01 * "Cotisations"
  Assets:512-Banque        2000.00 EUR
  Income:756-Cotisations  -2000.00 EUR
2024-05-01 * "Salaires"
  Expenses:641-Salaires   3000.00 EUR
  Assets:512-Banque      -3000.00 EUR
2024-06-01 * "CAF" "Subvention versée"
  Assets:512-Banque                    4000.00 EUR
  Income:741-Subventions-Exploitation -4000.00 EUR
2024-09-01 * "Bénévolat"
  Expenses:864-Personnel-Benevole  1500.00 EUR
  Income:870-Benevolat            -1500.00 EUR

2025-01-10 * "Minibus"
  Assets:2182-Materiel-Transport  8000.00 EUR
  Assets:512-Banque              -8000.00 EUR
2025-02-01 * "Famille Martin" "Séjour"
  Assets:411-Usagers:Famille-Martin   600.00 EUR
  Income:706-Prestations             -600.00 EUR
2025-03-01 * "Biocoop" "Goûters"
  Expenses:606-Achats                    450.00 EUR
  Liabilities:401-Fournisseurs:Biocoop  -450.00 EUR
2025-04-01 * "Salaires d'avril"
  Expenses:641-Salaires           2500.00 EUR
  Expenses:645-Charges-Sociales   1000.00 EUR
  Liabilities:421-Salaires-Dus   -2500.00 EUR
  Assets:512-Banque              -1000.00 EUR
2025-05-01 * "Avance BanquAsso"
  Assets:512-Banque                               5000.00 EUR
  Liabilities:1687-Avances-BanquAsso:Velo-Gap    -5000.00 EUR
2025-06-01 * "Intérêts payés"
  Expenses:6618-Interets-BanquAsso   25.00 EUR
  Assets:512-Banque                 -25.00 EUR
2025-07-01 * "Intérêts reçus"
  Assets:512-Banque                 10.00 EUR
  Income:768-Interets-BanquAsso    -10.00 EUR
2025-08-01 * "Pénalité de retard"
  Expenses:671-Penalites   40.00 EUR
  Assets:512-Banque       -40.00 EUR
2025-09-01 * "Bénévolat"
  Expenses:864-Personnel-Benevole  2000.00 EUR
  Income:870-Benevolat            -2000.00 EUR
2025-10-01 * "Cotisations"
  Assets:512-Banque        1500.00 EUR
  Income:756-Cotisations  -1500.00 EUR
"""

D = Decimal


def _accounts(text: str = LEDGER, tmp_path: Path | None = None, year: int = 2025) -> AnnualAccounts:
    assert tmp_path is not None
    ledgers, _ = write_group(tmp_path, {"asso": text})
    ledger = load_member_ledger("asso", ledgers / "asso" / "main.beancount", frozenset())
    assert [p for p in ledger.problems if p.is_error] == []
    return annual_accounts(ledger.entries, year, dt.date(2026, 3, 31), member_id="asso", member_name="Crèche")


def _lines(sections) -> dict[str, tuple[Decimal, Decimal]]:  # type: ignore[no-untyped-def]
    return {line.heading: (line.n, line.n1) for s in sections for line in s.lines}


def test_compte_de_resultat_by_nature(tmp_path: Path) -> None:
    accounts = _accounts(tmp_path=tmp_path)
    assert _lines(accounts.income) == {
        "Cotisations": (D("1500.00"), D("2000.00")),
        "Ventes de biens et services": (D("600.00"), D("0.00")),
        "Concours publics et subventions d'exploitation": (D("0.00"), D("4000.00")),
        "Produits financiers": (D("10.00"), D("0.00")),
    }
    assert _lines(accounts.expenses) == {
        "Autres achats et charges externes": (D("450.00"), D("0.00")),
        "Salaires et traitements": (D("2500.00"), D("3000.00")),
        "Charges sociales": (D("1000.00"), D("0.00")),
        "Charges financières": (D("25.00"), D("0.00")),
        "Charges exceptionnelles": (D("40.00"), D("0.00")),
    }
    assert (accounts.total_income.n, accounts.total_expenses.n) == (D("2110.00"), D("4015.00"))
    assert (accounts.result.n, accounts.result.n1) == (D("-1905.00"), D("3000.00"))
    assert accounts.sub_result("Produits d'exploitation", "Charges d'exploitation").n == D("-1850.00")
    assert accounts.sub_result("Produits financiers", "Charges financières").n == D("-15.00")
    assert _lines(accounts.in_kind) == {"Bénévolat": (D("2000.00"), D("1500.00")),
                                        "Personnel bénévole": (D("2000.00"), D("1500.00"))}
    assert accounts.problems == ()


def test_bilan_by_heading(tmp_path: Path) -> None:
    accounts = _accounts(tmp_path=tmp_path)
    assert _lines(accounts.actif) == {
        "Immobilisations corporelles": (D("8000.00"), D("0.00")),
        "Créances usagers et comptes rattachés": (D("600.00"), D("0.00")),
        "Disponibilités": (D("10445.00"), D("13000.00")),
    }
    assert _lines(accounts.passif) == {
        "Fonds propres sans droit de reprise": (D("10000.00"), D("10000.00")),
        "Report à nouveau": (D("3000.00"), D("0.00")),
        "Excédent ou déficit de l'exercice": (D("-1905.00"), D("3000.00")),
        "Emprunts et dettes financières diverses": (D("5000.00"), D("0.00")),
        "Dettes fournisseurs et comptes rattachés": (D("450.00"), D("0.00")),
        "Dettes fiscales et sociales": (D("2500.00"), D("0.00")),
    }
    assert accounts.total_actif == accounts.total_passif
    assert (accounts.total_actif.n, accounts.total_actif.n1) == (D("19045.00"), D("13000.00"))


def test_contrary_balances_change_side() -> None:
    assert balance_sheet_heading("Assets:512-Banque", D("-5")) == \
        ("passif", "Dettes", "Emprunts et dettes auprès des établissements de crédit")
    assert balance_sheet_heading("Liabilities:401-Fournisseurs:X", D("5")) == \
        ("actif", "Actif circulant", "Autres créances")
    assert balance_sheet_heading("Assets:441-Subventions-A-Recevoir:Caf", D("5"))[2] == "Autres créances"
    assert balance_sheet_heading("Assets:2748-Avances-BanquAsso:Creche", D("5"))[2] == \
        "Immobilisations financières"
    assert balance_sheet_heading("Assets:2818-Amortissements", D("-5"))[:2] == ("actif", "Actif immobilisé")


# A minibus bought 1 July 2024 (12 000 €, 5 years straight line: 1 200 € for half of 2024, 2 400 € in
# 2025), software bought 1 March 2025 (1 500 €, 3 years: 1 500 × 10/36 = 416,67 € in 2025) and a loan
# of 1 000 € written down by 300 € at the end of 2025.
DEPRECIATION_LEDGER = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque EUR
2024-01-01 open Assets:205-Logiciels EUR
2024-01-01 open Assets:2805-Amort-Logiciels EUR
2024-01-01 open Assets:2182-Materiel-Transport EUR
2024-01-01 open Assets:28182-Amort-Materiel-Transport EUR
2024-01-01 open Assets:274-Prets:Asso-Voisine EUR
2024-01-01 open Assets:2974-Depreciation-Prets EUR
2024-01-01 open Equity:102-Fonds-Associatifs EUR
2024-01-01 open Expenses:681-Dotations:6811-Dotations-Amortissements EUR
2024-01-01 open Expenses:686-Dotations-Financieres:6866-Depreciations EUR

2024-01-01 * "Ouverture"
  Assets:512-Banque              30000.00 EUR
  Equity:102-Fonds-Associatifs  -30000.00 EUR
2024-07-01 * "Garage Alpes Auto" "Minibus"
  Assets:2182-Materiel-Transport  12000.00 EUR
  Assets:512-Banque              -12000.00 EUR
2024-09-01 * "Prêt à l'association voisine"
  Assets:274-Prets:Asso-Voisine   1000.00 EUR
  Assets:512-Banque              -1000.00 EUR
2024-12-31 * "Dotation aux amortissements 2024"
  Expenses:681-Dotations:6811-Dotations-Amortissements   1200.00 EUR
  Assets:28182-Amort-Materiel-Transport                 -1200.00 EUR
2025-03-01 * "Logiciel de gestion"
  Assets:205-Logiciels   1500.00 EUR
  Assets:512-Banque     -1500.00 EUR
2025-12-31 * "Dotation aux amortissements 2025"
  Expenses:681-Dotations:6811-Dotations-Amortissements   2816.67 EUR
  Assets:28182-Amort-Materiel-Transport                 -2400.00 EUR
  Assets:2805-Amort-Logiciels                            -416.67 EUR
2025-12-31 * "Dépréciation du prêt"
  Expenses:686-Dotations-Financieres:6866-Depreciations   300.00 EUR
  Assets:2974-Depreciation-Prets                         -300.00 EUR
"""


def _fixed(accounts: AnnualAccounts) -> dict[str, tuple[tuple[Decimal, ...], tuple[Decimal, ...]]]:
    """{heading: ((gross, depreciation, net) for N, (gross, depreciation, net) for N-1)} of the fixed assets."""
    [section] = [s for s in accounts.actif if s.title == annual.FIXED_ASSETS]
    out: dict[str, tuple[tuple[Decimal, ...], tuple[Decimal, ...]]] = {}
    for line in section.lines:
        assert line.gross is not None and line.depreciation is not None
        out[line.heading] = ((line.gross.n, line.depreciation.n, line.n),
                             (line.gross.n1, line.depreciation.n1, line.n1))
    return out


def test_fixed_assets_gross_depreciation_net(tmp_path: Path) -> None:
    accounts = _accounts(DEPRECIATION_LEDGER, tmp_path=tmp_path)
    assert _fixed(accounts) == {
        "Immobilisations incorporelles": ((D("1500.00"), D("416.67"), D("1083.33")),
                                          (D("0.00"), D("0.00"), D("0.00"))),
        "Immobilisations corporelles": ((D("12000.00"), D("3600.00"), D("8400.00")),
                                        (D("12000.00"), D("1200.00"), D("10800.00"))),
        "Immobilisations financières": ((D("1000.00"), D("300.00"), D("700.00")),
                                        (D("1000.00"), D("0.00"), D("1000.00"))),
    }
    fixed = accounts.actif[0]
    assert (fixed.gross, fixed.depreciation) == (annual.Pair(D("14500.00"), D("13000.00")),
                                                 annual.Pair(D("4316.67"), D("1200.00")))
    assert (fixed.total_n, fixed.total_n1) == (D("10183.33"), D("11800.00"))
    [cash] = accounts.actif[1].lines
    assert (cash.n, cash.n1, cash.depreciation, cash.gross) == (D("15500.00"), D("17000.00"), None, None)
    assert accounts.actif_gross == annual.Pair(D("30000.00"), D("30000.00"))
    assert accounts.actif_depreciation == annual.Pair(D("4316.67"), D("1200.00"))
    assert accounts.total_actif == accounts.total_passif == annual.Pair(D("25683.33"), D("28800.00"))
    assert _lines(accounts.passif) == {
        "Fonds propres sans droit de reprise": (D("30000.00"), D("30000.00")),
        "Report à nouveau": (D("-1200.00"), D("0.00")),
        "Excédent ou déficit de l'exercice": (D("-3116.67"), D("-1200.00")),
    }
    assert _lines(accounts.expenses) == {
        "Dotations aux amortissements, dépréciations et provisions": (D("2816.67"), D("1200.00")),
        "Charges financières": (D("300.00"), D("0.00")),
    }


@pytest.mark.parametrize(("number", "asset"), [("28182", "2182"), ("2813", "213"), ("2805", "205"),
                                              ("2911", "211"), ("2974", "274"), ("2182", "2182"), ("512", "512")])
def test_depreciation_reduces_the_asset_without_its_second_digit(number: str, asset: str) -> None:
    assert annual.depreciated_asset(number) == asset


def test_depreciation_takes_the_heading_of_its_asset() -> None:
    assert balance_sheet_heading("Assets:2805-Amort-Logiciels", D("-5"))[2] == "Immobilisations incorporelles"
    assert balance_sheet_heading("Assets:2813-Amort-Constructions", D("-5"))[2] == "Immobilisations corporelles"
    assert balance_sheet_heading("Assets:2974-Depreciation-Prets", D("-5"))[2] == "Immobilisations financières"
    assert balance_sheet_heading("Assets:2911-Depreciation-Terrains", D("-5"))[2] == "Immobilisations corporelles"


def test_depreciation_in_json_and_pdf(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"asso": DEPRECIATION_LEDGER})
    result = CliRunner().invoke(main, ["report", "asso", "--year", "2025", "--as-of", "2026-03-31", "--json",
                                       "--ledgers", str(ledgers), "--rules", str(rules)])
    assert result.exit_code == 0, result.stderr
    bilan = json.loads(result.stdout)["bilan"]
    tangible = bilan["actif"][0]["lines"][1]
    assert tangible["heading"] == "Immobilisations corporelles"
    assert (tangible["n"], tangible["n1"]) == ("8400.00", "10800.00")
    assert tangible["gross"] == {"n": "12000.00", "n1": "12000.00"}
    assert tangible["depreciation"] == {"n": "3600.00", "n1": "1200.00"}
    assert tangible["net"] == {"n": "8400.00", "n1": "10800.00"}
    assert tangible["accounts"] == [
        {"account": "Assets:2182-Materiel-Transport", "n": "12000.00", "n1": "12000.00"},
        {"account": "Assets:28182-Amort-Materiel-Transport", "n": "-3600.00", "n1": "-1200.00"}]
    assert "gross" not in bilan["actif"][1]["lines"][0]
    assert bilan["total_actif"] == bilan["total_passif"] == {"n": "25683.33", "n1": "28800.00"}
    reader = pypdf.PdfReader(io.BytesIO(render_annual_pdf(_accounts(DEPRECIATION_LEDGER, tmp_path=tmp_path / "b"))))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Brut", "Amortissements", "dépréciations", "Net", "14 500,00 €", "4 316,67 €", "10 183,33 €",
                     "1 083,33 €", "3 600,00 €", "25 683,33 €", "28 800,00 €", "Exercice 2025"):
        assert expected in text, expected


def test_every_heading_has_its_place_in_the_layout() -> None:
    assert {h for _, _, h in annual.ACTIF_TABLES} <= set(annual.ACTIF_ORDER)
    assert {h for _, _, h in annual.PASSIF_TABLES} <= set(annual.PASSIF_ORDER)
    assert {h for _, _, h in annual.RESULT_HEADINGS} == set(annual.RESULT_ORDER)
    assert annual.result_heading("Expenses:99-Bizarre") == ("Charges d'exploitation", "Autres charges")


def test_unbalanced_contributions_in_kind_warn(tmp_path: Path) -> None:
    text = LEDGER.replace("  Expenses:864-Personnel-Benevole  2000.00 EUR\n"
                          "  Income:870-Benevolat            -2000.00 EUR",
                          "  Expenses:864-Personnel-Benevole  1800.00 EUR\n  Assets:512-Banque  200.00 EUR\n"
                          "  Income:870-Benevolat            -2000.00 EUR")
    accounts = _accounts(text, tmp_path=tmp_path)
    assert accounts.total_actif == accounts.total_passif
    [warning] = accounts.problems
    assert warning.code == "in-kind-unbalanced"
    assert "comptes 86 et 87 diffèrent de 200.00 EUR" in warning.message
    # Off-balance: the result is the same in both statements; the gap has its own line, to be corrected.
    assert accounts.result.n == accounts.year_result_in_bilan.n == D("-1905.00")
    assert _lines(accounts.passif)[annual.IN_KIND_GAP] == (D("200.00"), D("0.00"))


def _beancount_income_statement_sum(entries: list[data.Directive], options: dict[str, Any], year: int) -> Decimal:
    _, rows = run_query(entries, options,
                        f"SELECT sum(number) AS total WHERE account ~ '^(Income|Expenses):' AND year = {year}")
    return D(rows[0][0] or 0)


def test_result_equals_beancount_income_and_expenses(tmp_path: Path) -> None:
    ledgers, _ = write_group(tmp_path, {"asso": LEDGER})
    ledger = load_member_ledger("asso", ledgers / "asso" / "main.beancount", frozenset())
    accounts = annual_accounts(ledger.entries, 2025, dt.date(2026, 3, 31), member_id="asso", member_name="A")
    assert accounts.result.n == -_beancount_income_statement_sum(ledger.entries, ledger.options, 2025)
    assert accounts.result.n1 == -_beancount_income_statement_sum(ledger.entries, ledger.options, 2024)


def test_pdf_is_french_paged_and_invariant(tmp_path: Path) -> None:
    accounts = _accounts(tmp_path=tmp_path)
    first, second = render_annual_pdf(accounts), render_annual_pdf(accounts)
    assert first == second and first.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(first))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Comptes annuels 2025 — Crèche", "Bilan — actif", "Bilan — passif", "Compte de résultat",
                     "Exercice 2025", "Exercice 2024", "19 045,00 €", "10 445,00 €", "-1 905,00 €",
                     "Contributions volontaires en nature", "Personnel bénévole", "Charges sociales",
                     f"Page 1 / {len(reader.pages)}"):
        assert expected in text, expected
    assert reader.metadata is not None and reader.metadata.title == "Comptes annuels 2025 — Crèche"


def test_report_cli_json_and_pdf(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"asso": LEDGER})
    runner = CliRunner()
    args = ["report", "asso", "--year", "2025", "--as-of", "2026-03-31", "--ledgers", str(ledgers),
            "--rules", str(rules)]
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["year"] == 2025 and document["as_of"] == "2026-03-31"
    assert document["compte_de_resultat"]["resultat"] == {"n": "-1905.00", "n1": "3000.00"}
    assert document["bilan"]["total_actif"] == document["bilan"]["total_passif"] == {"n": "19045.00",
                                                                                     "n1": "13000.00"}
    cash = document["bilan"]["actif"][1]["lines"][-1]
    assert cash["heading"] == "Disponibilités" and cash["accounts"][0] == {
        "account": "Assets:512-Banque", "n": "10445.00", "n1": "13000.00"}
    pdf = tmp_path / "comptes.pdf"
    result = runner.invoke(main, [*args, "--output", str(pdf)])
    assert result.exit_code == 0, result.stderr
    assert "Déficit de l'exercice : 1 905,00 € ; total du bilan : 19 045,00 €." in result.stdout
    assert pdf.read_bytes() == render_annual_pdf(
        annual_accounts(load_member_ledger("asso", ledgers / "asso" / "main.beancount", frozenset()).entries,
                        2025, dt.date(2026, 3, 31), member_id="asso", member_name="Asso"))


def test_report_refuses_a_broken_ledger_and_unknown_member(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"asso": LEDGER + "2025-11-01 * \"x\"\n  Assets:512-Banque 1.00 EUR\n"})
    runner = CliRunner()
    result = runner.invoke(main, ["report", "asso", "--year", "2025", "--ledgers", str(ledgers),
                                  "--rules", str(rules), "--json"])
    assert result.exit_code == 1 and "main.beancount:" in result.stderr and result.stdout == ""
    result = runner.invoke(main, ["report", "zz", "--year", "2025", "--ledgers", str(ledgers),
                                  "--rules", str(rules)])
    assert result.exit_code == 2 and "membre inconnu" in result.stderr
    result = runner.invoke(main, ["report", "asso", "--year", "20x5", "--ledgers", str(ledgers)])
    assert result.exit_code == 2


# --- Invariants -----------------------------------------------------------------------------------

ACCOUNTS = ["Assets:512-Banque", "Assets:411-Usagers:A", "Liabilities:401-Fournisseurs:B", "Equity:102-Fonds",
            "Income:706-Prestations", "Income:741-Subventions", "Expenses:606-Achats", "Expenses:641-Salaires",
            "Liabilities:1687-Avances", "Assets:2182-Materiel", "Expenses:864-Benevoles", "Income:870-Benevolat",
            "Assets:28182-Amort-Materiel", "Expenses:6811-Dotations"]


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


@st.composite
def _entries(draw: st.DrawFn) -> list[data.Transaction]:
    out: list[data.Transaction] = []
    for index in range(draw(st.integers(0, 30))):
        day = draw(st.dates(dt.date(2023, 6, 1), dt.date(2026, 3, 1)))
        first, second = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True))
        amount = draw(st.decimals(Decimal("0.01"), Decimal("50000.00"), places=2))
        postings = [data.Posting(first, Amount(amount, "EUR"), None, None, None, None),
                    data.Posting(second, Amount(-amount, "EUR"), None, None, None, None)]
        out.append(data.Transaction(data.new_metadata("x", index), day, "*", None, "op", data.EMPTY_SET,
                                    data.EMPTY_SET, postings))
    return out


@settings(max_examples=40, deadline=None)
@given(_entries())
def test_bilan_always_balances_and_result_is_the_income_statement(entries: list[data.Transaction]) -> None:
    accounts = annual_accounts(entries, 2025, dt.date(2026, 12, 31), member_id="m", member_name="M")
    assert accounts.total_actif == accounts.total_passif
    # Contributions in kind never touch the result: the bilan's line is the compte de résultat's result.
    assert accounts.year_result_in_bilan == accounts.result
    pnl = sum((_number(p) for e in entries if e.date.year == 2025 for p in e.postings
               if p.account.startswith(("Income:", "Expenses:")) and not p.account.split(":")[1].startswith("8")),
              Decimal(0))
    assert accounts.result.n == -pnl
    amortised = sum((_number(p) for e in entries if e.date.year <= 2025 for p in e.postings
                     if p.account.startswith("Assets:28")), Decimal(0))
    assert accounts.actif_depreciation.n == -amortised
    assert accounts.actif_gross.n - accounts.actif_depreciation.n == accounts.total_actif.n


# --- The demo group ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not (DEMO_LEDGERS / "group.toml").exists(), reason="demo group not generated")
def test_demo_members_balance_and_match_beancount(demo_copy: tuple[Path, Path]) -> None:
    ledgers, _ = demo_copy
    from comptasso.books.group import load_group
    group, _ = load_group(ledgers)
    assert group is not None
    for member in group.members:
        ledger = load_member_ledger(member.id, member.ledger, frozenset())
        accounts = annual_accounts(ledger.entries, 2025, dt.date.fromisoformat(DEMO_AS_OF), member_id=member.id,
                                   member_name=member.name)
        assert accounts.total_actif == accounts.total_passif, member.id
        assert accounts.total_actif.n > 0
        assert accounts.result.n == -_beancount_income_statement_sum(ledger.entries, ledger.options, 2025), member.id


# --- Issue 14: the headings an expert-comptable expects --------------------------------------------

GIFT_IN_KIND = """
option "operating_currency" "EUR"
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR
2025-01-01 open Income:756-Cotisations EUR
2025-01-01 open Income:875-Dons-En-Nature EUR
2025-01-01 open Expenses:860-Secours-En-Nature EUR
2025-01-01 open Expenses:861-Mises-A-Disposition EUR
2025-01-01 * "Ouverture"
  Assets:512-Banque              1000.00 EUR
  Equity:102-Fonds-Associatifs  -1000.00 EUR
2025-03-01 * "Cotisations"
  Assets:512-Banque        10000.00 EUR
  Income:756-Cotisations  -10000.00 EUR
2025-05-01 * "Colis alimentaires donnés par la Biocoop"
  Expenses:860-Secours-En-Nature   800.00 EUR
  Expenses:861-Mises-A-Disposition 200.00 EUR
  Income:875-Dons-En-Nature      -1000.00 EUR
"""


def test_contributions_in_kind_are_off_balance(tmp_path: Path) -> None:
    """86 and 87 at the foot of the compte de résultat, never in the result nor the bilan (ANC 2018-06)."""
    accounts = _accounts(GIFT_IN_KIND, tmp_path=tmp_path)
    assert accounts.result.n == accounts.year_result_in_bilan.n == D("10000.00")
    assert _lines(accounts.in_kind) == {"Dons en nature": (D("1000.00"), D("0.00")),
                                        "Secours en nature": (D("800.00"), D("0.00")),
                                        "Mises à disposition gratuites de biens": (D("200.00"), D("0.00"))}
    assert accounts.total_actif.n == accounts.total_passif.n == D("11000.00")
    assert [p.code for p in accounts.problems] == []


ACCRUALS = """
option "operating_currency" "EUR"
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Assets:486-Charges-Constatees-Avance EUR
2025-01-01 open Liabilities:487-Produits-Constates-Avance EUR
2025-01-01 open Assets:471-Attente EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR
2025-01-01 open Income:706-Prestations EUR
2025-01-01 open Income:741-Subventions-Etat EUR
2025-01-01 open Income:754-Dons-Manuels EUR
2025-01-01 open Income:755-Contributions-Financieres EUR
2025-01-01 open Expenses:616-Assurances EUR
2025-01-01 * "Ouverture"
  Assets:512-Banque              5000.00 EUR
  Equity:102-Fonds-Associatifs  -5000.00 EUR
2025-02-01 * "Subvention de l'État"
  Assets:512-Banque               3000.00 EUR
  Income:741-Subventions-Etat    -3000.00 EUR
2025-03-01 * "Dons"
  Assets:512-Banque          500.00 EUR
  Income:754-Dons-Manuels   -500.00 EUR
2025-04-01 * "Fondation" "Contribution"
  Assets:512-Banque                         700.00 EUR
  Income:755-Contributions-Financieres     -700.00 EUR
2025-10-01 * "Assurance octobre 2025 - septembre 2026"
  Expenses:616-Assurances   1200.00 EUR
  Assets:512-Banque        -1200.00 EUR
2025-12-31 * "Assurance : part de 2026 (9 mois)"
  Assets:486-Charges-Constatees-Avance   900.00 EUR
  Expenses:616-Assurances               -900.00 EUR
2025-12-15 * "Stage de février 2026 payé d'avance"
  Assets:512-Banque          400.00 EUR
  Income:706-Prestations    -400.00 EUR
2025-12-31 * "Stage : produit de 2026"
  Income:706-Prestations                       400.00 EUR
  Liabilities:487-Produits-Constates-Avance   -400.00 EUR
2025-12-20 ! "Virement inconnu"
  Assets:512-Banque       50.00 EUR
  Assets:471-Attente     -50.00 EUR
"""


def test_prepaid_lines_and_third_party_funders(tmp_path: Path) -> None:
    accounts = _accounts(ACCRUALS, tmp_path=tmp_path)
    assert _lines(accounts.actif)["Charges constatées d'avance"] == (D("900.00"), D("0.00"))
    assert "Autres créances" not in _lines(accounts.actif)
    assert _lines(accounts.passif)["Produits constatés d'avance"] == (D("400.00"), D("0.00"))
    assert balance_sheet_heading("Assets:486-CCA", D("-5")) == ("actif", "Actif circulant",
                                                              "Charges constatées d'avance")
    [exploitation] = [s for s in accounts.income if s.title == annual.EXPLOITATION_INCOME]
    grouped = {line.heading for line in exploitation.lines if line.group == annual.THIRD_PARTY_FUNDERS}
    assert grouped == {"Concours publics et subventions d'exploitation", "Ressources liées à la générosité du public",
                       "Contributions financières"}
    assert exploitation.group_total(annual.THIRD_PARTY_FUNDERS) == annual.Pair(D("4200.00"), D("0.00"))
    document = annual.accounts_json(accounts)
    produits = document["compte_de_resultat"]["produits"]  # type: ignore[index]
    assert produits[0]["groups"] == [{"heading": "Produits de tiers financeurs",
                                      "total": {"n": D("4200.00"), "n1": D("0.00")}}]
    reader = pypdf.PdfReader(io.BytesIO(render_annual_pdf(accounts)))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Produits de tiers financeurs" in text and "4 200,00 €" in text
    assert "Charges constatées d'avance" in text and "Produits constatés d'avance" in text


def test_suspense_and_pending_entries_warn_at_closing(tmp_path: Path) -> None:
    accounts = _accounts(ACCRUALS, tmp_path=tmp_path)
    codes = {p.code: p for p in accounts.problems}
    assert set(codes) == {"suspense-not-cleared", "pending-entry"}
    assert codes["suspense-not-cleared"].subject == "Assets:471-Attente"
    assert "compte d'attente Assets:471-Attente non soldé au 31/12/2025 : -50.00 EUR" in \
        codes["suspense-not-cleared"].message
    assert codes["pending-entry"].file.endswith("main.beancount") and codes["pending-entry"].line > 0


# Versioned charts: the same ledger in 2024 (PCG of 2014) and in 2025 (PCG modernised by ANC 2022-06).
CHART_LEDGER = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque EUR
2024-01-01 open Equity:102-Fonds-Associatifs EUR
2024-01-01 open Equity:13-Subventions-Investissement EUR
2024-01-01 open Income:777-Quote-Part-Subventions EUR
2024-01-01 open Income:747-Quote-Part-Subventions EUR
2024-01-01 open Income:791-Transferts-De-Charges EUR
2024-01-01 open Income:757-Cessions EUR
2024-01-01 open Income:781-Reprises EUR
2024-01-01 * "Ouverture"
  Assets:512-Banque               10000.00 EUR
  Equity:102-Fonds-Associatifs    -6000.00 EUR
  Equity:13-Subventions-Investissement  -4000.00 EUR
2024-12-31 * "Quote-part 2024"
  Equity:13-Subventions-Investissement  1000.00 EUR
  Income:777-Quote-Part-Subventions    -1000.00 EUR
2024-12-31 * "Transfert de charges 2024"
  Assets:512-Banque                    300.00 EUR
  Income:791-Transferts-De-Charges    -300.00 EUR
2025-12-31 * "Quote-part 2025"
  Equity:13-Subventions-Investissement  1000.00 EUR
  Income:747-Quote-Part-Subventions    -1000.00 EUR
2025-12-31 * "Reprise de provision"
  Assets:512-Banque        200.00 EUR
  Income:781-Reprises     -200.00 EUR
2025-12-31 * "Ancien compte encore utilisé"
  Assets:512-Banque                         50.00 EUR
  Income:777-Quote-Part-Subventions        -50.00 EUR
"""


def test_the_two_chart_versions(tmp_path: Path) -> None:
    old = _accounts(CHART_LEDGER, tmp_path=tmp_path / "2024", year=2024)
    assert old.chart is annual.ANC_2018
    assert _lines(old.income) == {
        "Produits exceptionnels": (D("1000.00"), D("0.00")),
        "Reprises sur amortissements, dépréciations, provisions et transferts de charges": (D("300.00"), D("0.00")),
    }
    assert old.problems == ()
    new = _accounts(CHART_LEDGER, tmp_path=tmp_path / "2025", year=2025)
    assert new.chart is annual.ANC_2025
    # Both columns in the layout of N: N-1 under the 2025 headings (791 has no heading of its own any more).
    assert _lines(new.income) == {
        "Quote-part des subventions d'investissement virée au résultat": (D("1000.00"), D("0.00")),
        "Reprises sur amortissements, dépréciations et provisions": (D("200.00"), D("0.00")),
        "Autres produits": (D("0.00"), D("300.00")),
        "Produits exceptionnels": (D("50.00"), D("1000.00")),
    }
    [removed] = [p for p in new.problems if p.code == "chart-removed-account"]
    assert removed.subject == "Income:777-Quote-Part-Subventions" and "747" in removed.message
    assert removed.line > 0
    assert annual.result_heading("Income:757-Cessions", annual.ANC_2025) == (
        annual.EXPLOITATION_INCOME, "Produits des cessions d'immobilisations")
    assert annual.chart_for(FinancialYear.closing_in(2025, (9, 1))) is annual.ANC_2018  # opened 2024-09-01
    assert annual.chart_for(FinancialYear.closing_in(2026, (9, 1))) is annual.ANC_2025
