"""The allocation program's inputs as plain values: lenders, borrowers, securities, needs and limits.

They are built from the forecast (`banquasso.pool.plan.plan_inputs`) without importing the solver
(SciPy, `banquasso.pool.allocation`), so that a program the memo already solved is built, keyed
and answered with no solver loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class FiscalYear:
    """A lender's financial year seen by the forecast: all advances paid in it stay under the legal cap.

    `first`..`last` are the day indices it covers; `opening_cash` its treasury at the opening; when it
    opens inside the forecast, `eve` is the index of the day before, and the planned advances still
    outstanding that day lower its opening cash. `already_lent` counts advances already paid in it.
    """

    first: int
    last: int
    opening_cash: Decimal
    eve: int | None = None
    already_lent: Decimal = ZERO


@dataclass(frozen=True)
class LenderInput:
    """A member that may lend: its daily surplus over its floor (balance − floor) and financial years."""

    id: str
    surplus: tuple[Decimal, ...]
    fiscal_years: tuple[FiscalYear, ...] = ()


@dataclass(frozen=True)
class BorrowerInput:
    """A member that needs advances: its daily shortfall under its floor (floor − balance, ≤ 0 when above)."""

    id: str
    shortfall: tuple[Decimal, ...]


@dataclass(frozen=True)
class SecurityInput:
    """A grant tranche of a borrower: advances it secures are repaid on day `repay`, up to `cap` in all."""

    borrower: str
    key: str
    repay: int
    cap: Decimal


@dataclass(frozen=True)
class NeedInput:
    """An episode below the floor: days `start`..`end` of a borrower, and the securities that may back it."""

    borrower: str
    start: int
    end: int
    securities: tuple[int, ...]


@dataclass(frozen=True)
class Limits:
    """The policy limits the program keeps (amounts in EUR, shares 0–1, days)."""

    max_lender_share: Decimal = Decimal(1)
    max_days: int = 1826
    min_advance: Decimal = ZERO
    max_per_borrower: Decimal = Decimal("1e12")
    legal_share: Decimal = Decimal("0.5")
    #: (lender, borrower, room): the most the plan may advance on that pair in all (the dependence test,
    #: `banquasso.terms.rules.dependence_room`, when `limits.dependence = "refuse"`); pairs not listed: no cap.
    pair_rooms: tuple[tuple[str, str, Decimal], ...] = ()

    def pair_room(self, lender: str, borrower: str) -> Decimal:
        """The pair's room, or an amount no plan reaches."""
        return next((room for l_id, b_id, room in self.pair_rooms if (l_id, b_id) == (lender, borrower)),
                    Decimal("1e12"))


@dataclass(frozen=True)
class AllocationInput:
    """Everything the program needs; `horizon` is the length of every daily series."""

    horizon: int
    lenders: tuple[LenderInput, ...]
    borrowers: tuple[BorrowerInput, ...]
    securities: tuple[SecurityInput, ...]
    needs: tuple[NeedInput, ...]
    limits: Limits


def active(start: int, repay: int, day: int) -> bool:
    """Whether an advance paid on `start` and repaid on `repay` is outstanding at the end of `day`."""
    return start <= day < repay
