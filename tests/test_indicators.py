"""`banquasso indicateurs`: each ratio on a hand-computed member, the group's quartiles, the treasurer's view."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from banquasso.commands.main import main
from banquasso.practice.indicators import (
    MIN_SHOWN,
    Distribution,
    MemberBooks,
    distribution,
    for_member,
    group_indicators,
    member_indicators,
    position,
    trend,
    year_figures,
)
from comptasso.books.reference import Funder
from comptasso.reports.annual import annual_accounts
from tests.conftest import write_group

D = Decimal
FUNDERS = {"region-sud": Funder("region-sud", "Région Sud", "region", 60),
           "fondation-x": Funder("fondation-x", "Fondation X", "fondation", 30)}

# One member's 2025 (365 days), every figure hand-checked:
# produits 12 000 (Région) + 3 000 (fondation) + 8 000 (prestations) = 23 000 ;
# charges 18 000 (641) + 2 000 (606) + 1 000 (6811) = 21 000, décaissables 20 000 ; résultat 2 000.
# Bilan : banque 24 000 ; immobilisations 5 000 − 1 000 = 4 000 ; 411 3 000 + 441 3 000 ;
# fonds propres 20 000 + 2 000 ; emprunt (164) 10 000 ; fournisseur 2 000 ; total 34 000.
SALARIES = "18000.00"
LEDGER = """
option "operating_currency" "EUR"
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Assets:2183-Informatique EUR
2025-01-01 open Assets:28183-Amort-Informatique EUR
2025-01-01 open Assets:411-Usagers EUR
2025-01-01 open Assets:441-Subventions-A-Recevoir EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR
2025-01-01 open Liabilities:164-Emprunt EUR
2025-01-01 open Liabilities:401-Fournisseurs EUR
2025-01-01 open Income:741-Subventions EUR
2025-01-01 open Income:706-Prestations EUR
2025-01-01 open Expenses:641-Salaires EUR
2025-01-01 open Expenses:606-Achats EUR
2025-01-01 open Expenses:6811-Dotations EUR

2025-01-01 * "Apport"
  Assets:512-Banque  20000.00 EUR
  Equity:102-Fonds-Associatifs
2025-01-02 * "Ordinateurs"
  Assets:2183-Informatique  5000.00 EUR
  Assets:512-Banque
2025-02-01 * "Banque" "Emprunt"
  Assets:512-Banque  10000.00 EUR
  Liabilities:164-Emprunt
2025-03-01 * "Région Sud" "Convention G-1"
  convention: "G-1"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir  12000.00 EUR
  Income:741-Subventions
2025-03-01 custom "subvention-echeance" "G-1" 2025-04-01 12000.00 EUR
2025-05-11 * "Région Sud" "Versement G-1"
  convention: "G-1"
  Assets:512-Banque  12000.00 EUR
  Assets:441-Subventions-A-Recevoir
2025-06-01 * "Fondation X" "Convention F-1"
  convention: "F-1"
  funder: "fondation-x"
  Assets:441-Subventions-A-Recevoir  3000.00 EUR
  Income:741-Subventions
2025-06-01 custom "subvention-echeance" "F-1" 2026-03-01 3000.00 EUR
2025-06-01 * "Usagers" "Prestations"
  Assets:411-Usagers  8000.00 EUR
  Income:706-Prestations
2025-07-01 * "Usagers" "Règlements"
  Assets:512-Banque  5000.00 EUR
  Assets:411-Usagers
2025-09-30 * "Salaires"
  Expenses:641-Salaires  {salaries} EUR
  Assets:512-Banque
2025-10-01 * "Imprimerie" "Affiches"
  Expenses:606-Achats  2000.00 EUR
  Liabilities:401-Fournisseurs
2025-12-31 * "Dotation"
  Expenses:6811-Dotations  1000.00 EUR
  Assets:28183-Amort-Informatique
"""


def _entries(salaries: str = SALARIES) -> list[data.Directive]:
    entries, errors, _ = loader.load_string(LEDGER.replace("{salaries}", salaries))
    assert not errors, errors
    return entries


def test_each_ratio_on_a_hand_computed_member() -> None:
    m = member_indicators(MemberBooks("a", "Asso A", _entries()), 2025, dt.date(2026, 3, 31), FUNDERS)
    assert m.years == (2023, 2024, 2025)
    latest = {code: values[-1] for code, values in m.values.items()}
    assert latest == {
        "tresorerie_jours": D("438.0"),             # 24 000 × 365 / 20 000
        "fonds_roulement_jours": D("511.0"),        # (22 000 + 10 000 − 4 000) × 365 / 20 000
        "bfr_jours": D("73.0"),                     # (3 000 + 3 000 − 2 000) × 365 / 20 000
        "subventions_publiques_part": D("52.2"),    # 12 000 / 23 000 (the fondation is not public)
        "delai_encaissement_jours": D("40.0"),      # due 01/04, paid in full 11/05
        "creances_jours": D("95.2"),                # 6 000 × 365 / 23 000
        "personnel_part": D("78.3"),                # 18 000 / 23 000
        "fonds_propres_part": D("64.7"),            # 22 000 / 34 000
        "resultat_part": D("8.7"),                  # 2 000 / 23 000
    }
    assert all(values[:2] == (None, None) for values in m.values.values())  # no books in 2023, 2024
    assert m.has_books == (False, False, True)
    assert m.kinds == {"fondation": D("13.0"), "region": D("52.2")}


def test_a_deficit_and_a_zero_denominator() -> None:
    """Salaries of 30 000: déficit of 10 000; a year without products has no share at all."""
    m = member_indicators(MemberBooks("a", "Asso A", _entries("30000.00")), 2025, dt.date(2026, 3, 31), FUNDERS)
    assert m.latest("resultat_part") == D("-43.5")          # −10 000 / 23 000
    assert m.latest("tresorerie_jours") == D("136.9")       # 12 000 × 365 / 32 000 (charges décaissables)
    only_equity = [e for e in _entries() if not isinstance(e, data.Transaction) or e.narration == "Apport"]
    empty = member_indicators(MemberBooks("b", "B", only_equity), 2025, dt.date(2026, 3, 31), FUNDERS)
    assert empty.latest("resultat_part") is None and empty.latest("tresorerie_jours") is None
    assert empty.latest("fonds_propres_part") == D("100.0")


def test_a_year_not_ended_counts_its_days_so_far() -> None:
    """Read on 30/09/2025 (day 273): no purchase nor dotation yet; charges 18 000, bank 24 000."""
    m = member_indicators(MemberBooks("a", "A", _entries()), 2025, dt.date(2025, 9, 30), FUNDERS)
    assert m.latest("tresorerie_jours") == D("364.0")        # 24 000 × 273 / 18 000
    assert m.latest("creances_jours") == D("71.2")           # 6 000 × 273 / 23 000


@settings(max_examples=25, deadline=None)
@given(salaries=st.integers(min_value=0, max_value=60_000), purchases=st.integers(min_value=0, max_value=9_000))
def test_working_capital_less_its_need_is_the_treasury(salaries: int, purchases: int) -> None:
    text = LEDGER.replace("{salaries}", f"{salaries}.00").replace("606-Achats  2000.00", f"606-Achats  {purchases}.00")
    entries, errors, _ = loader.load_string(text)
    assert not errors
    accounts = annual_accounts(entries, 2025, dt.date(2026, 3, 31), member_id="a", member_name="A")
    f = year_figures(accounts, entries, FUNDERS)
    assert f.working_capital - f.working_capital_need == f.treasury
    assert f.treasury == 24000 + 18000 - salaries
    assert f.total_bilan == accounts.total_actif.n


def test_quartiles_interpolate_linearly() -> None:
    d = distribution([D("10"), None, D("40"), D("20"), D("30"), D("50"), D("60")])
    assert d == Distribution(6, D("22.5"), D("35.0"), D("47.5"))
    assert distribution([None]) == Distribution(0, None, None, None)
    assert position(D("50"), d) == "dans le quart le plus haut du groupement"
    assert position(D("30"), d) == "en dessous de la médiane du groupement"
    assert position(D("10"), d) == "dans le quart le plus bas du groupement"
    assert trend((None, D("3"), D("5"))) == "en hausse" and trend((None, None, D("1"))) == "pas assez d'exercices"


def _group(count: int) -> list[MemberBooks]:
    return [MemberBooks(f"m{i}", f"Membre numéro {i}", _entries(f"{18000 + 1000 * i}.00")) for i in range(count)]


def test_a_treasurer_sees_its_own_figures_and_the_anonymous_distribution() -> None:
    whole = group_indicators(_group(MIN_SHOWN), 2025, dt.date(2026, 3, 31), FUNDERS)
    assert len(whole.members) == MIN_SHOWN and not whole.redacted
    # Personnel 18 000 … 22 000 over 23 000: 78,3 82,6 87,0 91,3 95,7 %.
    assert whole.distributions["personnel_part"] == Distribution(5, D("82.6"), D("87.0"), D("91.3"))
    mine = for_member(whole, "m1")
    assert [m.id for m in mine.members] == ["m1"] and mine.redacted
    assert mine.distributions["personnel_part"] == whole.distributions["personnel_part"]
    few = for_member(group_indicators(_group(MIN_SHOWN - 1), 2025, dt.date(2026, 3, 31), FUNDERS), "m1")
    assert few.distributions["personnel_part"] == Distribution(MIN_SHOWN - 1, None, None, None)


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    ledgers, rules = write_group(tmp_path, {m.id: LEDGER.replace("{salaries}", f"{18000 + 1000 * i}.00")
                                            for i, m in enumerate(_group(2))})
    result = CliRunner().invoke(main, ["indicateurs", "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--as-of", "2026-03-31", *args])
    return result.exit_code, result.stdout


def test_command_json_for_one_member(tmp_path: Path) -> None:
    code, out = _cli(tmp_path, "--member", "m0", "--json")
    assert code == 0, out
    document = json.loads(out)
    assert document["year"] == 2025 and document["years"] == [2023, 2024, 2025] and document["redacted"]
    personnel = next(i for i in document["indicators"] if i["code"] == "personnel_part")
    assert personnel["members"] == [{"id": "m0", "name": "M0", "values": {"2023": None, "2024": None,
                                                                         "2025": "78.3"},
                                     "trend": "pas assez d'exercices", "position": ""}]
    assert personnel["group"] == {"count": 2, "q1": None, "median": None, "q3": None}
    assert "82.6" not in out and "m1" not in out


def test_command_text_and_usage_errors(tmp_path: Path) -> None:
    code, out = _cli(tmp_path, "--year", "2025")
    assert code == 0
    assert "Charges de personnel / ressources" in out and "M0 (m0) : — / — / 78,3 %" in out
    assert "M1 (m1) : — / — / 82,6 %" in out and "Lecture : " in out
    assert _cli(tmp_path / "x", "--member", "inconnu")[0] == 2
    assert _cli(tmp_path / "y", "--year", "1999")[0] == 2


@pytest.mark.parametrize("day", ["2026-12-31", "2026-11-30"])
def test_default_year_is_the_last_ended(day: str) -> None:
    from banquasso.commands.indicators import default_year

    assert default_year(dt.date.fromisoformat(day)) == (2026 if day.endswith("12-31") else 2025)
