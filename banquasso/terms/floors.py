"""The floor of a member: the treasury it must keep, from the policy and its last 12 months of payroll."""

from __future__ import annotations

from decimal import Decimal

from banquasso.terms.policy import FloorPolicy
from comptasso.money import cents


def monthly_payroll(payroll_12m: Decimal) -> Decimal:
    """The average monthly 64x outflow: what was posted to 64x in A-364..A, divided by 12, to the cent."""
    return cents(payroll_12m / 12)


def member_floor(payroll_12m: Decimal, policy: FloorPolicy) -> Decimal:
    """max(floor.fixed, floor.months_of_payroll × average monthly payroll), to the cent."""
    return policy.floor(monthly_payroll(payroll_12m))
