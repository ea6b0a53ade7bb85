"""The morning job's warning about comptes rendus financiers: due within 60 days, or late."""

from __future__ import annotations

import datetime as dt

from banquasso.watch.monitoring import Alert
from comptasso.books.facade import GroupBooks
from comptasso.model.grant_files import REPORT_DUE, REPORT_LATE, grant_files
from comptasso.model.member import member_model
from comptasso.money import fr_date

REPORT_ALERT = "compte-rendu"


def report_alerts(books: GroupBooks, today: dt.date) -> list[Alert]:
    """One alert per convention whose compte rendu financier is due within 60 days or late, not yet sent."""
    out = []
    for member in books.members:
        entries = books.ledger(member.id).entries
        model = member_model(entries, today)
        for file in grant_files(entries, model.grants, model.statuses, today):
            status = file.report_status
            if status not in (REPORT_DUE, REPORT_LATE):
                continue
            what = "en retard depuis le" if status == REPORT_LATE else "à remettre au plus tard le"
            out.append(Alert(today, REPORT_ALERT, member.id, file.grant.convention, file.report_due, None,
                             f"{member.name} : compte rendu financier de la convention {file.grant.convention} "
                             f"{what} {fr_date(file.report_due)}"))
    return out
