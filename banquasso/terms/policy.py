"""The pool policy `rules/pool.toml`: the legal mode, floors, haircuts, limits, terms and advance accounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from comptasso.books.group import account_component
from comptasso.books.reference import FUNDER_KINDS
from comptasso.books.tomlfile import read_toml, validate
from comptasso.model.chart import class_problem
from comptasso.problems import Problem

POOL_FILE = "pool.toml"

#: French law 2024-344 / decree 2025-779: an advance lasts at most five years (5 × 365 + 1 leap day).
LEGAL_MAX_DAYS = 1826
#: French law: all loans of a lender over a financial year stay within half its net cash at its start.
LEGAL_MAX_LENT_SHARE = Decimal("0.5")
#: The longest advance any mode accepts (ten years): a bound on the tables, not a legal cap.
TECHNICAL_MAX_DAYS = 3653

#: The two legal modes (`mode`, banquasso.terms.modes): bilateral loans, or a convention de trésorerie.
MODE_LOANS = "prets"
MODE_TREASURY = "convention-de-tresorerie"
MODES: tuple[str, ...] = (MODE_LOANS, MODE_TREASURY)
Mode = Literal["prets", "convention-de-tresorerie"]
_MEMBER_ID = r"^[a-z0-9][a-z0-9-]{1,31}$"

DayCount = Literal["ACT/365", "30/360"]
DependenceMode = Literal["refuse", "warn"]
DEPENDENCE_MODES: tuple[str, ...] = DependenceMode.__args__  # type: ignore[attr-defined]
Method = Literal["bullet", "on-receipt", "linear", "annuity"]
METHODS: tuple[str, ...] = Method.__args__  # type: ignore[attr-defined]
DAY_COUNTS: tuple[str, ...] = DayCount.__args__  # type: ignore[attr-defined]


def _to_decimal(value: Any) -> Decimal:
    """TOML int, float or string → Decimal; floats go through their shortest text form (no binary noise)."""
    if isinstance(value, bool):
        raise ValueError("nombre attendu, pas un booléen")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"nombre attendu, pas « {value} »") from None
    else:
        raise ValueError(f"nombre attendu, pas {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("nombre fini attendu")
    return result


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"montant négatif interdit ({value})")
    return value


def _share(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError(f"part attendue entre 0 et 1 ({value})")
    return value


Amount = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_non_negative)]
"""EUR, ≥ 0."""
Share = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_share)]
"""A fraction between 0 and 1."""
Rate = Annotated[Decimal, BeforeValidator(_to_decimal), AfterValidator(_share)]
"""An annual rate as a fraction (0.03 = 3 %)."""


def _strict_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("nombre entier attendu")
    return value


Int = Annotated[int, BeforeValidator(_strict_int)]


def _one_of(options: tuple[str, ...]) -> Any:
    def check(value: Any) -> Any:
        if value not in options:
            raise ValueError(f"valeur « {value} » inconnue ; attendu : {', '.join(options)}")
        return value
    return BeforeValidator(check)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FloorPolicy(_Table):
    """The floor of a member: max(fixed, months_of_payroll × average monthly 64x outflow)."""

    fixed: Amount = Field(default=Decimal(5000), description="EUR")
    months_of_payroll: Amount = Field(default=Decimal(1), description="months")

    def floor(self, monthly_payroll: Decimal) -> Decimal:
        """The floor for a member whose average monthly payroll is given (EUR, to the cent)."""
        from comptasso.money import cents

        return max(cents(self.fixed), cents(self.months_of_payroll * max(monthly_payroll, Decimal(0))))


def _haircut_fields() -> dict[str, Decimal]:
    """Prudent defaults: public funders pay surely but late; Europe and foundations are less certain."""
    return {
        "etat": Decimal("0.8"), "region": Decimal("0.8"), "departement": Decimal("0.8"),
        "commune": Decimal("0.7"), "epci": Decimal("0.7"), "caf": Decimal("0.8"),
        "europe": Decimal("0.5"), "fondation": Decimal("0.6"), "autre": Decimal("0.5"),
    }


class HaircutPolicy(_Table):
    """Share (0–1) of an open grant tranche that may secure advances, by funder kind."""

    etat: Share = _haircut_fields()["etat"]
    region: Share = _haircut_fields()["region"]
    departement: Share = _haircut_fields()["departement"]
    commune: Share = _haircut_fields()["commune"]
    epci: Share = _haircut_fields()["epci"]
    caf: Share = _haircut_fields()["caf"]
    europe: Share = _haircut_fields()["europe"]
    fondation: Share = _haircut_fields()["fondation"]
    autre: Share = _haircut_fields()["autre"]

    def for_kind(self, kind: str | None) -> Decimal:
        """The haircut of a funder kind; an unknown kind gets the `autre` haircut."""
        if kind in FUNDER_KINDS:
            return Decimal(getattr(self, str(kind)))
        return Decimal(self.autre)


def _max_days(value: int, info: ValidationInfo) -> int:
    """At least a day; at most five years in `prets` mode (the legal cap), ten in a convention de trésorerie."""
    if value < 1:
        raise ValueError(f"durée d'au moins 1 jour attendue ({value})")
    treasury = isinstance(info.context, dict) and info.context.get("mode") == MODE_TREASURY
    if value > LEGAL_MAX_DAYS and not treasury:
        raise ValueError(f"au plus {LEGAL_MAX_DAYS} jours (5 ans, plafond légal) ; reçu {value}")
    if value > TECHNICAL_MAX_DAYS:
        raise ValueError(f"au plus {TECHNICAL_MAX_DAYS} jours (10 ans) ; reçu {value}")
    return value


def _legal_share(value: Decimal) -> Decimal:
    if value > LEGAL_MAX_LENT_SHARE:
        raise ValueError(f"au plus {LEGAL_MAX_LENT_SHARE} (plafond légal de 50 % de la trésorerie nette) ; "
                         f"reçu {value}")
    return value


def _month(value: int) -> int:
    if not 1 <= value <= 12:
        raise ValueError(f"mois attendu entre 1 et 12 ({value})")
    return value


def _grace(value: int) -> int:
    if not 0 <= value <= 365:
        raise ValueError(f"délai de grâce attendu entre 0 et 365 jours ({value})")
    return value


class LimitsPolicy(_Table):
    """What one advance, one borrower and one lender may reach."""

    max_advance_per_borrower: Amount = Field(default=Decimal(30000), description="EUR")
    max_lender_share: Share = Field(default=Decimal("0.8"), description="share of lendable surplus")
    max_days: Annotated[Int, AfterValidator(_max_days)] = Field(default=365, description="days")
    min_advance: Amount = Field(default=Decimal(1000), description="EUR")
    max_lent_share_of_net_cash: Annotated[Share, AfterValidator(_legal_share)] = Field(
        default=LEGAL_MAX_LENT_SHARE, description="share of net cash at the start of the financial year")
    financial_year_start_month: Annotated[Int, AfterValidator(_month)] = Field(
        default=1, description="month (1–12) the lenders' financial year starts")
    max_dependence_share: Share = Field(
        default=Decimal("0.5"), description="most a borrower owes one lender, share of its annual resources")
    dependence: Annotated[DependenceMode, _one_of(DEPENDENCE_MODES)] = "warn"


class TermsPolicy(_Table):
    """The terms of an advance: rate, day count, repayment method, grace."""

    max_rate: Rate = Field(default=Decimal("0.035"), description="legal cap on the annual rate, fraction")
    rate: Rate = Field(default=Decimal(0), description="annual rate, fraction, at most max_rate")
    day_count: Annotated[DayCount, _one_of(DAY_COUNTS)] = "ACT/365"
    default_method: Annotated[Method, _one_of(METHODS)] = "on-receipt"
    grace_days: Annotated[Int, AfterValidator(_grace)] = Field(default=15, description="days")

    @field_validator("rate")
    @classmethod
    def _under_cap(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        cap = info.data.get("max_rate")
        if cap is not None and value > cap:
            raise ValueError(f"le taux {value} dépasse le plafond légal terms.max_rate = {cap}")
        return value


def _account_rule(root: str) -> Any:
    def check(value: str) -> str:
        if not value.startswith(root + ":"):
            raise ValueError(f"le compte « {value} » doit être sous {root}")
        problem = class_problem(value)
        if problem:
            raise ValueError(problem)
        return value
    return AfterValidator(check)


_ACCOUNT_PATTERN = r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$"


class AccountsPolicy(_Table):
    """The four advance accounts; the engine appends the other member as a component."""

    lender_principal: Annotated[str, Field(pattern=_ACCOUNT_PATTERN), _account_rule("Assets")] = (
        "Assets:2748-Avances-BanquAsso")
    lender_interest: Annotated[str, Field(pattern=_ACCOUNT_PATTERN), _account_rule("Income")] = (
        "Income:768-Interets-BanquAsso")
    borrower_principal: Annotated[str, Field(pattern=_ACCOUNT_PATTERN), _account_rule("Liabilities")] = (
        "Liabilities:1687-Avances-BanquAsso")
    borrower_interest: Annotated[str, Field(pattern=_ACCOUNT_PATTERN), _account_rule("Expenses")] = (
        "Expenses:6618-Interets-BanquAsso")

    def lender_principal_for(self, borrower_id: str) -> str:
        """`Assets:2748-Avances-BanquAsso:Velo-Gap` in the lender's ledger."""
        return f"{self.lender_principal}:{account_component(borrower_id)}"

    def borrower_principal_for(self, lender_id: str) -> str:
        """`Liabilities:1687-Avances-BanquAsso:Ressourcerie-Durance` in the borrower's ledger."""
        return f"{self.borrower_principal}:{account_component(lender_id)}"


    group_receivable: Annotated[str, Field(pattern=_ACCOUNT_PATTERN), _account_rule("Assets")] = (
        "Assets:4511-Groupe-Comptes-Courants")
    group_payable: Annotated[str, Field(pattern=_ACCOUNT_PATTERN), _account_rule("Liabilities")] = (
        "Liabilities:4511-Groupe-Comptes-Courants")

    def group_receivable_for(self, other_id: str) -> str:
        """Convention de trésorerie: `Assets:4511-Groupe-Comptes-Courants:Ge-Alpes`, what `other_id` owes."""
        return f"{self.group_receivable}:{account_component(other_id)}"

    def group_payable_for(self, other_id: str) -> str:
        """Convention de trésorerie: `Liabilities:4511-Groupe-Comptes-Courants:Velo-Gap`, what is owed to it."""
        return f"{self.group_payable}:{account_component(other_id)}"


class Policy(_Table):
    """The whole pool policy; every key has a default, so an empty file is a valid policy."""

    mode: Annotated[Mode, _one_of(MODES)] = Field(default="prets", description="legal mode")
    pivot: str | None = Field(default=None, pattern=_MEMBER_ID, validate_default=True,
                              description="member id of the organisme pivot (convention-de-tresorerie mode)")
    floor: FloorPolicy = FloorPolicy()
    haircut: HaircutPolicy = HaircutPolicy()
    limits: LimitsPolicy = LimitsPolicy()
    terms: TermsPolicy = TermsPolicy()
    accounts: AccountsPolicy = AccountsPolicy()

    @field_validator("pivot")
    @classmethod
    def _pivot_for_mode(cls, value: str | None, info: ValidationInfo) -> str | None:
        mode = info.data.get("mode")
        if mode == MODE_TREASURY and value is None:
            raise ValueError("le mode « convention-de-tresorerie » exige pivot = \"ID\", le membre organisme pivot "
                             "(le groupement d'employeurs)")
        if mode == MODE_LOANS and value is not None:
            raise ValueError("pivot ne sert qu'en mode « convention-de-tresorerie » (mode = \"prets\" ici)")
        return value

    @classmethod
    def model_validate(cls, obj: Any, *, strict: bool | None = None, extra: Any = None,
                       from_attributes: bool | None = None, context: Any | None = None,
                       by_alias: bool | None = None, by_name: bool | None = None) -> Policy:
        """Validate with the mode in the context: the five-year cap on `limits.max_days` depends on it."""
        if context is None and isinstance(obj, dict):
            context = {"mode": obj.get("mode", MODE_LOANS)}
        return super().model_validate(obj, strict=strict, extra=extra, from_attributes=from_attributes,
                                      context=context, by_alias=by_alias, by_name=by_name)


def default_policy() -> Policy:
    """The policy of an empty `pool.toml`."""
    return Policy()


def load_policy(rules_dir: Path) -> tuple[Policy | None, list[Problem]]:
    """Read `rules/pool.toml`; a missing or empty file is the default policy."""
    path = Path(rules_dir) / POOL_FILE
    if not path.exists():
        return default_policy(), []
    data, problems = read_toml(path)
    if problems:
        return None, problems
    return validate(path, Policy, data)
