"""pandas views of the forecast, for treasurers who work in notebooks.

Amounts stay `decimal.Decimal` (object columns) so sums are exact; call `.astype(float)` yourself
only to plot. Typical use::

    from banquasso.forecast.frames import load_forecast, balances_frame
    forecast = load_forecast("ledgers", "rules", "2026-11-30")
    balances_frame(forecast)            # one row a day, one column a member, plus "groupe"
"""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from pathlib import Path

import pandas as pd

from banquasso.forecast.daily import DEFAULT_HORIZON, GroupForecast, forecast_group, readable
from banquasso.forecast.delays import DelayModel
from banquasso.forecast.risk import GroupRisk
from banquasso.terms.policy import load_policy
from comptasso import clock
from comptasso.books.facade import open_books
from comptasso.problems import ProblemsError

GROUP_COLUMN = "groupe"


def load_forecast(
    ledgers_dir: str | Path = "ledgers",
    rules_dir: str | Path = "rules",
    as_of: str | dt.date | None = None,
    horizon: int = DEFAULT_HORIZON,
) -> GroupForecast:
    """Open the books and the policy and forecast; raises ProblemsError listing every error.

    A member whose ledger is broken is left out of the forecast with a warning (`warnings.warn`);
    the default day is the group's today (comptasso.clock).
    """
    day = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else (as_of or clock.today())
    books, problems = open_books(Path(ledgers_dir), Path(rules_dir))
    policy, policy_problems = load_policy(Path(rules_dir))
    errors = [p for p in [*(books.problems if books else problems), *policy_problems] if p.is_error]
    if books is None or policy is None or errors:
        raise ProblemsError(errors or problems)
    usable = readable(books.without_broken(), day)
    if not usable.members:
        raise ProblemsError([p for e in usable.excluded for p in e.problems])
    for exclusion in usable.excluded:
        warnings.warn(str(exclusion.warning()), stacklevel=2)
    return forecast_group(usable, day, horizon, policy.floor)


def balances_frame(forecast: GroupForecast) -> pd.DataFrame:
    """Daily balances: index `date`, one column per member id and a `groupe` column (Decimal)."""
    columns = {m.member_id: [b for _, b in m.days] for m in forecast.members}
    columns[GROUP_COLUMN] = [b for _, b in forecast.days]
    index = pd.Index([day for day, _ in forecast.days], name="date")
    return pd.DataFrame(columns, index=index)


def summary_frame(forecast: GroupForecast) -> pd.DataFrame:
    """One row per member (index `member`): opening, floor, lowest balance, its date, days below floor."""
    rows = [{
        "member": m.member_id, "name": m.name, "opening_balance": m.opening_balance, "floor": m.floor,
        "monthly_payroll": m.monthly_payroll, "min_balance": m.min_balance, "min_date": m.min_date,
        "days_below_floor": m.days_below_floor,
    } for m in forecast.members]
    return pd.DataFrame(rows).set_index("member")


def flows_frame(forecast: GroupForecast) -> pd.DataFrame:
    """Every expected flow within the horizon: date, member, kind, label, reference, amount."""
    rows = [{
        "date": f.date, "member": m.member_id, "kind": f.kind, "label": f.label,
        "reference": f.reference, "amount": f.amount,
    } for m in forecast.members for f in m.flows]
    return pd.DataFrame(rows, columns=["date", "member", "kind", "label", "reference", "amount"])


def funders_frame(delays: DelayModel) -> pd.DataFrame:
    """One row per funder (index `funder`): matched tranches, median / p80 / p90 delay in days, source."""
    rows = [{
        "funder": f.funder_id, "name": f.name, "kind": f.kind, "matched": len(f.matched),
        "median_delay_days": f.median_days, "p80_delay_days": f.p80_days, "p90_delay_days": f.p90_days,
        "source": f.source,
    } for f in delays.funders.values()]
    return pd.DataFrame(rows).set_index("funder")


def risk_frame(risk: GroupRisk) -> pd.DataFrame:
    """The Monte Carlo band: index `date`, columns `<member>_p5`, `<member>_p95`, `groupe_p5`, `groupe_p95`."""
    columns: dict[str, list[Decimal]] = {}
    for member_id, figures in [*risk.members.items(), (GROUP_COLUMN, risk.group)]:
        columns[f"{member_id}_p5"] = [low for _, low, _ in figures.band]
        columns[f"{member_id}_p95"] = [high for _, _, high in figures.band]
    index = pd.Index([day for day, _, _ in risk.group.band], name="date")
    return pd.DataFrame(columns, index=index)
