"""The consolidated group ledger: a Beancount plugin that merges every member with eliminations.

`ledgers/group.beancount` loads it with::

    plugin "comptasso.consolidation" "group.toml"

The configuration string is ``PATH[;rules=DIR]``: PATH is the group file (or the folder holding
it), relative to the folder of the Beancount file that loads the plugin; ``rules=DIR`` names the
rules folder, relative to the same folder (default: ``rules/`` beside the ledgers folder). Nothing
overrides this line: ``comptasso serve --rules`` refuses a group file whose line names other rules.

Every member's directives come back with each account prefixed by the member right after the
root (``Assets:512-CreditCoop`` → ``Assets:Velo-Gap:512-CreditCoop``). Inter-member advances are
eliminated: both sides of an advance land on one elimination account per lender/borrower pair,
and both sides of its interest on one elimination account, so they net to zero once both ledgers
hold their entries. Under a convention de trésorerie the current accounts 4511 of the members with
the pivot (`group_receivable` / `group_payable`) are eliminated the same way, pair by pair.
"""

from __future__ import annotations

import datetime as dt
import threading
import tomllib
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from beancount.core import account as bc_account
from beancount.core import data, flags, getters
from beancount.parser.grammar import ValueType

from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.group import account_component, load_group
from comptasso.books.loading import MEMBER_CHECKED
from comptasso.model.chart import pcg_number
from comptasso.problems import Problem

__plugins__ = ("consolidate",)

PLUGIN = "comptasso.consolidation"
ELIMINATIONS = "Eliminations"
#: Member directives the group view leaves out: Fava settings and extensions of a member (the
#: group file has its own; an extension is code), and queries written against unprefixed accounts.
DROPPED_CUSTOMS = frozenset({"fava-option", "fava-extension"})

#: SPEC section 4 defaults of `rules/pool.toml` `[accounts]`.
DEFAULT_ACCOUNTS: Mapping[str, str] = {
    "lender_principal": "Assets:2748-Avances-BanquAsso",
    "lender_interest": "Income:768-Interets-BanquAsso",
    "borrower_principal": "Liabilities:1687-Avances-BanquAsso",
    "borrower_interest": "Expenses:6618-Interets-BanquAsso",
    "group_receivable": "Assets:4511-Groupe-Comptes-Courants",
    "group_payable": "Liabilities:4511-Groupe-Comptes-Courants",
}


class ConsolidationError(NamedTuple):
    """A Beancount-style error (source, message, entry), so that Fava lists it."""

    source: dict[str, Any]
    message: str
    entry: data.Directive | None


@dataclass(frozen=True)
class PluginConfig:
    """Where the group file and the rules folder are, read from the plugin's config string."""

    ledgers_dir: Path
    rules_dir: Path


@dataclass(frozen=True)
class AdvanceAccounts:
    """The advance accounts of `rules/pool.toml` `[accounts]` (the last two: convention de trésorerie)."""

    lender_principal: str
    lender_interest: str
    borrower_principal: str
    borrower_interest: str
    group_receivable: str = DEFAULT_ACCOUNTS["group_receivable"]
    group_payable: str = DEFAULT_ACCOUNTS["group_payable"]

    @property
    def principal_pairs(self) -> tuple[tuple[str, str, str], ...]:
        """Each (creditor's account, debtor's account, elimination account) eliminated pair by pair."""
        return ((self.lender_principal, self.borrower_principal, self.principal_elimination),
                (self.group_receivable, self.group_payable,
                 _elimination(self.group_receivable, "Comptes-Courants-Intra-Groupe")))

    @property
    def principal_elimination(self) -> str:
        """`Assets:Eliminations:2748-Avances-Intra-Groupe` (root and number of the lender side)."""
        return _elimination(self.lender_principal, "Avances-Intra-Groupe")

    @property
    def interest_elimination(self) -> str:
        """`Income:Eliminations:768-Interets-Intra-Groupe` (root and number of the lender side)."""
        return _elimination(self.lender_interest, "Interets-Intra-Groupe")


def _elimination(account: str, label: str) -> str:
    root = account.split(":", 1)[0]
    number = pcg_number(account) or "0"
    return f"{root}:{ELIMINATIONS}:{number}-{label}"


GROUP_LEDGER = "group.beancount"


def group_ledger_text(group_name: str, config: str = "group.toml") -> str:
    """The text of a group ledger file (`ledgers/group.beancount`) for a group."""
    title = group_name.replace("\\", "").replace('"', "'")
    return (
        f'option "title" "{title} — vue consolidée"\n'
        'option "operating_currency" "EUR"\n'
        f'plugin "{PLUGIN}" "{config}"\n\n'
        '2024-01-01 custom "fava-option" "language" "fr"\n'
        '2024-01-01 custom "fava-option" "locale" "fr_FR"\n'
    )


def parse_config(config: str | None, base: Path) -> tuple[PluginConfig | None, str | None]:
    """Read `PATH[;rules=DIR]` relative to `base`; return the config or a French error."""
    parts = [p.strip() for p in (config or "group.toml").split(";")]
    target = base / (parts[0] or "group.toml")
    ledgers_dir = target if target.is_dir() else target.parent
    if not target.is_dir() and target.name != "group.toml":
        return None, f"configuration « {config} » : le fichier du groupe doit s'appeler group.toml"
    rules_dir = ledgers_dir.parent / "rules"
    for part in parts[1:]:
        key, sep, value = part.partition("=")
        if not sep or key.strip() != "rules" or not value.strip():
            return None, (f"configuration « {config} » : option « {part} » inconnue "
                          "(syntaxe : \"group.toml;rules=../rules\")")
        rules_dir = base / value.strip()
    return PluginConfig(ledgers_dir.resolve(), rules_dir.resolve()), None


def read_advance_accounts(rules_dir: Path) -> tuple[AdvanceAccounts, list[Problem]]:
    """The `[accounts]` table of `rules/pool.toml` (SPEC defaults for what is absent)."""
    path = rules_dir / "pool.toml"
    values = dict(DEFAULT_ACCOUNTS)
    if not path.is_file():
        return AdvanceAccounts(**values), []
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("accounts", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return AdvanceAccounts(**values), [Problem(str(path), 0, f"fichier illisible : {exc}")]
    problems = []
    for key in DEFAULT_ACCOUNTS:
        value = table.get(key) if isinstance(table, dict) else None
        if isinstance(value, str) and value:
            values[key] = value
        elif value is not None:
            problems.append(Problem(str(path), 0, f"accounts.{key} : un nom de compte est attendu"))
    return AdvanceAccounts(**values), problems


def under(account: str, base: str) -> str | None:
    """The part of `account` below `base` ('' for `base` itself), or None if not under it."""
    if account == base:
        return ""
    if account.startswith(base + ":"):
        return account[len(base) + 1:]
    return None


@dataclass(frozen=True)
class Renamer:
    """How one member's accounts are named in the group view."""

    member_id: str
    accounts: AdvanceAccounts

    def eliminated(self, account: str) -> bool:
        """True when the account is one of the four advance accounts (or below one)."""
        a = self.accounts
        bases = (a.lender_principal, a.borrower_principal, a.lender_interest, a.borrower_interest,
                 a.group_receivable, a.group_payable)
        return any(under(account, base) is not None for base in bases)

    def __call__(self, account: str) -> str:
        a, me = self.accounts, account_component(self.member_id)
        for creditor, debtor, elimination in a.principal_pairs:
            rest = under(account, creditor)
            if rest is not None:  # lender: …:<Borrower>[:…] → elimination:<Lender>:<Borrower>[:…]
                return _join(elimination, me, rest) if rest else elimination
            rest = under(account, debtor)
            if rest is not None:  # borrower: …:<Lender>[:…] → elimination:<Lender>:<Borrower>[:…]
                if not rest:
                    return elimination
                lender, _, deeper = rest.partition(":")
                return _join(elimination, lender, me, deeper)
        for base in (a.lender_interest, a.borrower_interest):
            rest = under(account, base)
            if rest is not None:
                return a.interest_elimination
        root, sep, tail = account.partition(":")
        return f"{root}:{me}:{tail}" if sep else f"{root}:{me}"


class CachedRenamer:
    """A member's `Renamer` that works out each account's group name once (a ledger names few accounts often)."""

    def __init__(self, renamer: Renamer) -> None:
        self._renamer = renamer
        self._names: dict[str, str] = {}
        self._eliminated: dict[str, bool] = {}

    def eliminated(self, account: str) -> bool:
        known = self._eliminated.get(account)
        if known is None:
            known = self._eliminated[account] = self._renamer.eliminated(account)
        return known

    def seen(self) -> list[str]:
        """Every account renamed so far."""
        return list(self._names)

    def __call__(self, account: str) -> str:
        try:
            return self._names[account]
        except KeyError:
            name = self._names[account] = self._renamer(account)
            return name


def _join(*parts: str) -> str:
    return ":".join(p for p in parts if p)


def _rename_custom(entry: data.Custom, rename: Renamer | CachedRenamer) -> data.Custom:
    values = [
        v._replace(value=rename(v.value)) if v.dtype == bc_account.TYPE and isinstance(v.value, str) else v
        for v in entry.values
    ]
    return entry._replace(values=values)


def _position(meta: Mapping[str, Any] | None) -> tuple[str, int]:
    meta = meta or {}
    return str(meta.get("filename", "")), int(meta.get("lineno", 0) or 0)


class MemberView(NamedTuple):
    """One member's directives for the group view (see `member_entries`)."""

    entries: list[data.Directive]
    #: The Opens of its eliminated accounts (merged into one per account by `elimination_opens`).
    opens: list[data.Open]
    #: Its balance assertions whose amount the group view changes: an eliminated account lies below their account.
    moved_balances: list[data.Balance]
    #: Whether it has Pad directives (their padding is computed again on the group view).
    pads: bool


def member_entries(member_id: str, entries: Sequence[data.Directive], accounts: AdvanceAccounts) -> MemberView:
    """One member's directives for the group view, and the Opens of its eliminated accounts.

    Balance assertions and pads of eliminated accounts are left out (their per-member amounts
    mean nothing once both sides share one account); a kept pad's padding transaction is left
    out too, because the group ledger's own pad step inserts it again. A kept balance assertion
    keeps its member's verdict (`diff_amount`), except one whose account holds an eliminated
    account: the group view moves that one's postings away, so Beancount's check decides again.
    """
    rename = CachedRenamer(Renamer(member_id, accounts))
    kept_pads = {
        _position(e.meta) for e in entries
        if isinstance(e, data.Pad) and not rename.eliminated(e.account) and not rename.eliminated(e.source_account)
    }
    out: list[data.Directive] = []
    opens: list[data.Open] = []
    balances: list[tuple[int, str]] = []  # (where in `out`, the member's account)
    for entry in entries:
        if isinstance(entry, data.Open) and rename.eliminated(entry.account):
            # Beancount types `currencies` as a list, but its parser gives None for "any currency".
            opens.append(entry._replace(account=rename(entry.account), currencies=None, booking=None))  # type: ignore[arg-type]
            continue
        renamed = _renamed(entry, rename, kept_pads)
        if renamed is not None:
            if isinstance(entry, data.Balance):
                balances.append((len(out), entry.account))
            out.append(renamed)
    eliminated = [name for name in rename.seen() if rename.eliminated(name)]
    moved: list[data.Balance] = []
    for index, account in balances:
        if any(under(name, account) is not None for name in eliminated):
            balance = out[index]
            assert isinstance(balance, data.Balance)
            fresh = balance._replace(diff_amount=None)
            out[index] = fresh
            moved.append(fresh)
    return MemberView(out, opens, moved, any(isinstance(e, data.Pad) for e in entries))


def _renamed(entry: data.Directive, rename: CachedRenamer, kept_pads: set[tuple[str, int]]) -> data.Directive | None:
    """One kept directive of a member under its group name; None when the group view leaves it out."""
    result: data.Directive | None = None
    if isinstance(entry, data.Transaction):  # nearly every directive: built directly, not by `_replace`
        if entry.flag != flags.FLAG_PADDING or _position(entry.meta) not in kept_pads:
            result = data.Transaction(entry.meta, entry.date, entry.flag, entry.payee, entry.narration, entry.tags,
                                      entry.links, [data.Posting(rename(p.account), p.units, p.cost, p.price, p.flag,
                                                                 p.meta) for p in entry.postings])
    elif isinstance(entry, (data.Open, data.Note, data.Document)):
        result = entry._replace(account=rename(entry.account))
    elif isinstance(entry, (data.Close, data.Balance)):
        result = None if rename.eliminated(entry.account) else entry._replace(account=rename(entry.account))
    elif isinstance(entry, data.Pad):
        result = entry._replace(account=rename(entry.account), source_account=rename(entry.source_account)) \
            if _position(entry.meta) in kept_pads else None
    elif isinstance(entry, data.Custom):
        result = None if entry.type in DROPPED_CUSTOMS else _rename_custom(entry, rename)
    elif not isinstance(entry, data.Query):  # Commodity, Price, Event
        result = entry
    return result


class _Renamed:
    """Each member's group-view directives per loaded directive list (by identity, weakly held); thread-safe.

    When one member's ledger changes, the group view is rebuilt from the others' renamed directives as
    they were (their lists are the same objects, comptasso.books.cache): only the changed member is
    renamed again, and the old and new group views share every unchanged member's directives.
    """

    def __init__(self) -> None:
        self._held: dict[int, tuple[weakref.ref[Sequence[data.Directive]], str, AdvanceAccounts, MemberView]] = {}
        self._lock = threading.Lock()

    def get(self, member_id: str, entries: Sequence[data.Directive],
            accounts: AdvanceAccounts) -> MemberView:
        """`member_entries(member_id, entries, accounts)`, computed once per directive list (never mutate it)."""
        try:
            ref = weakref.ref(entries, self._forget)
        except TypeError:  # a plain list cannot be weakly referenced: no memo
            return member_entries(member_id, entries, accounts)
        with self._lock:
            held = self._held.get(id(entries))
        if held is not None and held[0]() is entries and held[1] == member_id and held[2] == accounts:
            return held[3]
        renamed = member_entries(member_id, entries, accounts)
        with self._lock:
            self._held[id(entries)] = (ref, member_id, accounts, renamed)
        return renamed

    def _forget(self, ref: weakref.ref[Sequence[data.Directive]]) -> None:
        with self._lock:
            for key, (held, *_rest) in list(self._held.items()):
                if held is ref or held() is None:
                    del self._held[key]


_RENAMED = _Renamed()


def elimination_opens(opens: Iterable[data.Open]) -> list[data.Open]:
    """One Open per elimination account, on the earliest date any member opened one of its sides."""
    first: dict[str, data.Open] = {}
    for entry in opens:
        known = first.get(entry.account)
        if known is None or entry.date < known.date:
            first[entry.account] = entry
    return list(first.values())


def unique_commodities(entries: Sequence[data.Directive]) -> list[data.Directive]:
    """Keep, of each currency's Commodity directives, the one sorted first (every member declares EUR).

    The entries need not be sorted: the kept one is the first of Beancount's stable sort.
    """
    first: dict[str, tuple[tuple[Any, ...], int]] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, data.Commodity):
            key = (data.entry_sortkey(entry), index)
            known = first.get(entry.currency)
            if known is None or key < known:
                first[entry.currency] = key
    kept = {index for _key, index in first.values()}
    return [e for index, e in enumerate(entries) if index in kept or not isinstance(e, data.Commodity)]


def to_error(problem: Problem, member_id: str | None = None) -> ConsolidationError:
    """A problem as a Beancount-style error located at its file and line."""
    prefix = f"[{member_id}] " if member_id else ""
    return ConsolidationError(data.new_metadata(problem.file, problem.line), prefix + problem.message, None)


def consolidated_entries(
    books: GroupBooks, accounts: AdvanceAccounts, checked: set[int] | None = None,
    vouched: Callable[[str], bool] = lambda _member_id: False,
) -> tuple[list[data.Directive], list[ConsolidationError]]:
    """Every member's directives, prefixed and eliminated (member after member, not sorted), and their errors.

    Each member declares its currencies: `consolidate` keeps one Commodity of each (`unique_commodities`).

    `checked`, when given, receives the id of every directive that its member's load already checked
    exactly as the group view would (see `reuses_member_checks`): those of each member `vouched` accepts.
    """
    errors = [to_error(p) for p in books.problems if p.is_error]
    merged: list[data.Directive] = []
    opens: list[data.Open] = []
    for member in books.members:
        ledger = books.ledgers[member.id]
        errors.extend(to_error(p, member.id) for p in ledger.problems if p.is_error)
        if member.component == ELIMINATIONS:
            errors.append(ConsolidationError(
                data.new_metadata(str(books.group.file), 0),
                f"[{member.id}] l'identifiant « {member.id} » est réservé aux comptes d'élimination", None))
            continue
        view = _RENAMED.get(member.id, ledger.entries, accounts)
        merged.extend(view.entries)
        opens.extend(view.opens)
        if checked is not None and not view.pads and vouched(member.id):
            checked.update(map(id, view.entries))
            checked.difference_update(map(id, view.moved_balances))
    merged.extend(elimination_opens(opens))
    return merged, errors


def reuses_member_checks(books: GroupBooks, own: Sequence[data.Directive],
                         options_map: Mapping[str, Any]) -> Callable[[str], bool]:
    """Which members' own checks (balance assertions, open accounts, currencies) hold in the group view as they are.

    A member's renamed directives are its own under its prefix (`Assets:Velo-Gap:…`), where no other
    member's land; so what its load found of them — balance assertions met or not, accounts open,
    currencies allowed — the group view would find again, unless: the group file's own directives
    name an account under that prefix or an elimination account, the prefix is not the member's
    alone, the member's balance tolerance differs from the group's, or Beancount did not run its
    checks on the member (`plugin_processing_mode` other than default). A member's pads (padded
    again on the group view) and its balance assertions above an eliminated account are never
    vouched (`member_entries`).
    """
    touched = {parts[1] for entry in own for name in getters.get_entry_accounts(entry)
               if len(parts := name.split(":")) > 1}
    if ELIMINATIONS in touched:
        return lambda _member_id: False
    components = Counter(m.component for m in books.members)
    tolerance = options_map.get("tolerance_multiplier")

    def vouched(member_id: str) -> bool:
        component = account_component(member_id)
        options = books.ledgers[member_id].options
        return (component not in touched and components[component] == 1
                and options.get("tolerance_multiplier") == tolerance
                and options.get("plugin_processing_mode") == "default")

    return vouched


def _merge_options(options_map: dict[str, Any], books: GroupBooks) -> None:
    """Show numbers as the members do, and let Fava watch (and edit) the members' files."""
    includes = list(options_map.get("include", []))
    dcontext = options_map.get("dcontext")
    for member in books.members:
        options = books.ledgers[member.id].options
        for filename in options.get("include", []):
            if filename not in includes:
                includes.append(filename)
        if dcontext is not None and options.get("dcontext") is not None:
            dcontext.update_from(options["dcontext"])
        for currency in options.get("commodities", ()):
            if isinstance(options_map.get("commodities"), set):
                options_map["commodities"].add(currency)
    options_map["include"] = includes


def _french_defaults(entries: Sequence[data.Directive]) -> list[data.Directive]:
    """`fava-option` language `fr` and locale `fr_FR` unless the group file sets them."""
    set_keys = {
        e.values[0].value for e in entries
        if isinstance(e, data.Custom) and e.type == "fava-option" and e.values
    }
    day = min((e.date for e in entries), default=dt.date(1970, 1, 1))
    meta = data.new_metadata("<comptasso.plugins.consolidation>", 0)
    out: list[data.Directive] = []
    for key, value in (("language", "fr"), ("locale", "fr_FR")):
        if key not in set_keys:
            values = [ValueType(key, str), ValueType(value, str)]
            out.append(data.Custom(meta, day, "fava-option", values))
    return out


def consolidate(
    entries: list[data.Directive], options_map: dict[str, Any], config: str | None = None
) -> tuple[list[data.Directive], list[Any]]:
    """Beancount plugin: the group file's own entries plus every member's, consolidated."""
    base = Path(options_map.get("filename") or ".").resolve().parent
    parsed, message = parse_config(config, base)
    here = data.new_metadata(str(options_map.get("filename", "<group>")), 0)
    if parsed is None:
        return entries, [ConsolidationError(here, message or "configuration invalide", None)]
    group, _problems = load_group(parsed.ledgers_dir)
    loading = Path(options_map.get("filename") or ".").resolve()
    if group is not None and any(loading.is_relative_to(m.folder) for m in group.members):
        return entries, [ConsolidationError(here, f"le greffon « {PLUGIN} » ne se charge que dans la vue "
                                                  "consolidée (ledgers/group.beancount), pas dans un livre de membre",
                                            None)]
    books, problems = open_books(parsed.ledgers_dir, parsed.rules_dir, jobs=1)
    if books is None:
        return entries, [to_error(p) for p in problems if p.is_error]
    accounts, account_problems = read_advance_accounts(parsed.rules_dir)
    checked = options_map.get(MEMBER_CHECKED)
    vouched = reuses_member_checks(books, entries, options_map) if isinstance(checked, set) else None
    members, errors = consolidated_entries(books, accounts, checked if vouched else None,
                                           vouched or (lambda _member_id: False))
    errors.extend(to_error(p) for p in account_problems)
    _merge_options(options_map, books)
    # Not sorted here: Beancount sorts the entries after each plugin (stable: the group file's first on a tie).
    combined = unique_commodities([*entries, *_french_defaults(entries), *members])
    if isinstance(checked, set) and checked:  # only ids of directives the view holds (alive through the load)
        checked.intersection_update(map(id, combined))
    return combined, errors
