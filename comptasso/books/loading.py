"""Loading one member's ledger with Beancount's public pipeline, safety checked before any plugin."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beancount import loader
from beancount.core import data
from beancount.ops import validation
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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large tree of directives, then freeze what exists.

    Parsing or unpickling a ledger allocates hundreds of thousands of small objects and no cycles;
    the collector's repeated passes over them cost about two thirds of the time of a cached load.
    Merely pausing only postpones those passes: once it runs again, the collector would scan the
    new directives as young objects, then again and again in its full collections, as Fava builds
    its own structures over 201 ledgers (a third of `comptasso serve`'s start at 200 members). So
    on the way out every object alive is moved to the collector's permanent generation
    (`gc.freeze`), never scanned again. Reference counting still frees them as usual: directives
    hold no cycles, so a ledger replaced after an edit goes as before; only a garbage cycle that
    happens to await the collector at that very moment is kept (the rare and small price).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
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


Validate = Callable[[data.Directives, dict[str, Any], LedgerFiles], list[data.BeancountError]]


def _validate_all(entries: data.Directives, options: dict[str, Any], _files: LedgerFiles) -> list[data.BeancountError]:
    return _validate(entries, options, None, None)


def _load(member_id: str, main: Path, allowed_plugins: frozenset[str], folder: Path | None = None,
          validate: Validate = _validate_all) -> MemberLedger:
    """The loading pipeline proper (see load_member_ledger)."""
    entries, parse_errors, options, files, unsafe = _parse_all(main, folder or main.parent, allowed_plugins)
    if unsafe:
        problems = [translate(e) for e in parse_errors] + unsafe
        return MemberLedger(member_id, [], options, tuple(problems), files)
    entries.sort(key=data.entry_sortkey)
    entries, booking_errors = _book(entries, options)
    entries, errors = loader.run_transformations(entries, parse_errors + booking_errors, options, None)
    errors.extend(validate(entries, options, files))
    return MemberLedger(member_id, entries, options, tuple(translate(e) for e in errors), files)


#: The id the group view's load carries (it is no member).
GROUP_VIEW = "vue-consolidee"


def load_group_view(main: Path, folder: Path, allowed_plugins: frozenset[str]) -> MemberLedger:
    """The consolidated group view (`ledgers/group.beancount`), loaded like a member ledger but validated once.

    The same pipeline (safety checks, then booking, plugins — the consolidation among them — and
    Beancount's validations), except that a transaction from a member's file is not checked for
    balance a second time: it balanced when its member's ledger was loaded (the plugin reports that
    ledger's errors), and renaming its accounts changes no amount. The group file's own transactions
    and every other validation (open and close, active accounts, currencies, balances, documents)
    run on the whole view.
    """
    with gc_paused():
        return _load(GROUP_VIEW, Path(main).resolve(), allowed_plugins, Path(folder).resolve(), _validate_once)


def _validate_once(entries: data.Directives, options: dict[str, Any], files: LedgerFiles) -> list[data.BeancountError]:
    own = {name for name, _sha in files.digests}
    errors: list[data.BeancountError] = []
    checks: list[Callable[[data.Directives, dict[str, Any]], list[data.BeancountError]]] = validation.VALIDATIONS
    for check in checks:
        if check is validation.validate_check_transaction_balances:
            checked = [e for e in entries if (e.meta or {}).get("filename") in own]
        else:
            checked = entries
        errors.extend(check(checked, options))
    return errors


def unsafe_problems(
    main: Path, folder: Path, allowed_plugins: frozenset[str]
) -> tuple[list[data.Directive], list[Problem]]:
    """Parse a file and its includes without running anything: directives and safety problems."""
    entries, _errors, _options, _files, unsafe = _parse_all(
        Path(main).resolve(), Path(folder).resolve(), allowed_plugins
    )
    return entries, unsafe
