"""What-if scenarios (`rules/scenarios/NAME.toml`): each transformation pinned on inline ledgers, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from banquasso.forecast.daily import GroupOutlook, forecast_outlook, read_group
from banquasso.forecast.risk import simulate
from banquasso.forecast.scenarios import (
    Cancel,
    DelayShift,
    Scale,
    Scenario,
    apply_scenarios,
    known_of,
    load_scenario,
)
from banquasso.pool.plan import group_capacity, plan_group
from banquasso.terms.policy import load_policy
from comptasso.books.facade import GroupBooks, open_books
from tests.conftest import write_group
from tests.test_plan import BORROWER as PLAN_BORROWER
from tests.test_plan import LENDER, POOL, run_cli

D = Decimal
AS_OF = dt.date(2026, 11, 30)

BORROWER = PLAN_BORROWER + """
2025-12-15 open Assets:441-Subventions-A-Recevoir:Caf EUR
2025-12-15 open Expenses:606-Achats EUR
2026-02-11 * "CAF" "Prestation"
  convention: "CAF-1"
  funder: "caf-05"
  Assets:441-Subventions-A-Recevoir:Caf  3000.00 EUR
  Income:741-Subventions-Exploitation  -3000.00 EUR
2026-02-11 custom "subvention-echeance" "CAF-1" 2026-12-10 1000.00 EUR
2026-02-11 custom "subvention-echeance" "CAF-1" 2027-01-10 2000.00 EUR
2026-11-01 custom "prevision" Expenses:606-Achats "Fournitures" -333.33 EUR "unique" 2026-12-12
"""



def _group(tmp_path: Path) -> tuple[Path, Path, GroupBooks]:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER}, pool=POOL)
    books, problems = open_books(ledgers, rules, cache_dir=False, jobs=1)
    assert books is not None and not [p for p in problems if p.is_error], problems
    return ledgers, rules, books


def _outlook(books: GroupBooks, horizon: int = 200) -> GroupOutlook:
    outlook, problems = read_group(books, AS_OF, horizon)
    assert outlook is not None, problems
    return outlook


def _grants(outlook: GroupOutlook) -> list[tuple[str, dt.date, Decimal]]:
    member = forecast_outlook(outlook).member("emprunte")
    return [(f.reference, f.date, f.amount) for f in member.flows if f.kind == "subvention"]


def _policy(rules: Path):  # type: ignore[no-untyped-def]
    policy, problems = load_policy(rules)
    assert policy is not None, problems
    return policy


def test_a_delay_moves_exactly_that_funders_open_tranches(tmp_path: Path) -> None:
    _, _, books = _group(tmp_path)
    base = _outlook(books)
    # Région: default delay 90 days → 01/12/2026 + 90 = 01/03/2027; CAF: 20 days.
    assert _grants(base) == [("CAF-1", dt.date(2026, 12, 30), D("1000.00")),
                             ("CAF-1", dt.date(2027, 1, 30), D("2000.00")),
                             ("REG-1", dt.date(2027, 3, 1), D("10000.00"))]
    late = apply_scenarios(base, [Scenario("r", delays=(DelayShift(90, kind="region"),))])
    assert _grants(late) == [("CAF-1", dt.date(2026, 12, 30), D("1000.00")),
                             ("CAF-1", dt.date(2027, 1, 30), D("2000.00")),
                             ("REG-1", dt.date(2027, 5, 30), D("10000.00"))]
    # By funder id, and shifts add up; a negative shift never brings a tranche before A + 1.
    both = apply_scenarios(base, [Scenario("a", delays=(DelayShift(10, funder="caf-05"),)),
                                  Scenario("b", delays=(DelayShift(5, funder="caf-05"),))])
    assert [d for _, d, _ in _grants(both)][:2] == [dt.date(2027, 1, 14), dt.date(2027, 2, 14)]
    early = apply_scenarios(base, [Scenario("e", delays=(DelayShift(-400, funder="caf-05"),))])
    assert [d for _, d, _ in _grants(early)][:2] == [dt.date(2026, 12, 1), dt.date(2026, 12, 1)]
    assert base.delays.delay("region-sud") == 90  # the input is never changed


def test_the_monte_carlo_runs_under_the_scenario(tmp_path: Path) -> None:
    _, _, books = _group(tmp_path)
    base = _outlook(books, 120)
    late = apply_scenarios(base, [Scenario("r", delays=(DelayShift(90, kind="region"),))])
    # No history: every draw is the (shifted) default, so the band is the deterministic forecast.
    risk = simulate(late, 20, 1)
    forecast = forecast_outlook(late).member("emprunte")
    assert [lo for _, lo, _ in risk.members["emprunte"].band] == [b for _, b in forecast.days]
    assert risk.members["emprunte"].p5_min_balance == forecast.min_balance


def test_a_cancelled_tranche_leaves_the_forecast_and_the_securities(tmp_path: Path) -> None:
    _, rules, books = _group(tmp_path)
    policy = _policy(rules)
    base = plan_group(books, policy, AS_OF)
    assert [(a.security.convention, a.amount) for a in base.advances] == [("REG-1", D("3333.33"))]
    cancel = Scenario("c", cancels=(Cancel("REG-1"),))
    assert [c for c, _, _ in _grants(apply_scenarios(_outlook(books), [cancel]))] == ["CAF-1", "CAF-1"]
    plan = plan_group(books, policy, AS_OF, scenarios=[cancel])
    assert all(a.security.convention != "REG-1" for a in plan.advances)
    assert all(s.convention != "REG-1" for n in plan.needs for s in n.securities)
    # One tranche by its date: only the 10/12 CAF tranche goes.
    one = apply_scenarios(_outlook(books), [Scenario("c", cancels=(Cancel("CAF-1", dt.date(2026, 12, 10)),))])
    assert _grants(one) == [("CAF-1", dt.date(2027, 1, 30), D("2000.00")),
                            ("REG-1", dt.date(2027, 3, 1), D("10000.00"))]


def test_scale_multiplies_exactly_that_label(tmp_path: Path) -> None:
    _, _, books = _group(tmp_path)
    scaled = apply_scenarios(_outlook(books), [Scenario("s", scales=(Scale("Salaires", D("1.1")),
                                                                   Scale("Fournitures", D("1.5"), "emprunte")))])
    flows = {f.label: f.amount for f in forecast_outlook(scaled).member("emprunte").flows if f.kind == "prevision"}
    assert flows == {"Salaires": D("-4400.00"), "Fournitures": D("-500.00")}  # −333,33 × 1,5 = −499,995 → −500,00
    other = apply_scenarios(_outlook(books), [Scenario("s", scales=(Scale("Fournitures", D("2"), "prete"),))])
    flows = {f.label: f.amount for f in forecast_outlook(other).member("emprunte").flows if f.kind == "prevision"}
    assert flows == {"Salaires": D("-4000.00"), "Fournitures": D("-333.33")}


def test_an_excluded_lender_lends_nothing(tmp_path: Path) -> None:
    _, rules, books = _group(tmp_path)
    policy = _policy(rules)
    out = Scenario("x", excluded_lenders=("prete",))
    plan = plan_group(books, policy, AS_OF, scenarios=[out])
    assert plan.advances == () and plan.total_unmet == D("3333.33")
    assert [u.reason for u in plan.unmet] == ["no-lender"]
    capacity = {m.member: m.lendable for m in group_capacity(books, policy, AS_OF, [out]).members}
    assert set(capacity["prete"].values()) == {D("0.00")}
    assert group_capacity(books, policy, AS_OF).members[0].lendable[30] > 0


def _write(rules: Path, name: str, text: str) -> None:
    (rules / "scenarios").mkdir(exist_ok=True)
    (rules / "scenarios" / f"{name}.toml").write_text(text, encoding="utf-8")


def test_the_file_names_only_what_exists(tmp_path: Path) -> None:
    _, rules, books = _group(tmp_path)
    known = known_of(_outlook(books), books.reference.funders)
    _write(rules, "ok", '[[delay]]\nkind = "region"\ndays = 90\n[[cancel]]\nconvention = "CAF-1"\n'
                        'tranche_date = 2027-01-10\n[[scale]]\nlabel = "Salaires"\nfactor = 1.1\n'
                        '[[exclude_lender]]\nmember = "prete"\n')
    scenario, problems = load_scenario(rules, "ok", known)
    assert problems == [] and scenario is not None
    assert scenario.delays == (DelayShift(90, kind="region"),)
    assert scenario.cancels == (Cancel("CAF-1", dt.date(2027, 1, 10)),)
    assert scenario.scales == (Scale("Salaires", D("1.1")),) and scenario.excluded_lenders == ("prete",)
    _write(rules, "bad", '[[delay]]\nfunder = "region-nord"\ndays = 90\n\n[[cancel]]\nconvention = "REG-9"\n\n'
                         '[[cancel]]\nconvention = "REG-1"\ntranche_date = 2026-12-02\n\n'
                         '[[scale]]\nlabel = "Salaire"\nfactor = 1.1\n\n[[exclude_lender]]\nmember = "inconnu"\n')
    scenario, problems = load_scenario(rules, "bad", known)
    assert scenario is None
    assert [(p.line, p.code, p.subject) for p in problems] == [
        (2, "scenario-unknown-funder", "delay[0].funder"),
        (6, "scenario-unknown-convention", "cancel[0].convention"),
        (10, "scenario-unknown-tranche", "cancel[1].tranche_date"),
        (13, "scenario-unknown-label", "scale[0].label"),
        (17, "scenario-unknown-member", "exclude_lender[0].member"),
    ]
    assert "« region-nord »" in problems[0].message
    assert "n'a pas d'échéance le 02/12/2026 (échéances : 01/12/2026" in problems[2].message
    _write(rules, "keys", '[[delay]]\nfunder = "caf-05"\nkind = "caf"\ndays = 1\n[[scale]]\nlabel = "Salaires"\n'
                          'facteur = 2\n')
    _, problems = load_scenario(rules, "keys", known)
    assert {(p.code, p.subject) for p in problems} >= {("key-invalid", "delay[0]"), ("key-unknown", "scale[0].facteur"),
                                                       ("key-missing", "scale[0].factor")}
    assert [p.code for p in load_scenario(rules, "absent", known)[1]] == ["scenario-missing"]
    assert [p.code for p in load_scenario(rules, "../pool", known)[1]] == ["scenario-name"]


def test_cli_forecast_capacity_plan_under_a_scenario(tmp_path: Path) -> None:
    ledgers, rules, _ = _group(tmp_path)
    _write(rules, "region", 'description = "Région en retard"\n[[delay]]\nkind = "region"\ndays = 90\n')
    _write(rules, "sans-prete", '[[exclude_lender]]\nmember = "prete"\n')
    where = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat()]
    code, out, err = run_cli("forecast", *where, "--horizon", "200", "--member", "emprunte", "--json",
                          "--scenario", "region")
    assert code == 0, err
    doc = json.loads(out)
    assert [s["name"] for s in doc["scenarios"]] == ["region"]
    assert doc["scenarios"][0]["delay"] == [{"funder": None, "kind": "region", "days": 90}]
    assert [f["date"] for f in doc["members"][0]["flows"] if f["reference"] == "REG-1"] == ["2027-05-30"]
    code, out, err = run_cli("plan", *where, "--json", "--scenario", "sans-prete")
    assert code == 0, err
    assert json.loads(out)["advances"] == [] and json.loads(out)["scenarios"][0]["exclude_lender"] == ["prete"]
    code, out, err = run_cli("capacity", *where, "--scenario", "sans-prete")
    assert code == 0 and "sans-prete" in out, err
    code, out, err = run_cli("plan", *where, "--scenario", "nulle-part")
    assert code == 1 and "scenarios/nulle-part.toml" in err and "scénario introuvable" in err


def test_draws_and_the_deprecated_scenarios_option(tmp_path: Path) -> None:
    ledgers, rules, _ = _group(tmp_path)
    where = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat(), "--horizon", "30"]
    code, out, err = run_cli("forecast", *where, "--risk", "--draws", "30", "--json")
    assert code == 0 and json.loads(out)["risk"]["draws"] == 30 and "obsolète" not in err
    code, out, err = run_cli("forecast", *where, "--risk", "--scenarios", "40", "--json")
    assert code == 0 and json.loads(out)["risk"]["draws"] == 40
    assert "--scenarios est obsolète, utilisez --draws" in err
    code, out, _ = run_cli("forecast", "--help")
    assert "--draws" in out and "--scenario NOM" in out and "--scenarios" not in out


def test_any_shift_moves_exactly_the_named_kind(tmp_path: Path) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from comptasso.books.reference import FUNDER_KINDS

    _, _, books = _group(tmp_path)
    base = _outlook(books, 731)
    before = forecast_outlook(base).member("emprunte")
    kinds = {"REG-1": "region", "CAF-1": "caf"}

    @settings(max_examples=60, deadline=None)
    @given(kind=st.sampled_from(FUNDER_KINDS), days=st.integers(-400, 400))
    def check(kind: str, days: int) -> None:
        after = forecast_outlook(apply_scenarios(base, [Scenario("p", delays=(DelayShift(days, kind=kind),))]))
        grants = [f for f in after.member("emprunte").flows if f.kind == "subvention"]
        old = [f for f in before.flows if f.kind == "subvention"]
        assert sorted(f.amount for f in grants) == sorted(f.amount for f in old)  # nothing lost or made up
        tomorrow = AS_OF + dt.timedelta(days=1)
        for tranche in base.members[1].open_tranches:
            delay = base.delays.delay(tranche.funder) + (days if kinds[tranche.convention] == kind else 0)
            expected = max(tomorrow, tranche.due + dt.timedelta(days=delay))
            assert any(f.reference == tranche.convention and f.date == expected and f.amount == tranche.amount
                       for f in grants)
        assert [f for f in after.member("emprunte").flows if f.kind != "subvention"] == [
            f for f in before.flows if f.kind != "subvention"]

    check()
