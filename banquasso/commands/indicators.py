"""`banquasso indicateurs`: the management ratios of each member beside the group's distribution.

Without `--member`, every member's figures (the board's view); with `--member ID`, that member's figures
and the group's anonymised distribution only (what its treasurer sees in Fava).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member
from banquasso.practice.indicators import (
    DEFINITIONS,
    Definition,
    Distribution,
    Indicators,
    MemberBooks,
    for_member,
    group_indicators,
    position,
    trend,
)
from comptasso.books.facade import GroupBooks
from comptasso.cli.util import as_of_option, books_options, dump_json, excluded_json, json_option, load_usable, today
from comptasso.money import fr_number


def default_year(day: dt.date) -> int:
    """The last calendar year ended on the day (the year itself on 31 December)."""
    return day.year if (day.month, day.day) == (12, 31) else day.year - 1


def compute(books: GroupBooks, year: int, day: dt.date, member: str | None = None) -> Indicators:
    """The indicators of the group's usable members (one member's view with `member`)."""
    members = [MemberBooks(m.id, m.name, books.ledger(m.id).entries, m.year_start) for m in books.members]
    result = group_indicators(members, year, day, books.reference.funders)
    return for_member(result, member) if member is not None else result


def fr_value(value: Decimal | None, unit: str) -> str:
    """`12.5` → `12,5 jours` / `12,5 %`; `—` without a value."""
    if value is None:
        return "—"
    return f"{fr_number(value, 1)} {unit}"


def _json_value(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _distribution_json(d: Distribution) -> dict[str, Any]:
    return {"count": d.count, "q1": _json_value(d.q1), "median": _json_value(d.median), "q3": _json_value(d.q3)}


def indicators_json(ind: Indicators) -> dict[str, Any]:
    """`{"as_of", "year", "years", "redacted", "indicators": [{"code", …, "group", "members": [...]}]}`."""
    out = []
    for d in DEFINITIONS:
        group = ind.distributions[d.code]
        out.append({
            "code": d.code, "label": d.label, "unit": d.unit, "reading": d.reading,
            "group": _distribution_json(group),
            "members": [{"id": m.id, "name": m.name,
                         "values": {str(y): _json_value(v) for y, v in zip(m.years, m.values[d.code], strict=True)},
                         "trend": trend(m.values[d.code]), "position": position(m.latest(d.code), group)}
                        for m in ind.members],
        })
    kinds = [{"id": m.id, "shares": {k: _json_value(v) for k, v in m.kinds.items()}} for m in ind.members]
    return {"as_of": ind.as_of.isoformat(), "year": ind.year, "years": list(ind.years), "redacted": ind.redacted,
            "indicators": out, "subsidies_by_funder_kind": kinds}


def _group_text(d: Definition, group: Distribution) -> str:
    if group.median is None:
        return f"groupement : non affiché ({group.count} membre(s) avec une valeur)" if group.count else \
            "groupement : aucune valeur"
    return (f"groupement ({group.count} membres) : 1er quartile {fr_value(group.q1, d.unit)}, médiane "
            f"{fr_value(group.median, d.unit)}, 3e quartile {fr_value(group.q3, d.unit)}")


def indicators_text(ind: Indicators) -> str:
    """The French report: one block per ratio, each member's years and where it stands."""
    years = " / ".join(str(y) for y in ind.years)
    out = [f"Indicateurs de gestion {ind.year} (lus au {ind.as_of:%d/%m/%Y}) — exercices {years}"]
    for d in DEFINITIONS:
        group = ind.distributions[d.code]
        out += ["", d.label, f"  {_group_text(d, group)}"]
        for m in ind.members:
            values = " / ".join(fr_value(v, d.unit) for v in m.values[d.code])
            where = position(m.latest(d.code), group)
            out.append(f"  {m.name} ({m.id}) : {values} ; {trend(m.values[d.code])}" + (f", {where}" if where else ""))
        out.append(f"  Lecture : {d.reading}")
    for m in ind.members:
        if m.kinds:
            shares = ", ".join(f"{k} {fr_value(v, '%')}" for k, v in m.kinds.items())
            out += ["", f"Subventions par type de financeur {ind.year}, en part des ressources — {m.name} : {shares}"]
    return "\n".join(out)


@click.command("indicateurs")
@books_options
@as_of_option
@json_option
@click.option("--member", default=None, help="Les chiffres de ce membre seul, avec la répartition anonyme du "
                                             "groupement (identifiant de group.toml).")
@click.option("--year", type=click.IntRange(2000, 2100), default=None,
              help="L'exercice (année de clôture) ; par défaut le dernier clos à la date de lecture.")
def indicators_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, member: str | None,
                       year: int | None) -> None:
    """Indicateurs de gestion de chaque membre, comparés au groupement (médiane et quartiles) sur 3 exercices."""
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=as_json)
    check_member(member, books.group.ids)
    day = as_of or today()
    result = compute(books, year if year is not None else default_year(day), day, member)
    if as_json:
        dump_json({**indicators_json(result), "excluded": excluded_json(books)})
    else:
        click.echo(indicators_text(result))
