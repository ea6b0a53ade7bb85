"""The « Budget » and « Subventions » pages of a member ledger in Fava: the same functions as the commands.

Each page reads only the Fava ledger it is opened on (one member's books), so a treasurer, whose scope
is their own ledger, sees only their member.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from beancount.core import data

from comptasso.model.budgets import BudgetStatus, budget_report
from comptasso.model.grant_files import LABELS, GrantFile, grant_files
from comptasso.model.member import member_model
from comptasso.money import fr_date, fr_money


def budget_context(entries: Sequence[data.Directive], day: dt.date) -> dict[str, Any]:
    """Budget vs réalisé per line, month by month, with the landing; the problems of malformed lines."""
    statuses, problems = budget_report(entries, member_model(entries, day).previsions, day)
    lines = [_line(s) for s in statuses]
    actions = sorted({s.line.action for s in statuses if s.line.action})
    return {"as_of": fr_date(day), "lines": lines, "actions": actions, "problems": [str(p) for p in problems]}


def _line(s: BudgetStatus) -> dict[str, Any]:
    return {
        "prefix": s.line.prefix, "action": s.line.action or "",
        "period": f"{fr_date(s.line.start)} – {fr_date(s.line.end)}",
        "budget": fr_money(s.line.amount), "to_date": fr_money(s.budget_to_date), "actual": fr_money(s.actual),
        "remaining": fr_money(s.remaining), "landing": fr_money(s.landing), "over": s.remaining < 0,
        "months": [{"month": m.strftime("%m/%Y"), "budget": fr_money(b), "actual": fr_money(a)}
                   for m, b, a in s.months],
    }


def grants_context(entries: Sequence[data.Directive], day: dt.date) -> dict[str, Any]:
    """Each convention's file: status, received and expected, legal deadline, report due, evidence."""
    model = member_model(entries, day)
    files = [_file(f) for f in grant_files(entries, model.grants, model.statuses, day)]
    return {"as_of": fr_date(day), "files": files}


def _file(f: GrantFile) -> dict[str, Any]:
    return {
        "convention": f.grant.convention, "funder": f.grant.funder or "", "action": f.action or "",
        "status": f.status, "label": LABELS[f.status], "amount": fr_money(f.grant.amount),
        "received": fr_money(f.received), "expected": fr_money(f.expected),
        "notified": fr_date(f.notified_on), "legal_deadline": fr_date(f.legal_deadline),
        "report_due": fr_date(f.report_due), "earmarked": f.earmarked, "conditions": f.conditions or "",
        "documents": list(f.documents),
        "alert": f.status in ("report-due", "report-late"),
    }


def is_spec_budget(entry: object) -> bool:
    """True for a `custom "budget"` in the SPEC's form (`"PRÉFIXE" DÉBUT FIN MONTANT`), not Fava's own.

    Fava reads `custom "budget" Compte "intervalle" MONTANT` for its own budget reports and reports
    every other form as « Invalid interval for budget entry »; ours has a date in second place.
    """
    values: Sequence[Any] = getattr(entry, "values", None) or ()
    return getattr(entry, "type", None) == "budget" and len(values) >= 2 and isinstance(values[1].value, dt.date)


def drop_spec_budget_errors(ledger: Any) -> None:
    """Remove Fava's budget errors about SPEC-form budget lines (they are ours, checked by banquasso budget)."""
    budgets = getattr(ledger, "budgets", None)
    if budgets is not None:
        budgets.errors = [e for e in budgets.errors if not is_spec_budget(getattr(e, "entry", None))]
