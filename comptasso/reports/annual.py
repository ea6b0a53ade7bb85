"""Annual accounts in the ANC 2018-06 layout: bilan and compte de résultat, years N and N-1."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import convert, data
from beancount.core.amount import Amount

from comptasso.model.chart import has_prefix, pcg_number
from comptasso.money import ZERO, cents
from comptasso.problems import Problem, at
from comptasso.reports.period import CALENDAR, FinancialYear

BALANCE_SHEET_ROOTS = frozenset({"Assets", "Liabilities", "Equity"})
INCOME_STATEMENT_ROOTS = frozenset({"Income", "Expenses"})

# --- Periods and balances ----------------------------------------------------------------------


def year_bounds(year: int, first: tuple[int, int] = CALENDAR) -> tuple[dt.date, dt.date]:
    """First and last day of the financial year closing in `year` that starts on `first` (month, day)."""
    period = FinancialYear.closing_in(year, first)
    return period.start, period.end


# Beancount's convert.get_weight carries no annotations: its type, once.
_get_weight: Callable[[data.Posting], Amount] = convert.get_weight


def posting_amount(posting: data.Posting) -> Decimal:
    """A posting's weight in the ledger currency (positive = debit, negative = credit)."""
    weight = _get_weight(posting).number
    assert weight is not None  # a booked posting always has its number
    return Decimal(weight)


def transactions(entries: Iterable[data.Directive]) -> list[data.Transaction]:
    """The transactions among directives (pad entries included: Beancount made them transactions)."""
    return [e for e in entries if isinstance(e, data.Transaction)]


def balances(entries: Iterable[data.Directive], start: dt.date | None, end: dt.date) -> dict[str, Decimal]:
    """Sum of postings per account over entries dated start..end (from the beginning when start is None)."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in transactions(entries):
        if entry.date > end or (start is not None and entry.date < start):
            continue
        for posting in entry.postings:
            out[posting.account] += posting_amount(posting)
    return {k: v for k, v in out.items() if v != 0}


def is_income_statement(account: str) -> bool:
    """Income and Expenses accounts (classes 6, 7 and the contributions in kind 86/87)."""
    return account.split(":", 1)[0] in INCOME_STATEMENT_ROOTS


def is_contribution_in_kind(account: str) -> bool:
    """Classes 86 and 87: contributions volontaires en nature, shown below the result."""
    number = pcg_number(account) or ""
    return number.startswith(("86", "87"))


def in_result(account: str) -> bool:
    """Accounts of the result: classes 6 and 7. Contributions in kind (86/87) are off-balance (ANC 2018-06)."""
    return is_income_statement(account) and not is_contribution_in_kind(account)


def surplus(sums: Mapping[str, Decimal]) -> Decimal:
    """Excédent (positive) or déficit (negative) of income-statement sums: minus their total, 86/87 excluded."""
    return -sum((v for a, v in sums.items() if in_result(a)), ZERO)


def in_kind_residue(sums: Mapping[str, Decimal]) -> Decimal:
    """What 86 and 87 fail to cancel (zero when every contribution in kind is booked 86 against 87)."""
    return sum((v for a, v in sums.items() if is_income_statement(a) and is_contribution_in_kind(a)), ZERO)


@dataclass(frozen=True)
class CarriedResults:
    """The results carried into a year: of the previous year (12x) and of every earlier one (11x)."""

    previous_year: Decimal
    earlier_years: Decimal


def carried_results(entries: Sequence[data.Directive], year: int,
                    first: tuple[int, int] = CALENDAR) -> CarriedResults:
    """Results of the years before `year`, which the ledger never closes (Income/Expenses accumulate)."""
    previous_start, previous_end = year_bounds(year - 1, first)
    earlier = surplus(balances(entries, None, previous_start - dt.timedelta(days=1)))
    previous = surplus(balances(entries, previous_start, previous_end))
    return CarriedResults(previous, earlier)


# --- ANC 2018-06 headings ---------------------------------------------------------------------

# Compte de résultat: (PCG prefix, section, heading); the longest matching prefix wins.
EXPLOITATION_INCOME = "Produits d'exploitation"
EXPLOITATION_EXPENSES = "Charges d'exploitation"
FINANCIAL_INCOME = "Produits financiers"
FINANCIAL_EXPENSES = "Charges financières"
EXCEPTIONAL_INCOME = "Produits exceptionnels"
EXCEPTIONAL_EXPENSES = "Charges exceptionnelles"
TAX = "Impôts sur les bénéfices et participation"
IN_KIND_INCOME = "Contributions volontaires en nature"
IN_KIND_EXPENSES = "Emplois des contributions volontaires en nature"

INCOME_SECTIONS = (EXPLOITATION_INCOME, FINANCIAL_INCOME, EXCEPTIONAL_INCOME)
EXPENSE_SECTIONS = (EXPLOITATION_EXPENSES, FINANCIAL_EXPENSES, EXCEPTIONAL_EXPENSES, TAX)
IN_KIND_SECTIONS = (IN_KIND_INCOME, IN_KIND_EXPENSES)

#: The compte de résultat of ANC 2018-06 for financial years opened before 1 January 2025 (PCG of 2014).
RESULT_HEADINGS: tuple[tuple[str, str, str], ...] = (
    ("756", EXPLOITATION_INCOME, "Cotisations"),
    ("70", EXPLOITATION_INCOME, "Ventes de biens et services"),
    ("71", EXPLOITATION_INCOME, "Production stockée et immobilisée"),
    ("72", EXPLOITATION_INCOME, "Production stockée et immobilisée"),
    ("74", EXPLOITATION_INCOME, "Concours publics et subventions d'exploitation"),
    ("754", EXPLOITATION_INCOME, "Ressources liées à la générosité du public"),
    ("755", EXPLOITATION_INCOME, "Contributions financières"),
    ("781", EXPLOITATION_INCOME, "Reprises sur amortissements, dépréciations, provisions et transferts de charges"),
    ("791", EXPLOITATION_INCOME, "Reprises sur amortissements, dépréciations, provisions et transferts de charges"),
    ("789", EXPLOITATION_INCOME, "Utilisations des fonds dédiés"),
    ("7", EXPLOITATION_INCOME, "Autres produits"),
    ("76", FINANCIAL_INCOME, "Produits financiers"),
    ("786", FINANCIAL_INCOME, "Produits financiers"),
    ("796", FINANCIAL_INCOME, "Produits financiers"),
    ("77", EXCEPTIONAL_INCOME, "Produits exceptionnels"),
    ("787", EXCEPTIONAL_INCOME, "Produits exceptionnels"),
    ("797", EXCEPTIONAL_INCOME, "Produits exceptionnels"),
    ("607", EXPLOITATION_EXPENSES, "Achats de marchandises et variation de stock"),
    ("6037", EXPLOITATION_EXPENSES, "Achats de marchandises et variation de stock"),
    ("60", EXPLOITATION_EXPENSES, "Autres achats et charges externes"),
    ("61", EXPLOITATION_EXPENSES, "Autres achats et charges externes"),
    ("62", EXPLOITATION_EXPENSES, "Autres achats et charges externes"),
    ("657", EXPLOITATION_EXPENSES, "Aides financières"),
    ("63", EXPLOITATION_EXPENSES, "Impôts, taxes et versements assimilés"),
    ("64", EXPLOITATION_EXPENSES, "Salaires et traitements"),
    ("645", EXPLOITATION_EXPENSES, "Charges sociales"),
    ("646", EXPLOITATION_EXPENSES, "Charges sociales"),
    ("647", EXPLOITATION_EXPENSES, "Charges sociales"),
    ("681", EXPLOITATION_EXPENSES, "Dotations aux amortissements, dépréciations et provisions"),
    ("689", EXPLOITATION_EXPENSES, "Reports en fonds dédiés"),
    ("6", EXPLOITATION_EXPENSES, "Autres charges"),
    ("66", FINANCIAL_EXPENSES, "Charges financières"),
    ("686", FINANCIAL_EXPENSES, "Charges financières"),
    ("67", EXCEPTIONAL_EXPENSES, "Charges exceptionnelles"),
    ("687", EXCEPTIONAL_EXPENSES, "Charges exceptionnelles"),
    ("69", TAX, "Impôts sur les bénéfices et participation des salariés"),
    ("870", IN_KIND_INCOME, "Bénévolat"),
    ("871", IN_KIND_INCOME, "Prestations en nature"),
    ("875", IN_KIND_INCOME, "Dons en nature"),
    ("87", IN_KIND_INCOME, "Autres contributions en nature"),
    ("860", IN_KIND_EXPENSES, "Secours en nature"),
    ("861", IN_KIND_EXPENSES, "Mises à disposition gratuites de biens"),
    ("862", IN_KIND_EXPENSES, "Prestations en nature"),
    ("864", IN_KIND_EXPENSES, "Personnel bénévole"),
    ("86", IN_KIND_EXPENSES, "Autres emplois des contributions en nature"),
)

#: « Produits de tiers financeurs » (ANC 2018-06): the heading that groups these lines of the income.
THIRD_PARTY_FUNDERS = "Produits de tiers financeurs"
THIRD_PARTY_HEADINGS = ("Concours publics et subventions d'exploitation",
                        "Ressources liées à la générosité du public", "Contributions financières")

_RELEASES_2025 = "Reprises sur amortissements, dépréciations et provisions"
#: The same layout for financial years opened from 1 January 2025: the PCG as modernised by ANC 2022-06
#: (transfers of charges 791, 771, 775 and 777 gone; investment-grant releases on 747; disposals on 757).
RESULT_HEADINGS_2025: tuple[tuple[str, str, str], ...] = (
    *((prefix, section, _RELEASES_2025 if heading.startswith("Reprises sur") else heading)
      for prefix, section, heading in RESULT_HEADINGS if prefix != "791"),
    ("747", EXPLOITATION_INCOME, "Quote-part des subventions d'investissement virée au résultat"),
    ("757", EXPLOITATION_INCOME, "Produits des cessions d'immobilisations"),
)


@dataclass(frozen=True)
class Chart:
    """One version of the chart and of the statements' headings, chosen by the year's opening date."""

    name: str
    result_headings: tuple[tuple[str, str, str], ...]
    #: Accounts the version no longer has: PCG prefix → what replaces it (French).
    removed: tuple[tuple[str, str], ...] = ()

    @property
    def result_order(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(h for _, _, h in self.result_headings))


ANC_2018 = Chart("ANC 2018-06 (plan comptable de 2014)", RESULT_HEADINGS)
ANC_2025 = Chart("ANC 2018-06 modifié, plan comptable modernisé par le règlement ANC 2022-06",
                 RESULT_HEADINGS_2025, removed=(
                     ("771", "produits de gestion (75) ou exceptionnels selon leur nature"),
                     ("775", "757 (produits des cessions d'immobilisations)"),
                     ("777", "747 (quote-part des subventions d'investissement virée au résultat)"),
                     ("791", "supprimé : les charges sont reclassées directement"),
                 ))
#: The modernised PCG applies to financial years opened from this day on.
MODERNISED_FROM = dt.date(2025, 1, 1)


def chart_for(period: FinancialYear) -> Chart:
    """The chart version of a financial year: by its opening date (ANC 2022-06 from 1 January 2025)."""
    return ANC_2025 if period.start >= MODERNISED_FROM else ANC_2018


def obsolete_accounts(entries: Iterable[data.Directive], period: FinancialYear, where: str) -> list[Problem]:
    """A warning per account used in the year that its chart version no longer has."""
    chart = chart_for(period)
    seen: dict[str, data.Transaction] = {}
    for entry in transactions(entries):
        if entry.date in period:
            for posting in entry.postings:
                seen.setdefault(posting.account, entry)
    out = []
    for account, entry in sorted(seen.items()):
        number = pcg_number(account) or ""
        for prefix, replacement in chart.removed:
            if number.startswith(prefix):
                problem = at(entry.meta, f"compte {prefix} utilisé en {period.label} alors que le plan "
                                         f"comptable modernisé (ANC 2022-06) l'a supprimé : {replacement}",
                             "warning")
                out.append(Problem(problem.file or where, problem.line, problem.message, "warning",
                                   "chart-removed-account", account))
    return out


# Bilan: (PCG prefix, side, section, heading); class 4 and 51 accounts go by the sign of their balance.
ACTIF, PASSIF = "actif", "passif"
FIXED_ASSETS = "Actif immobilisé"
CURRENT_ASSETS = "Actif circulant"
EQUITY = "Fonds propres"
DEDICATED = "Fonds reportés et dédiés"
PROVISIONS = "Provisions"
DEBTS = "Dettes"
ACTIF_SECTIONS = (FIXED_ASSETS, CURRENT_ASSETS)
PASSIF_SECTIONS = (EQUITY, DEDICATED, PROVISIONS, DEBTS)
CARRIED_FORWARD = "Report à nouveau"
PREPAID_EXPENSES = "Charges constatées d'avance"
IN_KIND_GAP = "Écart des contributions volontaires en nature (à corriger)"
YEAR_RESULT = "Excédent ou déficit de l'exercice"

# Amortissements (28) and dépréciations (29) take the heading of the asset they reduce (see
# `depreciated_asset`), so this table only needs the asset numbers.
_FIXED: tuple[tuple[str, str, str], ...] = (
    ("20", FIXED_ASSETS, "Immobilisations incorporelles"),
    ("2", FIXED_ASSETS, "Immobilisations corporelles"),
    ("24", FIXED_ASSETS, "Biens reçus par legs ou donations destinés à être cédés"),
    ("26", FIXED_ASSETS, "Immobilisations financières"),
    ("27", FIXED_ASSETS, "Immobilisations financières"),
    ("3", CURRENT_ASSETS, "Stocks et en-cours"),
    ("486", CURRENT_ASSETS, "Charges constatées d'avance"),  # see balance_sheet_heading
    ("5", CURRENT_ASSETS, "Disponibilités"),
    ("50", CURRENT_ASSETS, "Valeurs mobilières de placement"),
)
_DEBIT_BALANCE: tuple[tuple[str, str, str], ...] = (
    ("41", CURRENT_ASSETS, "Créances usagers et comptes rattachés"),
    ("4", CURRENT_ASSETS, "Autres créances"),
)
_PASSIF_ALWAYS: tuple[tuple[str, str, str], ...] = (
    ("1", EQUITY, "Autres fonds propres"),
    ("102", EQUITY, "Fonds propres sans droit de reprise"),
    ("103", EQUITY, "Fonds propres avec droit de reprise"),
    ("105", EQUITY, "Écarts de réévaluation"),
    ("106", EQUITY, "Réserves"),
    ("11", EQUITY, CARRIED_FORWARD),
    ("12", EQUITY, YEAR_RESULT),
    ("13", EQUITY, "Subventions d'investissement"),
    ("14", EQUITY, "Provisions réglementées"),
    ("15", PROVISIONS, "Provisions pour risques et charges"),
    ("16", DEBTS, "Emprunts et dettes financières diverses"),
    ("164", DEBTS, "Emprunts et dettes auprès des établissements de crédit"),
    ("17", DEBTS, "Emprunts et dettes financières diverses"),
    ("18", DEBTS, "Emprunts et dettes financières diverses"),
    ("19", DEDICATED, "Fonds dédiés"),
    ("191", DEDICATED, "Fonds reportés liés aux legs ou donations"),
    ("487", DEBTS, "Produits constatés d'avance"),
)
_CREDIT_BALANCE: tuple[tuple[str, str, str], ...] = (
    ("5", DEBTS, "Emprunts et dettes auprès des établissements de crédit"),
    ("40", DEBTS, "Dettes fournisseurs et comptes rattachés"),
    ("404", DEBTS, "Dettes sur immobilisations"),
    ("42", DEBTS, "Dettes fiscales et sociales"),
    ("43", DEBTS, "Dettes fiscales et sociales"),
    ("44", DEBTS, "Dettes fiscales et sociales"),
    ("4", DEBTS, "Autres dettes"),
)

#: The order of the headings in the ANC 2018-06 bilan.
ACTIF_ORDER = (
    "Immobilisations incorporelles", "Immobilisations corporelles",
    "Biens reçus par legs ou donations destinés à être cédés", "Immobilisations financières",
    "Stocks et en-cours", "Créances usagers et comptes rattachés", "Autres créances",
    "Valeurs mobilières de placement", "Disponibilités", "Charges constatées d'avance",
)
PASSIF_ORDER = (
    "Fonds propres sans droit de reprise", "Fonds propres avec droit de reprise", "Autres fonds propres",
    "Écarts de réévaluation", "Réserves", CARRIED_FORWARD, YEAR_RESULT, "Subventions d'investissement",
    "Provisions réglementées", "Fonds reportés liés aux legs ou donations", "Fonds dédiés",
    "Provisions pour risques et charges", "Emprunts et dettes auprès des établissements de crédit",
    "Emprunts et dettes financières diverses", "Dettes fournisseurs et comptes rattachés",
    "Dettes fiscales et sociales", "Dettes sur immobilisations", "Autres dettes", "Produits constatés d'avance",
    IN_KIND_GAP,
)
ACTIF_TABLES = _FIXED + _DEBIT_BALANCE
PASSIF_TABLES = _PASSIF_ALWAYS + _CREDIT_BALANCE
RESULT_ORDER = ANC_2018.result_order


def _longest(number: str, table: Sequence[tuple[str, str, str]]) -> tuple[str, str] | None:
    best: tuple[str, str, str] | None = None
    for prefix, section, heading in table:
        if number.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, section, heading)
    return (best[1], best[2]) if best else None


def result_heading(account: str, chart: Chart = ANC_2018) -> tuple[str, str]:
    """(section, heading) of an Income/Expenses account in the compte de résultat of a chart version."""
    number = pcg_number(account) or ("7" if account.startswith("Income") else "6")
    if number[0] not in "678":
        number = "7" if account.startswith("Income") else "6"
    found = _longest(number, chart.result_headings)
    assert found is not None
    return found


def is_depreciation(number: str) -> bool:
    """Classes 28 (amortissements) and 29 (dépréciations) of fixed assets: contra-asset accounts."""
    return number.startswith(("28", "29"))


def depreciated_asset(number: str) -> str:
    """The PCG number of the asset a 28/29 account reduces: its second digit removed (28182 → 2182).

    The PCG numbers amortissements and dépréciations by inserting 8 or 9 after the class digit of the
    asset's number (2813 → 213, 2905 → 205, 2974 → 274); any other number is returned unchanged.
    """
    return number[0] + number[2:] if is_depreciation(number) else number


def balance_sheet_heading(account: str, balance: Decimal) -> tuple[str, str, str]:
    """(side, section, heading) of a balance-sheet account with its balance (positive = debit)."""
    number = pcg_number(account) or ""
    cls = number[:1]
    if cls == "1" or number.startswith("487"):
        found = _longest(number, _PASSIF_ALWAYS)
        side = PASSIF
    elif number.startswith("486"):  # a regularisation account: its own line, whatever its sign
        side, found = ACTIF, (CURRENT_ASSETS, PREPAID_EXPENSES)
    elif cls == "4":
        side = ACTIF if balance > 0 else PASSIF
        found = _longest(number, _DEBIT_BALANCE if side == ACTIF else _CREDIT_BALANCE)
    elif number.startswith("51") and balance < 0:
        side, found = PASSIF, _longest(number, _CREDIT_BALANCE)
    elif cls in "235" and cls:
        side, found = ACTIF, _longest(depreciated_asset(number), _FIXED)
    else:  # no usable number: by root
        side = ACTIF if account.startswith("Assets") else PASSIF
        found = (CURRENT_ASSETS, "Autres créances") if side == ACTIF else (DEBTS, "Autres dettes")
    assert found is not None
    return side, found[0], found[1]


# --- The statements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """An amount for year N and year N-1."""

    n: Decimal
    n1: Decimal


NO_PAIR = Pair(ZERO, ZERO)


@dataclass(frozen=True)
class AccountAmount:
    """One account's part of a heading, for years N and N-1."""

    account: str
    n: Decimal
    n1: Decimal


@dataclass(frozen=True)
class Line:
    """One heading of a statement, with its amounts for N and N-1 and the accounts behind them.

    `n` and `n1` are net. On a fixed-asset line, `depreciation` is the accumulated amortissements and
    dépréciations (the credit balance of its 28/29 accounts, positive) and `gross` the value of its
    assets; net = gross − depreciation. Other lines have no depreciation (None).
    """

    heading: str
    n: Decimal
    n1: Decimal
    accounts: tuple[AccountAmount, ...]
    depreciation: Pair | None = None
    #: The heading that groups this line with others (« Produits de tiers financeurs »), if any.
    group: str | None = None

    @property
    def gross(self) -> Pair | None:
        """Valeur brute: the net amount plus the depreciation (None off the fixed assets)."""
        if self.depreciation is None:
            return None
        return Pair(self.n + self.depreciation.n, self.n1 + self.depreciation.n1)


@dataclass(frozen=True)
class Section:
    """A group of headings with its total."""

    title: str
    lines: tuple[Line, ...]

    @property
    def total_n(self) -> Decimal:
        return sum((line.n for line in self.lines), ZERO)

    @property
    def total_n1(self) -> Decimal:
        return sum((line.n1 for line in self.lines), ZERO)

    def group_total(self, group: str) -> Pair:
        """Total of the section's lines grouped under `group` (zero when none is)."""
        lines = [line for line in self.lines if line.group == group]
        return Pair(sum((line.n for line in lines), ZERO), sum((line.n1 for line in lines), ZERO))

    @property
    def depreciation(self) -> Pair:
        """Accumulated amortissements and dépréciations of the section's lines (zero off the fixed assets)."""
        found = [line.depreciation for line in self.lines if line.depreciation is not None]
        return Pair(sum((p.n for p in found), ZERO), sum((p.n1 for p in found), ZERO))

    @property
    def gross(self) -> Pair:
        """Total before depreciation: net plus depreciation."""
        return Pair(self.total_n + self.depreciation.n, self.total_n1 + self.depreciation.n1)


@dataclass(frozen=True)
class AnnualAccounts:
    """The bilan and compte de résultat of one member for one year, with the previous year beside it."""

    member_id: str
    member_name: str
    siren: str | None
    year: int
    as_of: dt.date
    income: tuple[Section, ...]
    expenses: tuple[Section, ...]
    in_kind: tuple[Section, ...]
    actif: tuple[Section, ...]
    passif: tuple[Section, ...]
    problems: tuple[Problem, ...]
    period: FinancialYear
    chart: Chart

    @property
    def year_result_in_bilan(self) -> Pair:
        """The « Excédent ou déficit de l'exercice » line of the passif (equal to `result`, always)."""
        for section in self.passif:
            for line in section.lines:
                if line.heading == YEAR_RESULT:
                    return Pair(line.n, line.n1)
        return NO_PAIR

    @property
    def previous_period(self) -> FinancialYear:
        return self.period.previous()

    def _sum(self, sections: Sequence[Section]) -> Pair:
        return Pair(sum((s.total_n for s in sections), ZERO), sum((s.total_n1 for s in sections), ZERO))

    @property
    def total_income(self) -> Pair:
        return self._sum(self.income)

    @property
    def total_expenses(self) -> Pair:
        return self._sum(self.expenses)

    @property
    def result(self) -> Pair:
        """Excédent (positive) or déficit (negative), contributions in kind excluded."""
        i, e = self.total_income, self.total_expenses
        return Pair(i.n - e.n, i.n1 - e.n1)

    def sub_result(self, income: str, expenses: str) -> Pair:
        """Résultat d'exploitation, financier or exceptionnel: one income section minus its expenses."""
        def find(title: str) -> Pair:
            for s in self.income + self.expenses:
                if s.title == title:
                    return Pair(s.total_n, s.total_n1)
            return Pair(ZERO, ZERO)
        i, e = find(income), find(expenses)
        return Pair(i.n - e.n, i.n1 - e.n1)

    @property
    def total_actif(self) -> Pair:
        """Total of the assets, net of depreciation (equal to the liabilities)."""
        return self._sum(self.actif)

    @property
    def actif_depreciation(self) -> Pair:
        """Accumulated amortissements and dépréciations of all assets."""
        parts = [s.depreciation for s in self.actif]
        return Pair(sum((p.n for p in parts), ZERO), sum((p.n1 for p in parts), ZERO))

    @property
    def actif_gross(self) -> Pair:
        """Total of the assets before depreciation."""
        net, dep = self.total_actif, self.actif_depreciation
        return Pair(net.n + dep.n, net.n1 + dep.n1)

    @property
    def total_passif(self) -> Pair:
        return self._sum(self.passif)


def _depreciation(accounts: Sequence[AccountAmount]) -> Pair:
    """Accumulated depreciation of a fixed-asset line: minus the (actif-signed) amounts of its 28/29 accounts."""
    reducing = [a for a in accounts if is_depreciation(pcg_number(a.account) or "")]
    return Pair(-sum((a.n for a in reducing), ZERO), -sum((a.n1 for a in reducing), ZERO))


def _sections(titles: Sequence[str], order: Sequence[str],
              years: Sequence[Mapping[tuple[str, str], Mapping[str, Decimal]]]) -> tuple[Section, ...]:
    """Build sections from {(section, heading): {account: amount}} for N and N-1; empty headings dropped."""
    out = []
    for title in titles:
        lines = []
        for heading in order:
            key = (title, heading)
            n_accounts, n1_accounts = years[0].get(key, {}), years[1].get(key, {})
            if not n_accounts and not n1_accounts:
                continue
            names = sorted(set(n_accounts) | set(n1_accounts))
            accounts = tuple(AccountAmount(a, cents(n_accounts.get(a, ZERO)), cents(n1_accounts.get(a, ZERO)))
                             for a in names)
            depreciation = _depreciation(accounts) if title == FIXED_ASSETS else None
            group = THIRD_PARTY_FUNDERS if title == EXPLOITATION_INCOME and heading in THIRD_PARTY_HEADINGS else None
            lines.append(Line(heading, sum((a.n for a in accounts), ZERO), sum((a.n1 for a in accounts), ZERO),
                              accounts, depreciation, group))
        out.append(Section(title, tuple(lines)))
    return tuple(out)


def _income_statement(entries: Sequence[data.Directive], period: FinancialYear,
                      chart: Chart) -> dict[tuple[str, str], dict[str, Decimal]]:
    grouped: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for account, amount in balances(entries, period.start, period.end).items():
        if not is_income_statement(account):
            continue
        section, heading = result_heading(account, chart)
        shown = -amount if section in (*INCOME_SECTIONS, IN_KIND_INCOME) else amount
        grouped[(section, heading)][account] = shown
    return grouped


#: Pseudo-accounts of the results the ledger never closes, shown in the bilan's Fonds propres.
CARRIED_ACCOUNT = "(report à nouveau des exercices antérieurs)"
RESULT_ACCOUNT = "(excédent ou déficit de l'exercice)"
IN_KIND_GAP_ACCOUNT = "(contributions en nature passées contre des comptes de bilan)"


def _balance_sheet(entries: Sequence[data.Directive],
                   period: FinancialYear) -> dict[tuple[str, str], dict[str, Decimal]]:
    """Balances at year end by heading, shown positive on their usual side (actif debit, passif credit).

    Contributions in kind stay off the balance sheet; when 86 and 87 do not cancel (one was booked
    against a balance-sheet account), the gap is shown on a line of its own so the bilan still balances
    and `in_kind_problems` says it must be corrected.
    """
    grouped: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for account, amount in balances(entries, None, period.end).items():
        if is_income_statement(account):
            continue
        side, section, heading = balance_sheet_heading(account, amount)
        grouped[(section, heading)][account] = amount if side == ACTIF else -amount
    before = balances(entries, None, period.start - dt.timedelta(days=1))
    sums = balances(entries, period.start, period.end)
    for heading, pseudo, value in ((CARRIED_FORWARD, CARRIED_ACCOUNT, surplus(before)),
                                   (YEAR_RESULT, RESULT_ACCOUNT, surplus(sums))):
        if value != 0:
            grouped[(EQUITY, heading)][pseudo] = value
    gap = -in_kind_residue(balances(entries, None, period.end))
    if gap != 0:
        grouped[(EQUITY, IN_KIND_GAP)][IN_KIND_GAP_ACCOUNT] = gap
    return grouped


def in_kind_problems(entries: Sequence[data.Directive], period: FinancialYear, where: str) -> list[Problem]:
    """A warning when contributions in kind (87) and their uses (86) do not balance for the year."""
    residue = in_kind_residue(balances(entries, period.start, period.end))
    if residue == 0:
        return []
    return [Problem(where, 0, f"contributions en nature {period.label} : les comptes 86 et 87 diffèrent de "
                              f"{cents(abs(residue))} EUR ; hors bilan, elles doivent se compenser (l'écart "
                              "figure au passif, à corriger)", "warning", "in-kind-unbalanced")]


#: The suspense account (compte d'attente), to be cleared before closing.
SUSPENSE_PREFIX = "471"


def closing_problems(entries: Sequence[data.Directive], period: FinancialYear, where: str) -> list[Problem]:
    """What stops a year from being closed: a suspense account (471) not at zero, entries still flagged `!`."""
    out: list[Problem] = []
    for account, amount in sorted(balances(entries, None, period.end).items()):
        if has_prefix(account, SUSPENSE_PREFIX) and cents(amount) != 0:
            out.append(Problem(where, 0, f"compte d'attente {account} non soldé au {period.end:%d/%m/%Y} : "
                                         f"{cents(amount)} EUR à reclasser avant la clôture", "warning",
                               "suspense-not-cleared", account))
    for entry in transactions(entries):
        if entry.date in period and entry.flag == "!":
            found = at(entry.meta, "")
            out.append(Problem(found.file, found.line, f"écriture du {entry.date:%d/%m/%Y} encore marquée « ! » "
                                                       f"(à confirmer) dans l'exercice {period.label}", "warning",
                               "pending-entry"))
    return out


def annual_accounts(entries: Sequence[data.Directive], year: int, as_of: dt.date, *, member_id: str,
                    member_name: str, siren: str | None = None, where: str = "",
                    year_start: tuple[int, int] = CALENDAR) -> AnnualAccounts:
    """Bilan and compte de résultat of the year closing in `year` and of the one before, as of `as_of`.

    `year_start` is the (month, day) of the member's `exercice_debut`; the headings are those of the
    chart version of the year (`chart_for`), applied to both columns.
    """
    period = FinancialYear.closing_in(year, year_start)
    chart = chart_for(period)
    known = [e for e in entries if e.date <= as_of]
    results = [_income_statement(known, period, chart), _income_statement(known, period.previous(), chart)]
    sheets = [_balance_sheet(known, period), _balance_sheet(known, period.previous())]
    problems = (in_kind_problems(known, period, where) + in_kind_problems(known, period.previous(), where)
                + closing_problems(known, period, where) + obsolete_accounts(known, period, where))
    if as_of < period.end:
        problems.append(Problem(where, 0, f"exercice {period.label} non terminé à la date de lecture "
                                          f"{as_of.strftime('%d/%m/%Y')} : comptes provisoires", "warning",
                                "year-not-ended"))
    order = chart.result_order
    return AnnualAccounts(
        member_id, member_name, siren, year, as_of,
        income=_sections(INCOME_SECTIONS, order, results),
        expenses=_sections(EXPENSE_SECTIONS, order, results),
        in_kind=_sections(IN_KIND_SECTIONS, order, results),
        actif=_sections(ACTIF_SECTIONS, ACTIF_ORDER, sheets),
        passif=_sections(PASSIF_SECTIONS, PASSIF_ORDER, sheets),
        problems=tuple(problems),
        period=period, chart=chart,
    )


def _pair(pair: Pair) -> dict[str, Decimal]:
    return {"n": cents(pair.n), "n1": cents(pair.n1)}


def _line_json(line: Line) -> dict[str, object]:
    out: dict[str, object] = {"heading": line.heading, "n": line.n, "n1": line.n1,
                              "accounts": [{"account": a.account, "n": a.n, "n1": a.n1} for a in line.accounts]}
    if line.depreciation is not None and line.gross is not None:
        out.update(gross=_pair(line.gross), depreciation=_pair(line.depreciation), net=_pair(Pair(line.n, line.n1)))
    return out


def _sections_json(sections: Sequence[Section]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for s in sections:
        section: dict[str, object] = {"title": s.title, "total": _pair(Pair(s.total_n, s.total_n1)),
                                      "lines": [_line_json(line) for line in s.lines]}
        groups = sorted({line.group for line in s.lines if line.group})
        if groups:
            section["groups"] = [{"heading": g, "total": _pair(s.group_total(g))} for g in groups]
        out.append(section)
    return out


def accounts_json(accounts: AnnualAccounts) -> dict[str, object]:
    """The JSON document of `comptasso report --json` (amounts are Decimals; dump_json makes strings)."""
    return {
        "member": accounts.member_id, "name": accounts.member_name, "siren": accounts.siren,
        "year": accounts.year, "previous_year": accounts.year - 1, "as_of": accounts.as_of,
        "exercice": {"start": accounts.period.start, "end": accounts.period.end, "label": accounts.period.label},
        "exercice_precedent": {"start": accounts.previous_period.start, "end": accounts.previous_period.end,
                               "label": accounts.previous_period.label},
        "referentiel": accounts.chart.name,
        "compte_de_resultat": {
            "produits": _sections_json(accounts.income),
            "charges": _sections_json(accounts.expenses),
            "total_produits": _pair(accounts.total_income),
            "total_charges": _pair(accounts.total_expenses),
            "resultat_exploitation": _pair(accounts.sub_result(EXPLOITATION_INCOME, EXPLOITATION_EXPENSES)),
            "resultat_financier": _pair(accounts.sub_result(FINANCIAL_INCOME, FINANCIAL_EXPENSES)),
            "resultat_exceptionnel": _pair(accounts.sub_result(EXCEPTIONAL_INCOME, EXCEPTIONAL_EXPENSES)),
            "resultat": _pair(accounts.result),
            "contributions_en_nature": _sections_json(accounts.in_kind),
        },
        "bilan": {
            "actif": _sections_json(accounts.actif),
            "passif": _sections_json(accounts.passif),
            "total_actif": _pair(accounts.total_actif),
            "total_passif": _pair(accounts.total_passif),
        },
        "warnings": [str(p) for p in accounts.problems],
        "warning_codes": [p.code for p in accounts.problems],
    }
