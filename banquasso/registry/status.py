"""An advance as users see it at a date: effective status, lateness, what is owed and when it is due."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from beancount.core import data

from banquasso.registry import lifecycle
from banquasso.registry.balance import accrued_interest, due_lines, late_since, remaining_lines, securing_receipt
from banquasso.registry.snapshot import AdvanceView, view_json
from comptasso.money import money_json


def advance_document(view: AdvanceView, borrower_entries: Sequence[data.Directive], as_of: dt.date) -> dict[str, Any]:
    """The registry record with status, lateness, outstanding, accrued interest, due dates and the rest, as of a day.

    `remaining` is the rest of the schedule once the repayments made are applied, with interest from
    the last movement (what `advance repay` would accept on each date).
    """
    received = securing_receipt(view, borrower_entries, as_of)
    lines = due_lines(view, received)
    late = late_since(view, lines, as_of)
    status = lifecycle.effective(view.state, late is not None)
    document = view_json(view)
    document.update({
        "status": status, "status_label": lifecycle.LABELS[status], "late": late is not None,
        "late_since": late.isoformat() if late else None,
        "outstanding": money_json(view.outstanding_on(as_of)),
        "accrued_interest": money_json(accrued_interest(view, as_of)) if view.disbursement else "0.00",
        "tranche_received_on": received.isoformat() if received else None,
        "due": [{"n": line.n, "date": line.date.isoformat(), "principal": money_json(line.principal),
                 "interest": money_json(line.interest), "planned": line.planned} for line in lines],
        "remaining": [{"n": line.n, "date": line.date.isoformat(), "principal": money_json(line.principal),
                       "interest": money_json(line.interest), "planned": line.planned}
                      for line in remaining_lines(view, lines)],
    })
    return document
