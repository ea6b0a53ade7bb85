"""The « Scénarios » page in Fava: pick what-ifs of `rules/scenarios/`, see the forecast chart move.

The page (`…/extension/BanquAssoExtension/scenarios?scenario=NOM&scenario=…`) computes the forecast
and its Monte Carlo band with `banquasso.forecast.scenarios`, exactly as `banquasso forecast
--scenario NOM --risk` does: on a member ledger for that member, on the group view for the group
(with each member's low point, for those the user may see). Charts are SVG drawn on the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import render_template, request
from markupsafe import Markup

from banquasso.fava_ext.chart import Series, chart_svg
from banquasso.fava_ext.views import Inputs, Place, _outlook, read_inputs
from banquasso.forecast.daily import GroupForecast, forecast_outlook
from banquasso.forecast.risk import DEFAULT_SEED, GroupRisk, widened_risk
from banquasso.forecast.scenarios import NAME_PATTERN, SCENARIO_DIR, Scenario, apply_scenarios, known_of, load_scenarios
from comptasso.money import fr_date, fr_money
from comptasso.problems import ProblemsError
from comptasso.web.access import User, current_user

#: Draws of the page's Monte Carlo (the CLI's default is 2 000; the page redraws on every choice).
PAGE_DRAWS = 500


@dataclass(frozen=True)
class ScenarioPage:
    """The forecast without and with the chosen scenarios, and their bands."""

    as_of: dt.date
    available: tuple[str, ...]
    chosen: tuple[Scenario, ...]
    base: GroupForecast
    shifted: GroupForecast
    base_risk: GroupRisk
    shifted_risk: GroupRisk


def available_scenarios(rules_dir: Path) -> tuple[str, ...]:
    """The names of the scenario files of `rules/scenarios/`, sorted."""
    folder = rules_dir / SCENARIO_DIR
    if not folder.is_dir():
        return ()
    return tuple(sorted(p.stem for p in folder.glob("*.toml") if NAME_PATTERN.match(p.stem)))


def scenario_page(inputs: Inputs, rules_dir: Path, as_of: dt.date, names: Sequence[str],
                  draws: int = PAGE_DRAWS, seed: int = DEFAULT_SEED) -> ScenarioPage:
    """The page's numbers; ProblemsError naming file, line and key when a chosen scenario is wrong."""
    outlook = _outlook(inputs, as_of)
    chosen, problems = load_scenarios(rules_dir, names, known_of(outlook, inputs.books.reference.funders))
    if problems:
        raise ProblemsError(problems)
    shifted, funders = apply_scenarios(outlook, chosen), inputs.books.reference.funders
    return ScenarioPage(as_of, available_scenarios(rules_dir), chosen, forecast_outlook(outlook),
                        forecast_outlook(shifted), widened_risk(outlook, funders, draws, seed),
                        widened_risk(shifted, funders, draws, seed))


def _chart(forecast: GroupForecast, risk: GroupRisk, member: str | None, title: str, element: str) -> Markup:
    if member is None:
        series = Series(forecast.days, forecast.floor, risk.group.band, title)
    else:
        mine = forecast.member(member)
        series = Series(mine.days, mine.floor, risk.members[member].band, title)
    return Markup(chart_svg(series, element))  # noqa: S704 -- chart_svg escapes every text it writes


def page_context(page: ScenarioPage, member: str | None, user: User | None) -> dict[str, Any]:
    """What the template shows: both charts, and the low points of the members the user may see."""
    who = "du groupe" if member is None else f"de {page.base.member(member).name}"
    rows = []
    for base, shifted in zip(page.base.members, page.shifted.members, strict=True):
        if (member is not None and base.member_id != member) or (user is not None and not user.may_see_member(
                base.member_id)):
            continue
        rows.append({"name": base.name, "id": base.member_id,
                     "base_min": fr_money(base.min_balance), "base_date": fr_date(base.min_date),
                     "min": fr_money(shifted.min_balance), "date": fr_date(shifted.min_date),
                     "base_below": base.days_below_floor, "below": shifted.days_below_floor,
                     "worse": shifted.min_balance < base.min_balance})
    chosen = {s.name for s in page.chosen}
    return {
        "as_of": page.as_of.isoformat(), "as_of_text": fr_date(page.as_of),
        "available": [{"name": n, "checked": n in chosen} for n in page.available],
        "chosen": [{"name": s.name, "description": s.description} for s in page.chosen],
        "base_chart": _chart(page.base, page.base_risk, member, f"Trésorerie prévue {who}, sans scénario", "bqa-base"),
        "chart": _chart(page.shifted, page.shifted_risk, member, f"Trésorerie prévue {who}, sous les scénarios",
                        "bqa-scenario"),
        "rows": rows, "draws": page.shifted_risk.scenarios,
    }


def render_scenarios(extension: Any) -> str:
    """The page inside Fava's layout; the problems instead when the books or a scenario cannot be read."""
    place: Place | None = extension.place()
    day, day_error = extension.as_of()
    names = [n.strip() for n in request.args.getlist("scenario") if n.strip()]
    context: dict[str, Any] = {"problems": [day_error] if day_error else [], "as_of": day.isoformat(),
                               "as_of_text": fr_date(day), "available": [], "rows": []}
    if place is None:
        context["problems"].append("aucun group.toml au-dessus de ce livre")
    else:
        inputs, problems = read_inputs(place)
        if inputs is None:
            context["problems"] += [str(p) for p in problems]
        else:
            try:
                with extension._pages.engine_lock:
                    page = scenario_page(inputs, place.rules_dir, day, names)
                context.update(page_context(page, place.member_id, current_user()))
            except ProblemsError as exc:
                context["problems"] += [str(p) for p in exc.problems]
                context["available"] = [{"name": n, "checked": n in names}
                                        for n in available_scenarios(place.rules_dir)]
    template = extension.jinja_env.get_template("bqa_scenarios_page.html")
    content = Markup(template.render(page=context))  # noqa: S704 -- autoescaped .html template
    return render_template("_layout.html", content=content, page_title=extension.report_title)
