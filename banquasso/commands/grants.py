"""`banquasso subventions` and `banquasso compte-rendu`: grant files and the compte rendu financier."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member, member_filter_option
from banquasso.forecast.delays import DelayModel, delay_model
from banquasso.statement.compte_rendu import compte_rendu_json, render_compte_rendu_pdf
from comptasso.books.facade import GroupBooks
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    excluded_json,
    json_option,
    load_usable,
    today,
)
from comptasso.model.compte_rendu import compte_rendu
from comptasso.model.grant_files import LABELS, GrantFile, grant_files
from comptasso.model.member import member_model
from comptasso.money import fr_date, fr_money, money_json
from comptasso.reports.pdfstyle import write_pdf


@dataclass(frozen=True)
class MemberFiles:
    """One member's grant files."""

    member_id: str
    name: str
    files: tuple[GrantFile, ...]


def group_files(books: GroupBooks, day: dt.date, member: str | None = None) -> tuple[list[MemberFiles], DelayModel]:
    """Every member's grant files as of a day, and the funders' learned delays (all members' history)."""
    out = []
    statuses = {}
    for m in books.members:
        entries = books.ledger(m.id).entries
        model = member_model(entries, day)
        statuses[m.id] = model.statuses
        if member is None or m.id == member:
            out.append(MemberFiles(m.id, m.name, tuple(grant_files(entries, model.grants, model.statuses, day))))
    return out, delay_model(statuses, books.reference.funders, day)


def _delay(model: DelayModel, funder: str | None) -> int | None:
    known = model.funders.get(funder or "")
    return None if known is None else known.median_days


def file_json(file: GrantFile, model: DelayModel) -> dict[str, Any]:
    """One convention of `banquasso subventions --json`."""
    return {
        "convention": file.grant.convention, "funder": file.grant.funder, "action": file.action,
        "amount": money_json(file.grant.amount), "notified_on": file.notified_on.isoformat(),
        "filed_on": None if file.filed_on is None else file.filed_on.isoformat(), "conditions": file.conditions,
        "earmarked": file.earmarked, "status": file.status, "payment_status": file.payment_status,
        "report_status": file.report_status, "received": money_json(file.received),
        "expected": money_json(file.expected), "legal_deadline": file.legal_deadline.isoformat(),
        "legal_delay_days": 60, "funder_delay_days": _delay(model, file.grant.funder),
        "report_due": file.report_due.isoformat(),
        "report_sent_on": None if file.report_sent_on is None else file.report_sent_on.isoformat(),
        "documents": list(file.documents),
    }


def files_text(day: dt.date, members: Sequence[MemberFiles], model: DelayModel) -> str:
    """The French list: one block per member, one line per convention."""
    out = [f"Dossiers de subvention au {fr_date(day)}"]
    for m in members:
        out += ["", f"{m.name} ({m.member_id})"]
        if not m.files:
            out.append("  Aucune convention.")
        for f in m.files:
            delay = _delay(model, f.grant.funder)
            out.append(f"  {f.grant.convention} — {f.grant.funder or '?'} — {LABELS[f.status]}")
            out.append(f"    notifiée le {fr_date(f.notified_on)} : {fr_money(f.grant.amount)} ; reçu "
                       f"{fr_money(f.received)} ; attendu {fr_money(f.expected)}")
            out.append(f"    délai légal de paiement : {fr_date(f.legal_deadline)} (60 jours) ; délai appris du "
                       f"financeur : {'inconnu' if delay is None else f'{delay} jours après échéance'}")
            out.append(f"    compte rendu financier dû le {fr_date(f.report_due)}"
                       + (f", envoyé le {fr_date(f.report_sent_on)}" if f.report_sent_on else ""))
            if f.action:
                out.append(f"    action : {f.action}" + (" (fonds dédiés)" if f.earmarked else ""))
            if f.documents:
                out.append(f"    pièces : {', '.join(f.documents)}")
    return "\n".join(out)


@click.command("subventions")
@books_options
@as_of_option
@json_option
@member_filter_option
def subventions_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                        member: str | None) -> None:
    """Chaque convention de subvention : état, reçu, attendu, délais, compte rendu financier."""
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=as_json)
    check_member(member, books.group.ids)
    day = as_of or today()
    members, model = group_files(books, day, member)
    if as_json:
        dump_json({"as_of": day.isoformat(),
                   "members": [{"id": m.member_id, "conventions": [file_json(f, model) for f in m.files]}
                               for m in members], "excluded": excluded_json(books)})
    else:
        click.echo(files_text(day, members, model))


@click.command("compte-rendu")
@books_options
@as_of_option
@json_option
@click.option("--convention", "reference", required=True, help="Référence de la convention (métadonnée convention).")
@click.option("--member", default=None, help="Le membre qui porte la convention (sinon : celui qui la connaît).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Écrire le PDF à ce chemin (défaut : compte-rendu-REF.pdf dans le dossier courant).")
def compte_rendu_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, reference: str,
                         member: str | None, pdf_path: Path | None) -> None:
    """Le compte rendu financier (CERFA 15059) d'une convention : charges et produits de l'action."""
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=as_json)
    check_member(member, books.group.ids)
    day = as_of or today()
    members, _ = group_files(books, day, member)
    found = [(m, f) for m in members for f in m.files if f.grant.convention == reference]
    if not found:
        raise click.BadParameter(f"convention inconnue « {reference} » au {fr_date(day)}", param_hint="'--convention'")
    if len(found) > 1:
        raise click.BadParameter(f"la convention « {reference} » existe chez plusieurs membres : précisez --member",
                                 param_hint="'--convention'")
    owner, file = found[0]
    report = compte_rendu(books.ledger(owner.member_id).entries, file)
    if report is None:
        raise click.BadParameter(f"la convention « {reference} » n'a pas de métadonnée « action » : aucune écriture "
                                 "ne peut lui être rattachée", param_hint="'--convention'")
    if as_json:
        dump_json(compte_rendu_json(owner.member_id, report))
        return
    path = pdf_path or Path(f"compte-rendu-{reference}.pdf")
    write_pdf(path, render_compte_rendu_pdf(owner.name, report))
    click.echo(f"Compte rendu financier de {reference} ({owner.name}) écrit dans {path} : charges "
               f"{fr_money(report.total_charges)}, produits {fr_money(report.total_produits)}")
