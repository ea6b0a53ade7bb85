"""Grant files: status of each convention, the compte rendu financier (CERFA 15059) figures, PDF and JSON."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from click.testing import CliRunner, Result
from pypdf import PdfReader

from banquasso.commands.main import main
from comptasso.model.compte_rendu import compte_rendu
from comptasso.model.grant_files import GrantFile, add_months, grant_files
from comptasso.model.member import build_model
from tests.conftest import write_group
from tests.forecast_helpers import OPEN, opening

LEDGER = OPEN + opening("30000.00") + """
2025-01-01 open Expenses:623-Publicite EUR
2025-01-01 open Expenses:864-Benevolat EUR
2025-01-01 open Income:875-Benevolat EUR

2025-03-01 * "Fondation X" "Convention OLD-1"
  convention: "OLD-1"
  funder: "fondation-x"
  Assets:441-Subventions-A-Recevoir  2000.00 EUR
  Income:741-Subventions  -2000.00 EUR
2025-03-01 custom "subvention-echeance" "OLD-1" 2025-04-01 2000.00 EUR
2025-05-01 * "Fondation X" "Versement OLD-1"
  convention: "OLD-1"
  Assets:512-Banque  2000.00 EUR
  Assets:441-Subventions-A-Recevoir  -2000.00 EUR

2026-01-01 custom "budget" "60" 2026-01-01 2026-12-31 3000.00 EUR "festival"
2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 6000.00 EUR "festival"
2026-01-01 custom "budget" "74" 2026-01-01 2026-12-31 8000.00 EUR "festival"
2026-01-01 custom "budget" "706" 2026-01-01 2026-12-31 1500.00 EUR "festival"
2026-01-01 custom "budget" "64" 2026-01-01 2026-12-31 90000.00 EUR

2026-02-10 * "Région Sud" "Convention CR-1 - festival"
  convention: "CR-1"
  funder: "region-sud"
  action: "festival"
  fonds_dedies: TRUE
  notifiee: 2026-02-01
  depot: 2025-11-15
  conditions: "Bilan qualitatif avec le compte rendu"
  Assets:441-Subventions-A-Recevoir  8000.00 EUR
  Income:741-Subventions  -8000.00 EUR
2026-02-10 custom "subvention-echeance" "CR-1" 2026-03-01 4000.00 EUR
2026-02-10 custom "subvention-echeance" "CR-1" 2026-09-01 4000.00 EUR
2026-03-20 * "Région Sud" "Versement CR-1"
  convention: "CR-1"
  document: "convention-CR-1.pdf"
  Assets:512-Banque  4000.00 EUR
  Assets:441-Subventions-A-Recevoir  -4000.00 EUR

2026-05-01 * "Imprimerie" "Affiches du festival"
  action: "festival"
  Expenses:606-Achats  2000.00 EUR
  Assets:512-Banque
2026-05-02 * "Radio" "Annonces du festival"
  action: "festival"
  Expenses:623-Publicite  400.00 EUR
  Assets:512-Banque
2026-06-30 * "Banque" "Salaires du festival" #festival
  Expenses:641-Salaires  5000.00 EUR
  Assets:512-Banque
2026-07-01 * "Banque" "Salaires hors action"
  Expenses:641-Salaires  3000.00 EUR
  Assets:512-Banque
2026-07-14 * "Public" "Billetterie" #festival
  Assets:512-Banque  1200.00 EUR
  Income:706-Prestations
2026-07-14 * "Bénévoles" "Bénévolat valorisé"
  action: "festival"
  Expenses:864-Benevolat  1000.00 EUR
  Income:875-Benevolat  -1000.00 EUR
2027-01-10 * "Imprimerie" "Festival 2027 : hors exercice"
  action: "festival"
  Expenses:606-Achats  900.00 EUR
  Assets:512-Banque
"""
SENT = '\n2027-06-15 custom "compte-rendu" "CR-1"\n'


def _files(text: str, day: dt.date) -> dict[str, GrantFile]:
    entries, errors, _ = loader.load_string(text)
    assert not errors, errors
    model = build_model(entries, day)
    return {f.grant.convention: f for f in grant_files(entries, model.grants, model.statuses, day)}


@pytest.mark.parametrize(("day", "sent", "status", "report"), [
    ("2027-04-30", False, "partly-paid", None),
    ("2027-05-01", False, "report-due", "report-due"),        # 60 days before 30/06/2027
    ("2027-06-30", False, "report-due", "report-due"),
    ("2027-07-01", False, "report-late", "report-late"),
    ("2027-07-01", True, "partly-paid", "report-sent"),
])
def test_status_of_the_report(day: str, sent: bool, status: str, report: str | None) -> None:
    files = _files(LEDGER + (SENT if sent else ""), dt.date.fromisoformat(day))
    cr1 = files["CR-1"]
    assert cr1.report_due == dt.date(2027, 6, 30)
    assert (cr1.status, cr1.report_status) == (status, report)


def test_grant_file_figures_and_metadata() -> None:
    files = _files(LEDGER, dt.date(2026, 6, 1))
    cr1, old = files["CR-1"], files["OLD-1"]
    assert (cr1.received, cr1.expected, cr1.payment_status) == (Decimal("4000.00"), Decimal("4000.00"), "partly-paid")
    assert cr1.notified_on == dt.date(2026, 2, 1) and cr1.legal_deadline == dt.date(2026, 4, 2)
    assert cr1.filed_on == dt.date(2025, 11, 15) and cr1.earmarked and cr1.action == "festival"
    assert cr1.conditions == "Bilan qualitatif avec le compte rendu"
    assert cr1.documents == ("convention-CR-1.pdf",)
    assert old.payment_status == "paid" and old.report_status == "report-due"   # due 30/06/2026, in 29 days
    assert _files(LEDGER, dt.date(2026, 3, 1))["OLD-1"].report_status is None
    assert _files(LEDGER, dt.date(2026, 6, 30))["OLD-1"].status == "report-due"
    assert _files(LEDGER, dt.date(2026, 7, 1))["OLD-1"].status == "report-late"


def test_add_months_keeps_the_month_end() -> None:
    assert add_months(dt.date(2026, 12, 31), 6) == dt.date(2027, 6, 30)
    assert add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert add_months(dt.date(2026, 3, 15), 6) == dt.date(2026, 9, 15)


def test_the_15059_table_of_a_hand_computed_action() -> None:
    entries, _, _ = loader.load_string(LEDGER)
    file = _files(LEDGER, dt.date(2027, 5, 15))["CR-1"]
    report = compte_rendu(entries, file)
    assert report is not None
    assert (report.start, report.end) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    charges = {r.group: (r.budget, r.actual, r.percent) for r in report.charges}
    assert charges == {"60": (Decimal("3000.00"), Decimal("2000.00"), Decimal("66.7")),
                       "62": (Decimal("0.00"), Decimal("400.00"), None),
                       "64": (Decimal("6000.00"), Decimal("5000.00"), Decimal("83.3"))}
    produits = {r.group: (r.budget, r.actual) for r in report.produits}
    assert produits == {"70": (Decimal("1500.00"), Decimal("1200.00")),
                        "74": (Decimal("8000.00"), Decimal("8000.00"))}
    assert {r.group: r.actual for r in report.in_kind} == {"86": Decimal("1000.00"), "87": Decimal("1000.00")}
    assert (report.total_charges, report.total_produits) == (Decimal("7400.00"), Decimal("9200.00"))
    assert report.grant_share == Decimal("108.1")     # 8000 / 7400


# ------------------------------------------------------------------------------------------------- the CLI

@pytest.fixture
def group(tmp_path: Path) -> list[str]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": LEDGER, "ressourcerie": OPEN + opening("100.00")})
    return ["--ledgers", str(ledgers), "--rules", str(rules)]


def run(args: list[str]) -> Result:
    return CliRunner().invoke(main, args)


def test_subventions_json(group: list[str]) -> None:
    result = run(["subventions", *group, "--as-of", "2027-05-15", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    members = {m["id"]: m["conventions"] for m in doc["members"]}
    assert members["ressourcerie"] == []
    cr1 = next(c for c in members["velo-gap"] if c["convention"] == "CR-1")
    assert cr1["status"] == "report-due" and cr1["report_due"] == "2027-06-30"
    assert (cr1["received"], cr1["expected"], cr1["legal_deadline"]) == ("4000.00", "4000.00", "2026-04-02")
    assert cr1["funder_delay_days"] == 19 and cr1["legal_delay_days"] == 60
    old = next(c for c in members["velo-gap"] if c["convention"] == "OLD-1")
    assert old["status"] == "report-late" and old["funder_delay_days"] == 30


def test_subventions_text(group: list[str]) -> None:
    result = run(["subventions", *group, "--as-of", "2027-05-15", "--member", "velo-gap"])
    assert result.exit_code == 0, result.output
    assert "CR-1 — region-sud — compte rendu à rendre" in result.stdout
    assert "OLD-1 — fondation-x — compte rendu en retard" in result.stdout
    assert "8 000,00 €" in result.stdout and "ressourcerie" not in result.stdout


def test_compte_rendu_pdf_and_json(group: list[str], tmp_path: Path) -> None:
    pdf = tmp_path / "cr.pdf"
    result = run(["compte-rendu", *group, "--as-of", "2027-05-15", "--convention", "CR-1", "--pdf", str(pdf)])
    assert result.exit_code == 0, result.output
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Compte rendu financier — convention CR-1" in text
    assert "64 — Charges de personnel" in text and "6 000,00 €" in text and "5 000,00 €" in text
    assert "7 400,00 €" in text and "9 200,00 €" in text and "108,1 %" in text
    assert "30/06/2027" in text
    doc = json.loads(run(["compte-rendu", *group, "--as-of", "2027-05-15", "--convention", "CR-1",
                          "--json"]).stdout)
    assert (doc["total_charges"], doc["total_produits"], doc["grant_share_percent"]) == ("7400.00", "9200.00",
                                                                                          "108.1")


@pytest.mark.parametrize(("args", "message"), [
    (["--convention", "NOPE"], "convention inconnue « NOPE »"),
    (["--convention", "OLD-1"], "pas de métadonnée « action »"),
    (["--convention", "CR-1", "--member", "inconnu"], "membre inconnu"),
])
def test_compte_rendu_bad_input(group: list[str], tmp_path: Path, args: list[str], message: str) -> None:
    result = run(["compte-rendu", *group, "--as-of", "2027-05-15", *args, "--pdf", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x.pdf").exists()
