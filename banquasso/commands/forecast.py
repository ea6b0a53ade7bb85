"""The `forecast`, `funders` and `backtest` commands: the cash projection, the delay model, the backtest."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from banquasso.commands.options import check_member, member_filter_option
from banquasso.commands.whatif import scenario_option, scenarios_for, scenarios_json, scenarios_line
from banquasso.forecast.advance_flows import read_group_with_advances
from banquasso.forecast.backtest import (
    Backtest,
    Comparison,
    DelayAccuracy,
    backtest,
)
from banquasso.forecast.daily import (
    DEFAULT_HORIZON,
    MAX_HORIZON,
    GroupForecast,
    GroupOutlook,
    MemberForecast,
    books_start,
    forecast_outlook,
    readable,
)
from banquasso.forecast.delays import DelayModel, FunderDelay
from banquasso.forecast.risk import (
    DEFAULT_SCENARIOS,
    DEFAULT_SEED,
    GroupRisk,
    RiskFigures,
    outlook_accuracy,
    widened_risk,
)
from banquasso.forecast.scenarios import Scenario, apply_scenarios
from banquasso.terms.policy import Policy, load_policy
from comptasso.books.facade import GroupBooks
from comptasso.cli.util import (
    as_of_option,
    books_options,
    dump_json,
    excluded_json,
    fail,
    json_option,
    load_usable,
    member_label,
    progress,
    report_exclusions,
    shorten,
    today,
)
from comptasso.money import fr_date, fr_money, fr_number, money_json

WARN = "⚠"


def _horizon(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if not 1 <= value <= MAX_HORIZON:
        raise click.BadParameter(f"l'horizon doit être compris entre 1 et {MAX_HORIZON} jours, pas {value}")
    return value


horizon_option = click.option("--horizon", type=int, default=DEFAULT_HORIZON, show_default=True,
                              callback=_horizon, help="Nombre de jours projetés après --as-of (1 à 731).")


def _open(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, quiet: bool,
          member: str | None = None) -> tuple[GroupBooks, Policy, dt.date]:
    """Books (broken members left out, see load_usable) and policy, or exit 1 with every error.

    --as-of before the books start is a usage error.
    """
    books = load_usable(ledgers_dir, rules_dir, member=member, quiet=quiet, report=False)
    policy, problems = load_policy(rules_dir)
    if policy is None or any(p.is_error for p in problems):
        fail(problems)
    day = as_of or today()
    start = books_start(books)
    if start is not None and day < start:
        raise click.BadParameter(f"les livres commencent le {fr_date(start)} : aucune donnée au "
                                 f"{fr_date(day)}", param_hint="'--as-of'")
    return report_exclusions(readable(books, day), member), policy, day


def _outlook(books: GroupBooks, policy: Policy, day: dt.date, horizon: int, budget: bool = False) -> GroupOutlook:
    if budget:
        from banquasso.forecast.budget_flows import read_group_with_budget

        outlook, problems = read_group_with_budget(books, day, horizon, policy.floor)
    else:
        outlook, problems = read_group_with_advances(books, day, horizon, policy.floor)
    if outlook is None:
        fail(problems)
    return outlook


def _check_member(books: GroupBooks, member: str | None) -> None:
    known = (*books.group.ids, *(e.member_id for e in books.excluded))
    check_member(member, known)


# ----------------------------------------------------------------------------------------------- forecast

def _days_json(days: Sequence[tuple[dt.date, Decimal]]) -> list[dict[str, str]]:
    return [{"date": day.isoformat(), "balance": money_json(balance)} for day, balance in days]


def _risk_json(figures: RiskFigures) -> dict[str, Any]:
    return {
        "probability_below_floor": str(figures.probability_below_floor.quantize(Decimal("0.0001"))),
        "p5_min_balance": money_json(figures.p5_min_balance),
        "days": [{"date": day.isoformat(), "p5": money_json(low), "p95": money_json(high)}
                 for day, low, high in figures.band],
    }


def _member_json(member: MemberForecast, risk: GroupRisk | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": member.member_id, "name": member.name,
        "opening_balance": money_json(member.opening_balance), "floor": money_json(member.floor),
        "monthly_payroll": money_json(member.monthly_payroll),
        "min_balance": money_json(member.min_balance), "min_date": member.min_date.isoformat(),
        "days_below_floor": member.days_below_floor,
        "first_day_below_floor": member.below_floor[0].isoformat() if member.below_floor else None,
        "days": _days_json(member.days),
        "flows": [{"date": f.date.isoformat(), "amount": money_json(f.amount), "kind": f.kind,
                   "label": f.label, "reference": f.reference} for f in member.flows],
    }
    if risk is not None:
        doc["risk"] = _risk_json(risk.members[member.member_id])
    return doc


def forecast_json(forecast: GroupForecast, members: Sequence[MemberForecast], risk: GroupRisk | None,
                  excluded: Sequence[dict[str, object]] = (), scenarios: Sequence[Scenario] = (),
                  accuracy: Sequence[DelayAccuracy] = ()) -> dict[str, Any]:
    """The document of `banquasso forecast --json` (SPEC section 10), with a few extra keys.

    `excluded` lists the members left out because their ledger is broken; `scenarios` the what-ifs applied.
    """
    group: dict[str, Any] = {
        "opening_balance": money_json(forecast.opening_balance), "floor": money_json(forecast.floor),
        "min_balance": money_json(forecast.min_balance), "min_date": forecast.min_date.isoformat(),
        "days_below_floor": forecast.days_below_floor, "days": _days_json(forecast.days),
    }
    doc: dict[str, Any] = {"as_of": forecast.as_of.isoformat(), "horizon_days": forecast.horizon_days,
                           "members": [_member_json(m, risk) for m in members], "group": group,
                           "excluded": list(excluded), "scenarios": scenarios_json(scenarios)}
    if risk is not None:
        group["risk"] = _risk_json(risk.group)
        doc["risk"] = {"draws": risk.scenarios, "seed": risk.seed, "widened": bool(risk.widening),
                       "delay_accuracy": [a.to_json() for a in accuracy]}
    return doc


def forecast_csv(forecast: GroupForecast, members: Sequence[MemberForecast]) -> str:
    """One row a day: `date`, one column per member id, `groupe`; amounts with a dot, comma-separated."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", *(m.member_id for m in members), "groupe"])
    for index, (day, total) in enumerate(forecast.days):
        writer.writerow([day.isoformat(), *(money_json(m.days[index][1]) for m in members), money_json(total)])
    return out.getvalue()


def _weeks(days: Sequence[tuple[dt.date, Decimal]]) -> list[Sequence[tuple[dt.date, Decimal]]]:
    return [days[i:i + 7] for i in range(0, len(days), 7)]


def _table(title: str, opening: Decimal, floor: Decimal, days: Sequence[tuple[dt.date, Decimal]],
           low: tuple[dt.date, Decimal], below: int, risk: RiskFigures | None) -> list[str]:
    lines = [title, f"  Solde d'ouverture : {fr_money(opening)}    Plancher : {fr_money(floor)}",
             f"  {'Semaine':<25} {'Solde fin de semaine':>20} {'Point bas':>18}"]
    for week in _weeks(days):
        week_low = min(b for _, b in week)
        period = f"{fr_date(week[0][0])} → {fr_date(week[-1][0])}"
        mark = f"  {WARN} sous le plancher" if week_low < floor else ""
        lines.append(f"  {period:<25} {fr_money(week[-1][1]):>20} {fr_money(week_low):>18}{mark}")
    lines.append(f"  Point bas : {fr_money(low[1])} le {fr_date(low[0])} — {below} jour(s) sous le plancher")
    if risk is not None:
        percent = fr_number(risk.probability_below_floor * 100, 1)
        lines.append(f"  Risque : {percent} % de passer sous le plancher — "
                     f"5e centile du point bas : {fr_money(risk.p5_min_balance)}")
    return lines


def accuracy_text(accuracy: Sequence[DelayAccuracy], widened: bool) -> list[str]:
    """The French table of the delay model's past error per funder kind and horizon."""
    if not accuracy:
        return ["Justesse du modèle de délais : aucune tranche payée à comparer."]
    rows = ["Justesse passée du modèle de délais (tranches payées, prévues à leur date d'échéance) :",
            (f"  {'Type':<12} {'Horizon (j)':>11} {'Tranches':>8} {'Écart moyen (j)':>16} {'Biais (j)':>10} "
            f"{'Élargissement':>14}")]
    for a in accuracy:
        wide = f"± {a.widening_days} j" if widened and a.widening_days else "—"
        rows.append(f"  {a.kind:<12} {a.horizon:>11} {a.compared:>8} {fr_number(a.mean_absolute_error_days, 1):>16} "
                    f"{fr_number(a.bias_days, 1):>10} {wide:>14}")
    return rows


def forecast_text(forecast: GroupForecast, members: Sequence[MemberForecast], risk: GroupRisk | None,
                  show_group: bool, scenarios: Sequence[Scenario] = (),
                  accuracy: Sequence[DelayAccuracy] = ()) -> str:
    """The French table: one line a week per member, the lowest point, the days below the floor."""
    end = forecast.as_of + dt.timedelta(days=forecast.horizon_days)
    lines = [(f"Prévision de trésorerie au {fr_date(forecast.as_of)}, sur {forecast.horizon_days} jours "
              f"(jusqu'au {fr_date(end)})")]
    if scenarios:
        lines.append(scenarios_line(scenarios))
    if risk is not None:
        lines.append(f"Risque : {risk.scenarios} tirages des délais de paiement des subventions (graine {risk.seed})")
        lines += accuracy_text(accuracy, bool(risk.widening))
    for member in members:
        lines.append("")
        lines += _table(f"{member.name} ({member.member_id})", member.opening_balance, member.floor, member.days,
                        (member.min_date, member.min_balance), member.days_below_floor,
                        risk.members[member.member_id] if risk else None)
    if show_group:
        lines.append("")
        lines += _table("Groupe (somme des membres ; plancher = somme des planchers)", forecast.opening_balance,
                        forecast.floor, forecast.days, (forecast.min_date, forecast.min_balance),
                        forecast.days_below_floor, risk.group if risk else None)
    return "\n".join(lines)


@click.command("forecast")
@books_options
@as_of_option
@json_option
@horizon_option
@member_filter_option
@click.option("--csv", "as_csv", is_flag=True, help="Sortie CSV (une ligne par jour) sur stdout.")
@click.option("--risk", is_flag=True, help="Ajouter le risque (Monte Carlo sur les délais des financeurs).")
@click.option("--draws", type=click.IntRange(1, 100_000), default=DEFAULT_SCENARIOS, show_default=True,
              help="Nombre de tirages Monte Carlo avec --risk.")
@click.option("--scenarios", "old_draws", type=click.IntRange(1, 100_000), default=None, hidden=True,
              help="Ancien nom de --draws (obsolète).")
@scenario_option
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Graine du tirage avec --risk.")
@click.option("--no-widen", is_flag=True,
              help="Avec --risk : ne pas élargir la bande par l'erreur passée du modèle de délais (docs/forecast.md).")
@click.option("--budget", "with_budget", is_flag=True,
              help="Prolonger la prévision par le budget là où aucune prévision ne couvre une ligne (docs/budget.md).")
def forecast_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, horizon: int,
                     member: str | None, as_csv: bool, risk: bool, draws: int, old_draws: int | None,
                     scenario_names: tuple[str, ...], seed: int, no_widen: bool, with_budget: bool) -> None:
    """Prévision de trésorerie jour par jour de chaque membre et du groupe."""
    if as_json and as_csv:
        raise click.UsageError("choisissez --json ou --csv, pas les deux")
    if old_draws is not None:
        click.echo("avertissement : --scenarios est obsolète, utilisez --draws (nombre de tirages) ; "
                   "--scenario NOM applique un scénario « et si »", err=True)
        draws = old_draws
    books, policy, day = _open(ledgers_dir, rules_dir, as_of, quiet=False, member=member)
    _check_member(books, member)
    outlook = _outlook(books, policy, day, horizon, with_budget)
    scenarios = scenarios_for(books, rules_dir, outlook, scenario_names)
    accuracy = outlook_accuracy(outlook, books.reference.funders) if risk else ()
    outlook = apply_scenarios(outlook, scenarios)
    forecast = forecast_outlook(outlook)
    simulated = None
    if risk:
        progress(f"Simulation de {draws} tirages…")
        simulated = widened_risk(outlook, books.reference.funders, draws, seed, progress, () if no_widen else accuracy)
    shown = [forecast.member(member)] if member else list(forecast.members)
    if as_json:
        dump_json(forecast_json(forecast, shown, simulated, excluded_json(books), scenarios, accuracy))
    elif as_csv:
        click.echo(forecast_csv(forecast, shown), nl=False)
    else:
        click.echo(forecast_text(forecast, shown, simulated, show_group=member is None, scenarios=scenarios,
                                 accuracy=accuracy))


# ------------------------------------------------------------------------------------------------ funders

def funder_json(funder: FunderDelay) -> dict[str, Any]:
    """One funder of `banquasso funders --json`: `matched` is the number of matched tranches."""
    return {
        "id": funder.funder_id, "name": funder.name, "kind": funder.kind, "matched": len(funder.matched),
        "median_delay_days": funder.median_days, "p80_delay_days": funder.p80_days,
        "p90_delay_days": funder.p90_days, "source": funder.source,
        "default_delay_days": funder.default_days,
        "tranches": [{"member": m.member_id, "convention": m.convention, "date": m.due.isoformat(),
                      "paid_on": m.completed_on.isoformat(), "amount": money_json(m.amount),
                      "delay_days": m.delay_days} for m in funder.matched],
    }


def funders_text(model: DelayModel) -> str:
    """The French table of the delay model."""
    lines = [f"Délais de paiement des financeurs au {fr_date(model.as_of)} (en jours après l'échéance)", "",
             f"{'Financeur':<44} {'Type':<12} {'Tranches':>8} {'Médian':>7} {'P80':>5} {'P90':>5}  Source"]
    for f in model.funders.values():
        source = "historique" if f.source == "history" else (
            "défaut" if f.default_days is not None else "aucun (0)")
        lines.append(f"{shorten(f.name, 44):<44} {f.kind:<12} {len(f.matched):>8} {f.median_days:>7} "
                     f"{f.p80_days:>5} {f.p90_days:>5}  {source}")
    return "\n".join(lines)


@click.command("funders")
@books_options
@as_of_option
@json_option
def funders_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Le modèle de délai de paiement de chaque financeur (médiane, 80e et 90e centiles)."""
    books, policy, day = _open(ledgers_dir, rules_dir, as_of, quiet=as_json)
    model = _outlook(books, policy, day, 1).delays
    if as_json:
        dump_json({"as_of": day.isoformat(), "funders": [funder_json(f) for f in model.funders.values()],
                   "excluded": excluded_json(books)})
    else:
        click.echo(funders_text(model))


# ----------------------------------------------------------------------------------------------- backtest

def _comparison_json(comparison: Comparison) -> dict[str, Any]:
    (fday, fmin), (aday, amin) = comparison.forecast_min, comparison.actual_min
    return {
        "mean_absolute_error": money_json(comparison.mean_absolute_error), "bias": money_json(comparison.bias),
        "forecast_min_balance": money_json(fmin), "forecast_min_date": fday.isoformat(),
        "actual_min_balance": money_json(amin), "actual_min_date": aday.isoformat(),
        "min_balance_error": money_json(comparison.min_error),
        "days": [{"date": day.isoformat(), "forecast": money_json(f), "actual": money_json(a)}
                 for (day, f), (_, a) in zip(comparison.forecast, comparison.actual, strict=True)],
    }


def backtest_json(result: Backtest, members: Sequence[str]) -> dict[str, Any]:
    """The document of `banquasso backtest --json`."""
    return {
        "as_of": result.as_of.isoformat(), "horizon_days": result.horizon_days,
        "compared_until": result.compared_until.isoformat(), "days_compared": result.days_compared,
        "members": [{"id": m, **_comparison_json(result.members[m])} for m in members],
        "group": _comparison_json(result.group),
    }


def backtest_text(result: Backtest, members: Sequence[str], names: dict[str, str]) -> str:
    """The French table of a backtest."""
    lines = [(f"Backtest : prévision faite au {fr_date(result.as_of)} comparée aux livres du "
              f"{fr_date(result.as_of + dt.timedelta(days=1))} au {fr_date(result.compared_until)} "
              f"({result.days_compared} jours)"), "",
             (f"{'Membre':<40} {'Écart moyen absolu':>19} {'Biais':>14} {'Point bas prévu':>30} "
              f"{'Point bas réel':>30} {'Écart point bas':>16}")]
    rows = [(member_label(m, names, 40), result.members[m]) for m in members] + [("Groupe", result.group)]
    for title, comparison in rows:
        (fday, fmin), (aday, amin) = comparison.forecast_min, comparison.actual_min
        lines.append(f"{title:<40} {fr_money(comparison.mean_absolute_error):>19} {fr_money(comparison.bias):>14} "
                     f"{fr_money(fmin) + ' le ' + fr_date(fday):>30} {fr_money(amin) + ' le ' + fr_date(aday):>30} "
                     f"{fr_money(comparison.min_error):>16}")
    if result.days_compared < result.horizon_days:
        lines += ["", (f"Les livres s'arrêtent au {fr_date(result.compared_until)} : "
                       f"{result.days_compared} jours comparés sur {result.horizon_days} demandés.")]
    return "\n".join(lines)


@click.command("backtest")
@books_options
@as_of_option
@json_option
@horizon_option
@member_filter_option
def backtest_command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool, horizon: int,
                     member: str | None) -> None:
    """Comparer la prévision faite au --as-of avec la trésorerie réelle des jours suivants."""
    books, policy, day = _open(ledgers_dir, rules_dir, as_of, quiet=False, member=member)
    _check_member(books, member)
    try:
        result, problems = backtest(books, day, horizon, policy.floor)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--as-of'") from exc
    if result is None:
        fail(problems)
    shown = [member] if member else list(books.group.ids)
    if as_json:
        if result.days_compared < result.horizon_days:
            progress(f"Les livres s'arrêtent au {fr_date(result.compared_until)} : "
                     f"{result.days_compared} jours comparés sur {result.horizon_days}.")
        dump_json({**backtest_json(result, shown), "excluded": excluded_json(books)})
    else:
        click.echo(backtest_text(result, shown, {m.id: m.name for m in books.members}))
