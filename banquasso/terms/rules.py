"""The pool rules, one function each: the planner sizes advances with them and the commitment guard re-checks them.

Each `*_room` function says how much a rule still allows; each `check_*` function returns the
`Breach` of its rule (naming the policy key and the figures, in French) or None. A breach is
`legal` when French law forbids it (law 2024-344, decree 2025-779): such a breach can never be
overridden, even by the treasurer with `--force`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from banquasso.terms.dependence import Dependence
from banquasso.terms.policy import LEGAL_MAX_DAYS
from comptasso.money import fr_date, fr_money, fr_number

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

#: Stable problem codes of the rules (docs/advances.md lists them).
FLOOR = "limit-floor"
MAX_PER_BORROWER = "limit-max-advance-per-borrower"
MAX_LENDER_SHARE = "limit-max-lender-share"
MAX_DAYS = "limit-max-days"
LEGAL_MAX_DAYS_CODE = "legal-max-days"
MIN_ADVANCE = "limit-min-advance"
MAX_RATE = "legal-max-rate"
NET_CASH_CAP = "legal-net-cash-cap"
SECURITY_CAP = "limit-security-cap"
SECURITY_MISSING = "security-not-open"
MEMBER_UNREADABLE = "member-books-unreadable"
DEPENDENCE = "legal-dependence"
RULE_CODES: tuple[str, ...] = (FLOOR, MAX_PER_BORROWER, MAX_LENDER_SHARE, MAX_DAYS, LEGAL_MAX_DAYS_CODE,
                               MIN_ADVANCE, MAX_RATE, NET_CASH_CAP, SECURITY_CAP, SECURITY_MISSING, MEMBER_UNREADABLE,
                               DEPENDENCE)
#: The codes no override may pass: French law forbids them, or nothing could be checked.
LEGAL_CODES = frozenset({LEGAL_MAX_DAYS_CODE, MAX_RATE, NET_CASH_CAP, MEMBER_UNREADABLE, DEPENDENCE})


@dataclass(frozen=True)
class Breach:
    """A rule an advance would break: its code, the policy key, a French message with the figures."""

    code: str
    key: str
    message: str
    #: A breach the policy only warns of (`limits.dependence = "warn"`): shown, never refusing.
    warning: bool = False

    @property
    def legal(self) -> bool:
        return self.code in LEGAL_CODES


def down(value: Decimal) -> Decimal:
    """Round down to the cent: what a rule allows never exceeds it."""
    return value.quantize(CENT, rounding=ROUND_DOWN)


def _day(day: dt.date) -> str:
    """A date in a rule's French sentence: `03/12/2026`."""
    return fr_date(day)


def fiscal_year_start(day: dt.date, month: int) -> dt.date:
    """The opening day of the financial year (opening in `month`) that contains `day`."""
    start = dt.date(day.year, month, 1)
    return start if start <= day else dt.date(day.year - 1, month, 1)


# --- what each rule still allows (the planner's side) ----------------------------------------------

def lender_room(min_surplus: Decimal, share: Decimal) -> Decimal:
    """limits.max_lender_share: the most a lender may commit, given its lowest surplus over its floor."""
    return down(max(min_surplus, ZERO) * share)


def legal_room(opening_cash: Decimal, share: Decimal, already_lent: Decimal) -> Decimal:
    """limits.max_lent_share_of_net_cash: what a lender may still grant in a financial year (≥ 0)."""
    return max(ZERO, share * opening_cash - already_lent)


def security_cap(haircut: Decimal, open_amount: Decimal) -> Decimal:
    """haircut.<kind>: the most all advances secured by one tranche may reach (haircut × open amount, down)."""
    return down(haircut * open_amount)


# --- the checks (the guard's side) ----------------------------------------------------------------

def check_min_advance(amount: Decimal, minimum: Decimal) -> Breach | None:
    """limits.min_advance: an advance is at least the minimum."""
    if amount >= minimum:
        return None
    return Breach(MIN_ADVANCE, "limits.min_advance",
                  f"{fr_money(amount)} est inférieur à l'avance minimale limits.min_advance = {fr_money(minimum)}")


def check_duration(disburse_on: dt.date, repay_on: dt.date, max_days: int,
                   legal_max_days: int | None = LEGAL_MAX_DAYS) -> Breach | None:
    """limits.max_days and the legal five years (`legal_max_days`, None in a mode without it, `terms.modes`)."""
    days = (repay_on - disburse_on).days
    if legal_max_days is not None and days > legal_max_days:
        return Breach(LEGAL_MAX_DAYS_CODE, "limits.max_days",
                      f"durée de {days} jours au-delà du plafond légal de {LEGAL_MAX_DAYS} jours (5 ans)")
    if days > max_days:
        return Breach(MAX_DAYS, "limits.max_days",
                      f"durée de {days} jours au-delà de limits.max_days = {max_days}")
    return None


def check_rate(rate: Decimal, max_rate: Decimal, key: str = "terms.max_rate") -> Breach | None:
    """The rate stays at or under the legal cap: the TMOP of the approval's half-year (`rules/tmop.toml`,
    key `tmop."AAAA-Sn"`), or `terms.max_rate` when the table has no value for it."""
    if rate <= max_rate:
        return None
    return Breach(MAX_RATE, key, f"taux de {rate} au-delà du plafond légal {key} = {max_rate}")


def check_borrower_cap(borrower: str, peak: Decimal, peak_day: dt.date, cap: Decimal) -> Breach | None:
    """limits.max_advance_per_borrower: on every day, what a borrower owes on all its advances."""
    if peak <= cap:
        return None
    return Breach(MAX_PER_BORROWER, "limits.max_advance_per_borrower",
                  f"{borrower} devrait {fr_money(peak)} le {_day(peak_day)} avec toutes les avances engagées, "
                  f"au-delà de limits.max_advance_per_borrower = {fr_money(cap)}")


def check_lender_share(lender: str, amount: Decimal, min_surplus: Decimal, low_day: dt.date,
                       share: Decimal, earmarked: Decimal = ZERO) -> Breach | None:
    """limits.max_lender_share: one advance takes at most that share of the lender's lowest surplus
    (over its floor and its `earmarked` cash, already deducted from `min_surplus`)."""
    room = lender_room(min_surplus, share)
    if amount <= room:
        return None
    kept = f" et de sa trésorerie affectée de {fr_money(earmarked)}" if earmarked > 0 else ""
    return Breach(MAX_LENDER_SHARE, "limits.max_lender_share",
                  f"{fr_money(amount)} au-delà de ce que {lender} peut engager : {fr_money(room)} "
                  f"(limits.max_lender_share = {share} de son excédent de {fr_money(max(min_surplus, ZERO))} "
                  f"au-dessus de son plancher{kept} le {_day(low_day)})")


def first_day_below(days: Sequence[tuple[dt.date, Decimal]], floor: Decimal) -> tuple[dt.date, Decimal] | None:
    """The first day (and its balance) strictly under the floor, or None."""
    return next(((day, balance) for day, balance in days if balance < floor), None)


def check_floor(lender: str, days: Sequence[tuple[dt.date, Decimal]], floor: Decimal) -> Breach | None:
    """floor.fixed / floor.months_of_payroll: a lender stays at or above its floor on every day."""
    below = first_day_below(days, floor)
    if below is None:
        return None
    day, balance = below
    return Breach(FLOOR, "floor.fixed",
                  f"{lender} passerait à {fr_money(balance)} le {_day(day)}, sous son plancher de {fr_money(floor)} "
                  "(floor.fixed, floor.months_of_payroll) avec toutes les avances engagées")


def check_net_cash_cap(lender: str, year_start: dt.date, opening_cash: Decimal, share: Decimal,
                       granted: Decimal) -> Breach | None:
    """limits.max_lent_share_of_net_cash: what a lender grants in a financial year, against its opening net cash."""
    room = legal_room(opening_cash, share, ZERO)
    if granted <= room:
        return None
    return Breach(NET_CASH_CAP, "limits.max_lent_share_of_net_cash",
                  f"{lender} accorderait {fr_money(granted)} sur l'exercice ouvert le {_day(year_start)}, au-delà de "
                  f"{fr_money(room)} (limits.max_lent_share_of_net_cash = {share} de sa trésorerie nette "
                  f"d'ouverture, {fr_money(opening_cash)} ; plafond légal)")


def dependence_room(resources: Decimal, share: Decimal, owed_to_lender: Decimal) -> Decimal:
    """limits.max_dependence_share: what a borrower may still owe one lender (≥ 0, rounded down to the cent)."""
    return down(max(ZERO, share * max(resources, ZERO) - owed_to_lender))


def check_dependence(figures: Dependence, share: Decimal, mode: str) -> Breach | None:
    """limits.max_dependence_share: what a borrower owes one lender (the new advance included) stays within
    that share of its annual resources (class 7 credits over 365 days). `limits.dependence` says whether a
    breach refuses the advance (`refuse`, never overridable: the law forbids the dependence) or warns (`warn`)."""
    if figures.owed_to_lender <= share * max(figures.resources, ZERO):  # exact: the shown share is rounded
        return None
    ratio = figures.lender_share
    shown = "sans ressources" if ratio is None else f"{fr_number(ratio * 100)} % de"
    return Breach(DEPENDENCE, "limits.max_dependence_share",
                  f"{figures.borrower} devrait {fr_money(figures.owed_to_lender)} à {figures.lender}, {shown} ses "
                  f"ressources annuelles ({fr_money(figures.resources)} de produits du {_day(figures.first_day)} au "
                  f"{_day(figures.day)}), au-delà de limits.max_dependence_share = {share} (dépendance financière ; "
                  f"total dû à tous les prêteurs : {fr_money(figures.owed_total)})", warning=mode == "warn")


def check_security(tranche: str, secured: Decimal, cap: Decimal, haircut_key: str) -> Breach | None:
    """haircut.<kind>: a tranche secures at most haircut × its open amount, across all advances."""
    if secured <= cap:
        return None
    return Breach(SECURITY_CAP, haircut_key,
                  f"l'échéance {tranche} garantirait {fr_money(secured)} d'avances, au-delà de {fr_money(cap)} "
                  f"({haircut_key} × montant ouvert)")


def missing_security(tranche: str) -> Breach:
    """An advance secured by a tranche that is not (or no longer) open."""
    return Breach(SECURITY_MISSING, "haircut",
                  f"l'échéance {tranche} n'est pas ouverte : elle ne peut garantir aucune avance")


def unreadable_member(member: str) -> Breach:
    """A member whose ledger does not load: its rules cannot be checked, so nothing is committed."""
    return Breach(MEMBER_UNREADABLE, "ledgers",
                  f"le livre de {member} ne se charge pas (voir comptasso check) : aucun engagement n'est possible")


def security_at_risk(expected: dt.date | None, repay_on: dt.date) -> bool:
    """An advance is at risk when its securing tranche is no longer expected (cancelled) or after its repayment date."""
    return expected is None or expected > repay_on
