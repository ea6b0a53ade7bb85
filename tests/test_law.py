"""Issue 13 items 4–6: the approval as the law wants it, the dependence test, the attestation pack and form 2062.

Hand-computed on the two-member group of tests/test_registry.py: `preteur` opens 2026 with 50 000 € (net cash at
the opening 50 000 €, so the 50 % cap is 25 000 €); `emprunteur` booked 24 000 € of grant income (741) on
2026-02-10, its annual resources on any day of late 2026.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pdfplumber
from beancount import loader
from hypothesis import given
from hypothesis import strategies as st

from banquasso.pool.guard import commitment_guard
from banquasso.pool.plan import plan_group
from banquasso.registry.db import open_registry
from banquasso.registry.service import load_views
from banquasso.statement.attestation import attested_year, build_attestation
from banquasso.statement.data import Month, prepare
from banquasso.terms import rules
from banquasso.terms.dependence import Dependence, annual_resources
from banquasso.terms.policy import default_policy, load_policy
from banquasso.terms.tmop import load_tmop
from comptasso.books.facade import open_books
from tests.test_guard import approve_args
from tests.test_registry import make_group, propose_args, run

TMOP = '[tmop]\n"2023-S2" = 0.0337\n"2026-S2" = 0.0300\n'


def pdf_text(path: Path) -> str:
    with pdfplumber.open(io.BytesIO(path.read_bytes())) as document:
        return " ".join(" ".join((page.extract_text() or "").split()) for page in document.pages)


def proposed(tmp_path: Path, pool: str | None = None, amount: str = "10000.00") -> tuple[Path, Path]:
    """The group, with the 10 000 € advance BQA-2026-0001 proposed on 2026-11-20 (then `pool` as rules/pool.toml)."""
    ledgers, rules_dir = make_group(tmp_path)
    result = run(propose_args(amount), ledgers, rules_dir, "2026-11-20")
    assert result.exit_code == 0, result.output
    if pool is not None:
        (rules_dir / "pool.toml").write_text(pool, encoding="utf-8")
    return ledgers, rules_dir


def advance_json(ledgers: Path, rules_dir: Path, advance: str = "BQA-2026-0001") -> dict[str, object]:
    result = run(["advance", "show", advance, "--json"], ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    document: dict[str, object] = json.loads(result.stdout)["advance"]
    return document


# ------------------------------------------------------------------------------------------------ approval


def test_approve_records_the_meeting_date_and_body_shown_everywhere(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path)
    result = run([*approve_args("BQA-2026-0001"), "--decision-date", "2026-11-28", "--body", "bureau"],
                 ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    assert "décision CA-2026-11 du 28/11/2026" in result.output
    document = advance_json(ledgers, rules_dir)
    assert (document["decision"], document["decision_date"], document["decision_body"], document["approved_on"]) == (
        "CA-2026-11", "2026-11-28", "bureau", "2026-11-30")
    assert document["borrower_decision"] is None
    listed = json.loads(run(["advance", "list", "--json"], ledgers, rules_dir).stdout)["advances"]
    assert [(a["decision_date"], a["decision_body"]) for a in listed] == [("2026-11-28", "bureau")]
    shown = run(["advance", "show", "BQA-2026-0001"], ledgers, rules_dir).stdout
    assert "décision CA-2026-11 (bureau) du 28/11/2026" in shown


def test_both_boards_approve(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path)
    result = run([*approve_args("BQA-2026-0001"), "--decision-date", "2026-11-28", "--borrower-decision",
                  "CA-EMP-2026-07", "--borrower-decision-date", "2026-11-29"], ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    document = advance_json(ledgers, rules_dir)
    assert (document["decision_body"], document["borrower_decision"], document["borrower_decision_date"],
            document["borrower_body"]) == ("conseil d'administration", "CA-EMP-2026-07", "2026-11-29",
                                           "conseil d'administration")
    shown = run(["advance", "show", "BQA-2026-0001"], ledgers, rules_dir).stdout
    assert "décision CA-EMP-2026-07 (conseil d'administration) du 29/11/2026" in shown


def test_bad_decision_dates_are_refused_with_codes_and_change_nothing(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path)
    before = advance_json(ledgers, rules_dir)
    future = run([*approve_args("BQA-2026-0001"), "--decision-date", "2026-12-01"], ledgers, rules_dir)
    assert future.exit_code == 1 and "01/12/2026, après le 30/11/2026" in future.output
    early = run([*approve_args("BQA-2026-0001"), "--decision-date", "2026-11-19"], ledgers, rules_dir)
    assert early.exit_code == 1 and "avant la proposition de l'avance le 20/11/2026" in early.output
    borrower_early = run([*approve_args("BQA-2026-0001"), "--borrower-decision", "X", "--borrower-decision-date",
                          "2026-11-01"], ledgers, rules_dir)
    assert borrower_early.exit_code == 1 and "de l'emprunteur" in borrower_early.output
    assert advance_json(ledgers, rules_dir) == before
    usage = run([*approve_args("BQA-2026-0001"), "--borrower-body", "bureau"], ledgers, rules_dir)
    assert usage.exit_code == 2 and "exigent --borrower-decision" in usage.output


def test_decision_codes_from_the_service(tmp_path: Path) -> None:
    from banquasso.registry import codes
    from banquasso.registry.service import approve
    from tests.test_registry import desk

    ledgers, rules_dir = proposed(tmp_path)
    outcome = approve(desk(ledgers, rules_dir), "BQA-2026-0001", "Marie", "CA-1", dt.date(2026, 12, 1))
    assert [p.code for p in outcome.problems] == [codes.DECISION_DATE_FUTURE]
    outcome = approve(desk(ledgers, rules_dir), "BQA-2026-0001", "Marie", "CA-1", dt.date(2026, 11, 1))
    assert [p.code for p in outcome.problems] == [codes.DECISION_DATE_BEFORE_PROPOSAL]
    outcome = approve(desk(ledgers, rules_dir), "BQA-2026-0001", "Marie", "CA-1", dt.date(2026, 11, 25), " ")
    assert [p.code for p in outcome.problems] == [codes.DECISION_MISSING]


def test_the_tmop_cap_is_read_for_the_half_year_of_the_decision(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path)
    (rules_dir / "tmop.toml").write_text(TMOP, encoding="utf-8")
    books, _ = open_books(ledgers, rules_dir)
    assert books is not None
    [view] = load_views(open_registry(ledgers))
    as_of = dt.date(2026, 11, 30)
    candidate = replace(view, rate=Decimal("0.0320"), state="approved", approved_on=as_of)
    # Recorded on 2026-11-30 (2026-S2: 3,00 %) but decided on 2023-09-01 (2023-S2: 3,37 %): the decision's cap.
    decided = replace(candidate, decision_date=dt.date(2023, 9, 1))
    assert [b.code for b in commitment_guard(books, default_policy(), [], decided, as_of)
            if b.code == rules.MAX_RATE] == []
    [over] = [b for b in commitment_guard(books, default_policy(), [], candidate, as_of) if b.code == rules.MAX_RATE]
    assert over.key == 'tmop."2026-S2"'


# ---------------------------------------------------------------------------------------------- dependence


def test_annual_resources_are_the_class_7_credits_of_365_days() -> None:
    entries, errors, _ = loader.load_string("""
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Income:741-Subventions EUR
2025-01-01 open Income:756-Cotisations EUR
2025-01-01 open Equity:102-Fonds EUR
2025-11-30 * "la veille de la fenêtre"
  Assets:512-Banque  1000.00 EUR
  Income:741-Subventions  -1000.00 EUR
2025-12-01 * "premier jour de la fenêtre"
  Assets:512-Banque  200.00 EUR
  Income:756-Cotisations  -200.00 EUR
2026-06-01 * "un remboursement (débit) n'est pas déduit"
  Income:741-Subventions  50.00 EUR
  Assets:512-Banque  -50.00 EUR
2026-11-30 * "le jour même"
  Assets:512-Banque  30.00 EUR
  Income:756-Cotisations  -30.00 EUR
2026-11-30 * "pas un produit"
  Assets:512-Banque  999.00 EUR
  Equity:102-Fonds  -999.00 EUR
""")
    assert errors == []
    assert annual_resources(entries, dt.date(2026, 11, 30), "EUR") == Decimal("230.00")


def test_the_dependence_rule_on_hand_computed_figures() -> None:
    day = dt.date(2026, 11, 30)
    figures = Dependence("emprunteur", "preteur", day, Decimal("10000.00"), Decimal("12000.00"), Decimal("24000.00"))
    assert (figures.lender_share, figures.total_share) == (Decimal("0.4167"), Decimal("0.5000"))
    assert rules.check_dependence(figures, Decimal("0.5"), "refuse") is None
    refused = rules.check_dependence(figures, Decimal("0.4"), "refuse")
    assert refused is not None and (refused.code, refused.legal, refused.warning) == (rules.DEPENDENCE, True, False)
    assert "41,67 %" in refused.message and refused.key == "limits.max_dependence_share"
    warned = rules.check_dependence(figures, Decimal("0.4"), "warn")
    assert warned is not None and warned.warning
    broke = Dependence("emprunteur", "preteur", day, Decimal("1.00"), Decimal("1.00"), Decimal("0.00"))
    checked = rules.check_dependence(broke, Decimal("0.5"), "refuse")
    assert checked is not None and "sans ressources" in checked.message
    assert rules.dependence_room(Decimal("24000.00"), Decimal("0.5"), Decimal("10000.00")) == Decimal("2000.00")
    assert rules.dependence_room(Decimal("24000.00"), Decimal("0.1"), Decimal("10000.00")) == Decimal("0.00")


money = st.decimals(min_value=0, max_value=10**7, places=2, allow_nan=False, allow_infinity=False)


@given(resources=money, owed=money, share=st.decimals(min_value=0, max_value=1, places=5))
def test_what_the_planner_may_add_the_guard_accepts_and_a_cent_more_it_refuses(resources: Decimal, owed: Decimal,
                                                                              share: Decimal) -> None:
    room = rules.dependence_room(resources, share, owed)
    day = dt.date(2026, 11, 30)

    def breach(total: Decimal) -> rules.Breach | None:
        return rules.check_dependence(Dependence("b", "l", day, total, total, resources), share, "refuse")

    if room > 0:
        assert breach(owed + room) is None
    assert room >= 0 and breach(owed + room + Decimal("0.01")) is not None


def test_the_guard_refuses_past_the_threshold_when_the_policy_says_refuse(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path, pool='[limits]\nmax_dependence_share = 0.4\ndependence = "refuse"\n')
    result = run(approve_args("BQA-2026-0001"), ledgers, rules_dir)
    assert result.exit_code == 1
    assert "limits.max_dependence_share" in result.output and "41,67 %" in result.output
    assert "dérogation" in result.output  # refused, nothing recorded
    forced = run([*approve_args("BQA-2026-0001"), "--force", "--reason", "urgence"], ledgers, rules_dir)
    assert forced.exit_code == 1 and "la loi l'interdit (limits.max_dependence_share)" in forced.output
    assert advance_json(ledgers, rules_dir)["state"] == "proposed"


def test_the_guard_only_warns_when_the_policy_says_warn(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path, pool='[limits]\nmax_dependence_share = 0.4\ndependence = "warn"\n')
    result = run(approve_args("BQA-2026-0001"), ledgers, rules_dir)
    assert result.exit_code == 0, result.output
    assert "Avertissement : BQA-2026-0001 : emprunteur devrait 10 000,00 € à preteur, 41,67 % de" in result.output
    assert advance_json(ledgers, rules_dir)["state"] == "approved"
    quiet = proposed(tmp_path / "b", pool='[limits]\ndependence = "warn"\n')
    assert "Avertissement : BQA" not in run(approve_args("BQA-2026-0001"), *quiet).output  # 41,67 % ≤ 50 %


def test_disburse_and_a_typed_in_proposal_warn_too(tmp_path: Path) -> None:
    ledgers, rules_dir = proposed(tmp_path)
    assert run(approve_args("BQA-2026-0001"), ledgers, rules_dir).exit_code == 0
    (rules_dir / "pool.toml").write_text('[limits]\nmax_dependence_share = 0.4\ndependence = "warn"\n',
                                         encoding="utf-8")
    paid = run(["advance", "disburse", "BQA-2026-0001", "--on", "2026-12-01"], ledgers, rules_dir, "2026-12-01")
    assert paid.exit_code == 0 and "Avertissement : BQA-2026-0001 : emprunteur devrait 10 000,00 €" in paid.output
    again = run(propose_args("1000.00"), ledgers, rules_dir, "2026-12-01")  # 11 000 € owed: 45,83 %
    assert again.exit_code == 0 and "Avertissement : BQA-2026-0002 : emprunteur devrait 11 000,00 €" in again.output


def test_the_policy_keys_are_validated(tmp_path: Path) -> None:
    (tmp_path / "pool.toml").write_text('[limits]\ndependence = "ignore"\n', encoding="utf-8")
    policy, problems = load_policy(tmp_path)
    assert policy is None and "limits.dependence" in str(problems[0]) and "refuse, warn" in str(problems[0])
    (tmp_path / "pool.toml").write_text("[limits]\nmax_dependence_share = 1.5\n", encoding="utf-8")
    policy, problems = load_policy(tmp_path)
    assert policy is None and "max_dependence_share" in str(problems[0])
    assert (default_policy().limits.max_dependence_share, default_policy().limits.dependence) == (Decimal("0.5"),
                                                                                                  "warn")


def test_the_planner_proposes_nothing_past_the_threshold_when_refuse(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    books, _ = open_books(ledgers, rules_dir)
    assert books is not None
    as_of = dt.date(2026, 11, 30)
    free = plan_group(books, default_policy(), as_of)
    assert [(a.lender, a.borrower) for a in free.advances] == [("preteur", "emprunteur")]
    need = sum((a.amount for a in free.advances), Decimal(0))
    assert need > Decimal("2400.00")  # the borrower is 3 000 € under its 5 000 € floor
    strict = default_policy().model_copy(update={"limits": default_policy().limits.model_copy(
        update={"max_dependence_share": Decimal("0.1"), "dependence": "refuse"})})
    capped = plan_group(books, strict, as_of)  # room: 10 % × 24 000 € − 0 owed = 2 400 €
    assert sum((a.amount for a in capped.advances), Decimal(0)) == Decimal("2400.00")
    assert [u.reason for u in capped.unmet] == ["dependence"]
    assert [u.reason for u in free.unmet] == []
    tiny = strict.limits.model_copy(update={"max_dependence_share": Decimal("0.01")})
    none = strict.model_copy(update={"limits": tiny})
    nothing = plan_group(books, none, as_of)  # 240 € of room, under limits.min_advance
    assert nothing.advances == () and [u.reason for u in nothing.unmet] == ["dependence"]
    warned = strict.model_copy(update={"limits": strict.limits.model_copy(update={"dependence": "warn"})})
    assert plan_group(books, warned, as_of).advances == free.advances


# --------------------------------------------------------------------------------------------- attestation


def granted(tmp_path: Path) -> tuple[Path, Path]:
    """BQA-2026-0001 (10 000 €, decided 2026-11-28 by the bureau) and BQA-2026-0002 (5 000,00 €), paid 2026-12-01."""
    ledgers, rules_dir = proposed(tmp_path)
    group = ledgers / "group.toml"
    group.write_text(group.read_text(encoding="utf-8").replace(
        'name = "Preteur"\n', 'name = "Preteur"\nsiren = "123456789"\nadresse = "1 rue du Prêt, 05000 Gap"\n'),
        encoding="utf-8")
    second = run(propose_args("5000.00"), ledgers, rules_dir, "2026-11-20")
    assert second.exit_code == 0, second.output
    for advance, date in (("BQA-2026-0001", "2026-11-28"), ("BQA-2026-0002", "2026-11-29")):
        result = run([*approve_args(advance), "--decision-date", date, "--body", "bureau"], ledgers, rules_dir)
        assert result.exit_code == 0, result.output
        paid = run(["advance", "disburse", advance, "--on", "2026-12-01"], ledgers, rules_dir, "2026-12-01")
        assert paid.exit_code == 0, paid.output
    return ledgers, rules_dir


def test_the_attestation_pack_pdf_json_and_registry_agree(tmp_path: Path) -> None:
    ledgers, rules_dir = granted(tmp_path)
    out = tmp_path / "pack"
    result = run(["attestation", "--member", "preteur", "--year", "2026", "--output", str(out), "--json"],
                 ledgers, rules_dir, "2027-01-05")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert json.loads((out / "attestation-preteur-2026-01-01.json").read_text(encoding="utf-8"))["table"] == (
        document["table"])
    table = document["table"]
    assert (table["year_start"], table["year_end"], table["day"]) == ("2026-01-01", "2026-12-31", "2026-12-31")
    assert table["net_cash"] == {"opening": "2026-01-01", "treasury": "50000.00", "advances_owed": "0.00",
                                 "earmarked": "0.00", "other_currency": "0.00", "value": "50000.00"}
    assert (table["cap"], table["granted"], table["granted_share"], table["within_cap"]) == (
        "25000.00", "15000.00", "0.3000", True)
    first, second = table["advances"]
    assert (first["id"], first["initial"], first["outstanding"], first["days"], first["within_five_years"]) == (
        "BQA-2026-0001", "10000.00", "10000.00", 55, True)
    assert first["lender_decision"] == {"ref": "CA-2026-11", "date": "2026-11-28", "body": "bureau"}
    assert (first["rate"], first["tmop_key"], first["rate_within_cap"]) == ("0.000000", "terms.max_rate", True)
    # 15 000 € owed to preteur for 24 000 € of resources (2026-01-01 … 2026-12-31): 62,50 %.
    assert (first["dependence"]["owed_to_lender"], first["dependence"]["resources"],
            first["dependence"]["lender_share"]) == ("15000.00", "24000.00", "0.6250")
    # Form 2062: principal over 5 000 €; 5 000,00 € exactly is not.
    assert (first["form_2062"], second["form_2062"]) == (True, False)
    [form] = document["forms_2062"]
    assert form["advance"] == "BQA-2026-0001" and form["contract_date"] == "2026-11-28"
    assert form["lender"] == {"id": "preteur", "name": "Preteur", "siren": "123456789",
                              "adresse": "1 rue du Prêt, 05000 Gap"}
    assert form["borrower"]["siren"] is None and form["amount"] == "10000.00"
    # The registry says the same.
    views = {v.id: v for v in load_views(open_registry(ledgers), dt.date(2026, 12, 31))}
    assert [str(views[a["id"]].outstanding_on(dt.date(2026, 12, 31))) for a in table["advances"]] == [
        "10000.00", "5000.00"]
    text = pdf_text(out / "attestation-preteur-2026-01-01.pdf")
    for figure in ("50 000,00 €", "25 000,00 €", "15 000,00 €", "10 000,00 €", "5 000,00 €", "62,50 %",
                   "CA-2026-11 (bureau) du 28/11/2026", "SIREN 123456789", "1 rue du Prêt, 05000 Gap",
                   "55 j / 1826 j", "formulaire 2062", "1er janvier 2026 au 31 décembre 2026", "respecté"):
        assert figure in text, figure
    assert text.count("Avance BQA-2026-0002") == 0  # no 2062 block for 5 000,00 €
    summary = run(["attestation", "--member", "preteur", "--year", "2026", "--output", str(out)], ledgers, rules_dir,
                  "2027-01-05")
    assert ("2 prêt(s), 15 000,00 € accordés sur l'exercice pour un plafond de 25 000,00 € (test des 50 % respecté)"
            in summary.output and "1 prêt(s) à déclarer (formulaire 2062)" in summary.output)


def test_the_statement_annex_and_the_attestation_are_one_table(tmp_path: Path) -> None:
    ledgers, rules_dir = granted(tmp_path)
    data, problems = prepare(ledgers, rules_dir, Month(2026, 12), dt.date(2027, 1, 5))
    assert data is not None, problems
    books, _ = open_books(ledgers, rules_dir)
    policy, _ = load_policy(rules_dir)
    tmop, _ = load_tmop(rules_dir)
    assert books is not None and policy is not None and tmop is not None
    year = attested_year(books.group.member("preteur"), 2026)
    pack = build_attestation(books, policy, tmop, load_views(open_registry(ledgers), year.end), "preteur", year,
                             dt.date(2027, 1, 5))
    [annex] = data.annex
    assert annex.to_json() == pack.table.to_json()


def test_an_attestation_for_a_year_not_open_yet_is_refused(tmp_path: Path) -> None:
    ledgers, rules_dir = make_group(tmp_path)
    result = run(["attestation", "--member", "preteur", "--year", "2027", "--output", str(tmp_path / "x")],
                 ledgers, rules_dir)
    assert result.exit_code == 1 and "n'est pas encore ouvert au 30/11/2026" in result.output
    assert not (tmp_path / "x").exists()
    unknown = run(["attestation", "--member", "personne", "--year", "2026"], ledgers, rules_dir)
    assert unknown.exit_code == 2 and "membre inconnu" in unknown.output


def test_the_loan_contract_pdf(tmp_path: Path) -> None:
    ledgers, rules_dir = granted(tmp_path)
    out = tmp_path / "convention.pdf"
    result = run(["advance", "convention", "BQA-2026-0001", "--output", str(out), "--json"], ledgers, rules_dir,
                 "2026-12-02")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tmop_key"] == "terms.max_rate"
    text = pdf_text(out)
    for needle in ("Convention de prêt BQA-2026-0001", "Preteur (SIREN 123456789), 1 rue du Prêt, 05000 Gap",
                   "Emprunteur (SIREN non renseigné)", "10 000,00 €", "0,00 %", "3,50 %", "25 janvier 2027",
                   "ESS-2026-042", "L511-6 1° bis", "R511-2-1-4", "L612-5", "CA-2026-11 (bureau) du 28 novembre 2026",
                   "formulaire n° 2062", "Pour le prêteur", "Pour l'emprunteur", "25/01/2027"):
        assert needle in text, needle
    missing = run(["advance", "convention", "BQA-2026-0099", "--output", str(tmp_path / "y.pdf")], ledgers, rules_dir)
    assert missing.exit_code == 1 and "avance inconnue" in missing.output


def test_migration_0004_upgrades_a_0003_registry_and_downgrades(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from banquasso.registry.db import alembic_config, current_revision, make_engine, script_head

    assert script_head() == "0005_mail"  # the migrations that came after 0004_law
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    config = alembic_config()
    law = {"decision_date", "decision_body", "borrower_decision", "borrower_decision_date", "borrower_body"}

    def columns() -> set[str]:
        return {c["name"] for c in inspect(engine).get_columns("advance")}

    def step(action: str, target: str) -> None:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, target)

    step("upgrade", "0003_guard")
    assert not columns() & law
    step("upgrade", "0004_law")
    assert law <= columns() and current_revision(engine) == "0004_law"
    step("downgrade", "0003_guard")
    assert not columns() & law and current_revision(engine) == "0003_guard"


def test_the_attested_year_is_the_members_own_opening_in_that_year() -> None:
    from banquasso.terms.net_cash import Year
    from comptasso.books.group import Member

    september = Member("s", "S", None, Path("s/main.beancount"), "Assets:512-Banque", (9, 1))
    january = Member("j", "J", None, Path("j/main.beancount"), "Assets:512-Banque")
    assert attested_year(september, 2026) == Year(dt.date(2026, 9, 1), dt.date(2027, 8, 31))
    assert attested_year(january, 2026) == Year(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
