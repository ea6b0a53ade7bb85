"""`banquasso advance …`: propose, approve, reject, disburse, confirm, repay, show and list advances."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member
from banquasso.pool.guard import commitment_guard
from banquasso.registry import codes, lifecycle
from banquasso.registry.db import open_registry
from banquasso.registry.decisions import Decision
from banquasso.registry.service import (
    Desk,
    Outcome,
    Override,
    Proposal,
    approve,
    cancel,
    confirm,
    disburse,
    load_view,
    load_views,
    propose,
    propose_plan,
    reject,
    repay,
    unknown,
)
from banquasso.registry.snapshot import AdvanceView
from banquasso.registry.status import advance_document
from banquasso.terms.modes import pivot_problems
from banquasso.terms.policy import POOL_FILE, load_policy
from banquasso.terms.tmop import load_tmop, rate_cap
from comptasso.books.facade import GroupBooks
from comptasso.books.group import load_group
from comptasso.cli.util import (
    ISO_DATE,
    as_of_option,
    books_options,
    dump_json,
    fail,
    json_option,
    load_or_exit,
    member_label,
    progress,
    today,
)
from comptasso.money import fr_date, fr_money, fr_number, parse_amount
from comptasso.problems import Problem, ProblemsError

ACTOR_ENV = "BANQUASSO_USER"


def _actor(by: str | None) -> str:
    return (by or os.environ.get(ACTOR_ENV) or getpass.getuser() or "inconnu").strip()


def _desk(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, by: str | None, dry_run: bool,
          force_reason: str | None = None) -> Desk:
    group, problems = load_group(ledgers_dir)
    policy, more = load_policy(rules_dir)
    if group is not None and policy is not None:  # a convention de trésorerie's pivot must be a member
        more += pivot_problems(policy, group, str(Path(rules_dir) / POOL_FILE))
    if group is None or policy is None or problems or more:
        fail(problems + more)
    actor = _actor(by)
    user = (os.environ.get(ACTOR_ENV) or actor).strip()  # `approve --by` names the board's signatory
    override = None if force_reason is None else Override(force_reason, _treasurer_of(Path(rules_dir), user,
                                                                                       group.ids), user)
    registry = open_registry(ledgers_dir)
    return Desk(Path(ledgers_dir), Path(rules_dir), registry, policy, group, as_of or today(), actor, dry_run,
                commitment_guard, override)


def _treasurer_of(rules_dir: Path, actor: str, member_ids: tuple[str, ...]) -> str | None:
    """The member whose treasurer the actor is in `rules/users.toml` (None if not a treasurer, or no file)."""
    from comptasso.web.access import USERS_FILE, load_users

    path = rules_dir / USERS_FILE
    if not path.exists():
        return None
    users, problems = load_users(path, member_ids)
    if users is None:
        fail(problems)
    user = users.users.get(actor)
    return user.member if user is not None and user.role == "treasurer" else None


def force_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`--force --reason`: the treasurer's audited override of a policy rule (never of a legal cap)."""
    func = click.option("--reason", "force_reason",
                        help="Motif de la dérogation (avec --force ; inscrit au journal d'audit).")(func)
    return click.option("--force", is_flag=True,
                        help="Déroger à une règle de la politique (trésorier·e du prêteur seulement, jamais "
                             "aux plafonds légaux) ; exige --reason.")(func)


def _force_reason(force: bool, reason: str | None) -> str | None:
    if not force:
        if reason is not None:
            raise click.UsageError("--reason ne s'emploie qu'avec --force")
        return None
    if reason is None or not reason.strip():
        raise click.UsageError("--force exige --reason (le motif de la dérogation, inscrit au journal d'audit)")
    return reason


def _amount(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def dry_run_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--dry-run", is_flag=True, help="Montrer ce qui serait écrit, sans rien changer.")(func)


def _report(outcome: Outcome, desk: Desk, as_json: bool, *, wrote_ledgers: bool = False) -> None:
    """Print an operation's outcome; exit 1 with every problem when it failed.

    After a write into the ledgers, the JSON document reads the books again to show their balances.
    """
    for message in outcome.messages if not as_json else ():
        click.echo(message)
    if not outcome.ok:
        for message in outcome.messages if as_json else ():
            click.echo(message, err=True)
        fail(outcome.problems)
    if as_json:
        books = _books(desk) if wrote_ledgers else None
        document = _document(outcome.advance, desk, books) if outcome.advance else None
        dump_json({"advance": document, "messages": list(outcome.messages), "entries": list(outcome.entries),
                   "dry_run": desk.dry_run})
    elif outcome.entries:
        click.echo("")
        click.echo("".join(outcome.entries).rstrip("\n"))


def _document(view: AdvanceView, desk: Desk, books: GroupBooks | None) -> dict[str, Any]:
    entries = books.ledgers[view.borrower].entries if books else []
    return advance_document(view, entries, desk.as_of)


def _books(desk: Desk) -> GroupBooks:
    return load_or_exit(desk.ledgers_dir, desk.rules_dir, quiet=True)


@click.group("advance")
def advance_command() -> None:
    """Les avances entre membres : proposer, approuver, verser, confirmer, rembourser, consulter."""


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    return books_options(as_of_option(json_option(func)))


def _read_plan(path: str) -> tuple[list[Proposal], list[Problem]]:
    """The advances of a `banquasso plan --json` document (a file, or `-` for stdin)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        document = json.loads(text)
    except OSError as exc:
        return [], [Problem(path, 0, f"plan illisible : {exc}")]
    except json.JSONDecodeError as exc:
        return [], [Problem(path, exc.lineno, f"plan JSON invalide : {exc.msg}")]
    proposals, problems = [], []
    items = document.get("advances") if isinstance(document, dict) else None
    if not isinstance(items, list):
        return [], [Problem(path, 0, "plan sans liste « advances » (attendu : la sortie de banquasso plan --json)")]
    for index, item in enumerate(items):
        try:
            secured = item.get("secured_by") or {}
            tranche = secured.get("tranche_date")
            proposals.append(Proposal(
                str(item["lender"]), str(item["borrower"]), parse_amount(str(item["amount"])),
                dt.date.fromisoformat(item["disburse_on"]), dt.date.fromisoformat(item["repay_on"]),
                secured.get("convention"), dt.date.fromisoformat(tranche) if tranche else None,
                item.get("method")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(Problem(path, 0, f"advances[{index}] : ligne de plan invalide ({exc})"))
    return proposals, problems


def _plan_now(books: GroupBooks, desk: Desk) -> list[Proposal]:
    """The advances `banquasso plan` proposes as of the desk's date."""
    from banquasso.pool.plan import plan_group  # the solver is slow to import; only this path needs it

    try:
        plan = plan_group(books, desk.policy, desk.as_of, progress=progress)
    except ProblemsError as exc:
        fail(exc.problems)
    return [Proposal(a.lender, a.borrower, a.amount, a.disburse_on, a.repay_on, a.security.convention,
                     a.security.tranche_date, a.method) for a in plan.advances]


@advance_command.command("propose")
@_common
@click.option("--from-plan", "plan_file", help="Fichier JSON de `banquasso plan --json` (ou - pour l'entrée standard).")
@click.option("--lender", help="Prêteur (identifiant du membre).")
@click.option("--borrower", help="Emprunteur (identifiant du membre).")
@click.option("--amount", callback=_amount, help="Montant en euros (ex. 10 000,00 ou 10000.00).")
@click.option("--disburse-on", type=ISO_DATE, help="Date de versement prévue.")
@click.option("--repay-on", type=ISO_DATE, help="Date de remboursement prévue.")
@click.option("--convention", help="Convention de subvention qui garantit l'avance.")
@click.option("--tranche-date", type=ISO_DATE, help="Date de l'échéance de subvention qui garantit l'avance.")
@click.option("--method", type=click.Choice(["bullet", "on-receipt", "linear", "annuity"]),
              help="Remboursement (défaut : terms.default_method de pool.toml).")
@click.option("--by", help="Qui enregistre (défaut : l'utilisateur).")
@force_options
@dry_run_option
def propose_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                    plan_file: str | None, lender: str | None, borrower: str | None, amount: Decimal | None,
                    disburse_on: dt.date | None, repay_on: dt.date | None, convention: str | None,
                    tranche_date: dt.date | None, method: str | None, by: str | None, force: bool,
                    force_reason: str | None, dry_run: bool) -> None:
    """Enregistrer des avances proposées : le plan du jour (défaut), un plan JSON, ou une avance décrite.

    Le plan d'un jour n'est enregistré qu'une fois ; le plan d'un jour suivant remplace les avances
    encore proposées des plans précédents. Une avance décrite passe le contrôle des engagements.
    """
    manual = (lender, borrower, amount, disburse_on, repay_on)
    described = any(v is not None for v in (*manual, convention, tranche_date, method))
    if described and None in manual:
        raise click.UsageError("pour décrire une avance, il faut --lender, --borrower, --amount, "
                               "--disburse-on et --repay-on")
    if plan_file is not None and described:
        raise click.UsageError("--from-plan ne se combine pas avec la description d'une avance")
    reason = _force_reason(force, force_reason)
    if reason is not None and not described:
        raise click.UsageError("--force ne s'applique qu'à une avance décrite (--lender, --borrower, …)")
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run, reason)
    books = _books(desk)
    if plan_file is not None:
        proposals, problems = _read_plan(plan_file)
        if problems:
            fail(problems)
    elif described:
        proposals = [Proposal(lender, borrower, amount, disburse_on, repay_on,  # type: ignore[arg-type]
                              convention, tranche_date, method)]
    else:
        proposals = _plan_now(books, desk)
    outcomes = propose(desk, proposals, books) if described else propose_plan(desk, proposals, books)
    _print_proposals(outcomes, bool(proposals), desk, books, as_json)


def _print_proposals(outcomes: list[Outcome], any_proposal: bool, desk: Desk, books: GroupBooks,
                     as_json: bool) -> None:
    """What `advance propose` recorded (or the JSON document); exit 1 with every problem."""
    problems = [p for o in outcomes for p in o.problems]
    if as_json:
        dump_json({"advances": [_document(o.advance, desk, books) for o in outcomes if o.advance],
                   "messages": [m for o in outcomes for m in o.messages], "dry_run": desk.dry_run,
                   "errors": [str(p) for p in problems]})
    else:
        for outcome in outcomes:
            for message in outcome.messages:
                click.echo(message)
        if not any_proposal:
            click.echo("Le plan ne propose aucune avance.")
    if problems:
        fail(problems)


@advance_command.command("approve")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("--by", help="Qui approuve (nom du représentant du conseil du prêteur).")
@click.option("--decision", help="Référence de la décision du conseil du prêteur (ex. CA-2026-11-12).")
@click.option("--decision-date", type=ISO_DATE,
              help="Date de la réunion qui a décidé (au plus tard --as-of) ; le plafond TMOP est celui de son "
                   "semestre (défaut : le jour de la commande).")
@click.option("--body", help="Instance qui a décidé pour le prêteur (défaut : conseil d'administration).")
@click.option("--borrower-decision", help="Référence de la décision de l'emprunteur, quand les deux conseils "
                                          "approuvent.")
@click.option("--borrower-decision-date", type=ISO_DATE, help="Date de la décision de l'emprunteur.")
@click.option("--borrower-body", help="Instance qui a décidé pour l'emprunteur (défaut : conseil "
                                      "d'administration).")
@force_options
@dry_run_option
def approve_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                    by: str | None, decision: str | None, decision_date: dt.date | None, body: str | None,
                    borrower_decision: str | None, borrower_decision_date: dt.date | None,
                    borrower_body: str | None, force: bool, force_reason: str | None, dry_run: bool) -> None:
    """Approuver une avance proposée (décision du conseil du prêteur, et de l'emprunteur s'il y a lieu),
    après le contrôle des engagements."""
    if by is None or decision is None:
        raise click.UsageError("l'approbation exige --by (qui approuve) et --decision (référence de la décision "
                               "du conseil d'administration du prêteur)")
    borrower = None
    if borrower_decision is not None:
        borrower = Decision(borrower_decision, borrower_decision_date, borrower_body)
    elif borrower_decision_date is not None or borrower_body is not None:
        raise click.UsageError("--borrower-decision-date et --borrower-body exigent --borrower-decision "
                               "(la référence de la décision de l'emprunteur)")
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run, _force_reason(force, force_reason))
    _tmop_warning(desk, decision_date)
    _report(approve(desk, advance_id, by, decision, decision_date, body, borrower), desk, as_json)


def _tmop_warning(desk: Desk, decided_on: dt.date | None = None) -> None:
    """Warn (stderr) when `rules/tmop.toml` has no TMOP for the decision's half-year; exit 1 if it is invalid."""
    table, problems = load_tmop(desk.rules_dir)
    if table is None:
        fail(problems)
    warning = rate_cap(table, decided_on or desk.as_of, desk.policy.terms.max_rate).warning
    if warning is not None:
        click.echo(f"Avertissement : {warning}", err=True)


@advance_command.command("reject")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("--by", help="Qui rejette.")
@click.option("--reason", help="Motif du rejet.")
@dry_run_option
def reject_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                   by: str | None, reason: str | None, dry_run: bool) -> None:
    """Rejeter une avance proposée ou approuvée."""
    if by is None or reason is None:
        raise click.UsageError("le rejet exige --by (qui rejette) et --reason (le motif)")
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run)
    _report(reject(desk, advance_id, by, reason), desk, as_json)


@advance_command.command("disburse")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("--on", "on", type=ISO_DATE, required=True, help="Date du virement (au plus tard --as-of).")
@click.option("--ref", help="Référence de l'opération bancaire (défaut : date-montant) : "
                            "la même n'est écrite qu'une fois.")
@click.option("--by", help="Qui enregistre (défaut : l'utilisateur).")
@force_options
@dry_run_option
def disburse_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                     on: dt.date, ref: str | None, by: str | None, force: bool, force_reason: str | None,
                     dry_run: bool) -> None:
    """Verser une avance approuvée, après le contrôle des engagements : écritures (!) dans les deux livres."""
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run, _force_reason(force, force_reason))
    outcome = disburse(desk, advance_id, on, ref)
    _report(outcome, desk, as_json, wrote_ledgers=True)


@advance_command.command("confirm")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("--event", help="Confirmer un seul mouvement (ex. BQA-2026-0001/repay-1) ; défaut : tous.")
@click.option("--by", help="Qui confirme (défaut : l'utilisateur).")
@dry_run_option
def confirm_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                    event: str | None, by: str | None, dry_run: bool) -> None:
    """Confirmer les mouvements vus sur le relevé bancaire : les écritures passent de ! à *."""
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run)
    outcome = confirm(desk, advance_id, event)
    _report(outcome, desk, as_json, wrote_ledgers=True)


@advance_command.command("repay")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("--amount", callback=_amount, required=True, help="Montant remboursé en euros (capital et intérêts).")
@click.option("--on", "on", type=ISO_DATE, required=True,
              help="Date du virement de remboursement (au plus tard --as-of).")
@click.option("--ref", help="Référence de l'opération bancaire (défaut : date-montant) : le même remboursement "
                            "relancé n'est écrit qu'une fois ; un second remboursement identique le même jour "
                            "exige une autre référence.")
@click.option("--by", help="Qui enregistre (défaut : l'utilisateur).")
@dry_run_option
def repay_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                  amount: Decimal, on: dt.date, ref: str | None, by: str | None, dry_run: bool) -> None:
    """Enregistrer un remboursement (intérêts courus d'abord, puis capital)."""
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run)
    outcome = repay(desk, advance_id, amount, on, ref)
    _report(outcome, desk, as_json, wrote_ledgers=True)


@advance_command.command("cancel")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("--event", help="Le mouvement à annuler (le dernier de l'avance, encore marqué !).")
@click.option("--by", help="Qui annule.")
@click.option("--reason", help="Motif de l'annulation.")
@dry_run_option
def cancel_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                   event: str | None, by: str | None, reason: str | None, dry_run: bool) -> None:
    """Corriger une erreur : retirer des deux livres le dernier mouvement, tant qu'il n'est pas confirmé."""
    if event is None or by is None or reason is None:
        raise click.UsageError("l'annulation exige --event (le mouvement), --by (qui annule) et --reason (le motif)")
    desk = _desk(ledgers_dir, rules_dir, as_of, by, dry_run)
    outcome = cancel(desk, advance_id, event, reason)
    _report(outcome, desk, as_json, wrote_ledgers=True)


def _show_text(document: dict[str, Any], names: dict[str, str]) -> list[str]:
    def money(key: str, doc: dict[str, Any] = document) -> str:
        return fr_money(Decimal(doc[key]))

    def day(value: str | None) -> str:
        return fr_date(dt.date.fromisoformat(value)) if value else "—"

    methods = {"bullet": "in fine", "on-receipt": "à l'encaissement de la subvention", "linear": "linéaire",
               "annuity": "échéances constantes"}
    lines = [
        f"Avance {document['id']} — {document['status_label']}",
        f"  Prêteur        : {names.get(document['lender'], document['lender'])} ({document['lender']})",
        f"  Emprunteur     : {names.get(document['borrower'], document['borrower'])} ({document['borrower']})",
        (f"  Montant        : {money('principal')}, taux {fr_number(Decimal(document['rate']) * 100)} %"
         f" ({document['day_count']}),"
         f" remboursement {methods.get(document['method'], document['method'])}"),
        f"  Dates prévues  : versement {day(document['disburse_on'])}, remboursement {day(document['repay_on'])}",
    ]
    secured = document["secured_by"]
    if secured["convention"]:
        received = (f", encaissée le {day(document['tranche_received_on'])}"
                    if document["tranche_received_on"] else ", pas encore encaissée")
        lines.append(f"  Garantie       : convention {secured['convention']}, échéance du "
                     f"{day(secured['tranche_date'])}{received} (grâce {document['grace_days']} j)")
    if document["approved_by"]:
        body = f" ({document['decision_body']})" if document["decision_body"] else ""
        lines.append(f"  Approbation    : {document['approved_by']}, décision {document['decision']}{body} "
                     f"du {day(document['decision_date'] or document['approved_on'])}")
    if document["borrower_decision"]:
        lines.append(f"  Emprunteur     : décision {document['borrower_decision']} ({document['borrower_body']}) "
                     f"du {day(document['borrower_decision_date'])}")
    if document["rejected_reason"]:
        lines.append(f"  Rejet          : {document['rejected_reason']}")
    lines.append(f"  Reste dû       : {money('outstanding')} (intérêts courus {money('accrued_interest')})")
    if document["late"]:
        lines.append(f"  EN RETARD depuis le {day(document['late_since'])}")
    lines.append("Échéancier")
    lines.append(f"  {'n':>3}  {'échéance':<10}  {'capital':>14}  {'intérêts':>12}")
    for line in document["due"]:
        note = " (prévue)" if line["planned"] else ""
        lines.append(f"  {line['n']:>3}  {day(line['date']):<10}  {money('principal', line):>14}  "
                     f"{money('interest', line):>12}{note}")
    if document["payments"] and len(document["payments"]) > 1 and document["remaining"]:
        lines.append("Reste à rembourser")
        for line in document["remaining"]:
            note = " (prévue)" if line["planned"] else ""
            lines.append(f"  {line['n']:>3}  {day(line['date']):<10}  {money('principal', line):>14}  "
                         f"{money('interest', line):>12}{note}")
    lines.append("Mouvements")
    if not document["payments"]:
        lines.append("  aucun")
    for payment in document["payments"]:
        kind = "versement" if payment["kind"] == "disbursement" else "remboursement"
        total = Decimal(payment["principal"]) + Decimal(payment["interest"])
        state = (f"* confirmé le {day(payment['confirmed_on'])}" if payment["confirmed_on"]
                 else "! à confirmer")
        lines.append(f"  {day(payment['date'])}  {kind:<13}  {fr_money(total):>14}  {state}  ({payment['event']})")
    return lines


@advance_command.command("show")
@click.argument("advance_id", metavar="AVANCE")
@_common
def show_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Afficher une avance : conditions, état, échéancier, mouvements."""
    desk = _desk(ledgers_dir, rules_dir, as_of, None, False)
    view = load_view(desk.registry, advance_id, desk.as_of)
    if view is None:
        fail(unknown(desk, advance_id).problems)
    books = _books(desk)
    document = _document(view, desk, books)
    if as_json:
        dump_json({"as_of": desk.as_of, "advance": document})
        return
    names = {m.id: m.name for m in desk.group.members}
    click.echo("\n".join(_show_text(document, names)))


@advance_command.command("list")
@_common
@click.option("--member", help="Seulement les avances où ce membre prête ou emprunte.")
@click.option("--status", type=click.Choice([*lifecycle.STATES, lifecycle.LATE]), help="Seulement cet état.")
def list_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                 member: str | None, status: str | None) -> None:
    """Lister les avances du registre, avec leur état à la date --as-of."""
    desk = _desk(ledgers_dir, rules_dir, as_of, None, False)
    check_member(member, desk.group.ids, hint="--member")
    books = _books(desk)
    documents = [_document(v, desk, books) for v in load_views(desk.registry, desk.as_of)
                 if member is None or member in (v.lender, v.borrower)]
    documents = [d for d in documents if status is None or d["status"] == status]
    if as_json:
        dump_json({"as_of": desk.as_of, "advances": documents})
        return
    if not documents:
        click.echo("Aucune avance.")
        return
    names = {m.id: m.name for m in desk.group.members}
    lenders = [member_label(d["lender"], names, 36) for d in documents]
    borrowers = [member_label(d["borrower"], names, 36) for d in documents]
    lw, bw = max(len("prêteur"), *map(len, lenders)), max(len("emprunteur"), *map(len, borrowers))
    click.echo(f"{'avance':<14}  {'prêteur':<{lw}}  {'emprunteur':<{bw}}  {'montant':>13}  {'reste dû':>13}  "
               f"{'échéance':<10}  état")
    for d, lender, borrower in zip(documents, lenders, borrowers, strict=True):
        due = d["due"][-1]["date"] if d["due"] else d["repay_on"]
        click.echo(f"{d['id']:<14}  {lender:<{lw}}  {borrower:<{bw}}  {fr_money(Decimal(d['principal'])):>13}  "
                   f"{fr_money(Decimal(d['outstanding'])):>13}  {fr_date(dt.date.fromisoformat(due)):<10}  "
                   f"{d['status_label']}")


@advance_command.command("convention")
@click.argument("advance_id", metavar="AVANCE")
@_common
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Fichier PDF à écrire (défaut : reports/conventions/convention-ID.pdf à côté des livres).")
def convention_command(advance_id: str, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool,
                       output: Path | None) -> None:
    """Écrire la convention de prêt d'une avance (PDF à signer) : parties, montant, taux et TMOP, durée,
    échéancier, garantie, décisions, références légales, signatures."""
    from banquasso.commands.statement import check_output
    from banquasso.scheduler.jobs import default_reports_dir
    from banquasso.statement.attestation import Party
    from banquasso.statement.convention import Contract, render_convention
    from banquasso.statement.pdf import write_atomically

    desk = _desk(ledgers_dir, rules_dir, as_of, None, False)
    view = load_view(desk.registry, advance_id, desk.as_of)
    if view is None:
        fail(unknown(desk, advance_id).problems)
    if view.state in (lifecycle.REJECTED, lifecycle.SUPERSEDED):
        fail([desk.problem(f"{advance_id} : elle est {lifecycle.LABELS[view.state]}, aucune convention n'est à signer",
                           codes.STATE_REFUSED, advance_id)])
    table, problems = load_tmop(desk.rules_dir)
    if table is None:
        fail(problems)
    cap = rate_cap(table, view.decided_on or desk.as_of, desk.policy.terms.max_rate)
    path = output or default_reports_dir(ledgers_dir) / "conventions" / f"convention-{advance_id}.pdf"
    refused = check_output(path)
    if refused:
        raise click.BadParameter(refused, param_hint="'-o' / '--output'")
    group = desk.group
    contract = Contract(view, Party.of(group.member(view.lender)), Party.of(group.member(view.borrower)),
                        group.name, cap)
    try:
        write_atomically(path, render_convention(contract))
    except OSError as exc:
        raise click.BadParameter(f"impossible d'écrire « {path} » : {exc.strerror or exc}",
                                 param_hint="'-o' / '--output'") from None
    if as_json:
        dump_json({"advance": advance_id, "pdf": str(path), "rate": str(view.rate), "tmop": str(cap.rate),
                   "tmop_key": cap.key})
    else:
        click.echo(str(path))
