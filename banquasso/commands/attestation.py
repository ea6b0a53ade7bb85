"""`banquasso attestation --member ID --year AAAA`: the attestation pack of a lender's financial year (PDF + JSON)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from banquasso.commands.options import check_member
from banquasso.registry.db import open_registry
from banquasso.registry.location import registry_exists
from banquasso.registry.service import load_views
from banquasso.registry.snapshot import AdvanceView
from banquasso.scheduler.jobs import default_reports_dir
from banquasso.statement.attestation import attested_year, build_attestation, render_attestation
from banquasso.statement.pdf import write_atomically
from banquasso.terms.policy import load_policy
from banquasso.terms.tmop import load_tmop
from comptasso.cli.util import as_of_option, books_options, dump_json, fail, json_option, load_or_exit, today
from comptasso.money import fr_date, fr_money
from comptasso.problems import Problem

#: The financial year asked for opens after the as-of day: there is nothing to attest yet.
YEAR_NOT_OPEN = "attestation-year-not-open"


def _views(ledgers_dir: Path, day: dt.date) -> list[AdvanceView]:
    """The registry's advances as they stood at the end of `day` (none when the group has no registry)."""
    if not registry_exists(ledgers_dir):
        return []
    registry = open_registry(ledgers_dir)
    try:
        return load_views(registry, day)
    finally:
        registry.close()


@click.command("attestation")
@books_options
@as_of_option
@json_option
@click.option("--member", required=True, help="Le prêteur (identifiant du membre).")
@click.option("--year", type=click.IntRange(1900, 9999), required=True, metavar="AAAA",
              help="L'exercice du membre qui s'ouvre cette année-là (selon son exercice_debut).")
@click.option("-o", "--output", "output_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Dossier où écrire le PDF et le JSON (défaut : reports/attestations/ à côté des livres).")
def attestation_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, member: str,
                        year: int, output_dir: Path | None) -> None:
    """Le dossier d'attestation des prêts d'un prêteur pour un exercice (commissaire aux comptes ou
    expert-comptable) : prêts, taux et TMOP, durées, test des 50 %, décisions, dépendance, tableau pour le
    rapport de gestion et l'annexe, données du formulaire 2062. PDF et JSON."""
    books = load_or_exit(ledgers_dir, rules_dir, quiet=True)
    check_member(member, books.group.ids, hint="--member")
    policy, problems = load_policy(rules_dir)
    tmop, more = load_tmop(rules_dir)
    if policy is None or tmop is None:
        fail(problems + more)
    day = as_of or today()
    period = attested_year(books.group.member(member), year)
    if period.start > day:
        fail([Problem(str(books.group.file), 0, f"l'exercice de {member} ouvert le {fr_date(period.start)} n'est pas "
                      f"encore ouvert au {fr_date(day)} (--as-of) : rien à attester", code=YEAR_NOT_OPEN,
                      subject="--year")])
    attestation = build_attestation(books, policy, tmop, _views(ledgers_dir, min(period.end, day)), member, period,
                                    day)
    folder = output_dir or default_reports_dir(ledgers_dir) / "attestations"
    stem = folder / f"attestation-{member}-{period.start.isoformat()}"
    document = attestation.to_json()
    try:
        write_atomically(stem.with_suffix(".pdf"), render_attestation(attestation))
        write_atomically(stem.with_suffix(".json"),
                         (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        raise click.BadParameter(f"impossible d'écrire dans « {folder} » : {exc.strerror or exc}",
                                 param_hint="'-o' / '--output'") from None
    if as_json:
        dump_json({"pdf": str(stem.with_suffix(".pdf")), "json": str(stem.with_suffix(".json")), **document})
    else:
        table = attestation.table
        verdict = "respecté" if table.within_cap else "DÉPASSÉ"
        click.echo(f"{table.name}, exercice du {fr_date(table.year.start)} au {fr_date(table.year.end)} : "
                   f"{len(table.rows)} prêt(s), {fr_money(table.granted)} accordés sur l'exercice pour un plafond de "
                   f"{fr_money(table.cap)} (test des 50 % {verdict}), {fr_money(table.outstanding)} restant dus au "
                   f"{fr_date(table.day)} ; {len(attestation.forms)} prêt(s) à déclarer (formulaire 2062).")
        click.echo(str(stem.with_suffix(".pdf")))
        click.echo(str(stem.with_suffix(".json")))
