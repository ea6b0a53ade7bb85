"""What-if scenarios (`rules/scenarios/NAME.toml`, SPEC section 5): pure transformations of the forecast inputs.

A scenario shifts funders' delays (`[[delay]]`), drops open grant tranches (`[[cancel]]`), scales
`prevision` lines (`[[scale]]`) and takes members out of the lenders (`[[exclude_lender]]`, our
extension of the SPEC). `apply_scenarios` turns a `GroupOutlook` into the outlook of the scenario;
forecast, Monte Carlo, securities, capacity and plan all read that outlook, so they all move together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from banquasso.forecast.daily import GroupOutlook
from banquasso.forecast.delays import DelayModel, FunderDelay
from banquasso.forecast.flows import Flow, MemberBooks
from comptasso.books.reference import FUNDER_KINDS
from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.money import cents, fr_date
from comptasso.problems import Problem

SCENARIO_DIR = "scenarios"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_SHIFT = 730


# --------------------------------------------------------------------------------------------- the model

@dataclass(frozen=True)
class DelayShift:
    """`days` more days on the delay of one funder (`funder` id) or of every funder of a `kind`."""

    days: int
    funder: str | None = None
    kind: str | None = None

    def matches(self, funder: FunderDelay) -> bool:
        return funder.funder_id == self.funder if self.funder is not None else funder.kind == self.kind


@dataclass(frozen=True)
class Cancel:
    """The open tranches of a convention (only the one dated `tranche_date` when given) never come."""

    convention: str
    tranche_date: dt.date | None = None

    def matches(self, convention: str, due: dt.date) -> bool:
        return convention == self.convention and (self.tranche_date is None or due == self.tranche_date)


@dataclass(frozen=True)
class Scale:
    """The `prevision` lines of a label (of one member, or of every member) multiplied by `factor`."""

    label: str
    factor: Decimal
    member: str | None = None

    def matches(self, member: str, label: str) -> bool:
        return label == self.label and (self.member is None or member == self.member)


@dataclass(frozen=True)
class Scenario:
    """One what-if, as read from `rules/scenarios/NAME.toml` (or built by `banquasso stress`)."""

    name: str
    description: str = ""
    delays: tuple[DelayShift, ...] = ()
    cancels: tuple[Cancel, ...] = ()
    scales: tuple[Scale, ...] = ()
    excluded_lenders: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description,
            "delay": [{"funder": d.funder, "kind": d.kind, "days": d.days} for d in self.delays],
            "cancel": [{"convention": c.convention,
                        "tranche_date": c.tranche_date.isoformat() if c.tranche_date else None}
                       for c in self.cancels],
            "scale": [{"label": s.label, "member": s.member, "factor": str(s.factor)} for s in self.scales],
            "exclude_lender": list(self.excluded_lenders),
        }


def excluded_lenders(scenarios: Iterable[Scenario]) -> frozenset[str]:
    """Every member a scenario of the list takes out of the lenders."""
    return frozenset(m for s in scenarios for m in s.excluded_lenders)


# ---------------------------------------------------------------------------------------- the transformation

def shift_funder(funder: FunderDelay, days: int) -> FunderDelay:
    """A funder `days` later: its median and percentiles, and every observed delay the Monte Carlo draws."""
    return replace(
        funder,
        matched=tuple(replace(m, completed_on=m.completed_on + dt.timedelta(days=days)) for m in funder.matched),
        median_days=funder.median_days + days, p80_days=funder.p80_days + days, p90_days=funder.p90_days + days,
    )


def shift_delays(model: DelayModel, shifts: Sequence[DelayShift]) -> DelayModel:
    """The delay model with every shift added to the funders it names (shifts add up)."""
    if not shifts:
        return model
    funders = {}
    for fid, funder in model.funders.items():
        days = sum(s.days for s in shifts if s.matches(funder))
        funders[fid] = shift_funder(funder, days) if days else funder
    return DelayModel(model.as_of, funders)


def cancel_tranches(books: MemberBooks, cancels: Sequence[Cancel]) -> MemberBooks:
    """The member's books without the open tranches a cancel names (paid tranches stay: they are history)."""
    if not cancels:
        return books
    kept = tuple(s for s in books.statuses
                 if not (s.is_open and any(c.matches(s.tranche.convention, s.tranche.due) for c in cancels)))
    return replace(books, statuses=kept)


def scale_amount(amount: Decimal, factor: Decimal) -> Decimal:
    """An amount times a factor, to the cent, half up."""
    return cents(amount * factor)


def scale_flows(member: str, flows: Sequence[Flow], scales: Sequence[Scale]) -> tuple[Flow, ...]:
    """The flows with every `prevision` occurrence of a scaled label multiplied (factors multiply)."""
    out = []
    for flow in flows:
        factor = Decimal(1)
        if flow.kind == "prevision":
            for scale in scales:
                if scale.matches(member, flow.label):
                    factor *= scale.factor
        out.append(flow if factor == 1 else replace(flow, amount=scale_amount(flow.amount, factor)))
    return tuple(out)


def scale_previsions(books: MemberBooks, scales: Sequence[Scale]) -> MemberBooks:
    """The member's previsions with the scaled amounts (what the flows were made of)."""
    if not scales:
        return books
    previsions = []
    for prevision in books.previsions:
        factor = Decimal(1)
        for scale in scales:
            if scale.matches(books.member_id, prevision.label):
                factor *= scale.factor
        previsions.append(prevision if factor == 1
                          else replace(prevision, amount=scale_amount(prevision.amount, factor)))
    return replace(books, previsions=tuple(previsions))


def apply_scenario(outlook: GroupOutlook, scenario: Scenario) -> GroupOutlook:
    """The outlook under one scenario: delays shifted, tranches cancelled, previsions scaled."""
    members = tuple(scale_previsions(cancel_tranches(m, scenario.cancels), scenario.scales) for m in outlook.members)
    fixed = {mid: scale_flows(mid, flows, scenario.scales) if scenario.scales else flows
             for mid, flows in outlook.fixed.items()}
    return replace(outlook, members=members, fixed=fixed, delays=shift_delays(outlook.delays, scenario.delays))


def apply_scenarios(outlook: GroupOutlook, scenarios: Sequence[Scenario]) -> GroupOutlook:
    """The outlook under every scenario, applied in order (an empty list leaves it as it is)."""
    for scenario in scenarios:
        outlook = apply_scenario(outlook, scenario)
    return outlook


# ---------------------------------------------------------------------------------------------- the file

class _Delay(BaseModel):
    model_config = ConfigDict(extra="forbid")
    funder: str | None = None
    kind: str | None = None
    days: int = Field(ge=-MAX_SHIFT, le=MAX_SHIFT)

    @model_validator(mode="after")
    def _one_target(self) -> _Delay:
        if (self.funder is None) == (self.kind is None):
            raise ValueError("indiquez soit « funder » (identifiant), soit « kind » (type de financeur), pas les deux")
        if self.kind is not None and self.kind not in FUNDER_KINDS:
            raise ValueError(f"type de financeur inconnu « {self.kind} » ({', '.join(FUNDER_KINDS)})")
        return self


class _Cancel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    convention: str = Field(min_length=1)
    tranche_date: dt.date | None = None


class _Scale(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1)
    member: str | None = None
    factor: Decimal = Field(ge=0, le=100)

    @field_validator("factor", mode="before")
    @classmethod
    def _decimal(cls, value: object) -> object:
        return Decimal(str(value)) if isinstance(value, float) else value


class _Exclude(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member: str = Field(min_length=1)


class _ScenarioFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    delay: list[_Delay] = []
    cancel: list[_Cancel] = []
    scale: list[_Scale] = []
    exclude_lender: list[_Exclude] = []


@dataclass(frozen=True)
class Known:
    """What a scenario may name: funders, members, conventions (with their tranche dates), prevision labels."""

    funders: frozenset[str]
    members: frozenset[str]
    tranches: Mapping[str, frozenset[dt.date]]
    labels: Mapping[str, frozenset[str]]


def known_of(outlook: GroupOutlook, funders: Iterable[str]) -> Known:
    """What the books (as read in `outlook`) and `rules/funders.toml` hold."""
    tranches: dict[str, set[dt.date]] = {}
    for books in outlook.members:
        for status in books.statuses:
            tranches.setdefault(status.tranche.convention, set()).add(status.tranche.due)
    return Known(
        frozenset(funders) | frozenset(outlook.delays.funders), frozenset(m.member_id for m in outlook.members),
        {c: frozenset(d) for c, d in tranches.items()},
        {m.member_id: frozenset(p.label for p in m.previsions) for m in outlook.members},
    )


def scenario_path(rules_dir: Path, name: str) -> Path:
    return rules_dir / SCENARIO_DIR / f"{name}.toml"


def _problem(path: Path, text: str, loc: tuple[str | int, ...], message: str, code: str) -> Problem:
    where = f"{loc[0]}[{loc[1]}].{loc[2]}" if len(loc) == 3 else ".".join(str(p) for p in loc)
    return Problem(str(path), locate(text, loc), f"{where} : {message}", code=code, subject=where)


def _check_names(path: Path, text: str, parsed: _ScenarioFile, known: Known) -> list[Problem]:
    """Every funder, convention, tranche date, member and label the file names must exist."""
    out: list[Problem] = []
    for i, delay in enumerate(parsed.delay):
        if delay.funder is not None and delay.funder not in known.funders:
            out.append(_problem(path, text, ("delay", i, "funder"),
                                f"financeur inconnu « {delay.funder} » (rules/funders.toml)",
                                "scenario-unknown-funder"))
    for i, cancel in enumerate(parsed.cancel):
        dates = known.tranches.get(cancel.convention)
        if dates is None:
            out.append(_problem(path, text, ("cancel", i, "convention"),
                                f"convention inconnue « {cancel.convention} »", "scenario-unknown-convention"))
        elif cancel.tranche_date is not None and cancel.tranche_date not in dates:
            listed = ", ".join(fr_date(d) for d in sorted(dates))
            out.append(_problem(path, text, ("cancel", i, "tranche_date"),
                                f"la convention « {cancel.convention} » n'a pas d'échéance le "
                                f"{fr_date(cancel.tranche_date)} (échéances : {listed})",
                                "scenario-unknown-tranche"))
    for i, scale in enumerate(parsed.scale):
        if scale.member is not None and scale.member not in known.members:
            out.append(_problem(path, text, ("scale", i, "member"), f"membre inconnu « {scale.member} »",
                                "scenario-unknown-member"))
            continue
        owners = [scale.member] if scale.member else sorted(known.members)
        if not any(scale.label in known.labels.get(m, frozenset()) for m in owners):
            out.append(_problem(path, text, ("scale", i, "label"),
                                f"aucune prévision « {scale.label} »"
                                + (f" chez {scale.member}" if scale.member else ""),
                                "scenario-unknown-label"))
    for i, item in enumerate(parsed.exclude_lender):
        if item.member not in known.members:
            out.append(_problem(path, text, ("exclude_lender", i, "member"), f"membre inconnu « {item.member} »",
                                "scenario-unknown-member"))
    return out


def load_scenario(rules_dir: Path, name: str, known: Known) -> tuple[Scenario | None, list[Problem]]:
    """Read and check `rules/scenarios/NAME.toml`; every problem names the file, the line and the key."""
    path = scenario_path(rules_dir, name)
    if not NAME_PATTERN.match(name):
        return None, [Problem(str(path), 0,
                              f"nom de scénario invalide « {name} » (lettres minuscules, chiffres, - et _)",
                              code="scenario-name", subject=name)]
    if not path.exists():
        folder = rules_dir / SCENARIO_DIR
        names = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
        listed = f" (scénarios : {', '.join(names)})" if names else ""
        return None, [Problem(str(path), 0, f"scénario introuvable « {name} »{listed}", code="scenario-missing",
                              subject=name)]
    data, problems = read_toml(path)
    if problems:
        return None, problems
    parsed, problems = validate(path, _ScenarioFile, data)
    if parsed is None:
        return None, problems
    text = path.read_text(encoding="utf-8")
    problems = _check_names(path, text, parsed, known)
    if problems:
        return None, problems
    return Scenario(
        name, parsed.description,
        tuple(DelayShift(d.days, d.funder, d.kind) for d in parsed.delay),
        tuple(Cancel(c.convention, c.tranche_date) for c in parsed.cancel),
        tuple(Scale(s.label, s.factor, s.member) for s in parsed.scale),
        tuple(dict.fromkeys(e.member for e in parsed.exclude_lender)),
    ), []


def load_scenarios(rules_dir: Path, names: Sequence[str], known: Known) -> tuple[tuple[Scenario, ...], list[Problem]]:
    """Every named scenario, in order; the problems of all of them (none loaded when one is wrong)."""
    out, problems = [], []
    for name in names:
        scenario, found = load_scenario(rules_dir, name, known)
        problems.extend(found)
        if scenario is not None:
            out.append(scenario)
    return (tuple(out), []) if not problems else ((), problems)
