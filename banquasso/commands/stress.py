"""`banquasso stress`: the standard what-ifs (or the given ones) and what each does to members, group and advances."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from banquasso.commands.options import pool_horizon_option
from banquasso.commands.pool import _table, open_with_policy
from banquasso.commands.whatif import scenario_option, scenarios_of_books
from banquasso.forecast.secured import AdvanceAtRisk
from banquasso.pool.stress import Stress, StressResult, stress
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    excluded_json,
    fail,
    json_option,
    member_label,
    member_names,
    progress,
)
from comptasso.money import fr_date, fr_money
from comptasso.problems import ProblemsError


def _lows_table(result: StressResult, names: dict[str, str]) -> str:
    rows = [["Membre", "Point bas", "Le", "Jours sous le plancher", "Besoin non couvert"]]
    rows.extend([member_label(m.id, names), fr_money(m.min_balance), fr_date(m.min_date), str(m.days_below_floor),
                 fr_money(m.unmet)] for m in result.members)
    g = result.group
    rows.append(["Groupe", fr_money(g.min_balance), fr_date(g.min_date), str(g.days_below_floor), fr_money(g.unmet)])
    return _table(rows, [False, True, False, True, True])


def _late(item: AdvanceAtRisk) -> str:
    if item.expected is None:
        return "tranche annulée"
    return f"{fr_date(item.expected)} (+{item.days_late} j)"


def at_risk_table(items: tuple[AdvanceAtRisk, ...], names: dict[str, str]) -> str:
    """The advances at risk as a French table."""
    rows = [["Origine", "Avance", "Prêteur", "Emprunteur", "Montant", "Remboursement", "Garantie", "Attendue le"]]
    rows.extend([a.secured.origin, a.secured.advance or "—", member_label(a.secured.lender, names, 24),
                 member_label(a.secured.borrower, names, 24), fr_money(a.secured.amount),
                 fr_date(a.secured.repay_on), f"{a.secured.convention}, {fr_date(a.secured.tranche_date)}", _late(a)]
                for a in items)
    return _table(rows, [False, False, False, False, True, False, False, False])


def _section(title: str, result: StressResult, names: dict[str, str]) -> list[str]:
    lines = [title, _lows_table(result, names)]
    if result.at_risk:
        lines += [(f"Avances à risque : {len(result.at_risk)} ({fr_money(result.amount_at_risk)}) — la tranche qui "
                  "les garantit arriverait après leur remboursement"), at_risk_table(result.at_risk, names)]
    else:
        lines.append("Aucune avance à risque.")
    return [*lines, ""]


def stress_text(result: Stress, names: dict[str, str]) -> str:
    """The French report of a stress test: the baseline, then one section per scenario."""
    lines = [(f"Tests de résistance au {fr_date(result.as_of)} (sur {result.horizon_days} jours) — "
             f"{len(result.secured)} avance(s) vérifiée(s) : celles du plan du jour et celles "
             "en cours au registre"), ""]
    lines += _section("Référence (sans scénario)", result.baseline, names)
    for item in result.results:
        assert item.scenario is not None
        lines += _section(f"Scénario « {item.scenario.name} » — {item.scenario.description}", item, names)
    return "\n".join(lines).rstrip()


@click.command("stress")
@books_options
@as_of_option
@json_option
@pool_horizon_option("Jours après --as-of où mesurer point bas et besoins (1 à 365).")
@scenario_option
def stress_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, horizon: int,
                   scenario_names: tuple[str, ...]) -> None:
    """Tests de résistance : chaque type de financeur 90 jours en retard, la plus grosse tranche de chaque
    membre annulée, la masse salariale + 10 % (ou les --scenario donnés) ; avances mises à risque."""
    policy, books, day = open_with_policy(ledgers_dir, rules_dir, as_of, quiet=as_json)
    chosen = scenarios_of_books(books, rules_dir, policy, day, scenario_names) if scenario_names else None
    try:
        result = stress(books, policy, day, horizon, chosen, progress)
    except ProblemsError as exc:
        fail(exc.problems)
    if as_json:
        dump_json({**result.to_json(), "excluded": excluded_json(books)})
    else:
        click.echo(stress_text(result, member_names(books)))
