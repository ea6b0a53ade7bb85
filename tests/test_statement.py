"""The board's monthly PDF: the numbers the engine computes appear in it, same input gives the same bytes."""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader

from banquasso.commands.main import main
from banquasso.forecast.advance_flows import advance_flows
from banquasso.forecast.daily import forecast_group
from banquasso.registry.db import open_registry
from banquasso.registry.models import Advance, Payment, ScheduleLine
from banquasso.registry.service import load_views
from banquasso.statement import pdf as statement_pdf
from banquasso.statement.data import Month, MonthError, books_date
from comptasso.books.facade import open_books
from comptasso.money import fr_money
from tests.conftest import DEMO_AS_OF, write_group
from tests.registry_helpers import add_bullet_advance

ALPHA = """
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-01 open Expenses:641-Salaires
2026-01-01 open Assets:2748-Avances-BanquAsso:Beta
2026-01-02 * "Apport"
  Assets:512-Banque                      20000.00 EUR
  Equity:102-Fonds-Associatifs          -20000.00 EUR
2026-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -2000.00 EUR "mensuel" 28
2026-03-10 * "Avance BQA-2026-0001 à beta"
  Assets:2748-Avances-BanquAsso:Beta      3000.00 EUR
  Assets:512-Banque                      -3000.00 EUR
"""

BETA = """
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-01 open Liabilities:1687-Avances-BanquAsso:Alpha
2026-01-02 * "Apport"
  Assets:512-Banque                       1000.00 EUR
  Equity:102-Fonds-Associatifs           -1000.00 EUR
2026-03-10 * "Avance BQA-2026-0001 reçue d'alpha"
  Assets:512-Banque                       3000.00 EUR
  Liabilities:1687-Avances-BanquAsso:Alpha -3000.00 EUR
"""


def lending_group(tmp_path: Path, *, registry: bool = True) -> tuple[Path, Path]:
    """Two members: alpha (20 000 € in, lent 3 000 €, salaries 2 000 €/month), beta (1 000 € in, borrowed 3 000 €)."""
    ledgers, rules = write_group(tmp_path, {"alpha": ALPHA, "beta": BETA})
    if registry:
        add_bullet_advance(ledgers)
    return ledgers, rules


def statement(ledgers: Path, rules: Path, out: Path, month: str = "2026-03", as_of: str = "2026-04-15",
              *extra: str) -> Result:
    return CliRunner().invoke(main, ["statement", "--ledgers", str(ledgers), "--rules", str(rules), "--month", month,
                                     "--as-of", as_of, "-o", str(out), *extra])


def pages_text(path: Path) -> list[str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def test_month_parsing_and_books_date() -> None:
    assert Month.parse("2026-03") == Month(2026, 3)
    assert Month(2026, 2).last == dt.date(2026, 2, 28)
    assert Month(2026, 12).last == dt.date(2026, 12, 31)
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2026, 11).label == "novembre 2026"
    start = dt.date(2026, 1, 2)
    assert books_date(Month(2026, 3), dt.date(2026, 4, 15), start) == dt.date(2026, 3, 31)
    assert books_date(Month(2026, 3), dt.date(2026, 3, 20), start) == dt.date(2026, 3, 20)
    for text in ("2026-3", "2026-13", "mars", "2026-00", "26-03"):
        with pytest.raises(MonthError, match="mois invalide"):
            Month.parse(text)
    with pytest.raises(MonthError, match="commencent le 02/01/2026"):
        books_date(Month(2025, 12), dt.date(2026, 4, 15), start)
    with pytest.raises(MonthError, match="n'a pas commencé"):
        books_date(Month(2026, 5), dt.date(2026, 4, 15), start)


def test_pdf_shows_the_engine_numbers(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    out = tmp_path / "out" / "2026-03.pdf"
    result = statement(ledgers, rules, out, "2026-03", "2026-04-15", "--json")
    assert result.exit_code == 0, result.output
    # Hand-computed as of 31/03/2026: alpha 20 000 − 3 000 = 17 000; salaries −2 000 on 28/04, 28/05, 28/06;
    # the advance comes back +3 000 on 15/05 → low 14 000 € on 28/06. Beta 1 000 + 3 000 = 4 000, repays
    # 3 000 on 15/05 → low 1 000 € on 15/05, under its 5 000 € floor every day.
    pages = pages_text(out)
    cover, alpha_page, beta_page, annex = pages[0], pages[-3], pages[-2], pages[-1]
    text = " ".join(pages)
    assert "novembre" not in text and "mars 2026" in cover and "30/03/2026" not in cover
    assert "Livres arrêtés au 31/03/2026" in cover
    for amount in ("17 000,00 €", "4 000,00 €", "21 000,00 €"):  # treasuries and the group's
        assert amount in cover
    assert "Avances en cours (1) : capital restant dû 3 000,00 €" in cover
    assert "Alpha (alpha)" in alpha_page and "17 000,00 €" in alpha_page and "14 000,00 € le 28/06/2026" in alpha_page
    assert "Beta (beta)" in beta_page and "4 000,00 €" in beta_page and "1 000,00 € le 15/05/2026" in beta_page
    assert "BQA-2026-0001" in beta_page and "15/05/2026" in beta_page
    assert "sous le plancher (5 000,00 €) dès le 01/04/2026" in beta_page
    assert "Annexe" in annex and "BQA-2026-0001" in annex and "CA-2026-03" in annex and "3 000,00 €" in annex
    assert "Page 1 / " in cover

    # The same numbers as the engine computes for the same books and day.
    books, _ = open_books(ledgers, rules)
    assert books is not None
    registry = open_registry(ledgers)
    views = load_views(registry)
    registry.close()
    entries = {m.id: books.ledgers[m.id].entries for m in books.members}
    day = dt.date(2026, 3, 31)
    engine = forecast_group(books, day, extra_flows=advance_flows(views, entries, day))
    assert [m.opening_balance for m in engine.members] == [Decimal("17000.00"), Decimal("4000.00")]
    assert [m.min_balance for m in engine.members] == [Decimal("14000.00"), Decimal("1000.00")]
    for member, page in zip(engine.members, (alpha_page, beta_page), strict=True):
        assert fr_money(member.opening_balance) in page and fr_money(member.min_balance) in page
    import json
    doc = json.loads(result.stdout)
    assert doc["pool"]["outstanding"] == "3000.00"
    assert [m["treasury"] for m in doc["members"]] == ["17000.00", "4000.00"]
    assert [m["min_balance"] for m in doc["members"]] == ["14000.00", "1000.00"]
    assert doc["pool"]["under_floor"] == ["beta"]
    assert doc["books_date"] == "2026-03-31" and doc["path"] == str(out)


def test_repayments_due_soon_and_late(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    out = tmp_path / "avril.pdf"
    result = statement(ledgers, rules, out, "2026-04", "2026-04-20", "--json")
    assert result.exit_code == 0, result.output
    import json
    doc = json.loads(result.stdout)
    assert doc["books_date"] == "2026-04-20"  # the month is not over: books as of --as-of
    assert doc["pool"]["due_soon"] == [{"advance": "BQA-2026-0001", "n": 1, "date": "2026-05-15",
                                        "payment": "3000.00", "planned": False}]
    assert doc["pool"]["late"] == []
    late = statement(ledgers, rules, tmp_path / "mai.pdf", "2026-05", "2026-06-10", "--json")
    doc = json.loads(late.stdout)
    assert doc["pool"]["late"] == [{"advance": "BQA-2026-0001", "since": "2026-05-15", "outstanding": "3000.00"}]
    assert "en retard depuis le 15/05/2026" in " ".join(pages_text(tmp_path / "mai.pdf"))


def test_same_input_same_bytes(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    assert statement(ledgers, rules, first).exit_code == 0
    assert statement(ledgers, rules, second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().startswith(b"%PDF")


def test_without_registry_nothing_is_created(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path, registry=False)
    out = tmp_path / "r.pdf"
    result = statement(ledgers, rules, out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert not (tmp_path / "var" / "banquasso.db").exists()
    assert "Aucune avance consentie" in pages_text(out)[-1]


@pytest.mark.parametrize(("month", "as_of", "message"), [
    ("2026/03", "2026-04-15", "mois invalide « 2026/03 »"),
    ("2025-12", "2026-04-15", "aucun livre pour 2025-12 : les livres commencent le 01/01/2026"),
    ("2026-06", "2026-04-15", "le mois 2026-06 n'a pas commencé"),
])
def test_bad_month(tmp_path: Path, month: str, as_of: str, message: str) -> None:
    ledgers, rules = lending_group(tmp_path, registry=False)
    out = tmp_path / "x.pdf"
    result = statement(ledgers, rules, out, month, as_of)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_unwritable_output(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path, registry=False)
    blocker = tmp_path / "un-fichier"
    blocker.write_text("x")
    result = statement(ledgers, rules, blocker / "r.pdf")
    assert result.exit_code == 2 and "« " + str(blocker) + " » est un fichier" in result.output
    folder = tmp_path / "dossier"
    folder.mkdir()
    result = statement(ledgers, rules, folder)
    assert result.exit_code == 2 and "est un dossier" in result.output
    assert list(folder.iterdir()) == []


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.pdf"
    target.write_bytes(b"old")

    def broken(src: Path, dst: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", broken)
    with pytest.raises(OSError):
        statement_pdf.write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.pdf"]


def test_invalid_books_exit_1_and_write_nothing(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"alpha": ALPHA + "\n2026-02-01 * \"Cassé\"\n  Assets:Inconnu 5 EUR\n"})
    out = tmp_path / "r.pdf"
    result = statement(ledgers, rules, out)
    assert result.exit_code == 1
    assert "main.beancount:" in result.output
    assert not out.exists()


@pytest.mark.slow
def test_demo_statement(demo_copy: tuple[Path, Path], tmp_path: Path) -> None:
    """The demo's November statement shows every member's treasury and lowest point as `forecast` computes them."""
    ledgers, rules = demo_copy
    out = tmp_path / "demo.pdf"
    result = CliRunner().invoke(main, ["statement", "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--month", DEMO_AS_OF[:7], "--as-of", DEMO_AS_OF, "-o", str(out)])
    assert result.exit_code == 0, result.output
    books, _ = open_books(ledgers, rules)
    assert books is not None
    from banquasso.terms.policy import load_policy
    policy, _ = load_policy(rules)
    assert policy is not None
    engine = forecast_group(books, dt.date.fromisoformat(DEMO_AS_OF), floor_policy=policy.floor)
    pages = pages_text(out)
    by_name = {m.name: m for m in engine.members}
    for member in engine.members:
        page = next(p for p in pages if p.startswith(f"{member.name} ({member.member_id})"))
        assert fr_money(member.opening_balance) in page
        assert f"{fr_money(member.min_balance)} le {member.min_date.strftime('%d/%m/%Y')}" in page
    assert {m.member_id for m in engine.members if m.below_floor} >= {"velo-gap", "grange-ecrins", "mjc-embrun"}
    assert len(by_name) == 6
    assert not os.environ.get("BANQUASSO_DB_URL")


@pytest.mark.slow
def test_demo_statement_shows_the_plan_of_the_day(demo_copy: tuple[Path, Path], tmp_path: Path) -> None:
    """The cover lists the advances `banquasso plan` proposes and the unmet need with its reason."""
    import json

    ledgers, rules = demo_copy
    out = tmp_path / "demo.pdf"
    common = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", DEMO_AS_OF]
    result = CliRunner().invoke(main, ["statement", "--month", DEMO_AS_OF[:7], "-o", str(out), *common])
    assert result.exit_code == 0, result.output
    plan = json.loads(CliRunner().invoke(main, ["plan", "--json", *common]).stdout)
    text = " ".join(" ".join(pages_text(out)).split())
    assert "Avances proposées par le plan du jour" in text
    for advance in plan["advances"]:
        assert fr_money(Decimal(advance["amount"])) in text
    assert plan["unmet"], "the demo policy leaves one need unmet"
    for unmet in plan["unmet"]:
        assert fr_money(Decimal(unmet["amount"])) in text
    assert "plafond d'avances par emprunteur atteint" in text
    assert f"non couvert : {fr_money(Decimal(plan['total_unmet']))}" in text


def _record(ledgers: Path, advance: Advance) -> None:
    registry = open_registry(ledgers)
    try:
        with registry.session() as session, session.begin():
            session.add(advance)
    finally:
        registry.close()


def _advance(seq: int, state: str, principal: str, proposed_on: dt.date, repay_on: dt.date,
             lender: str = "alpha", borrower: str = "beta", **fields: object) -> Advance:
    advance = Advance(
        id=f"BQA-2026-{seq:04d}", year=2026, seq=seq, lender=lender, borrower=borrower, principal=Decimal(principal),
        rate=Decimal("0"), method="bullet", day_count="ACT/365", grace_days=15, disburse_on=proposed_on,
        repay_on=repay_on, state=state, proposed_on=proposed_on, **fields)
    advance.lines = [ScheduleLine(n=1, date=repay_on, principal=Decimal(principal), interest=Decimal("0.00"),
                                  payment=Decimal(principal), remaining=Decimal("0.00"))]
    return advance


def _with_proposal_and_repaid(tmp_path: Path) -> tuple[Path, Path]:
    """The lending group, plus a proposal (2 000 €, secured on CONV-7's tranche of 30/06/2026) awaiting alpha's
    board, an advance repaid in March (500 €) and one repaid in February (700 €)."""
    ledgers, rules = lending_group(tmp_path)
    _record(ledgers, _advance(2, "proposed", "2000.00", dt.date(2026, 3, 20), dt.date(2026, 6, 30),
                              convention="CONV-7", tranche_date=dt.date(2026, 6, 30)))
    for seq, amount, out, back in ((3, "500.00", dt.date(2026, 3, 2), dt.date(2026, 3, 25)),
                                   (4, "700.00", dt.date(2026, 2, 2), dt.date(2026, 2, 20))):
        repaid = _advance(seq, "repaid", amount, out, back, decision=f"CA-{seq}", approved_on=out,
                          approved_by="Conseil d'alpha", disbursed_on=out)
        repaid.payments = [
            Payment(seq=1, kind="disbursement", event=f"BQA-2026-000{seq}/versement", date=out,
                    principal=Decimal(amount), interest=Decimal("0.00"), confirmed_on=out),
            Payment(seq=2, kind="repayment", event=f"BQA-2026-000{seq}/remboursement", date=back,
                    principal=Decimal(amount), interest=Decimal("0.00"), confirmed_on=back)]
        _record(ledgers, repaid)
    return ledgers, rules


def _section(text: str, title: str, following: str) -> str:
    start = text.index(title) + len(title)
    return text[start:text.index(following, start)]


def test_proposals_are_decisions_not_granted_advances(tmp_path: Path) -> None:
    import json

    ledgers, rules = _with_proposal_and_repaid(tmp_path)
    out = tmp_path / "mars.pdf"
    result = statement(ledgers, rules, out, "2026-03", "2026-04-15", "--json")
    assert result.exit_code == 0, result.output
    text = " ".join(pages_text(out))
    decisions = _section(text, "Décisions à prendre au prochain conseil", "Remboursements attendus")
    assert "BQA-2026-0002" in decisions and "Alpha → Beta" in decisions and "2 000,00 €" in decisions
    assert "CONV-7, échéance du 30/06/2026" in decisions and "1 proposition(s), 2 000,00 € au total" in decisions
    assert "BQA-2026-0001" not in decisions
    alpha = text[text.index("Alertes", text.index("Alpha (alpha)")):text.index("Beta (beta)")]
    granted = _section(alpha, "Avances consenties", "Avances reçues")
    assert "BQA-2026-0001" in granted and "BQA-2026-0003" in granted  # running; repaid on 25/03, in the month
    assert "BQA-2026-0002" not in granted and "BQA-2026-0004" not in granted  # proposed; repaid in February
    assert "Beta" in granted and "beta" not in granted.replace("Beta", "")  # the borrower by name, not by id
    proposed = _section(alpha, "Avances proposées (en attente du conseil du prêteur)", "Subventions attendues")
    assert "BQA-2026-0002" in proposed and "BQA-2026-0001" not in proposed
    doc = json.loads(result.stdout)
    assert doc["decisions"] == [{"advance": "BQA-2026-0002", "lender": "alpha", "borrower": "beta",
                                 "principal": "2000.00", "disburse_on": "2026-03-20", "repay_on": "2026-06-30",
                                 "convention": "CONV-7", "tranche_date": "2026-06-30"}]


def test_no_proposal_says_so_and_the_empty_accuracy_says_why(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    out = tmp_path / "mars.pdf"
    assert statement(ledgers, rules, out).exit_code == 0
    text = " ".join(pages_text(out))
    assert "Aucune proposition d'avance n'attend de décision au 31/03/2026." in text
    assert "Ce tableau est vide : le registre ne contient aucune prévision enregistrée avant le 31/03/2026" in text


def test_backfill_days_and_usage() -> None:
    from banquasso.commands.board import backfill_days

    day = dt.date(2026, 11, 30)
    assert backfill_days(day, 3, 1) == [dt.date(2026, 11, 27), dt.date(2026, 11, 28), dt.date(2026, 11, 29)]
    weekly = backfill_days(day, 91, 7)
    assert len(weekly) == 13 and weekly[0] == dt.date(2026, 8, 31) and weekly[-1] == dt.date(2026, 11, 23)
    result = CliRunner().invoke(main, ["scheduler", "--backfill", "7"])
    assert result.exit_code == 2 and "--backfill ne s'emploie qu'avec --run daily" in result.output


def test_backfilled_mornings_fill_the_accuracy_section(tmp_path: Path) -> None:
    """Mornings caught up as of 10, 17 and 24 March compare with the books of 31 March, once each."""
    ledgers, rules = lending_group(tmp_path)
    common = ["--ledgers", str(ledgers), "--rules", str(rules)]
    args = ["scheduler", "--run", "daily", "--as-of", "2026-03-31", "--backfill", "21", "--backfill-step", "7"]
    first = CliRunner().invoke(main, [*args, *common])
    assert first.exit_code == 0, first.output
    assert [line.split(" (")[0] for line in first.output.splitlines() if "rattrapage" in line] == [
        f"Prévision et alertes du matin du {d}" for d in ("10/03/2026", "17/03/2026", "24/03/2026")]
    again = CliRunner().invoke(main, [*args, *common])
    assert again.exit_code == 0 and again.output.count("déjà exécuté") == 4  # idempotent: nothing stored twice
    out = tmp_path / "mars.pdf"
    assert statement(ledgers, rules, out, "2026-03", "2026-04-15").exit_code == 0
    text = " ".join(pages_text(out))
    section = text[text.index("Fiabilité des prévisions passées"):]
    assert "Ce tableau est vide" not in section
    # Each morning compares the days after it up to 31/03: 21 + 14 + 7 = 42. Alpha's forecasts expect the
    # 2 000 € salaries on 28/03, which its books never record: -2 000 € on 28..31/03 in each morning. 1-7 days
    # ahead, only the 24/03 morning reaches them: 4 × 2 000 / 21 = 380,95 €; 8-30 days ahead, 4 days of the
    # 10/03 morning (8-21 days ahead) and 4 of the 17/03 one (8-14): 8 × 2 000 / 21 = 761,90 €; bias
    # -12 × 2 000 / 42 = -571,43 €. Beta's forecasts hold (no flow before 15/05).
    assert "Alpha 3 42 380,95 € 761,90 € — -571,43 € Beta 3 42 0,00 € 0,00 € — 0,00 €" in section
    assert "Groupe 3 42 380,95 € 761,90 € — -571,43 €" in section


@pytest.mark.slow
def test_demo_history_fills_the_accuracy_section(demo_copy: tuple[Path, Path], tmp_path: Path) -> None:
    """What `make demo` runs: 13 weekly mornings caught up, then the November statement compares them."""
    import json

    ledgers, rules = demo_copy
    common = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", DEMO_AS_OF]
    result = CliRunner().invoke(main, ["scheduler", "--run", "daily", "--backfill", "91", "--backfill-step", "7",
                                       *common])
    assert result.exit_code == 0, result.output
    out = tmp_path / "demo.pdf"
    assert CliRunner().invoke(main, ["statement", "--month", DEMO_AS_OF[:7], "-o", str(out), *common]).exit_code == 0
    report = json.loads(CliRunner().invoke(main, ["accuracy", "--json", *common]).stdout)
    assert report["group"]["snapshots"] == 13 and report["group"]["days_compared"] > 0
    text = " ".join(pages_text(out))
    section = text[text.index("Fiabilité des prévisions passées"):text.index("Écart : moyenne")]
    assert "Ce tableau est vide" not in section
    group = report["group"]["by_lead"]
    assert all(fr_money(Decimal(group[label])) in section for label in ("1-7", "8-30", "31-91"))


def test_a_second_statement_reads_no_ledger_and_a_new_morning_is_shown(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement's numbers are memoised: unchanged files answer before any ledger is read, the same bytes;
    a morning stored since (the registry's file changed) gives a statement computed again, which shows it."""
    from banquasso.statement import data as statement_data

    ledgers, rules = lending_group(tmp_path)
    first, second, third = tmp_path / "1.pdf", tmp_path / "2.pdf", tmp_path / "3.pdf"
    assert statement(ledgers, rules, first, "2026-03", "2026-04-15").exit_code == 0
    real_open = getattr(statement_data, "open_books")  # noqa: B009 - the module's own import, patched below
    opened: list[Path] = []

    def counting(*args: object, **kwargs: object) -> object:
        opened.append(Path(str(args[0])))
        return real_open(*args, **kwargs)

    monkeypatch.setattr(statement_data, "open_books", counting)
    assert statement(ledgers, rules, second, "2026-03", "2026-04-15").exit_code == 0
    assert opened == [] and second.read_bytes() == first.read_bytes()
    morning = CliRunner().invoke(main, ["scheduler", "--run", "daily", "--as-of", "2026-03-10",
                                        "--ledgers", str(ledgers), "--rules", str(rules)])
    assert morning.exit_code == 0, morning.output
    assert statement(ledgers, rules, third, "2026-03", "2026-04-15").exit_code == 0
    assert opened  # the registry changed: the books are read again
    section = " ".join(pages_text(third))
    assert "Ce tableau est vide" in " ".join(pages_text(first))
    assert "Ce tableau est vide" not in section[section.index("Fiabilité des prévisions passées"):]
