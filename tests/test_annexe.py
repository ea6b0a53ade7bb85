"""The annexe (ANC 2018-06): hand-computed tables of fixed assets, fonds dédiés, provisions, contributions in
kind, BanquAsso advances and events after closing; JSON and PDF beside the bilan."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pypdf
from click.testing import CliRunner

from comptasso.books.loading import load_member_ledger
from comptasso.cli.main import main
from comptasso.reports.annexe import Movement, build_annexe
from comptasso.reports.annexe_pdf import render_annexe_pdf
from comptasso.reports.annual import annual_accounts
from tests.conftest import write_group

D = Decimal

LEDGER = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque EUR
2024-01-01 open Assets:2182-Materiel-Transport EUR
2024-01-01 open Assets:28182-Amort-Materiel-Transport EUR
2024-01-01 open Assets:205-Logiciels EUR
2024-01-01 open Assets:2748-Avances-BanquAsso:Velo-Gap EUR
2024-01-01 open Liabilities:1687-Avances-BanquAsso:Mjc-Embrun EUR
2024-01-01 open Liabilities:194-Fonds-Dedies:Projet-Atelier EUR
2024-01-01 open Liabilities:151-Provisions-Risques:Litige-Prudhommes EUR
2024-01-01 open Equity:102-Fonds-Associatifs EUR
2024-01-01 open Income:741-Subventions EUR
2024-01-01 open Income:789-Utilisation-Fonds-Dedies EUR
2024-01-01 open Income:870-Benevolat EUR
2024-01-01 open Expenses:864-Personnel-Benevole EUR
2024-01-01 open Expenses:689-Reports-Fonds-Dedies EUR
2024-01-01 open Expenses:6811-Dotations-Amortissements EUR
2024-01-01 open Expenses:6815-Dotations-Provisions EUR
2024-01-01 open Expenses:606-Achats EUR

2024-01-01 * "Ouverture"
  Assets:512-Banque              40000.00 EUR
  Equity:102-Fonds-Associatifs  -40000.00 EUR
2024-07-01 * "Minibus"
  Assets:2182-Materiel-Transport  12000.00 EUR
  Assets:512-Banque              -12000.00 EUR
2024-09-01 * "Région" "Subvention de l'atelier"
  Assets:512-Banque        10000.00 EUR
  Income:741-Subventions  -10000.00 EUR
2024-12-31 * "Dotation 2024"
  Expenses:6811-Dotations-Amortissements   1200.00 EUR
  Assets:28182-Amort-Materiel-Transport   -1200.00 EUR
2024-12-31 * "Part non utilisée de la subvention de l'atelier"
  Expenses:689-Reports-Fonds-Dedies                  4000.00 EUR
  Liabilities:194-Fonds-Dedies:Projet-Atelier       -4000.00 EUR

2025-03-01 * "Logiciel"
  Assets:205-Logiciels   1500.00 EUR
  Assets:512-Banque     -1500.00 EUR
2025-04-01 * "Avance BanquAsso à Vélo Gap"
  Assets:2748-Avances-BanquAsso:Velo-Gap   3000.00 EUR
  Assets:512-Banque                       -3000.00 EUR
2025-05-01 * "Avance BanquAsso de la MJC"
  Assets:512-Banque                                 2000.00 EUR
  Liabilities:1687-Avances-BanquAsso:Mjc-Embrun    -2000.00 EUR
2025-06-30 * "Achats de l'atelier"
  Expenses:606-Achats   2500.00 EUR
  Assets:512-Banque    -2500.00 EUR
2025-06-30 * "Utilisation des fonds dédiés de l'atelier"
  Liabilities:194-Fonds-Dedies:Projet-Atelier   2500.00 EUR
  Income:789-Utilisation-Fonds-Dedies          -2500.00 EUR
2025-09-01 * "Bénévolat de l'atelier"
  valorisation: "SMIC horaire chargé × 120 h"
  Expenses:864-Personnel-Benevole  1500.00 EUR
  Income:870-Benevolat            -1500.00 EUR
2025-10-01 * "Remboursement partiel de Vélo Gap"
  Assets:512-Banque                        1000.00 EUR
  Assets:2748-Avances-BanquAsso:Velo-Gap  -1000.00 EUR
2025-12-31 * "Dotation 2025"
  Expenses:6811-Dotations-Amortissements   2400.00 EUR
  Assets:28182-Amort-Materiel-Transport   -2400.00 EUR
2025-12-31 * "Provision pour le litige"
  Expenses:6815-Dotations-Provisions                       1000.00 EUR
  Liabilities:151-Provisions-Risques:Litige-Prudhommes    -1000.00 EUR
2026-02-10 * "Prud'hommes" "Jugement rendu" #evenement-posterieur
  Liabilities:151-Provisions-Risques:Litige-Prudhommes   800.00 EUR
  Assets:512-Banque                                     -800.00 EUR
"""


def _annexe(tmp_path: Path):  # type: ignore[no-untyped-def]
    ledgers, rules = write_group(tmp_path, {"asso": LEDGER})
    ledger = load_member_ledger("asso", ledgers / "asso" / "main.beancount", frozenset())
    assert [p for p in ledger.problems if p.is_error] == []
    accounts = annual_accounts(ledger.entries, 2025, dt.date(2026, 3, 31), member_id="asso", member_name="Asso")
    return build_annexe(ledger.entries, accounts), ledgers, rules


def test_annexe_tables(tmp_path: Path) -> None:
    annexe, _, _ = _annexe(tmp_path)
    assert annexe.fixed_assets == (
        Movement("Assets:205-Logiciels", D("0.00"), D("1500.00"), D("0.00")),
        Movement("Assets:2182-Materiel-Transport", D("12000.00"), D("0.00"), D("0.00")),
        # An advance granted is a financial fixed asset (274x): in the table, and again among the commitments.
        Movement("Assets:2748-Avances-BanquAsso:Velo-Gap", D("0.00"), D("3000.00"), D("1000.00")),
    )
    assert annexe.depreciation == (Movement("Assets:28182-Amort-Materiel-Transport", D("1200.00"), D("2400.00"),
                                            D("0.00")),)
    assert annexe.depreciation[0].closing == D("3600.00")
    [fund] = annexe.dedicated_funds
    assert (fund.account, fund.opening, fund.increases, fund.decreases, fund.closing) == (
        "Liabilities:194-Fonds-Dedies:Projet-Atelier", D("4000.00"), D("0.00"), D("2500.00"), D("1500.00"))
    assert annexe.provisions == (Movement("Liabilities:151-Provisions-Risques:Litige-Prudhommes", D("0.00"),
                                          D("1000.00"), D("0.00")),)
    assert annexe.advances_granted == (Movement("Assets:2748-Avances-BanquAsso:Velo-Gap", D("0.00"), D("3000.00"),
                                                D("1000.00")),)
    assert annexe.advances_received == (Movement("Liabilities:1687-Avances-BanquAsso:Mjc-Embrun", D("0.00"),
                                                 D("2000.00"), D("0.00")),)
    assert [(i.account, i.n, i.valuations) for i in annexe.in_kind] == [
        ("Income:870-Benevolat", D("1500.00"), ("SMIC horaire chargé × 120 h",)),
        ("Expenses:864-Personnel-Benevole", D("1500.00"), ("SMIC horaire chargé × 120 h",))]
    [event] = annexe.events
    assert (event.date, event.label, event.amount) == (dt.date(2026, 2, 10), "Prud'hommes - Jugement rendu",
                                                       D("800.00"))
    assert annexe.problems == ()
    assert "ANC n° 2018-06" in annexe.methods[0]


def test_unvalued_contributions_in_kind_warn(tmp_path: Path) -> None:
    ledgers, _ = write_group(tmp_path, {"asso": LEDGER.replace('  valorisation: "SMIC horaire chargé × 120 h"\n', "")})
    ledger = load_member_ledger("asso", ledgers / "asso" / "main.beancount", frozenset())
    accounts = annual_accounts(ledger.entries, 2025, dt.date(2026, 3, 31), member_id="asso", member_name="A")
    [problem] = build_annexe(ledger.entries, accounts).problems
    assert problem.code == "in-kind-unvalued" and "Income:870-Benevolat" in problem.message


def test_annexe_json_and_pdf_beside_the_bilan(tmp_path: Path) -> None:
    annexe, ledgers, rules = _annexe(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["report", "asso", "--year", "2025", "--as-of", "2026-03-31", "--json",
                                  "--ledgers", str(ledgers), "--rules", str(rules)])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)["annexe"]
    assert document["fonds_dedies"] == [{"convention": None, "action": None,
                                         "account": "Liabilities:194-Fonds-Dedies:Projet-Atelier",
                                         "opening": "4000.00", "increases": "0.00", "decreases": "2500.00",
                                         "closing": "1500.00", "unused": None, "released": None}]
    assert document["engagements_hors_bilan"]["avances_accordees"][0]["closing"] == "2000.00"
    pdf = tmp_path / "out" / "comptes.pdf"
    result = runner.invoke(main, ["report", "asso", "--year", "2025", "--as-of", "2026-03-31", "--output", str(pdf),
                                  "--ledgers", str(ledgers), "--rules", str(rules)])
    assert result.exit_code == 0, result.stderr
    annexe_pdf = tmp_path / "out" / "comptes-annexe.pdf"
    assert f"Annexe : {annexe_pdf}" in result.stdout
    assert annexe_pdf.read_bytes() == render_annexe_pdf(annexe)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(annexe_pdf.read_bytes())).pages)
    for expected in ("Annexe des comptes annuels 2025 — Asso", "Fonds dédiés, par projet", "Reports (689)",
                     "Utilisations (789)", "1 500,00 €", "3 600,00 €", "Avances de trésorerie accordées",
                     "BanquAsso", "SMIC horaire", "Jugement rendu", "Événements postérieurs à la clôture"):
        assert expected.lower() in text.lower(), expected
