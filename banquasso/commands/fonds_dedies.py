"""`banquasso fonds-dedies`: the year-end fonds dédiés of earmarked grants, shown or proposed in the books.

With `--write`, the proposed entries (flagged `!`) go into `fonds-dedies.beancount` in the member's own
folder, and the member's ledger gains `include "fonds-dedies.beancount"` when it lacks it; both files
are written as one through the engine's journaled atomic write, checked through Beancount and undone on
error. A year already proposed for a convention is never proposed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from beancount.core import data

from banquasso.commands.options import check_member
from banquasso.registry.ledger_write import FileEdit, write_files, write_lock
from comptasso.books.facade import GroupBooks
from comptasso.books.group import Member
from comptasso.books.loading import load_member_ledger
from comptasso.cli.util import as_of_option, books_options, dump_json, fail, json_option, load_usable, today
from comptasso.model.fonds_dedies import (
    DOTATION_ACCOUNT,
    FUND_ACCOUNT,
    RELEASE_ACCOUNT,
    FondsDediesRow,
    closing_entries,
    fonds_dedies_rows,
)
from comptasso.money import fr_date, fr_money, money_json
from comptasso.problems import Problem

FILE = "fonds-dedies.beancount"
HEADER = "; Fonds dédiés proposés par BanquAsso (à valider par le comptable : drapeau « ! »).\n"


def already_proposed(entries: Sequence[data.Directive], year: int) -> set[str]:
    """The conventions whose closing of `year` is already in the books."""
    return {str(e.meta.get("convention")) for e in entries if isinstance(e, data.Transaction)
            and str(e.meta.get("fonds_dedies_closing", "")) == str(year)}


def _opens(entries: Sequence[data.Directive], day: dt.date) -> str:
    opened = {e.account for e in entries if isinstance(e, data.Open)}
    return "".join(f"{day.isoformat()} open {a} EUR\n" for a in (FUND_ACCOUNT, DOTATION_ACCOUNT, RELEASE_ACCOUNT)
                   if a not in opened)


def proposal(entries: Sequence[data.Directive], rows: Sequence[FondsDediesRow], year_start: dt.date,
             year_end: dt.date) -> str:
    """The text to add to the member's fonds dédiés file: missing opens and the year's entries not yet there."""
    done = already_proposed(entries, year_end.year)
    text = closing_entries([r for r in rows if r.convention not in done], year_end)
    return "" if not text else _opens(entries, year_start) + "\n" + text


def write_proposal(books: GroupBooks, member: Member, text: str) -> list[Problem]:
    """Append the proposal to the member's fonds dédiés file (and include it), atomically; errors undo it."""
    target = member.folder / FILE
    main = member.ledger
    ledgers_dir = books.group.ledgers_dir
    with write_lock(ledgers_dir, [main]):
        old = target.read_text(encoding="utf-8") if target.exists() else HEADER
        edits = [FileEdit(target, old.rstrip("\n") + "\n\n" + text)]
        main_text = main.read_text(encoding="utf-8")
        if f'include "{FILE}"' not in main_text:
            edits.append(FileEdit(main, main_text.rstrip("\n") + f'\ninclude "{FILE}"\n'))

        def check() -> list[Problem]:
            ledger = load_member_ledger(member.id, main, books.reference.allowed_plugins)
            return [p for p in ledger.problems if p.is_error]

        return write_files(ledgers_dir, edits, check)


def row_json(row: FondsDediesRow) -> dict[str, Any]:
    return {"convention": row.convention, "funder": row.funder, "action": row.action,
            **{k: money_json(getattr(row, k)) for k in ("opening", "granted", "charges", "released", "dotation",
                                                         "closing")}}


def rows_text(member: Member, year: int, rows: Sequence[FondsDediesRow]) -> str:
    out = [f"Fonds dédiés {year} — {member.name} ({member.id})"]
    if not rows:
        return out[0] + "\n  Aucune subvention affectée (fonds_dedies: TRUE) sur l'exercice."
    out += [f"  {r.convention} ({r.action}) : à l'ouverture {fr_money(r.opening)}, subvention "
            f"{fr_money(r.granted)}, charges de l'action {fr_money(r.charges)} ; utilisés (789) "
            f"{fr_money(r.released)}, reportés (689) {fr_money(r.dotation)} ; à la clôture "
            f"{fr_money(r.closing)}" for r in rows]
    return "\n".join(out)


@click.command("fonds-dedies")
@books_options
@as_of_option
@json_option
@click.option("--member", required=True, help="Le membre (identifiant de group.toml).")
@click.option("--year", type=click.IntRange(2000, 2100), required=True, help="L'exercice (année civile) à clôturer.")
@click.option("--write", "write", is_flag=True,
              help="Écrire les écritures proposées (drapeau « ! ») dans fonds-dedies.beancount du membre.")
def fonds_dedies_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, member: str,
                         year: int, write: bool) -> None:
    """Les fonds dédiés de l'exercice : part non utilisée des subventions affectées (689/19x, 789)."""
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=as_json)
    check_member(member, books.group.ids)
    start, day = dt.date(year, 1, 1), as_of or today()
    if day < start:
        raise click.BadParameter(f"l'exercice {year} n'a pas commencé au {fr_date(day)}", param_hint="'--as-of'")
    end = min(dt.date(year, 12, 31), day)
    entries = books.ledger(member).entries
    rows = fonds_dedies_rows(entries, start, end)
    the_member = books.group.member(member)
    written = ""
    if write:
        written = proposal(entries, rows, start, dt.date(year, 12, 31))
        if written:
            problems = write_proposal(books, the_member, written)
            if problems:
                fail(problems)
    if as_json:
        dump_json({"member": member, "year": year, "rows": [row_json(r) for r in rows], "written": bool(written)})
        return
    click.echo(rows_text(the_member, year, rows))
    if write:
        click.echo(f"Écritures proposées ajoutées à {the_member.folder / FILE}" if written
                   else "Rien à écrire : les écritures de l'exercice sont déjà proposées.")
