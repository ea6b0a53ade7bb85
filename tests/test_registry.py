"""The advance registry on SQLite and PostgreSQL: schema, ids, audit log, lifecycle and its refusals."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

from banquasso.commands.main import main
from banquasso.pool.guard import commitment_guard
from banquasso.registry import lifecycle
from banquasso.registry.db import DB_URL_ENV, alembic_config, open_registry, script_head
from banquasso.registry.models import AppendOnlyError, AuditLog
from banquasso.registry.service import Desk, Proposal, approve, confirm, disburse, load_view, propose, repay
from banquasso.terms.policy import default_policy
from comptasso.books.group import load_group
from tests.conftest import in_ci, write_group

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

OPENS = """
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Equity:102-Fonds-Associatifs EUR
2026-01-01 open Assets:441-Subventions-A-Recevoir:Region-Sud EUR
2026-01-01 open Income:741-Subventions-Exploitation:Region-Sud EUR
"""


def cash(amount: str) -> str:
    return f"""
2026-01-01 * "Apport" "Fonds associatifs"
  Assets:512-Banque  {amount} EUR
  Equity:102-Fonds-Associatifs  -{amount} EUR
"""


GRANT = """
2026-02-10 * "Région Sud" "Convention ESS-2026-042"
  convention: "ESS-2026-042"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir:Region-Sud    24000.00 EUR
  Income:741-Subventions-Exploitation:Region-Sud  -24000.00 EUR
2026-02-10 custom "subvention-echeance" "ESS-2026-042" 2026-12-31 24000.00 EUR
"""

RECEIPT = """
2027-01-10 * "Région Sud" "Versement ESS-2026-042"
  convention: "ESS-2026-042"
  Assets:512-Banque  24000.00 EUR
  Assets:441-Subventions-A-Recevoir:Region-Sud  -24000.00 EUR
"""

AS_OF = dt.date(2026, 11, 30)


def make_group(root: Path, *, pool: str | None = None, borrower_extra: str = "") -> tuple[Path, Path]:
    """Two members: `preteur` holds 50 000 €, `emprunteur` 2 000 € and a 24 000 € grant due 2026-12-31."""
    return write_group(root, {
        "preteur": OPENS + cash("50000.00"),
        "emprunteur": OPENS + cash("2000.00") + GRANT + borrower_extra,
    }, pool=pool)


def run(args: list[str], ledgers: Path, rules: Path, as_of: str = "2026-11-30") -> Result:
    """Run `banquasso ARGS --ledgers … --rules … --as-of …` in-process."""
    runner = CliRunner()
    return runner.invoke(main, [*args, "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", as_of],
                         catch_exceptions=False)


def propose_args(amount: str = "10000.00") -> list[str]:
    return ["advance", "propose", "--lender", "preteur", "--borrower", "emprunteur", "--amount", amount,
            "--disburse-on", "2026-12-01", "--repay-on", "2027-01-25", "--convention", "ESS-2026-042",
            "--tranche-date", "2026-12-31"]


def snapshot_files(ledgers: Path) -> dict[str, str]:
    """Every ledger file's content, to prove that nothing changed."""
    return {str(p.relative_to(ledgers)): p.read_text(encoding="utf-8") for p in sorted(ledgers.rglob("*.beancount"))}


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh registry URL, exported as $BANQUASSO_DB_URL: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'registre.db'}"
        monkeypatch.setenv(DB_URL_ENV, url)
        yield url
        return
    if not pg_available():
        message = "PostgreSQL injoignable sur 127.0.0.1:5432 (utilisateur postgres, base test)"
        if in_ci():
            pytest.fail(message + " — obligatoire quand CI=true")
        pytest.skip(message)
    import psycopg

    schema = f"bqa_{uuid.uuid4().hex[:12]}"
    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv(DB_URL_ENV, url)
    try:
        yield url
    finally:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def desk(ledgers: Path, rules: Path, as_of: dt.date = AS_OF, actor: str = "test") -> Desk:
    group, problems = load_group(ledgers)
    assert group is not None and not problems
    return Desk(ledgers, rules, open_registry(ledgers), default_policy(), group, as_of, actor, guard=commitment_guard)


PROPOSAL = Proposal("preteur", "emprunteur", Decimal("10000.00"), dt.date(2026, 12, 1), dt.date(2027, 1, 25),
                    "ESS-2026-042", dt.date(2026, 12, 31))


def test_head_constant_matches_the_migration_scripts() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == script_head() is not None


def test_migrations_create_every_table_once(db_url: str, tmp_path: Path) -> None:
    registry = open_registry(tmp_path / "ledgers", db_url)
    again = open_registry(tmp_path / "ledgers", db_url)  # idempotent: already at head
    with registry.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == script_head()
        for table in ("advance", "schedule_line", "payment", "posting", "audit_log"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    registry.close()
    again.close()


def test_sqlite_default_lives_in_var_beside_the_ledgers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    registry = open_registry(tmp_path / "ledgers")
    assert registry.label == str((tmp_path / "var" / "banquasso.db").resolve())
    assert (tmp_path / "var" / "banquasso.db").exists()


def test_audit_log_is_append_only_in_the_orm_and_in_the_database(db_url: str, tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    d = desk(ledgers, rules)
    [outcome] = propose(d, [PROPOSAL], None)
    assert outcome.ok
    with d.registry.session() as session:
        record = session.scalars(select(AuditLog)).one()
        assert (record.action, record.advance_id, record.actor, record.before) == (
            "propose", "BQA-2026-0001", "test", None)
        assert record.after is not None
        assert json.loads(record.after)["principal"] == "10000.00"
        record.actor = "quelqu'un d'autre"
        with pytest.raises(AppendOnlyError):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(AuditLog)).one())
        with pytest.raises(AppendOnlyError):
            session.flush()
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), d.registry.engine.begin() as conn:
            conn.execute(text(statement))
    with d.registry.engine.connect() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["test"]


def test_ids_are_allocated_per_year_and_a_plan_line_is_recorded_once(db_url: str, tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    d = desk(ledgers, rules)
    other = Proposal("preteur", "emprunteur", Decimal("3000.00"), dt.date(2026, 12, 2), dt.date(2027, 1, 25),
                     "ESS-2026-042", dt.date(2026, 12, 31))
    outcomes = propose(d, [PROPOSAL, other, PROPOSAL], None)
    assert [o.advance.id for o in outcomes if o.advance] == ["BQA-2026-0001", "BQA-2026-0002", "BQA-2026-0001"]
    assert "déjà enregistrée" in outcomes[2].messages[0]
    [next_year] = propose(desk(ledgers, rules, dt.date(2027, 1, 5)), [
        Proposal("preteur", "emprunteur", Decimal("1000.00"), dt.date(2027, 1, 6), dt.date(2027, 3, 1), None,
                 None, "bullet")], None)
    assert next_year.advance is not None and next_year.advance.id == "BQA-2027-0001"


def test_money_and_dates_round_trip_as_decimal_and_date(db_url: str, tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    d = desk(ledgers, rules)
    propose(d, [Proposal("preteur", "emprunteur", Decimal("1234.56"), dt.date(2026, 12, 1), dt.date(2027, 1, 25),
                         "ESS-2026-042", dt.date(2026, 12, 31))], None)
    view = load_view(d.registry, "BQA-2026-0001")
    assert view is not None
    assert view.principal == Decimal("1234.56") and isinstance(view.principal, Decimal)
    assert view.lines[0].principal == Decimal("1234.56") and view.lines[0].date == dt.date(2027, 1, 25)
    assert view.tranche_date == dt.date(2026, 12, 31) and view.method == "on-receipt" and view.grace_days == 15


def test_full_lifecycle_through_the_service(db_url: str, tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    propose(desk(ledgers, rules), [PROPOSAL], None)
    assert approve(desk(ledgers, rules), "BQA-2026-0001", "Marie Durand", "CA-2026-11-28").ok
    assert disburse(desk(ledgers, rules, dt.date(2026, 12, 1)), "BQA-2026-0001", dt.date(2026, 12, 1)).ok
    assert confirm(desk(ledgers, rules, dt.date(2026, 12, 2)), "BQA-2026-0001").ok
    first = repay(desk(ledgers, rules, dt.date(2027, 1, 5)), "BQA-2026-0001", Decimal("4000.00"), dt.date(2027, 1, 5))
    assert first.ok and first.advance is not None and first.advance.state == lifecycle.PARTLY_REPAID
    last = repay(desk(ledgers, rules, dt.date(2027, 1, 20)), "BQA-2026-0001", Decimal("6000.00"), dt.date(2027, 1, 20))
    assert last.ok and last.advance is not None and last.advance.state == lifecycle.REPAID
    view = load_view(desk(ledgers, rules).registry, "BQA-2026-0001")
    assert view is not None
    assert [(p.event, p.principal) for p in view.payments] == [
        ("BQA-2026-0001/disburse", Decimal("10000.00")), ("BQA-2026-0001/repay/2027-01-05-4000.00", Decimal("4000.00")),
        ("BQA-2026-0001/repay/2027-01-20-6000.00", Decimal("6000.00"))]
    assert view.outstanding == 0
    with desk(ledgers, rules).registry.session() as session:
        actions = session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["propose", "approve", "disburse", "confirm", "repay", "repay"]


def test_interest_is_paid_first_then_principal(db_url: str, tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path, pool="[terms]\nrate = 0.0365\ndefault_method = \"bullet\"\n")
    d = desk(ledgers, rules)
    d = Desk(d.ledgers_dir, d.rules_dir, d.registry, d.policy.model_copy(update={
        "terms": d.policy.terms.model_copy(update={"rate": Decimal("0.0365"), "default_method": "bullet"})}),
        d.group, d.as_of, d.actor)
    propose(d, [Proposal("preteur", "emprunteur", Decimal("10000.00"), dt.date(2026, 12, 1), dt.date(2027, 3, 1))],
            None)
    approve(d, "BQA-2026-0001", "Marie", "CA-1")
    d = replace(d, as_of=dt.date(2026, 12, 1))
    assert disburse(d, "BQA-2026-0001", dt.date(2026, 12, 1)).ok
    assert confirm(d, "BQA-2026-0001").ok
    d = replace(d, as_of=dt.date(2026, 12, 31))
    # 10 days at 3.65 % ACT/365 on 10 000 € = 10.00 €; the rest goes to the principal.
    outcome = repay(d, "BQA-2026-0001", Decimal("1010.00"), dt.date(2026, 12, 11))
    assert outcome.ok and outcome.advance is not None
    payment = outcome.advance.payments[-1]
    assert (payment.interest, payment.principal) == (Decimal("10.00"), Decimal("1000.00"))
    lender_file = (ledgers / "preteur" / "banquasso.beancount").read_text(encoding="utf-8")
    assert "Income:768-Interets-BanquAsso" in lender_file and "-10.00 EUR" in lender_file
    # 9 000 € for 20 more days = 18.00 €: paying 9 018.01 € is one cent too much.
    too_much = repay(d, "BQA-2026-0001", Decimal("9018.01"), dt.date(2026, 12, 31))
    assert not too_much.ok and "9 018,00 €" in too_much.problems[0].message


@pytest.mark.parametrize(("steps", "args", "message"), [
    ([], ["advance", "approve", "BQA-2026-0042", "--by", "M", "--decision", "CA"], "avance inconnue « BQA-2026-0042 »"),
    ([], ["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-01"],
     "impossible de verser une avance proposée : elle doit d'abord être approuvée"),
    (["approve"], ["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", "CA"],
     "impossible d'approuver une avance approuvée"),
    (["approve", "disburse"], ["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-02"],
     "impossible de verser une avance versée : elle est déjà versée"),
    (["approve", "disburse"], ["advance", "repay", "BQA-2026-0001", "--amount", "10", "--on", "2026-12-02"],
     "le versement n'est pas encore confirmé par la banque"),
    (["approve", "disburse", "confirm"],
     ["advance", "repay", "BQA-2026-0001", "--amount", "10000.01", "--on", "2026-12-02"],
     "remboursement de 10 000,01 € supérieur à ce qui reste dû le 02/12/2026 : 10 000,00 €"),
    (["approve", "disburse", "confirm"], ["advance", "repay", "BQA-2026-0001", "--amount", "-5", "--on", "2026-12-02"],
     "montant invalide -5"),
    (["approve", "disburse", "confirm"],
     ["advance", "repay", "BQA-2026-0001", "--amount", "5", "--on", "2026-11-20"],
     "avant le dernier mouvement de l'avance (01/12/2026)"),
    (["reject"], ["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", "CA"],
     "impossible d'approuver une avance rejetée : elle a été rejetée"),
    (["approve"], ["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", " "],
     "impossible d'approuver une avance approuvée"),
    ([], ["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", " "],
     "l'approbation exige --by (qui approuve) et --decision"),
    (["approve", "disburse"], ["advance", "reject", "BQA-2026-0001", "--by", "M", "--reason", "non"],
     "impossible de rejeter une avance versée"),
])
def test_refusals_are_clear_and_change_nothing(db_url: str, tmp_path: Path, steps: list[str], args: list[str],
                                               message: str) -> None:
    ledgers, rules = make_group(tmp_path)
    assert run(propose_args(), ledgers, rules).exit_code == 0
    setup = {
        "approve": ["advance", "approve", "BQA-2026-0001", "--by", "Marie", "--decision", "CA-2026-11"],
        "reject": ["advance", "reject", "BQA-2026-0001", "--by", "Marie", "--reason", "trop tard"],
        "disburse": ["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-01"],
        "confirm": ["advance", "confirm", "BQA-2026-0001"],
    }
    for step in steps:
        assert run(setup[step], ledgers, rules, "2026-12-01").exit_code == 0
    files = snapshot_files(ledgers)
    before = run(["advance", "show", "BQA-2026-0001", "--json"], ledgers, rules, "2026-12-02").output
    result = run(args, ledgers, rules, "2026-12-02")
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert snapshot_files(ledgers) == files
    assert run(["advance", "show", "BQA-2026-0001", "--json"], ledgers, rules, "2026-12-02").output == before


@pytest.mark.parametrize("args", [
    ["advance", "approve", "BQA-2026-0001", "--by", "Marie"],
    ["advance", "approve", "BQA-2026-0001", "--decision", "CA-1"],
    ["advance", "reject", "BQA-2026-0001", "--by", "Marie"],
    ["advance", "repay", "BQA-2026-0001", "--amount", "douze", "--on", "2026-12-02"],
    ["advance", "disburse", "BQA-2026-0001", "--on", "2026-13-01"],
    ["advance", "propose", "--lender", "preteur"],
])
def test_usage_errors_exit_2_with_a_french_message(tmp_path: Path, args: list[str]) -> None:
    ledgers, rules = make_group(tmp_path)
    result = run(args, ledgers, rules)
    assert result.exit_code == 2
    assert any(word in result.output for word in ("exige", "montant invalide", "date invalide", "il faut"))


def test_proposals_are_checked_against_the_group_and_the_policy(tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    bad = [
        (["--lender", "inconnu"], "prêteur inconnu « inconnu »"),
        (["--borrower", "preteur"], "deux membres différents"),
        (["--amount", "0"], "montant invalide 0"),
        (["--repay-on", "2026-11-01"], "doit suivre le versement"),
        (["--repay-on", "2028-01-01"], "au-delà de limits.max_days = 365"),
        (["--convention", "XYZ"], "convention « XYZ » absente du livre de emprunteur"),
        (["--tranche-date", "2026-06-30"], "pas d'échéance le 30/06/2026"),
    ]
    for override, message in bad:
        args = propose_args()
        for option, value in zip(override[::2], override[1::2], strict=True):
            args[args.index(option) + 1] = value
        result = run(args, ledgers, rules)
        assert result.exit_code == 1 and message in result.output, (override, result.output)
    assert "Aucune avance." in run(["advance", "list"], ledgers, rules).output


def test_lifecycle_table() -> None:
    assert lifecycle.refusal(lifecycle.PROPOSED, "approve") is None
    assert lifecycle.after(lifecycle.PROPOSED, "approve") == lifecycle.APPROVED
    assert lifecycle.after(lifecycle.CONFIRMED, "repay", Decimal("1")) == lifecycle.PARTLY_REPAID
    assert lifecycle.after(lifecycle.PARTLY_REPAID, "repay", Decimal("0.00")) == lifecycle.REPAID
    assert lifecycle.after(lifecycle.DISBURSED, "confirm") == lifecycle.CONFIRMED
    assert lifecycle.after(lifecycle.PARTLY_REPAID, "confirm") == lifecycle.PARTLY_REPAID
    assert lifecycle.effective(lifecycle.CONFIRMED, True) == lifecycle.LATE
    assert lifecycle.effective(lifecycle.REPAID, True) == lifecycle.REPAID
    for action, allowed in lifecycle.ALLOWED.items():
        for state in lifecycle.STATES:
            assert (lifecycle.refusal(state, action) is None) == (state in allowed)


def test_on_receipt_repayment_falls_due_grace_days_after_the_tranche_and_then_late(tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    run(propose_args(), ledgers, rules)
    run(["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", "CA"], ledgers, rules)
    disbursed = run(["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-01"], ledgers, rules, "2026-12-01")
    assert disbursed.exit_code == 0
    run(["advance", "confirm", "BQA-2026-0001"], ledgers, rules, "2026-12-01")
    before = json.loads(run(["advance", "show", "BQA-2026-0001", "--json"], ledgers, rules, "2027-02-20").output)
    # Not received yet: the planned date passed, but an on-receipt line is not due before the money comes.
    assert before["advance"]["due"][0] == {"n": 1, "date": "2027-01-25", "principal": "10000.00",
                                           "interest": "0.00", "planned": True}
    assert before["advance"]["status"] == "confirmed"
    main_file = ledgers / "emprunteur" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + RECEIPT, encoding="utf-8")
    on_time = json.loads(run(["advance", "show", "BQA-2026-0001", "--json"], ledgers, rules, "2027-01-25").output)
    assert on_time["advance"]["tranche_received_on"] == "2027-01-10"
    assert on_time["advance"]["due"][0]["date"] == "2027-01-25" and not on_time["advance"]["due"][0]["planned"]
    assert on_time["advance"]["status"] == "confirmed"
    late = json.loads(run(["advance", "show", "BQA-2026-0001", "--json"], ledgers, rules, "2027-01-26").output)
    assert (late["advance"]["status"], late["advance"]["late_since"]) == ("late", "2027-01-25")
    listed = run(["advance", "list", "--status", "late"], ledgers, rules, "2027-01-26").output
    assert "BQA-2026-0001" in listed and "en retard" in listed


def test_postgres_is_really_used_when_the_url_says_so(db_url: str, tmp_path: Path) -> None:
    ledgers, _ = make_group(tmp_path)
    registry = open_registry(ledgers)
    assert registry.engine.dialect.name == ("postgresql" if db_url.startswith("postgresql") else "sqlite")
    assert os.environ[DB_URL_ENV] == db_url


def test_dry_run_shows_the_entries_and_changes_nothing(tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    run(propose_args(), ledgers, rules)
    dry = run(["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", "CA", "--dry-run"], ledgers, rules)
    assert dry.exit_code == 0 and "essai à blanc" in dry.output
    assert "proposée" in run(["advance", "list"], ledgers, rules).output
    run(["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", "CA"], ledgers, rules)
    files = snapshot_files(ledgers)
    result = run(["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-01", "--dry-run"], ledgers, rules,
                 "2026-12-01")
    assert result.exit_code == 0
    assert '2026-12-01 ! "BanquAsso" "Avance BQA-2026-0001 à Emprunteur"' in result.output
    assert "Liabilities:1687-Avances-BanquAsso:Preteur     -10000.00 EUR" in result.output
    assert snapshot_files(ledgers) == files
    shown = json.loads(run(["advance", "show", "BQA-2026-0001", "--json"], ledgers, rules).stdout)
    assert shown["advance"]["state"] == "approved" and shown["advance"]["payments"] == []


def test_list_and_show_in_french_and_json(tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    run(propose_args(), ledgers, rules)
    run(["advance", "approve", "BQA-2026-0001", "--by", "Marie Durand", "--decision", "CA-2026-11"], ledgers, rules)
    run(["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-01"], ledgers, rules, "2026-12-01")
    text = run(["advance", "show", "BQA-2026-0001"], ledgers, rules, "2026-12-01").output
    for expected in ("Avance BQA-2026-0001 — versée", "Montant        : 10 000,00 €, taux 0,00 %",
                     "Approbation    : Marie Durand, décision CA-2026-11 du 30/11/2026",
                     "01/12/2026  versement         10 000,00 €  ! à confirmer  (BQA-2026-0001/disburse)",
                     "convention ESS-2026-042, échéance du 31/12/2026, pas encore encaissée (grâce 15 j)"):
        assert expected in text, text
    listed = json.loads(run(["advance", "list", "--json", "--member", "emprunteur"], ledgers, rules,
                            "2026-12-01").stdout)
    [advance] = listed["advances"]
    assert listed["as_of"] == "2026-12-01"
    assert {k: advance[k] for k in ("id", "lender", "borrower", "principal", "status", "outstanding")} == {
        "id": "BQA-2026-0001", "lender": "preteur", "borrower": "emprunteur", "principal": "10000.00",
        "status": "disbursed", "outstanding": "10000.00"}
    assert advance["secured_by"] == {"convention": "ESS-2026-042", "tranche_date": "2026-12-31"}
    assert json.loads(run(["advance", "list", "--json", "--status", "repaid"], ledgers, rules).stdout)["advances"] == []
    unknown_member = run(["advance", "list", "--member", "personne"], ledgers, rules)
    assert unknown_member.exit_code == 2 and "membre inconnu « personne »" in unknown_member.output
    missing = run(["advance", "show", "BQA-2026-0007"], ledgers, rules)
    assert missing.exit_code == 1
    assert "avance inconnue « BQA-2026-0007 » (dernières avances : BQA-2026-0001)" in missing.output
