"""The BanquAsso Fava extension: « Trésorerie mutualisée » on each member ledger, the pool on the group view.

Load it with `2024-01-01 custom "fava-extension" "banquasso.fava_ext"` (and list `banquasso.fava_ext`
in `rules/plugins.toml`). Every number comes from the engine functions the `banquasso` commands call.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from beancount.core import data
from fava.ext import FavaExtensionBase, extension_endpoint
from fava.helpers import FavaAPIError
from flask import Response, current_app, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from banquasso.commands.forecast import forecast_json
from banquasso.fava_ext import child_solve
from banquasso.fava_ext.chart import Series, band_note, chart_svg
from banquasso.fava_ext.tranche_form import FormResult, check_form, directive_lines, insert_after_grant
from banquasso.fava_ext.views import (
    Inputs,
    MemberPage,
    Place,
    PoolPage,
    Standing,
    ledgers_folder,
    member_page,
    pool_page,
    read_inputs,
    rules_folder,
)
from banquasso.fava_ext.worker import Pages, Shown
from banquasso.registry.db import database_url
from banquasso.statement.legal_pdf import percent
from comptasso import clock
from comptasso.books.group import load_group
from comptasso.cli.util import today
from comptasso.model.grants import extract_grants
from comptasso.money import fr_date, fr_money, fr_number, money_json
from comptasso.problems import Problem, ProblemsError
from comptasso.web import fava_adapter as fava
from comptasso.web.access import User, current_user
from comptasso.web.serve import AS_OF_CONFIG, RULES_CONFIG

FORM_KEY = "banquasso_tranche_form"
PLACE_KEY = "banquasso_places"
CACHE_SIZE = 8
#: The pages computed in the background after a save (the pool page runs the solver; a member page does not).
BACKGROUND_KINDS = frozenset({"group"})
#: The group view's pages that read the books from the files (`read_inputs`, `open_books`), not Fava's loaded
#: entries: they answer without waiting for Fava to reload the 200-member view after a save ('' is the report).
FILE_READING_GROUP_PAGES = frozenset({"", "pool", "pool_data", "indicateurs", "comptes", "scenarios"})

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def endpoint(name: str, methods: list[str] | None = None) -> Callable[[_Endpoint], _Endpoint]:
    """Fava's `extension_endpoint(name, methods)`, typed: its declared return type is a union mypy cannot apply."""
    return cast("Callable[[_Endpoint], _Endpoint]", extension_endpoint(name, methods))


def _fingerprint(place: Place) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of every file the pages read: ledgers, rules and registry."""
    files = [*sorted(place.ledgers_dir.rglob("*.beancount")), place.ledgers_dir / "group.toml",
             *sorted(place.rules_dir.glob("*.toml")), Path(database_url(place.ledgers_dir).removeprefix("sqlite:///"))]
    out = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            continue
        out.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(out)


class BanquAssoExtension(FavaExtensionBase):
    """« Trésorerie mutualisée »: forecast, grants, advances and alerts of a member; the pool on the group view."""

    report_title = "Trésorerie mutualisée"

    def __init__(self, ledger: Any, config: str | None = None) -> None:
        super().__init__(ledger, config)
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._pages: Pages[MemberPage | PoolPage | list[Problem]] = Pages()

    # --------------------------------------------------------------------------------- where and when

    def place(self) -> Place | None:
        """Where this Fava ledger sits in the group (None when no group.toml is found above it); once per request."""
        path = Path(self.ledger.beancount_file_path).resolve()
        known: dict[Path, Place | None] | None = getattr(g, PLACE_KEY, None)  # Fava's `g` has no setdefault
        if known is None:
            known = {}
            setattr(g, PLACE_KEY, known)
        if path not in known:
            known[path] = _place_of(path)
        return known[path]

    def as_of(self) -> tuple[dt.date, str]:
        """The page's day (`?as_of=AAAA-MM-JJ`, default `comptasso serve --as-of` or today) and a message if wrong."""
        default = current_app.config.get(AS_OF_CONFIG) or today()
        text = request.values.get("as_of", "").strip()
        if not text:
            return default, ""
        try:
            return dt.date.fromisoformat(text), ""
        except ValueError:
            return default, f"date invalide « {text} » (attendu AAAA-MM-JJ) : affichage au {fr_date(default)}"

    def _computed(self, kind: str, place: Place, day: dt.date) -> Shown[MemberPage | PoolPage | list[Problem]]:
        """The page's data; the pool page shows its latest result at once while a save is recomputed (worker)."""
        fingerprint = _fingerprint(place)

        def compute() -> MemberPage | PoolPage | list[Problem]:
            if kind == "group":
                _solve_ahead(place, day)
            inputs, problems = read_inputs(place)
            if inputs is None:
                return problems
            try:
                return self._compute(kind, inputs, place, day)
            except ProblemsError as exc:
                return list(exc.problems)

        if kind in BACKGROUND_KINDS:
            return self._pages.show((kind, place, day), fingerprint, compute)
        key = (kind, place, day, fingerprint)
        with self._lock:
            if key in self._cache:
                cached, at = self._cache[key]
                return Shown(cached, at, recomputing=False)
        result = compute()  # a member page never waits for the engine's lock (the plan): it does not read the plan
        computed_at = clock.now()
        with self._lock:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = (result, computed_at)
        return Shown(result, computed_at, recomputing=False)

    @staticmethod
    def _compute(kind: str, inputs: Inputs, place: Place, day: dt.date) -> MemberPage | PoolPage:
        if kind == "member" and place.member_id is not None:
            return member_page(inputs, place.member_id, day)
        return pool_page(inputs, day)

    def defers_reload(self, endpoint: str) -> bool:
        """Whether this page may answer before Fava reloads this ledger (comptasso.web.fava_adapter.DeferredReloads).

        Only the group view's pages that read the books themselves: a member's page shows Fava's
        source hash for its form, and Fava reloads one member in a fraction of a second.
        """
        if endpoint not in FILE_READING_GROUP_PAGES:
            return False
        place = self.place()
        return place is not None and place.member_id is None

    def after_load_file(self) -> None:
        with self._lock:  # the pool page's latest result stays: it is shown, marked, while recomputed
            self._cache.clear()
        from banquasso.fava_ext.budget_views import drop_spec_budget_errors  # issue 16: SPEC-form budget lines

        drop_spec_budget_errors(self.ledger)

    def entries(self) -> Sequence[data.Directive]:
        """This ledger's entries, as beancount's directives (Fava types them with its own abstract classes)."""
        return cast("Sequence[data.Directive]", self.ledger.all_entries)

    # ------------------------------------------------------------------------------------ page data

    def page(self) -> dict[str, Any]:
        """Everything the templates need for this request."""
        place = self.place()
        day, day_error = self.as_of()
        user = current_user()
        context: dict[str, Any] = {
            "as_of": day, "as_of_error": day_error, "user": user, "place": place, "problems": [],
            "money": fr_money, "date": fr_date, "json_money": money_json, "number": fr_number, "percent": percent,
            "form": getattr(g, FORM_KEY, None),
            "added": request.args.get("ajout", ""), "pool_url": self.pool_url(user), "menu": (),
        }
        if place is None:
            context["problems"] = [Problem(str(self.ledger.beancount_file_path), 0,
                                           "aucun group.toml au-dessus de ce livre : BanquAsso ne sait pas "
                                           "à quel groupe il appartient")]
            context["kind"] = "problem"
            return context
        kind = "member" if place.member_id else "group"
        shown = self._computed(kind, place, day)
        computed = shown.value
        context["kind"] = kind
        context["menu"] = menu_links(kind, user)
        context["computed_at"] = shown.computed_at
        context["recomputing"] = shown.recomputing
        if isinstance(computed, list):
            context["problems"] = computed
            context["kind"] = "problem"
        elif isinstance(computed, MemberPage):
            context["member"] = computed
            context["chart"] = Markup(chart_svg(Series(  # noqa: S704 -- chart_svg escapes every text it writes
                computed.member.days, computed.member.floor, computed.risk.members[computed.member.member_id].band,
                f"Trésorerie prévue de {computed.member.name} sur {len(computed.member.days)} jours")))
            context["sha256"] = self.ledger.file.get_source(Path(self.ledger.beancount_file_path))[1]
            context["band_note"] = band_note(computed.risk)
        else:
            context["pool"] = {**pool_context(computed, user), "computed_at": shown.computed_at,
                               "recomputing": shown.recomputing}
            context["chart"] = Markup(chart_svg(Series(  # noqa: S704 -- chart_svg escapes every text it writes
                computed.forecast.days, computed.forecast.floor, computed.risk.group.band,
                f"Trésorerie prévue du groupement sur {len(computed.forecast.days)} jours"), "pool-chart"))
            context["band_note"] = band_note(computed.risk)
        return context

    def pool_url(self, user: User | None) -> str | None:
        """Where the group's pool page is (the standalone page for a treasurer)."""
        place = self.place()
        if place is None:
            return None
        group_file = str((place.ledgers_dir / "group.beancount").resolve())
        slug = next((s for s, led in fava.ledgers(current_app)
                     if str(Path(fava.ledger_file(led)).resolve()) == group_file), None)
        if slug is None:
            return None
        tail = "pool" if user is not None and user.role == "treasurer" else ""
        return f"/{slug}/extension/{self.name}/{tail}"

    def report_url(self, **params: str) -> str:
        """The URL of this ledger's « Trésorerie mutualisée » page."""
        values: dict[str, Any] = {"bfile": fava.request_slug(), "extension_name": self.name, **params}
        return url_for("extension_report", **values)

    def endpoint_url(self, endpoint: str, **params: str) -> str:
        """The URL of one of this extension's endpoints on this ledger."""
        query = f"?{urlencode(params)}" if params else ""
        return f"{request.script_root}/{fava.request_slug()}/extension/{self.name}/{endpoint}{query}"

    # ------------------------------------------------------------------------------------- endpoints

    @endpoint("forecast_data")
    def forecast_data(self) -> Response:
        """The member page as JSON: `banquasso forecast --json --risk` for this member, plus tranches and advances."""
        context = self.page()
        if context["kind"] != "member":
            return _json_error(context, "cette page n'existe que sur le livre d'un membre")
        page: MemberPage = context["member"]
        doc = forecast_json(page.forecast, [page.member], page.risk)
        doc["tranches"] = [{"convention": t.convention, "funder": t.funder, "date": t.due.isoformat(),
                            "open_amount": money_json(t.open_amount), "delay_days": t.delay_days,
                            "delay_source": t.delay_source, "expected_on": t.expected.isoformat()}
                           for t in page.tranches]
        doc["advances"] = [{"id": a.view.id, "side": "lender" if a.side == "donnée" else "borrower",
                            "counterpart": a.counterpart, "principal": money_json(a.view.principal),
                            "outstanding": money_json(a.advance.outstanding), "status": a.advance.status,
                            **standing_json(a.standing),
                            "lines": [{"n": line.n, "date": line.date.isoformat(), "payment": money_json(line.payment)}
                                      for line in a.view.lines]}
                           for a in page.advances]
        doc["alerts"] = list(page.alerts)
        return jsonify(doc)

    @endpoint("pool_data")
    def pool_data(self) -> Response:
        """The pool page as JSON (a treasurer sees only the pool's totals and their own member)."""
        context = self.page()
        if context["kind"] != "group":
            return _json_error(context, "cette page n'existe que sur la vue consolidée")
        return jsonify(pool_json(context["pool"]))

    @endpoint("pool")
    def pool(self) -> str:
        """The pool page on its own, without Fava's menus (what a treasurer sees of the group)."""
        context = self.page()
        template = self.jinja_env.get_template("bqa_pool_page.html")
        return template.render(extension=self, page=context)

    @endpoint("indicateurs")
    def indicateurs(self) -> str:
        """The management ratios (banquasso.fava_ext.indicators_page): a treasurer sees only its member."""
        from banquasso.fava_ext.indicators_page import render_indicators

        return render_indicators(self)

    @endpoint("tranches", ["POST"])
    def tranches(self) -> BaseResponse | str:
        """Record a grant's tranches in this member's ledger, through Fava's file API (hash-checked)."""
        place = self.place()
        if place is None or place.member_id is None:
            return _json_error({"problems": []}, "le formulaire des échéances n'existe que sur le livre d'un membre")
        day, _ = self.as_of()
        form = dict(request.form.items())
        book, _ = extract_grants(self.entries())
        result = check_form(form, book)
        if result.ok:
            message = self._write(result, book, day, form.get("sha256", ""))
            if message is None:
                count = str(len(result.tranches))
                return redirect(self.report_url(as_of=day.isoformat(), ajout=f"{count}:{result.convention}"),
                                code=HTTPStatus.SEE_OTHER)
            result = FormResult(result.convention, (), {"form": message})
        setattr(g, FORM_KEY, {"values": form, "errors": dict(result.errors)})
        template = self.jinja_env.get_template(f"{self.name}.html")
        content = Markup(template.render(ledger=self.ledger, extension=self))  # noqa: S704 -- autoescaped .html
        page = render_template("_layout.html", content=content, page_title=self.report_title)
        return Response(page, status=HTTPStatus.BAD_REQUEST, mimetype="text/html")

    def _write(self, result: FormResult, book: Any, day: dt.date, form_sha: str) -> str | None:
        """Insert the directives after the grant; None on success, else the French reason."""
        grant = book.grants[result.convention]
        target = Path(grant.source.file)
        main = Path(self.ledger.beancount_file_path)
        source, sha = self.ledger.file.get_source(target)
        if target.resolve() == main.resolve() and form_sha and form_sha != sha:
            return "le livre a été modifié depuis l'affichage de cette page : rechargez-la puis recommencez"
        currency = (self.ledger.options.get("operating_currency") or ["EUR"])[0]
        lines = directive_lines(max(day, grant.notified_on), result.convention, result.tranches, currency)
        existing = [t.source.line for t in book.tranches
                    if t.convention == result.convention and Path(t.source.file).resolve() == target.resolve()]
        text = insert_after_grant(source, grant.source.line, existing, lines)
        try:
            self.ledger.file.set_source(target, text, sha)
        except FavaAPIError as exc:  # ExternallyChangedError, NonSourceFileError, InvalidUnicodeError
            return f"écriture refusée : {exc.message}"
        except OSError as exc:
            return f"écriture refusée : {exc}"
        return None

    # ------------------------------------------------------------- budget and grant files (issue 16)

    def _member_page(self, template_name: str, kind: str) -> str:
        """A page of this member's own books, inside Fava's layout (banquasso.fava_ext.budget_views)."""
        from banquasso.fava_ext.budget_views import budget_context, grants_context

        day, _ = self.as_of()
        entries = self.entries()
        page = budget_context(entries, day) if kind == "budget" else grants_context(entries, day)
        content = Markup(self.jinja_env.get_template(template_name).render(page=page))  # noqa: S704 -- autoescaped
        return render_template("_layout.html", content=content, page_title=self.report_title)

    @endpoint("budget")
    def budget(self) -> str:
        """Budget vs réalisé of this member, per line and month by month, with the year's landing."""
        return self._member_page("bqa_budget_page.html", "budget")

    @endpoint("subventions")
    def subventions(self) -> str:
        """The grant files of this member: status, received, expected, deadlines, evidence."""
        return self._member_page("bqa_grants_page.html", "subventions")

    @endpoint("scenarios")
    def scenarios(self) -> str:
        """What-if scenarios: pick files of rules/scenarios/, see the chart move (banquasso.fava_ext.scenario_views)."""
        from banquasso.fava_ext.scenario_views import render_scenarios

        return render_scenarios(self)


    @endpoint("comptes")
    def comptes(self) -> str:
        """« Comptes annuels »: the bilan and compte de résultat of `comptasso report` (fava_ext.annual_view)."""
        from banquasso.fava_ext.annual_view import annual_context

        day, _ = self.as_of()
        context = annual_context(self.place(), day, current_user(), request.args.get("member", ""),
                                 request.args.get("year", ""))
        content = Markup(self.jinja_env.get_template("bqa_annual_page.html").render(**context))  # noqa: S704
        return render_template("_layout.html", content=content, page_title="Comptes annuels")


def _solve_ahead(place: Place, day: dt.date) -> None:
    """For a large group, the plan and capacity solved in a child process (fava_ext.child_solve) into the memo.

    Run before this process reads the books: while the child works, the server holds no lock of
    Python's, so a member's page asked meanwhile is not slowed by the group's recompute.
    """
    group, _ = load_group(place.ledgers_dir)
    if group is not None and child_solve.wanted(len(group.members)):
        child_solve.solve_in_child(place.ledgers_dir, place.rules_dir, day)


def _place_of(path: Path) -> Place | None:
    folder = ledgers_folder(path)
    if folder is None:
        return None
    group, _ = load_group(folder)
    member = next((m.id for m in group.members if m.ledger.resolve() == path), None) if group else None
    return Place(folder, rules_folder(folder, current_app.config.get(RULES_CONFIG)), member)


@dataclass(frozen=True)
class MenuLink:
    """A link of the extension's header: the endpoint it opens, its French label and its element id."""

    endpoint: str
    label: str
    element_id: str


#: The pages of the header, in the order shown (each is scoped as its endpoint is: see `menu_links`).
MENU: tuple[MenuLink, ...] = (
    MenuLink("scenarios", "Scénarios", "bqa-scenarios-link"),
    MenuLink("indicateurs", "Indicateurs", "bqa-indicators-link"),
    MenuLink("comptes", "Comptes annuels", "bqa-annual-link"),
)


def menu_links(kind: str, user: User | None) -> tuple[MenuLink, ...]:
    """The header's links a user may follow from this ledger's page.

    On a member's ledger every page is that member's (the treasurer of the member sees its own
    Scénarios and Indicateurs; the indicators page hides the other members' names). On the group view a
    treasurer may only open the pool pages (comptasso.web.access), so no link is shown to them.
    """
    if kind not in ("member", "group"):
        return ()
    if kind == "group" and user is not None and user.role == "treasurer":
        return ()
    return MENU


def _json_error(context: dict[str, Any], message: str) -> Response:
    problems = [str(p) for p in context.get("problems", [])]
    response = jsonify({"error": message if not problems else "\n".join(problems)})
    response.status_code = HTTPStatus.NOT_FOUND if not problems else HTTPStatus.SERVICE_UNAVAILABLE
    return response


def pool_context(page: PoolPage, user: User | None) -> dict[str, Any]:
    """The pool page, with every other member's details left out for a treasurer."""
    visible: Callable[[str], bool] = (lambda _m: True) if user is None else user.may_see_member
    advances = [a for a in page.plan.advances if visible(a.lender) or visible(a.borrower)]
    return {
        "page": page,
        "redacted": user is not None and user.role == "treasurer",
        "lows": [m for m in page.forecast.members if visible(m.member_id)],
        "capacity": [m for m in page.capacity.members if visible(m.member)],
        "advances": advances,
        "hidden_advances": len(page.plan.advances) - len(advances),
        "unmet": [u for u in page.plan.unmet if visible(u.need.member)],
        "outstanding": [o for o in page.outstanding if visible(o.lender) or visible(o.borrower)],
    }


def standing_json(standing: Standing) -> dict[str, Any]:
    """The decision and the borrower's dependence beside an advance, as JSON."""
    return {"decision": standing.decision,
            "dependence": {**standing.dependence.to_json(), "over_limit": standing.over,
                           "max_dependence_share": str(standing.max_share)}}


def pool_json(pool: dict[str, Any]) -> dict[str, Any]:
    """The JSON document of the pool page."""
    page: PoolPage = pool["page"]
    windows = [str(w) for w in page.capacity.pool]
    return {
        "as_of": page.as_of.isoformat(), "redacted": pool["redacted"],
        "computed_at": pool["computed_at"].isoformat(timespec="seconds"), "recomputing": pool["recomputing"],
        "group": {"opening_balance": money_json(page.forecast.opening_balance),
                  "min_balance": money_json(page.forecast.min_balance),
                  "min_date": page.forecast.min_date.isoformat(), "floor": money_json(page.forecast.floor)},
        "risk": {"draws": page.risk.scenarios, "seed": page.risk.seed, "widened": bool(page.risk.widening),
                 "probability_below_floor": str(page.risk.group.probability_below_floor),
                 "p5_min_balance": money_json(page.risk.group.p5_min_balance)},
        "members": [{"id": m.member_id, "name": m.name, "floor": money_json(m.floor),
                     "min_balance": money_json(m.min_balance), "min_date": m.min_date.isoformat(),
                     "days_below_floor": m.days_below_floor} for m in pool["lows"]],
        "capacity": {"pool": {w: money_json(v) for w, v in zip(windows, page.capacity.pool.values(), strict=True)},
                     "members": [{"id": c.member, "floor": money_json(c.floor), "earmarked": money_json(c.earmarked),
                                  "lendable": {str(w): money_json(v) for w, v in c.lendable.items()}}
                                 for c in pool["capacity"]]},
        "plan": {"advances": [{"lender": a.lender, "borrower": a.borrower, "amount": money_json(a.amount),
                               "disburse_on": a.disburse_on.isoformat(), "repay_on": a.repay_on.isoformat(),
                               "secured_by": {"convention": a.security.convention,
                                              "tranche_date": a.security.tranche_date.isoformat()}}
                              for a in pool["advances"]],
                 "other_advances": pool["hidden_advances"],
                 "unmet": [{"member": u.need.member, "from": u.need.start.isoformat(), "to": u.need.end.isoformat(),
                            "amount": money_json(u.amount), "reason": u.text} for u in pool["unmet"]],
                 "total_need": money_json(page.plan.total_need),
                 "total_covered": money_json(page.plan.total_covered),
                 "total_unmet": money_json(page.plan.total_unmet)},
        "outstanding": [{"id": o.id, "lender": o.lender, "borrower": o.borrower,
                         "outstanding": money_json(o.outstanding), "repay_on": o.repay_on.isoformat(),
                         "status": o.status, **standing_json(o.standing)} for o in pool["outstanding"]],
        "total_outstanding": money_json(page.total_outstanding),
    }


__all__ = ["MENU", "BanquAssoExtension", "MenuLink", "menu_links", "pool_context", "pool_json"]
