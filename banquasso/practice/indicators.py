"""Management indicators (*indicateurs de gestion*): the ratios association advisers compare members on.

Every figure is read from the annual accounts of `comptasso.reports.annual` (bilan and compte de
résultat of one financial year, the `n` column), except two that need the entries themselves: the
split of the subsidies (class 74) by funder kind (the `funder` metadata of the transactions, the kind
from `rules/funders.toml`) and the average delay to cash a grant tranche (`banquasso.forecast.delays`).

Definitions (docs/indicateurs.md says them in French):

- *jours* of a year are its number of days (365 or 366; the days up to the as-of day of a year not
  ended, whose charges and products are those of these days only); *charges décaissables* are the year's charges
  less the dotations (68);
- trésorerie nette = the 5x accounts of the actif less those of the passif (bank overdrafts);
- fonds de roulement = ressources stables (fonds propres, fonds dédiés, provisions, debts of 16 and 17)
  − actif immobilisé net; BFR = actif circulant hors trésorerie − dettes hors 16, 17 et 5x; so that
  FR − BFR = trésorerie nette;
- each "in days" ratio is amount × jours / charges décaissables; receivables (411, 441) are in days of
  products; shares are percentages of the year's products (*ressources*, contributions in kind excluded).

A ratio whose denominator is zero, or a year without entries, has no value (None). The group's
distribution (first quartile, median, third quartile, linear interpolation) is computed over the
members with a value; `for_member` keeps one member's figures and that distribution only, and hides
the distribution when fewer than `MIN_SHOWN` members have a value: with four or fewer, the three
quartiles and the treasurer's own figure are enough to recompute every other member's figure.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from beancount.core import data

from banquasso.forecast.delays import matched_tranches
from comptasso.books.reference import Funder
from comptasso.model.chart import pcg_number
from comptasso.model.member import member_model
from comptasso.money import ZERO
from comptasso.reports.annual import (
    CURRENT_ASSETS,
    DEBTS,
    DEDICATED,
    EQUITY,
    FIXED_ASSETS,
    PROVISIONS,
    AnnualAccounts,
    Section,
    annual_accounts,
    posting_amount,
    transactions,
)

#: Funder kinds of rules/funders.toml that are public bodies.
PUBLIC_KINDS = frozenset({"etat", "region", "departement", "commune", "epci", "caf", "europe"})
UNKNOWN_KIND = "non-renseigne"
#: Fewest members with a value for the group's distribution to be shown to a treasurer.
MIN_SHOWN = 5
TREND_YEARS = 3
ONE_PLACE = Decimal("0.1")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Definition:
    """One ratio: its code, French label, unit (`jours`, `%`) and what it means (French)."""

    code: str
    label: str
    unit: str
    reading: str
    higher_is: str  # "mieux", "moins bien" or "" (neither: it depends)


DEFINITIONS: tuple[Definition, ...] = (
    Definition("tresorerie_jours", "Trésorerie en jours de charges", "jours",
               "Combien de jours l'association peut payer ses charges courantes avec sa trésorerie nette à la "
               "clôture. En dessous de 30 jours, la moindre subvention en retard met la paie en danger ; "
               "au-delà de 90 jours, la trésorerie est confortable.", "mieux"),
    Definition("fonds_roulement_jours", "Fonds de roulement en jours de charges", "jours",
               "Les ressources stables (fonds propres, fonds dédiés, provisions, emprunts) qui restent une fois "
               "les immobilisations financées. Un fonds de roulement négatif veut dire que des dépenses "
               "durables sont financées par des dettes à court terme.", "mieux"),
    Definition("bfr_jours", "Besoin en fonds de roulement en jours de charges", "jours",
               "Ce que le cycle de l'activité immobilise : créances et subventions à recevoir moins les dettes "
               "d'exploitation. Un BFR élevé vient souvent de subventions versées tard ; il se finance par le "
               "fonds de roulement ou, à défaut, par la trésorerie.", "moins bien"),
    Definition("subventions_publiques_part", "Part des subventions publiques dans les ressources", "%",
               "La dépendance aux financeurs publics (État, collectivités, CAF, Europe). Au-delà de 70 %, "
               "un changement de politique ou un retard de paiement d'un financeur pèse lourd.", ""),
    Definition("delai_encaissement_jours", "Délai moyen d'encaissement d'une subvention", "jours",
               "Jours entre la date prévue d'une échéance de subvention et son encaissement complet, en moyenne "
               "sur les échéances soldées dans l'exercice. La loi fixe 60 jours après la notification.",
               "moins bien"),
    Definition("creances_jours", "Créances usagers et subventions à recevoir (411, 441) en jours de produits",
               "jours",
               "Combien de jours de produits restent à encaisser à la clôture. Plus c'est élevé, plus "
               "l'association fait l'avance de sa trésorerie à ses usagers et à ses financeurs.", "moins bien"),
    Definition("personnel_part", "Charges de personnel / ressources", "%",
               "La part des ressources qui paie les salaires et charges sociales (compte 64). Élevée, elle "
               "rend les charges rigides : on ne réduit pas une masse salariale aussi vite qu'un achat.", ""),
    Definition("fonds_propres_part", "Fonds propres / total du bilan", "%",
               "La solidité de la structure : la part du bilan financée par l'association elle-même. "
               "En dessous de 20 %, elle dépend de ses créanciers et de ses financeurs.", "mieux"),
    Definition("resultat_part", "Résultat / ressources", "%",
               "L'excédent (ou le déficit) de l'exercice rapporté aux ressources. Un petit excédent régulier "
               "reconstitue les fonds propres ; des déficits répétés les consomment.", "mieux"),
)
CODES = tuple(d.code for d in DEFINITIONS)


@dataclass(frozen=True)
class YearFigures:
    """The amounts of one member's year the ratios are made of (Decimal, to the cent)."""

    year: int
    days: int
    products: Decimal
    charges: Decimal
    dotations: Decimal
    treasury: Decimal
    stable_resources: Decimal
    fixed_assets: Decimal
    working_capital_need: Decimal
    receivables: Decimal
    personnel: Decimal
    equity: Decimal
    total_bilan: Decimal
    result: Decimal
    subsidies_by_kind: tuple[tuple[str, Decimal], ...]
    cash_delays: tuple[int, ...]

    @property
    def cash_charges(self) -> Decimal:
        """Charges décaissables: the charges less the dotations (68)."""
        return self.charges - self.dotations

    @property
    def working_capital(self) -> Decimal:
        """Fonds de roulement: ressources stables − actif immobilisé net."""
        return self.stable_resources - self.fixed_assets

    @property
    def public_subsidies(self) -> Decimal:
        return sum((v for kind, v in self.subsidies_by_kind if kind in PUBLIC_KINDS), ZERO)


def _round(value: Decimal) -> Decimal:
    return value.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _days(amount: Decimal, days: int, per: Decimal) -> Decimal | None:
    return None if per <= 0 else _round(amount * days / per)


def _share(amount: Decimal, total: Decimal) -> Decimal | None:
    return None if total <= 0 else _round(amount * HUNDRED / total)


def ratios(f: YearFigures) -> dict[str, Decimal | None]:
    """Every ratio of one year (None where the denominator is zero), by code."""
    delay = (None if not f.cash_delays
             else _round(Decimal(sum(f.cash_delays)) / len(f.cash_delays)))
    return {
        "tresorerie_jours": _days(f.treasury, f.days, f.cash_charges),
        "fonds_roulement_jours": _days(f.working_capital, f.days, f.cash_charges),
        "bfr_jours": _days(f.working_capital_need, f.days, f.cash_charges),
        "subventions_publiques_part": _share(f.public_subsidies, f.products),
        "delai_encaissement_jours": delay,
        "creances_jours": _days(f.receivables, f.days, f.products),
        "personnel_part": _share(f.personnel, f.products),
        "fonds_propres_part": _share(f.equity, f.total_bilan),
        "resultat_part": _share(f.result, f.products),
    }


def kind_shares(f: YearFigures) -> dict[str, Decimal | None]:
    """The share of the products from each funder kind's subsidies (74), in percent."""
    return {kind: _share(amount, f.products) for kind, amount in f.subsidies_by_kind}


# --- reading the annual accounts ---------------------------------------------------------------------


def _accounts(sections: Sequence[Section], titles: Sequence[str] | None = None) -> list[tuple[str, Decimal]]:
    return [(a.account, a.n) for s in sections if titles is None or s.title in titles
            for line in s.lines for a in line.accounts]


def _sum(pairs: Sequence[tuple[str, Decimal]], keep: Callable[[str], bool]) -> Decimal:
    return sum((v for account, v in pairs if keep(pcg_number(account) or "")), ZERO)


def _starts(*prefixes: str) -> Callable[[str], bool]:
    return lambda number: bool(number) and number.startswith(prefixes)


def _section_total(sections: Sequence[Section], *titles: str) -> Decimal:
    return sum((s.total_n for s in sections if s.title in titles), ZERO)


def subsidies_by_kind(entries: Sequence[data.Directive], start: dt.date, end: dt.date,
                      funders: Mapping[str, Funder]) -> tuple[tuple[str, Decimal], ...]:
    """Subsidies (class 74, credited) of the year by the kind of the transaction's `funder`, sorted by kind."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in transactions(entries):
        if not start <= entry.date <= end:
            continue
        amount = -sum((posting_amount(p) for p in entry.postings if p.account.startswith("Income:")
                       and _starts("74")(pcg_number(p.account) or "")), ZERO)
        if amount:
            funder = funders.get(str(entry.meta.get("funder", "")))
            out[funder.kind if funder else UNKNOWN_KIND] += amount
    return tuple(sorted((k, v) for k, v in out.items() if v))


def cash_delays(entries: Sequence[data.Directive], member_id: str, start: dt.date, end: dt.date) -> tuple[int, ...]:
    """The delays (days) of the member's grant tranches paid in full within the year."""
    statuses = member_model(entries, end).statuses
    return tuple(m.delay_days for m in matched_tranches({member_id: statuses}, end)
                 if m.completed_on is not None and start <= m.completed_on <= end)


def year_figures(accounts: AnnualAccounts, entries: Sequence[data.Directive],
                 funders: Mapping[str, Funder]) -> YearFigures:
    """The amounts of the year N of `accounts` the ratios need."""
    period = accounts.period
    actif, passif = _accounts(accounts.actif), _accounts(accounts.passif)
    debts = _accounts(accounts.passif, (DEBTS,))
    long_debts = _sum(debts, _starts("16", "17"))
    treasury = _sum(actif, _starts("5")) - _sum(passif, _starts("5"))
    current = _section_total(accounts.actif, CURRENT_ASSETS) - _sum(actif, _starts("5"))
    short_debts = _section_total(accounts.passif, DEBTS) - long_debts - _sum(passif, _starts("5"))
    expenses = _accounts(accounts.expenses)
    return YearFigures(
        year=accounts.year, days=(min(period.end, accounts.as_of) - period.start).days + 1,
        products=accounts.total_income.n, charges=accounts.total_expenses.n,
        dotations=_sum(expenses, _starts("68")), treasury=treasury,
        stable_resources=_section_total(accounts.passif, EQUITY, DEDICATED, PROVISIONS) + long_debts,
        fixed_assets=_section_total(accounts.actif, FIXED_ASSETS),
        working_capital_need=current - short_debts,
        receivables=_sum(actif, _starts("411", "441")),
        personnel=_sum(expenses, _starts("64")),
        equity=_section_total(accounts.passif, EQUITY), total_bilan=accounts.total_passif.n,
        result=accounts.result.n,
        subsidies_by_kind=subsidies_by_kind(entries, period.start, period.end, funders),
        cash_delays=cash_delays(entries, accounts.member_id, period.start, period.end),
    )


# --- the group --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberBooks:
    """What the indicators read of one member: its id, name, entries and first day of its financial year."""

    id: str
    name: str
    entries: Sequence[data.Directive]
    year_start: tuple[int, int] = (1, 1)


@dataclass(frozen=True)
class MemberIndicators:
    """One member's ratios for each year of the trend (oldest first), and its funder-kind shares."""

    id: str
    name: str
    years: tuple[int, ...]
    values: Mapping[str, tuple[Decimal | None, ...]]
    kinds: Mapping[str, Decimal | None]
    has_books: tuple[bool, ...]

    def latest(self, code: str) -> Decimal | None:
        return self.values[code][-1]


@dataclass(frozen=True)
class Distribution:
    """The group's distribution of one ratio over the members with a value (None when hidden or empty)."""

    count: int
    q1: Decimal | None
    median: Decimal | None
    q3: Decimal | None


@dataclass(frozen=True)
class Indicators:
    """The group's indicators of a year: every member's (or one member's) figures and the distributions."""

    as_of: dt.date
    year: int
    years: tuple[int, ...]
    members: tuple[MemberIndicators, ...]
    distributions: Mapping[str, Distribution]
    redacted: bool = False


def quantile(values: Sequence[Decimal], share: Decimal) -> Decimal:
    """Linear-interpolation quantile (numpy's default) of Decimal values, rounded to one place."""
    ordered = sorted(values)
    position = Decimal(len(ordered) - 1) * share
    low = int(position.to_integral_value(rounding=ROUND_FLOOR))
    high = min(low + 1, len(ordered) - 1)
    return _round(ordered[low] + (position - low) * (ordered[high] - ordered[low]))


def distribution(values: Sequence[Decimal | None]) -> Distribution:
    """First quartile, median and third quartile of the values present."""
    present = [v for v in values if v is not None]
    if not present:
        return Distribution(0, None, None, None)
    return Distribution(len(present), quantile(present, Decimal("0.25")), quantile(present, Decimal("0.5")),
                        quantile(present, Decimal("0.75")))


def _has_entries(entries: Sequence[data.Directive], accounts: AnnualAccounts) -> bool:
    return any(accounts.period.start <= e.date <= accounts.period.end for e in transactions(entries))


def member_indicators(member: MemberBooks, year: int, as_of: dt.date,
                      funders: Mapping[str, Funder]) -> MemberIndicators:
    """One member's ratios over the trend's years (`year` − 2 … `year`), read as of `as_of`."""
    years = tuple(range(year - TREND_YEARS + 1, year + 1))
    per_year: list[dict[str, Decimal | None]] = []
    present: list[bool] = []
    last: YearFigures | None = None
    known = [e for e in member.entries if e.date <= as_of]
    for y in years:
        accounts = annual_accounts(known, y, as_of, member_id=member.id, member_name=member.name,
                                   year_start=member.year_start)
        has = _has_entries(known, accounts)
        present.append(has)
        if has:
            last = year_figures(accounts, known, funders)
            per_year.append(ratios(last))
        else:
            last = None
            per_year.append(dict.fromkeys(CODES))
    kinds = kind_shares(last) if last is not None else {}
    values = {code: tuple(r[code] for r in per_year) for code in CODES}
    return MemberIndicators(member.id, member.name, years, values, kinds, tuple(present))


def group_indicators(members: Sequence[MemberBooks], year: int, as_of: dt.date,
                     funders: Mapping[str, Funder]) -> Indicators:
    """Every member's indicators for the year and its trend, with the group's distribution of the year."""
    rows = tuple(member_indicators(m, year, as_of, funders) for m in members)
    distributions = {code: distribution([r.latest(code) for r in rows]) for code in CODES}
    years = tuple(range(year - TREND_YEARS + 1, year + 1))
    return Indicators(as_of, year, years, rows, distributions)


def for_member(indicators: Indicators, member_id: str) -> Indicators:
    """What a member's treasurer may see: its own figures and the group's anonymised distribution."""
    hidden = Distribution(0, None, None, None)
    shown = {code: d if d.count >= MIN_SHOWN else replace(hidden, count=d.count)
             for code, d in indicators.distributions.items()}
    return replace(indicators, members=tuple(m for m in indicators.members if m.id == member_id),
                   distributions=shown, redacted=True)


def position(value: Decimal | None, d: Distribution) -> str:
    """Where a value stands in the group, in French (empty when either is missing)."""
    if value is None or d.median is None or d.q1 is None or d.q3 is None:
        return ""
    if value < d.q1:
        return "dans le quart le plus bas du groupement"
    if value > d.q3:
        return "dans le quart le plus haut du groupement"
    return "au-dessus de la médiane du groupement" if value > d.median else (
        "à la médiane du groupement" if value == d.median else "en dessous de la médiane du groupement")


def trend(values: Sequence[Decimal | None]) -> str:
    """The direction of a ratio over the years with a value, in French."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return "pas assez d'exercices"
    if present[-1] > present[0]:
        return "en hausse"
    return "en baisse" if present[-1] < present[0] else "stable"
