"""The `generate` command: write the demo group or a large synthetic group of ledgers."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import click

from comptasso.cli.util import ISO_DATE
from comptasso.synthetic.basics import french_date
from comptasso.synthetic.group import DEFAULT_END, DEMO_SEED, build_group


@click.command("generate")
@click.argument("out_dir", metavar="DOSSIER", type=click.Path(file_okay=False, path_type=Path))
@click.option("--members", type=click.IntRange(min=1), default=None,
              help="Nombre de membres synthétiques (sans cette option : le groupe de démonstration à 6 membres).")
@click.option("--years", type=click.IntRange(1, 20), default=3, show_default=True,
              help="Nombre d'années civiles de livres, la dernière s'arrêtant au jour --as-of.")
@click.option("--seed", type=int, default=DEMO_SEED, show_default=True,
              help="Graine du tirage aléatoire : même graine, mêmes fichiers à l'octet près.")
@click.option("--as-of", "as_of", type=ISO_DATE, default=DEFAULT_END, show_default=True,
              help="Dernier jour des livres écrits (le groupe de démonstration s'arrête au 30/11/2026).")
def generate_command(out_dir: Path, members: int | None, years: int, seed: int, as_of: date) -> None:
    """Écrire le groupe de démonstration, ou un groupe synthétique, dans DOSSIER.

    DOSSIER reçoit group.toml, group.beancount et un dossier par membre ; les fichiers existants
    sont réécrits, les autres ne sont pas touchés.
    """
    end = as_of
    start = date(end.year - years + 1, 1, 1)
    began = time.perf_counter()
    report = build_group(out_dir, members, start, end, seed)
    elapsed = time.perf_counter() - began
    kind = "Groupe de démonstration" if members is None else "Groupe synthétique"
    click.echo(f"{kind} « {report.name} » écrit dans {out_dir} en {elapsed:.1f} s :")
    click.echo(f"  - {out_dir / 'group.toml'} et {out_dir / 'group.beancount'} ;")
    click.echo(f"  - {len(report.members)} dossiers de membre (main.beancount, banquasso.beancount, "
               f"import.beancount), {report.entries} écritures en tout ;")
    click.echo(f"  - livres du {french_date(start)} au {french_date(end)}, graine {seed}.")
    if members is None:
        for member in report.members:
            click.echo(f"    {member.id:<22} {member.name}")
