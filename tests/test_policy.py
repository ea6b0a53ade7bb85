"""The pool policy `rules/pool.toml`: defaults, legal ceilings and one test per kind of bad value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from banquasso.terms.policy import LEGAL_MAX_DAYS, Policy, default_policy, load_policy
from tests.conftest import DEMO_RULES


def _load(tmp_path: Path, text: str) -> tuple[Policy | None, list[str]]:
    (tmp_path / "pool.toml").write_text(text, encoding="utf-8")
    policy, problems = load_policy(tmp_path)
    return policy, [str(p) for p in problems]


def test_missing_file_is_the_default_policy(tmp_path: Path) -> None:
    policy, problems = load_policy(tmp_path)
    assert problems == [] and policy == default_policy()


def test_empty_file_is_the_default_policy(tmp_path: Path) -> None:
    policy, problems = _load(tmp_path, "")
    assert problems == [] and policy == default_policy()


def test_defaults_are_prudent_and_legal() -> None:
    policy = default_policy()
    assert policy.limits.max_days <= LEGAL_MAX_DAYS
    assert policy.limits.max_lent_share_of_net_cash == Decimal("0.5")
    assert policy.terms.rate <= policy.terms.max_rate
    assert policy.accounts.lender_principal == "Assets:2748-Avances-BanquAsso"
    assert policy.accounts.borrower_interest == "Expenses:6618-Interets-BanquAsso"


def test_demo_policy_file_is_valid() -> None:
    policy, problems = load_policy(DEMO_RULES)
    assert problems == [] and policy is not None


def test_values_are_read_as_exact_decimals(tmp_path: Path) -> None:
    policy, problems = _load(tmp_path, """
[floor]
fixed = "7500.10"
months_of_payroll = 1.5
[haircut]
europe = 0.1
[limits]
max_advance_per_borrower = 20000
max_days = 1826
[terms]
rate = 0.015
day_count = "30/360"
default_method = "annuity"
""")
    assert problems == [] and policy is not None
    assert policy.floor.fixed == Decimal("7500.10")
    assert policy.floor.months_of_payroll == Decimal("1.5")
    assert policy.haircut.europe == Decimal("0.1")  # not 0.1000000000000000055…
    assert policy.terms.rate == Decimal("0.015")
    assert policy.limits.max_days == 1826
    assert policy.terms.day_count == "30/360" and policy.terms.default_method == "annuity"


def test_floor_is_the_larger_of_fixed_and_payroll_months() -> None:
    floor = default_policy().floor  # 5000 EUR, 1 month
    assert floor.floor(Decimal("3200.004")) == Decimal("5000.00")
    assert floor.floor(Decimal("8400.005")) == Decimal("8400.01")


def test_haircut_by_kind_and_unknown_kind() -> None:
    haircut = default_policy().haircut
    assert haircut.for_kind("caf") == Decimal("0.8")
    assert haircut.for_kind("europe") == Decimal("0.5")
    assert haircut.for_kind(None) == haircut.autre


def test_advance_accounts_get_the_other_member() -> None:
    accounts = default_policy().accounts
    assert accounts.lender_principal_for("velo-gap") == "Assets:2748-Avances-BanquAsso:Velo-Gap"
    assert accounts.borrower_principal_for("mjc-embrun") == "Liabilities:1687-Avances-BanquAsso:Mjc-Embrun"


@pytest.mark.parametrize(("text", "line", "expected"), [
    ("[floor]\nfixed = -5\n", 2, "floor.fixed : montant négatif interdit"),
    ("[floor]\nmonths_of_payroll = -1\n", 2, "floor.months_of_payroll : montant négatif interdit"),
    ("[floor]\nfixed = \"beaucoup\"\n", 2, "floor.fixed : nombre attendu"),
    ("[floor]\nfixed = true\n", 2, "floor.fixed : nombre attendu, pas un booléen"),
    ("[limits]\nmax_advance_per_borrower = -1000\n", 2, "limits.max_advance_per_borrower : montant négatif"),
    ("[limits]\nmin_advance = -1\n", 2, "limits.min_advance : montant négatif"),
    ("[haircut]\nregion = 1.2\n", 2, "haircut.region : part attendue entre 0 et 1"),
    ("[haircut]\ncaf = -0.1\n", 2, "haircut.caf : part attendue entre 0 et 1"),
    ("[limits]\nmax_lender_share = 1.5\n", 2, "limits.max_lender_share : part attendue entre 0 et 1"),
    ("[limits]\nmax_days = 1827\n", 2, "limits.max_days : au plus 1826 jours (5 ans, plafond légal)"),
    ("[limits]\nmax_days = 0\n", 2, "limits.max_days : durée d'au moins 1 jour"),
    ("[limits]\nmax_days = 30.5\n", 2, "limits.max_days : nombre entier attendu"),
    ("[limits]\nmax_lent_share_of_net_cash = 0.6\n", 2,
     "limits.max_lent_share_of_net_cash : au plus 0.5 (plafond légal"),
    ("[limits]\nfinancial_year_start_month = 13\n", 2,
     "limits.financial_year_start_month : mois attendu entre 1 et 12"),
    ("[terms]\nrate = 0.05\nmax_rate = 0.04\n", 2,
     "terms.rate : le taux 0.05 dépasse le plafond légal terms.max_rate = 0.04"),
    ("[terms]\nrate = 0.04\n", 2, "terms.rate : le taux 0.04 dépasse le plafond légal terms.max_rate = 0.035"),
    ("[terms]\nrate = -0.01\n", 2, "terms.rate : part attendue entre 0 et 1"),
    ("[terms]\nday_count = \"ACT/360\"\n", 2, "terms.day_count : valeur « ACT/360 » inconnue"),
    ("[terms]\ndefault_method = \"balloon\"\n", 2, "terms.default_method : valeur « balloon » inconnue"),
    ("[terms]\ngrace_days = -3\n", 2, "terms.grace_days : délai de grâce attendu entre 0 et 365"),
    ("[haircut]\nmairie = 0.5\n", 2, "haircut.mairie : clé inconnue"),
    ("[limits]\nmax_day = 30\n", 2, "limits.max_day : clé inconnue"),
    ("[plancher]\nfixed = 1\n", 0, "plancher : clé inconnue"),
    ("[accounts]\nlender_principal = \"Liabilities:2748-Avances\"\n", 2,
     "accounts.lender_principal : le compte « Liabilities:2748-Avances » doit être sous Assets"),
    ("[accounts]\nborrower_interest = \"Expenses:768-Interets\"\n", 2,
     "accounts.borrower_interest : le compte « Expenses:768-Interets » (classe 7) doit être sous Income"),
    ("[accounts]\nlender_interest = \"Income:Interets\"\n", 2,
     "accounts.lender_interest : le compte « Income:Interets » n'a pas de numéro"),
    ("[accounts]\nborrower_principal = \"avances\"\n", 2, "accounts.borrower_principal : valeur au mauvais format"),
])
def test_bad_value_names_its_key_and_line(tmp_path: Path, text: str, line: int, expected: str) -> None:
    policy, problems = _load(tmp_path, text)
    assert policy is None
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{tmp_path / 'pool.toml'}{f':{line}' if line else ''}: {expected}"), problems[0]


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    policy, problems = _load(tmp_path, "[floor]\nfixed = -1\n[limits]\nmax_days = 5000\nmin_advance = -2\n")
    assert policy is None
    assert [p.split(": ", 1)[1].split(" :")[0] for p in problems] == [
        "floor.fixed", "limits.max_days", "limits.min_advance"]


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    policy, problems = _load(tmp_path, "[limits]\nmax_days = = 3\n")
    assert policy is None
    assert problems[0].startswith(f"{tmp_path / 'pool.toml'}:2: syntaxe TOML invalide")
