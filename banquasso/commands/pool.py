"""`banquasso capacity` and `banquasso plan`: what members can lend, and the proposed advances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from banquasso.commands.options import check_member, pool_horizon_option
from banquasso.commands.whatif import scenario_option, scenarios_json, scenarios_line
from banquasso.pool.capacity import WINDOWS, Capacity
from banquasso.pool.memo import recall_quick
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    excluded_json,
    fail,
    json_option,
    load_usable,
    member_label,
    member_names,
    progress,
    report_exclusions,
    today,
)
from comptasso.money import fr_date, fr_money
from comptasso.problems import ProblemsError

if TYPE_CHECKING:  # the solver (scipy) and the registry (SQLAlchemy) are imported only when the books are read
    from banquasso.forecast.scenarios import Scenario
    from banquasso.pool.plan import Plan
    from banquasso.terms.policy import Policy
    from comptasso.books.facade import GroupBooks


def _table(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        cells = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)]
        out.append("  ".join(cells).rstrip())
        if index == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _open(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, quiet: bool) -> tuple[GroupBooks, dt.date]:
    """The books and the day; members whose books are broken are left out with a warning.

    --as-of before the books start is a usage error.
    """
    from banquasso.forecast.daily import books_start, readable

    books = load_usable(ledgers_dir, rules_dir, quiet=quiet, report=False)
    day = as_of or today()
    start = books_start(books)
    if start is not None and day < start:
        raise click.BadParameter(f"les livres commencent le {fr_date(start)} : aucune donnée au "
                                 f"{fr_date(day)}", param_hint="'--as-of'")
    return report_exclusions(readable(books, day)), day


def open_with_policy(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None,
                     quiet: bool) -> tuple[Policy, GroupBooks, dt.date]:
    """The pool policy (exit 1 when `pool.toml` is invalid, before any ledger is read), then `_open`."""
    from banquasso.commands.schedule import policy_or_exit

    policy = policy_or_exit(rules_dir)
    books, day = _open(ledgers_dir, rules_dir, as_of, quiet)
    return policy, books, day


def capacity_table(capacity: Capacity, names: dict[str, str] | None = None, pool: Capacity | None = None) -> str:
    """The capacity as a French table, each member's name beside its id.

    « Affecté » is the cash the member holds but may not lend (fonds dédiés, local currency:
    `MemberCapacity.earmarked`), already deducted from each window's amount.
    """
    names = names or {}
    whole = pool or capacity
    rows = [["Membre", "Plancher", "Affecté", *[f"{w} jours" for w in WINDOWS]]]
    rows.extend([member_label(m.member, names), fr_money(m.floor), fr_money(m.earmarked),
                 *[fr_money(m.lendable[w]) for w in WINDOWS]]
                for m in capacity.members)
    earmarked = sum((m.earmarked for m in whole.members), Decimal("0.00"))
    rows.append(["Groupement", "", fr_money(earmarked), *[fr_money(whole.pool[w]) for w in WINDOWS]])
    title = (f"Capacité de prêt au {fr_date(capacity.as_of)} : avance versée le lendemain, "
             "remboursée après la durée indiquée, sans passer sous le plancher ni prêter la trésorerie affectée")
    return title + "\n\n" + _table(rows, [False] + [True] * (len(WINDOWS) + 2))


def plan_text(plan: Plan, names: dict[str, str] | None = None) -> str:
    """The plan as French tables: advances, then unmet needs with their reason; names beside ids."""
    names = names or {}
    out = [f"Plan d'avances au {fr_date(plan.as_of)} (besoins sur {plan.horizon_days} jours)", ""]
    if plan.advances:
        rows = [["Prêteur", "Emprunteur", "Montant", "Versement", "Remboursement", "Garantie (convention, échéance)"]]
        rows.extend([member_label(a.lender, names, 30), member_label(a.borrower, names, 30), fr_money(a.amount),
                     fr_date(a.disburse_on), fr_date(a.repay_on),
                     f"{a.security.convention}, {fr_date(a.security.tranche_date)}"] for a in plan.advances)
        out.append(_table(rows, [False, False, True, False, False, False]))
    else:
        out.append("Aucune avance proposée.")
    out.append("")
    if plan.unmet:
        out.append("Besoins non couverts :")
        rows = [["Membre", "Du", "Au", "Montant", "Raison"]]
        rows.extend([member_label(u.need.member, names), fr_date(u.need.start), fr_date(u.need.end),
                     fr_money(u.amount), u.text] for u in plan.unmet)
        out.append(_table(rows, [False, False, False, True, False]))
        out.append("")
    out.append(f"Besoin total : {fr_money(plan.total_need)} ; couvert : {fr_money(plan.total_covered)} ; "
               f"non couvert : {fr_money(plan.total_unmet)}")
    if plan.gap > 0:
        out.append(f"Optimum non prouvé dans le temps imparti : au plus {fr_money(plan.gap)} de plus "
                   f"que le minimum possible reste non couvert (au moins {fr_money(plan.unmet_bound)}).")
    return "\n".join(out)


@click.command("capacity")
@books_options
@as_of_option
@json_option
@click.option("--member", "member", default=None, metavar="ID",
              help="Seulement ce membre (et le total du groupement).")
@scenario_option
def capacity_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                     member: str | None, scenario_names: tuple[str, ...]) -> None:
    """Ce que chaque membre peut avancer, pour 30, 60, 90 ou 180 jours."""
    from banquasso.commands.whatif import scenarios_of_books
    from banquasso.pool.plan import group_capacity, memoised_capacity

    policy, books, day = open_with_policy(ledgers_dir, rules_dir, as_of, quiet=as_json)
    scenarios = scenarios_of_books(books, rules_dir, policy, day, scenario_names)
    try:
        capacity = (group_capacity(books, policy, day, scenarios) if scenarios
                    else memoised_capacity(books, policy, day))
    except ProblemsError as exc:
        fail(exc.problems)
    shown = capacity if member is None else only_member(capacity, member)
    if as_json:
        document = shown.to_json()
        document["pool"] = {str(w): str(v) for w, v in capacity.pool.items()}
        dump_json({**document, "excluded": excluded_json(books), "scenarios": scenarios_json(scenarios)})
    else:
        head = scenarios_line(scenarios)
        click.echo((head + "\n" if head else "") + capacity_table(shown, member_names(books), pool=capacity))


def only_member(capacity: Capacity, member: str) -> Capacity:
    """The capacity of one member; a usage error naming the known ids when `member` is not one."""
    check_member(member, [m.member for m in capacity.members])
    return Capacity(capacity.as_of, tuple(m for m in capacity.members if m.member == member))


@click.command("plan")
@books_options
@as_of_option
@json_option
@pool_horizon_option("Jours après --as-of où chercher les besoins (1 à 365).")
@scenario_option
def plan_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, horizon: int,
                 scenario_names: tuple[str, ...]) -> None:
    """Les avances proposées et les besoins qui restent non couverts, avec leur raison."""
    from banquasso.commands.schedule import policy_or_exit

    policy = policy_or_exit(rules_dir)
    recalled = (recall_quick("plan", ledgers_dir, rules_dir, as_of or today(), horizon=horizon)
                if not scenario_names else None)
    scenarios: Sequence[Scenario] = ()
    if recalled is not None:  # nothing changed since this plan was computed: no ledger is read (pool.memo)
        plan, front = recalled
        for exclusion in front.excluded:
            click.echo(str(exclusion.warning()), err=True)
        excluded, names = [e.to_json() for e in front.excluded], dict(front.names)
    else:
        from banquasso.commands.whatif import scenarios_of_books
        from banquasso.pool.plan import memoised_plan, plan_group

        books, day = _open(ledgers_dir, rules_dir, as_of, quiet=as_json)
        scenarios = scenarios_of_books(books, rules_dir, policy, day, scenario_names)
        try:
            plan = (plan_group(books, policy, day, horizon, progress, scenarios=scenarios) if scenarios
                    else memoised_plan(books, policy, day, horizon, progress=progress))
        except ProblemsError as exc:
            fail(exc.problems)
        excluded, names = excluded_json(books), member_names(books)
    if as_json:
        dump_json({**plan.to_json(), "excluded": excluded, "scenarios": scenarios_json(scenarios)})
    else:
        head = scenarios_line(scenarios)
        click.echo((head + "\n" if head else "") + plan_text(plan, names))
