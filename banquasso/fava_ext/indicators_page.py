"""The « Indicateurs de gestion » page in Fava: the ratios of `banquasso indicateurs`, seen through the access layer.

The page computes the whole group (the same `banquasso.practice.indicators` functions as the command) and
then keeps what the user may see: a treasurer gets their own member's figures and the group's anonymised
distribution (`for_member`), never another member's name or figure; the board, the bookkeepers and an
unauthenticated local `comptasso serve` see every member.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request
from markupsafe import Markup

from banquasso.commands.indicators import compute, default_year, fr_value
from banquasso.fava_ext.views import Place
from banquasso.practice.indicators import DEFINITIONS, Indicators, position, trend
from comptasso.books.facade import open_books
from comptasso.money import fr_date
from comptasso.web.access import User, current_user


def parse_year(text: str) -> int | None:
    """The `?year=` of the page (2000–2100), None (the default year) for anything else."""
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else None


def viewer_member(user: User | None) -> str | None:
    """The one member a user is limited to (a treasurer's), None for a user who sees the whole group."""
    return user.member if user is not None and user.role == "treasurer" else None


def indicators_context(place: Place, user: User | None, day: dt.date, year: int | None) -> dict[str, Any]:
    """Everything the template shows, already formatted in French, limited to what `user` may see."""
    books, problems = open_books(place.ledgers_dir, place.rules_dir)
    group_errors = problems if books is None else [p for p in books.problems if p.is_error]
    if books is None or group_errors:  # the group file or the rules: nothing can be computed
        return {"problems": [str(p) for p in group_errors], "ratios": [], "kinds": [], "as_of": fr_date(day),
                "year": "", "years": [], "redacted": False}
    usable = books.without_broken()  # a broken member is left out, as by the command
    member = viewer_member(user)
    shown_year = year if year is not None else default_year(day)
    data = page_data(compute(usable, shown_year, day, member), day)
    left_out = [e.member_id for e in usable.excluded]
    if left_out and member is None:
        data["problems"] = [f"livre(s) illisible(s) laissé(s) de côté : {', '.join(left_out)}"]
    elif left_out:
        data["problems"] = [f"{len(left_out)} livre(s) illisible(s) laissé(s) de côté dans le groupement"]
    return data


def page_data(ind: Indicators, day: dt.date) -> dict[str, Any]:
    """The page's rows: per ratio, the group's distribution and each visible member's trend."""
    ratios = []
    for d in DEFINITIONS:
        group = ind.distributions[d.code]
        ratios.append({
            "label": d.label, "reading": d.reading, "count": group.count, "shown": group.median is not None,
            "q1": fr_value(group.q1, d.unit), "median": fr_value(group.median, d.unit),
            "q3": fr_value(group.q3, d.unit),
            "members": [{"name": m.name, "figures": [fr_value(v, d.unit) for v in m.values[d.code]],
                         "trend": trend(m.values[d.code]), "position": position(m.latest(d.code), group)}
                        for m in ind.members],
        })
    kinds = [{"name": m.name, "shares": [(k, fr_value(v, "%")) for k, v in m.kinds.items()]}
             for m in ind.members if m.kinds]
    return {"problems": [], "as_of": fr_date(day), "year": ind.year, "years": list(ind.years),
            "redacted": ind.redacted, "ratios": ratios, "kinds": kinds}


def render_indicators(extension: Any) -> str:
    """The page inside Fava's layout, for the ledger `extension` (BanquAssoExtension) is opened on."""
    place, (day, _) = extension.place(), extension.as_of()
    page = (indicators_context(place, current_user(), day, parse_year(request.args.get("year", "")))
            if place is not None else {"problems": ["aucun group.toml au-dessus de ce livre"], "ratios": []})
    content = Markup(extension.jinja_env.get_template("bqa_indicators_page.html").render(page=page))  # noqa: S704
    return str(render_template("_layout.html", content=content, page_title=extension.report_title))
