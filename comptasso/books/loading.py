"""Loading one member's ledger with Beancount's public pipeline, safety checked before any plugin."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data
from beancount.ops import balance, pad, validation
from beancount.parser import booking, parser

from comptasso.books.beancount_errors import translate
from comptasso.books.safety import IncludeMatch, check_file
from comptasso.problems import Problem


@dataclass(frozen=True)
class LedgerFiles:
    """The files a ledger is made of, with the hash of their content and the include globs."""

    digests: tuple[tuple[str, str], ...]
    includes: tuple[IncludeMatch, ...]


class Entries(list[data.Directive]):
    """A loaded ledger's directives: a list with an identity that can be weakly referenced.

    `comptasso.model.member` memoises each member's model on it, so the model is extracted once per load.
    """

    @property
    def first_date(self) -> dt.date | None:
        """The date of the first directive (they are sorted), None for none; a cached ledger's
        (`deferred.DeferredEntries`) is known without reading its directives."""
        return self[0].date if self else None


@dataclass(frozen=True)
class MemberLedger:
    """A member's loaded ledger: Beancount directives, options and every problem found."""

    member_id: str
    entries: list[data.Directive]
    options: dict[str, Any]
    problems: tuple[Problem, ...]
    files: LedgerFiles = field(compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.entries, Entries):
            object.__setattr__(self, "entries", Entries(self.entries))

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)

    @property
    def first_date(self) -> dt.date | None:
        """The date of the ledger's first directive (None for an empty ledger), read without its directives."""
        entries = self.entries
        return entries.first_date if isinstance(entries, Entries) else None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large tree of directives.

    Parsing or unpickling a ledger allocates hundreds of thousands of small objects and no cycles;
    the collector's repeated passes over them cost about two thirds of the time of a cached load.
    Nothing is frozen here: a garbage cycle waiting for the collector (an unclosed database
    connection, say) must still be collected. The server, once every ledger is loaded, collects
    once and freezes what is left (comptasso.web.serve.settle_heap).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def digest(path: str) -> str:
    """SHA-256 of a file's content."""
    with Path(path).open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _parse_all(
    main: Path, folder: Path, allowed: frozenset[str]
) -> tuple[list[data.Directive], list[Any], dict[str, Any], LedgerFiles, list[Problem]]:
    """Parse the main file and its includes, checking each file before going further."""
    entries: list[data.Directive] = []
    parse_errors: list[Any] = []
    unsafe: list[Problem] = []
    top: dict[str, Any] | None = None
    others: list[dict[str, Any]] = []
    seen: list[str] = []
    includes: list[IncludeMatch] = []
    stack = [str(main)]
    while stack:
        filename = stack.pop(0)
        if filename in seen:
            continue
        seen.append(filename)
        try:
            text = Path(filename).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            unsafe.append(Problem(filename, 0, f"fichier illisible : {exc}", code="file-unreadable"))
            continue
        file_entries, file_errors, options_map = parser.parse_string(text, filename)
        entries.extend(file_entries)
        parse_errors.extend(file_errors)
        if top is None:
            top = options_map
        else:
            others.append(options_map)
        found, problems = check_file(filename, text, options_map, folder, allowed)
        unsafe.extend(problems)
        includes.extend(found)
        for match in found:
            if not match.matches:
                unsafe.append(Problem(filename, 0, f"inclusion « {match.pattern} » : aucun fichier ne correspond",
                                      code="include-no-match", subject=match.pattern))
            stack.extend(m for m in match.matches if m not in seen)
    assert top is not None or unsafe
    options = loader.aggregate_options_map(top or parser.parse_string("")[2], others)
    options["include"] = sorted(seen)
    files = LedgerFiles(tuple((f, digest(f)) for f in sorted(seen) if Path(f).exists()), tuple(includes))
    return entries, parse_errors, options, files, unsafe


def load_member_ledger(member_id: str, main: Path, allowed_plugins: frozenset[str]) -> MemberLedger:
    """Parse, check safety, then book, run allowed plugins and validate (Beancount's own steps)."""
    main = Path(main).resolve()
    with gc_paused():
        return _load(member_id, main, allowed_plugins)


# Beancount's booking and validation carry no annotations: their types, once.
_book: Callable[[data.Directives, dict[str, Any]], tuple[data.Directives, list[data.BeancountError]]] = booking.book
_validate: Callable[[data.Directives, dict[str, Any], Any, Any], list[data.BeancountError]] = validation.validate


def _load(member_id: str, main: Path, allowed_plugins: frozenset[str], folder: Path | None = None,
          group: bool = False) -> MemberLedger:
    """The loading pipeline proper (see load_member_ledger; `group`: see load_group_view)."""
    entries, parse_errors, options, files, unsafe = _parse_all(main, folder or main.parent, allowed_plugins)
    if unsafe:
        problems = [translate(e) for e in parse_errors] + unsafe
        return MemberLedger(member_id, [], options, tuple(problems), files)
    entries.sort(key=data.entry_sortkey)
    entries, booking_errors = _book(entries, options)
    if group:
        entries, errors, checked = _group_transformations(entries, parse_errors + booking_errors, options)
        errors.extend(_validate_once(entries, options, files, checked))
    else:
        entries, errors = loader.run_transformations(entries, parse_errors + booking_errors, options, None)
        errors.extend(_validate(entries, options, None, None))
    return MemberLedger(member_id, entries, options, tuple(translate(e) for e in errors), files)


#: The id the group view's load carries (it is no member).
GROUP_VIEW = "vue-consolidee"
#: The options key through which the group view's load asks its plugin which directives need no second check:
#: a set the consolidation plugin fills with the id of each member directive its member's load checked as the
#: group view would (comptasso.plugins.consolidation.reuses_member_checks). Absent from any other load.
MEMBER_CHECKED = "comptasso_member_checked"
#: Beancount's steps after the plugins, which the group view's load runs itself (`_group_transformations`).
_POST_PLUGINS = ["beancount.ops.pad", "beancount.ops.balance"]


def load_group_view(main: Path, folder: Path, allowed_plugins: frozenset[str]) -> MemberLedger:
    """The consolidated group view (`ledgers/group.beancount`), loaded like a member ledger but validated once.

    The same pipeline (safety checks, then booking, plugins — the consolidation among them — and
    Beancount's validations), except that what the members' own loads already checked is not
    checked a second time: a transaction from a member's file is not balanced again (it balanced
    when its member's ledger was loaded, the plugin reports that ledger's errors, and renaming its
    accounts changes no amount), nor, when the plugin vouches for them (see MEMBER_CHECKED), are a
    member's balance assertions, accounts and currencies. The group file's own directives, and any
    the plugin does not vouch for, go through every check of Beancount.
    """
    with gc_paused():
        return _load(GROUP_VIEW, Path(main).resolve(), allowed_plugins, Path(folder).resolve(), group=True)


def _group_transformations(entries: data.Directives, errors: list[Any], options: dict[str, Any]
                           ) -> tuple[data.Directives, list[Any], set[int]]:
    """Beancount's `run_transformations`, with its pad and balance steps skipping what the plugin vouched for."""
    plugins = options["plugin"]
    if options["plugin_processing_mode"] != "default" or [n for n, _c in loader.PLUGINS_POST] != _POST_PLUGINS:
        entries, errors = loader.run_transformations(entries, errors, options, None)
        return entries, errors, set()
    checked: set[int] = set()
    options.update(plugin=[*loader.PLUGINS_PRE, *plugins, *loader.PLUGINS_AUTO], plugin_processing_mode="raw")
    options[MEMBER_CHECKED] = checked
    try:
        entries, errors = loader.run_transformations(entries, errors, options, None)
    finally:
        options.update(plugin=plugins, plugin_processing_mode="default")
        options.pop(MEMBER_CHECKED, None)
    if len(plugins) != 1:  # another plugin of the group file may have added to what its members checked
        checked.clear()
    if any(isinstance(e, data.Pad) for e in entries):  # without any Pad, Beancount's pad step changes nothing
        entries, pad_errors = _pad(entries, options)
        errors.extend(pad_errors)
        entries.sort(key=data.entry_sortkey)
    entries, balance_errors = _check_balances(entries, options, checked)
    errors.extend(balance_errors)
    return entries, errors, checked


_pad: Callable[[data.Directives, dict[str, Any]], tuple[data.Directives, list[Any]]] = pad.pad
_balance_check: Callable[[data.Directives, dict[str, Any]], tuple[data.Directives, list[Any]]] = balance.check


def _check_balances(entries: data.Directives, options: dict[str, Any], checked: set[int]
                    ) -> tuple[data.Directives, list[Any]]:
    """Beancount's balance check of every assertion not in `checked`, on the directives it depends on.

    An assertion's check reads the Open of its account and the postings to it and below it, in
    order: given those (and every Open), Beancount's own check gives the very result it gives on
    the whole view. An assertion that is checked starts afresh (no verdict of its member's).
    """
    todo = {i: e._replace(diff_amount=None) for i, e in enumerate(entries)
            if isinstance(e, data.Balance) and id(e) not in checked}
    if not todo:
        return entries, []
    entries = list(entries)
    for i, fresh in todo.items():
        entries[i] = fresh
    asserted = {b.account for b in todo.values()}
    below: dict[str, bool] = {}

    def relevant(name: str) -> bool:
        known = below.get(name)
        if known is None:
            parts = name.split(":")
            known = below[name] = any(":".join(parts[:n]) in asserted for n in range(1, len(parts) + 1))
        return known

    picked = [i for i, e in enumerate(entries)
              if i in todo or isinstance(e, data.Open)
              or (isinstance(e, data.Transaction) and any(relevant(p.account) for p in e.postings))]
    checked_entries, errors = _balance_check([entries[i] for i in picked], options)
    for i, entry in zip(picked, checked_entries, strict=True):
        entries[i] = entry
    return entries, errors


def _validate_once(entries: data.Directives, options: dict[str, Any], files: LedgerFiles,
                   checked: set[int]) -> list[data.BeancountError]:
    """Beancount's validations on the group view, but not on what the members' loads checked already.

    Transactions are balanced only when they come from the group's own files (see load_group_view).
    Open, close, duplicate balance and duplicate commodity checks read only those directives, all of
    them; the active-account, currency and document checks skip the directives in `checked`, whose
    accounts, currencies and documents are their member's, checked by its own load.
    """
    own = {name for name, _sha in files.digests}
    unchecked: data.Directives = []
    open_close: data.Directives = []
    balances: data.Directives = []
    commodities: data.Directives = []
    own_entries: data.Directives = []
    for entry in entries:  # one pass over the view (it holds every member's directives)
        if isinstance(entry, (data.Open, data.Close)):
            open_close.append(entry)
            unchecked.append(entry)
            continue
        if isinstance(entry, data.Balance):
            balances.append(entry)
        elif isinstance(entry, data.Commodity):
            commodities.append(entry)
        elif isinstance(entry, data.Transaction) and (entry.meta or {}).get("filename") in own:
            own_entries.append(entry)
        if id(entry) not in checked:
            unchecked.append(entry)
    by_check: dict[Any, data.Directives] = {
        validation.validate_open_close: open_close,
        validation.validate_duplicate_balances: balances,
        validation.validate_duplicate_commodities: commodities,
        validation.validate_check_transaction_balances: own_entries,
    }
    errors: list[data.BeancountError] = []
    checks: list[Callable[[data.Directives, dict[str, Any]], list[data.BeancountError]]] = validation.VALIDATIONS
    for check in checks:
        errors.extend(check(by_check.get(check, unchecked), options))
    return errors


def unsafe_problems(
    main: Path, folder: Path, allowed_plugins: frozenset[str]
) -> tuple[list[data.Directive], list[Problem]]:
    """Parse a file and its includes without running anything: directives and safety problems."""
    entries, _errors, _options, _files, unsafe = _parse_all(
        Path(main).resolve(), Path(folder).resolve(), allowed_plugins
    )
    return entries, unsafe
