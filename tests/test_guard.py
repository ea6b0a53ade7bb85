"""The commitment guard and the lifecycle under the lock: every bullet of issue 11, replayed on inline ledgers.

`preteur` holds 50 000 €, `emprunteur` 2 000 € and a Région grant of 24 000 € due 2026-12-31
(haircut 0.8: it secures at most 19 200 €). The floor is 5 000 €.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from banquasso.pool.guard import commitment_guard
from banquasso.registry.db import open_registry
from banquasso.registry.models import AuditLog
from banquasso.registry.service import load_view, load_views
from banquasso.registry.snapshot import view_as_of
from banquasso.terms import rules
from banquasso.terms.policy import default_policy
from comptasso.books.facade import open_books
from tests.test_registry import db_url, make_group, propose_args, run, snapshot_files  # noqa: F401 - fixture

ID1, ID2 = "BQA-2026-0001", "BQA-2026-0002"
USERS = """
[[users]]
login = "tresorier-preteur"
role = "treasurer"
member = "preteur"
password_hash = "$argon2id$v=19$m=65536,t=3,p=4$gR18Aw+RM5ufC00ao/TNbg$P414DCu+4DvReIW2z4j9U07U+B8eyBYyiUZbiLZEoBQ"

[[users]]
login = "tresorier-emprunteur"
role = "treasurer"
member = "emprunteur"
password_hash = "$argon2id$v=19$m=65536,t=3,p=4$gR18Aw+RM5ufC00ao/TNbg$P414DCu+4DvReIW2z4j9U07U+B8eyBYyiUZbiLZEoBQ"
"""


def approve_args(advance: str) -> list[str]:
    return ["advance", "approve", advance, "--by", "Marie", "--decision", "CA-2026-11"]


def state(ledgers: Path, rules_dir: Path, as_of: str = "2026-11-30") -> tuple[dict[str, str], str]:
    """Every ledger file and the registry's JSON listing: what a refusal must leave unchanged."""
    return snapshot_files(ledgers), run(["advance", "list", "--json"], ledgers, rules_dir, as_of).stdout


def refused(result_output: str, exit_code: int, *needles: str) -> None:
    assert exit_code == 1, result_output
    for needle in needles:
        assert needle in result_output, (needle, result_output)


# --- the rules, one function each ------------------------------------------------------------------

def test_each_rule_names_its_key_and_the_figures() -> None:
    assert rules.check_min_advance(Decimal("999.99"), Decimal(1000)).key == "limits.min_advance"  # type: ignore[union-attr]
    assert rules.check_min_advance(Decimal(1000), Decimal(1000)) is None
    long = rules.check_duration(dt.date(2026, 1, 1), dt.date(2031, 1, 3), 365)
    assert long is not None and long.code == rules.LEGAL_MAX_DAYS_CODE and long.legal
    policy_only = rules.check_duration(dt.date(2026, 1, 1), dt.date(2027, 1, 3), 365)
    assert policy_only is not None and policy_only.code == rules.MAX_DAYS and not policy_only.legal
    cap = rules.check_borrower_cap("velo-gap", Decimal("24060.86"), dt.date(2026, 12, 3), Decimal(18000))
    assert cap is not None and "24 060,86 €" in cap.message and "18 000,00 €" in cap.message
    assert rules.check_security("T", Decimal("15876.86"), rules.security_cap(Decimal("0.8"), Decimal(12550)),
                                "haircut.region") is not None
    assert rules.security_cap(Decimal("0.8"), Decimal(12550)) == Decimal("10040.00")
    assert rules.legal_room(Decimal(10000), Decimal("0.5"), Decimal(6000)) == 0
    assert rules.lender_room(Decimal(-5), Decimal("0.8")) == 0
    net = rules.check_net_cash_cap("p", dt.date(2026, 1, 1), Decimal(10000), Decimal("0.5"), Decimal("5000.01"))
    assert net is not None and net.legal
    assert rules.check_rate(Decimal("0.04"), Decimal("0.035")) is not None


# --- one guard for every commitment ------------------------------------------------------------------

@pytest.mark.usefixtures("db_url")
def test_a_second_approval_past_the_borrower_cap_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path, pool="[limits]\nmax_advance_per_borrower = 18000\n")
    assert run(propose_args("9000.00"), ledgers, rules_dir).exit_code == 0
    second = propose_args("9500.00")
    second[second.index("--disburse-on") + 1] = "2026-12-02"
    assert run(second, ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    before = state(ledgers, rules_dir)
    result = run(approve_args(ID2), ledgers, rules_dir)
    refused(result.output, result.exit_code, "limits.max_advance_per_borrower", "18 500,00 €", "18 000,00 €")
    assert state(ledgers, rules_dir) == before
    assert load_view(open_registry(ledgers), ID2).state == "proposed"  # type: ignore[union-attr]


def test_a_tranche_secures_at_most_haircut_times_its_open_amount_across_advances(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args("10000.00"), ledgers, rules_dir).exit_code == 0
    second = propose_args("9500.00")
    second[second.index("--disburse-on") + 1] = "2026-12-02"
    assert run(second, ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    result = run(approve_args(ID2), ledgers, rules_dir)
    refused(result.output, result.exit_code, "haircut.region", "19 500,00 €", "19 200,00 €", "ESS-2026-042")


def test_a_huge_typed_in_advance_is_refused_naming_every_rule(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    before = state(ledgers, rules_dir)
    result = run(propose_args("1000000000000"), ledgers, rules_dir)
    refused(result.output, result.exit_code, "floor.fixed", "limits.max_lender_share",
            "limits.max_advance_per_borrower", "limits.max_lent_share_of_net_cash", "haircut.region")
    assert state(ledgers, rules_dir) == before


def test_the_guard_returns_codes_not_text(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    books, _ = open_books(ledgers, rules_dir)
    assert books is not None
    [view] = load_views(open_registry(ledgers))
    huge = replace(view, principal=Decimal("46000.00"), state="approved")
    found = {b.code for b in commitment_guard(books, default_policy(), [], huge, dt.date(2026, 11, 30))}
    assert found == {rules.MAX_LENDER_SHARE, rules.MAX_PER_BORROWER, rules.SECURITY_CAP, rules.FLOOR,
                     rules.NET_CASH_CAP, rules.DEPENDENCE}  # 46 000 € owed for 24 000 € of resources
    assert commitment_guard(books, default_policy(), [], view, dt.date(2026, 11, 30)) == []


def test_disbursement_re_checks_against_what_was_committed_since(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path, pool="[limits]\nmax_advance_per_borrower = 18000\n")
    assert run(propose_args("9000.00"), ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    # The cap is lowered after the approval: the disbursement sees it.
    (rules_dir / "pool.toml").write_text("[limits]\nmax_advance_per_borrower = 5000\n", encoding="utf-8")
    before = state(ledgers, rules_dir, "2026-12-01")
    result = run(["advance", "disburse", ID1, "--on", "2026-12-01"], ledgers, rules_dir, "2026-12-01")
    refused(result.output, result.exit_code, "limits.max_advance_per_borrower", "9 000,00 €", "5 000,00 €")
    assert state(ledgers, rules_dir, "2026-12-01") == before


def test_the_treasurer_may_override_a_policy_rule_with_a_reason_recorded_in_the_audit_log(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path, pool="[limits]\nmax_advance_per_borrower = 8000\n")
    (rules_dir / "users.toml").write_text(USERS, encoding="utf-8")
    force = ["--force", "--reason", "subvention notifiée, versement certain"]
    not_treasurer = run([*propose_args("9000.00"), *force, "--by", "tresorier-emprunteur"], ledgers, rules_dir)
    refused(not_treasurer.output, not_treasurer.exit_code, "seul·e le·la trésorier·e de preteur")
    without_reason = run([*propose_args("9000.00"), "--force", "--by", "tresorier-preteur"], ledgers, rules_dir)
    assert without_reason.exit_code == 2 and "--force exige --reason" in without_reason.output
    result = run([*propose_args("9000.00"), *force, "--by", "tresorier-preteur"], ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    assert "dérogation de tresorier-preteur à limits.max_advance_per_borrower" in result.output
    with open_registry(ledgers).session() as session:
        record = session.scalars(select(AuditLog)).one()
    assert record.actor == "tresorier-preteur" and "subvention notifiée" in (record.reason or "")


def test_no_override_passes_a_legal_cap(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path, pool="[limits]\nmax_lent_share_of_net_cash = 0.1\n")
    (rules_dir / "users.toml").write_text(USERS, encoding="utf-8")
    before = state(ledgers, rules_dir)
    result = run([*propose_args("6000.00"), "--force", "--reason", "urgence", "--by", "tresorier-preteur"],
                 ledgers, rules_dir)
    refused(result.output, result.exit_code, "limits.max_lent_share_of_net_cash", "dérogation impossible")
    assert state(ledgers, rules_dir) == before
    bullet = [a for a in propose_args("1000.00") if a not in ("--convention", "ESS-2026-042", "--tranche-date",
                                                              "2026-12-31")] + ["--method", "bullet"]
    force = ["--force", "--reason", "chantier long", "--by", "tresorier-preteur"]
    past_five_years = bullet.copy()
    past_five_years[past_five_years.index("--repay-on") + 1] = "2032-01-01"
    result = run([*past_five_years, *force], ledgers, rules_dir)
    refused(result.output, result.exit_code, "au plus 5 ans")  # the schedule itself refuses it, force or not
    past_policy = bullet.copy()
    past_policy[past_policy.index("--repay-on") + 1] = "2028-01-05"  # 400 days: the policy's 365, not the law's
    assert run(past_policy, ledgers, rules_dir).exit_code == 1
    result = run([*past_policy, *force], ledgers, rules_dir)
    assert result.exit_code == 0 and "limits.max_days" in result.output, result.output


# --- the plan of the day ----------------------------------------------------------------------------

@pytest.mark.usefixtures("db_url")
def test_the_plan_of_a_day_is_recorded_once_and_a_new_day_supersedes_it(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    first = run(["advance", "propose", "--json"], ledgers, rules_dir)
    assert first.exit_code == 0, first.output
    planned = json.loads(first.stdout)["advances"]
    assert planned and all(a["origin"] == "plan" for a in planned)
    again = run(["advance", "propose"], ledgers, rules_dir)
    assert again.exit_code == 0 and "déjà enregistré" in again.output
    assert len(load_views(open_registry(ledgers))) == len(planned)
    later = run(["advance", "propose", "--json"], ledgers, rules_dir, "2026-12-01")
    assert later.exit_code == 0, later.output
    views = {v.id: v for v in load_views(open_registry(ledgers))}
    assert all(views[item["id"]].state == "superseded" for item in planned)
    fresh = [v for v in views.values() if v.state == "proposed"]
    assert fresh and all(v.proposed_on == dt.date(2026, 12, 1) for v in fresh)
    with open_registry(ledgers).session() as session:
        reasons = session.scalars(select(AuditLog.reason).where(AuditLog.action == "supersede")).all()
    assert reasons == ["remplacée par le plan du 01/12/2026"] * len(planned)
    # An approved advance is committed: the same day's plan is not re-run, a later one never touches it.
    assert run(approve_args(fresh[0].id), ledgers, rules_dir, "2026-12-01").exit_code == 0
    assert "déjà enregistré" in run(["advance", "propose"], ledgers, rules_dir, "2026-12-01").output
    assert run(["advance", "propose"], ledgers, rules_dir, "2026-12-02").exit_code == 0
    kept = load_view(open_registry(ledgers), fresh[0].id)
    assert kept is not None and (kept.state, kept.lender, kept.principal) == (
        "approved", fresh[0].lender, fresh[0].principal)
    assert "remplacée" in run(["advance", "list"], ledgers, rules_dir, "2026-12-02").output


# --- state changes decided under the lock -------------------------------------------------------------

def running(tmp_path: Path, amount: str = "10000.00") -> tuple[Path, Path]:
    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args(amount), ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    assert run(["advance", "disburse", ID1, "--on", "2026-12-01"], ledgers, rules_dir, "2026-12-01").exit_code == 0
    return ledgers, rules_dir


@pytest.mark.usefixtures("db_url")
def test_repaying_twice_with_the_same_reference_writes_it_once(tmp_path: Path) -> None:
    ledgers, rules_dir = running(tmp_path)
    assert run(["advance", "confirm", ID1], ledgers, rules_dir, "2026-12-01").exit_code == 0
    repay = ["advance", "repay", ID1, "--amount", "1000", "--on", "2026-12-10"]
    assert run(repay, ledgers, rules_dir, "2026-12-10").exit_code == 0
    files = snapshot_files(ledgers)
    rerun = run(repay, ledgers, rules_dir, "2026-12-10")
    assert rerun.exit_code == 0 and "déjà enregistré" in rerun.output
    assert snapshot_files(ledgers) == files
    conflict = run(["advance", "repay", ID1, "--amount", "999", "--on", "2026-12-10", "--ref", "2026-12-10-1000.00"],
                   ledgers, rules_dir, "2026-12-10")
    refused(conflict.output, conflict.exit_code, "déjà celle du remboursement")
    second = run([*repay, "--ref", "VIR-0002"], ledgers, rules_dir, "2026-12-10")
    assert second.exit_code == 0 and "reste dû 8 000,00 €" in second.output
    assert run(["reconcile"], ledgers, rules_dir, "2026-12-10").exit_code == 0


@pytest.mark.parametrize("args", [
    ["advance", "repay", ID1, "--amount", "1000", "--on", "2030-01-10"],
    ["advance", "disburse", ID1, "--on", "2026-12-05"],
])
def test_no_movement_is_dated_after_as_of(tmp_path: Path, args: list[str]) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args(), ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    before = state(ledgers, rules_dir)
    result = run(args, ledgers, rules_dir, "2026-12-01")
    refused(result.output, result.exit_code, "après la date du jour 01/12/2026")
    assert state(ledgers, rules_dir) == before


# --- reproducible as-of ------------------------------------------------------------------------------

def test_results_as_of_a_past_day_do_not_change_when_later_events_are_recorded(tmp_path: Path) -> None:
    ledgers, rules_dir = running(tmp_path)
    assert run(["advance", "confirm", ID1], ledgers, rules_dir, "2026-12-01").exit_code == 0
    forecast = ["forecast", "--json", "--horizon", "60"]
    past = run(forecast, ledgers, rules_dir, "2026-12-05").stdout
    listed = run(["advance", "list", "--json"], ledgers, rules_dir, "2026-12-05").stdout
    assert run(["advance", "repay", ID1, "--amount", "10000", "--on", "2027-01-10"],
               ledgers, rules_dir, "2027-01-10").exit_code == 0
    assert run(forecast, ledgers, rules_dir, "2026-12-05").stdout == past
    assert run(["advance", "list", "--json"], ledgers, rules_dir, "2026-12-05").stdout == listed
    assert "remboursée" not in run(["advance", "list"], ledgers, rules_dir, "2026-12-05").output
    assert "remboursée" in run(["advance", "list"], ledgers, rules_dir, "2027-01-10").output
    view = load_view(open_registry(ledgers), ID1)
    assert view is not None and view_as_of(view, dt.date(2026, 11, 29)) is None  # proposed on 2026-11-30


def test_after_a_partial_repayment_interest_runs_from_the_last_movement(tmp_path: Path) -> None:
    pool = "[terms]\nmax_rate = 0.04\nrate = 0.0365\ndefault_method = \"bullet\"\n"
    ledgers, rules_dir = make_group(tmp_path, pool=pool)
    args = [a for a in propose_args() if a not in ("--convention", "ESS-2026-042", "--tranche-date", "2026-12-31")]
    assert run(args, ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    assert run(["advance", "disburse", ID1, "--on", "2026-12-01"], ledgers, rules_dir, "2026-12-01").exit_code == 0
    assert run(["advance", "confirm", ID1], ledgers, rules_dir, "2026-12-01").exit_code == 0
    assert run(["advance", "repay", ID1, "--amount", "4010", "--on", "2026-12-11"],
               ledgers, rules_dir, "2026-12-11").exit_code == 0
    shown = json.loads(run(["advance", "show", ID1, "--json"], ledgers, rules_dir, "2026-12-11").stdout)
    [rest] = shown["advance"]["remaining"]
    # 6 000 € from 2026-12-11 to 2027-01-25 (45 days) at 3.65 % ACT/365 = 27.00 €, not the original line's share.
    assert (rest["date"], rest["principal"], rest["interest"]) == ("2027-01-25", "6000.00", "27.00")
    text = run(["advance", "show", ID1], ledgers, rules_dir, "2026-12-11").output
    assert "Reste à rembourser" in text
    too_much = run(["advance", "repay", ID1, "--amount", "6027.01", "--on", "2027-01-25"],
                   ledgers, rules_dir, "2027-01-25")
    assert too_much.exit_code == 1 and "6 027,00 €" in too_much.output
    assert run(["advance", "repay", ID1, "--amount", "6027.00", "--on", "2027-01-25"],
               ledgers, rules_dir, "2027-01-25").exit_code == 0


# --- decisions on codes, never on message text ---------------------------------------------------------

STRAY = """
2026-12-05 * "Main" "Écriture ajoutée à la main"
  advance: "BQA-2099-0001"
  event: "BQA-2099-0001/disburse"
  Assets:512-Banque  1.00 EUR
  Equity:102-Fonds-Associatifs  -1.00 EUR
"""


def test_an_unknown_advance_entry_blocks_a_write_whatever_its_message_says(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from banquasso.registry import movements
    from banquasso.registry import reconcile as reconcile_module

    ledgers, rules_dir = running(tmp_path)
    assert run(["advance", "confirm", ID1], ledgers, rules_dir, "2026-12-01").exit_code == 0
    engine = ledgers / "emprunteur" / "banquasso.beancount"
    engine.write_text(engine.read_text(encoding="utf-8") + STRAY, encoding="utf-8")

    def reworded(*args: object, **kwargs: object) -> reconcile_module.Reconciliation:
        result = reconcile_module.reconcile(*args, **kwargs)  # type: ignore[arg-type]
        return replace(result, mismatches=tuple(replace(p, message="texte reformulé") for p in result.mismatches))

    monkeypatch.setattr(movements, "reconcile", reworded)
    files = snapshot_files(ledgers)
    result = run(["advance", "repay", ID1, "--amount", "100", "--on", "2026-12-10"], ledgers, rules_dir, "2026-12-10")
    refused(result.output, result.exit_code, "texte reformulé", "ne concordent pas")
    assert snapshot_files(ledgers) == files


def test_a_decision_recorded_later_is_not_seen_as_of_an_earlier_day(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args(), ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir, "2026-12-01").exit_code == 0
    assert run(["advance", "reject", ID1, "--by", "M", "--reason", "annulée"], ledgers, rules_dir,
               "2026-12-05").exit_code == 0
    registry = open_registry(ledgers)
    states = {day: getattr(load_view(registry, ID1, dt.date(2026, 12, day)), "state", None) for day in (1, 4, 5)}
    assert states == {1: "approved", 4: "approved", 5: "rejected"}
    assert getattr(load_view(registry, ID1, dt.date(2026, 11, 30)), "state", None) == "proposed"
    assert load_views(registry, dt.date(2026, 11, 29)) == []


def test_an_approval_is_overridden_by_the_lenders_treasurer_named_by_banquasso_user(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules_dir = make_group(tmp_path, pool="[limits]\nmax_advance_per_borrower = 18000\n")
    (rules_dir / "users.toml").write_text(USERS, encoding="utf-8")
    assert run(propose_args("9000.00"), ledgers, rules_dir).exit_code == 0
    second = propose_args("9500.00")
    second[second.index("--disburse-on") + 1] = "2026-12-02"
    assert run(second, ledgers, rules_dir).exit_code == 0
    assert run(approve_args(ID1), ledgers, rules_dir).exit_code == 0
    force = [*approve_args(ID2), "--force", "--reason", "accord du conseil"]
    monkeypatch.setenv("BANQUASSO_USER", "tresorier-emprunteur")
    refused_output = run(force, ledgers, rules_dir)
    refused(refused_output.output, refused_output.exit_code, "« tresorier-emprunteur » ne l'est pas")
    monkeypatch.setenv("BANQUASSO_USER", "tresorier-preteur")
    result = run(force, ledgers, rules_dir)
    assert result.exit_code == 0 and "dérogation de tresorier-preteur" in result.output, result.output
    with open_registry(ledgers).session() as session:
        record = session.scalars(select(AuditLog).where(AuditLog.advance_id == ID2,
                                                        AuditLog.action == "approve")).one()
    assert record.actor == "Marie" and "tresorier-preteur" in (record.reason or "")


def test_a_member_whose_books_do_not_load_cannot_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from banquasso.forecast.daily import read_group

    ledgers, rules_dir = make_group(tmp_path)
    assert run(propose_args("1000.00"), ledgers, rules_dir).exit_code == 0
    books, _ = open_books(ledgers, rules_dir)
    assert books is not None
    [view] = load_views(open_registry(ledgers))
    real = read_group

    def without_lender(*args: object, **kwargs: object) -> object:
        outlook, problems = real(*args, **kwargs)  # type: ignore[arg-type]
        assert outlook is not None
        return replace(outlook, members=tuple(m for m in outlook.members if m.member_id != "preteur")), problems

    monkeypatch.setattr("banquasso.pool.guard.read_group", without_lender)
    [breach] = commitment_guard(books, default_policy(), [], view, dt.date(2026, 11, 30))
    assert (breach.code, breach.legal) == (rules.MEMBER_UNREADABLE, True) and "preteur" in breach.message
