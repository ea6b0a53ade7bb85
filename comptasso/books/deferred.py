"""A cached ledger's directives, unpickled when first read: most of a group's members are never read after an edit.

A member ledger read from `var/cache/` carries its directives as the bytes `pickle` wrote. The
forecast, capacity and plan of an unchanged member answer from its facts (`banquasso.forecast.facts`,
keyed on the very same list) without looking at a directive, so after one member's edit a plan over
200 members unpickles one ledger instead of 200 — unpickling is most of a cached load.

`DeferredEntries` is that list: an `Entries` whose first use of any list operation (length,
iteration, index, comparison, copy, mutation, pickling) fills it, in place and under a lock, then
turns it into a plain `Entries` — same object, same identity for every memo keyed on it, no cost
on later reads. The bytes are the ones read from the cache file in one piece, so they are the
directives of the content the cache file was checked against; should they not unpickle (a
damaged disk), the ledger is parsed again from its files, and if those no longer hash as they did
the read fails (`StaleLedgerError`) rather than mixing two versions of a member's books.
"""

from __future__ import annotations

import datetime as dt
import pickle
import threading
from collections.abc import Callable
from typing import Any

from beancount.core import data

from comptasso.books.loading import Entries, gc_paused
from comptasso.problems import Problem, ProblemsError

_LOCK = threading.RLock()

#: The list operations that fill a deferred list first (every one that reads or changes its items).
FILLING = (
    "__len__", "__iter__", "__reversed__", "__getitem__", "__setitem__", "__delitem__", "__contains__",
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__add__", "__iadd__", "__mul__", "__rmul__",
    "__imul__", "__repr__", "__sizeof__", "copy", "index", "count", "append", "extend", "insert", "pop",
    "remove", "reverse", "sort", "clear",
)


class StaleLedgerError(ProblemsError):
    """A deferred ledger's directives could not be unpickled and its files have changed since they were checked."""

    def __init__(self, main: str) -> None:
        super().__init__([Problem(main, 0, f"le livre {main} a changé pendant sa lecture : relancez la commande",
                                  code="ledger-changed-while-read")])


class DeferredEntries(Entries):
    """Directives kept as pickled bytes until first read (see the module's docstring)."""

    _blob: bytes | None
    _fallback: Callable[[], list[data.Directive]]
    _first: dt.date | None

    @classmethod
    def of(cls, blob: bytes, fallback: Callable[[], list[data.Directive]],
           first: dt.date | None = None) -> DeferredEntries:
        """A deferred list of the directives `blob` pickles (the first of which is dated `first`); `fallback`
        gives them again if it cannot be read."""
        entries = cls()
        entries._blob, entries._fallback, entries._first = blob, fallback, first
        return entries

    @property
    def first_date(self) -> dt.date | None:
        """The first directive's date, known without unpickling them."""
        return self._first

    def fill(self) -> None:
        """Unpickle the directives into this very list, once, and make it a plain `Entries`."""
        with _LOCK:
            if type(self) is not DeferredEntries:  # another thread filled it meanwhile
                return
            blob, fallback = self.__dict__.pop("_blob"), self.__dict__.pop("_fallback")
            del self.__dict__["_first"]
            items = _unpickle(blob, fallback)
            list.extend(self, items)
            self.__class__ = Entries  # type: ignore[assignment]  # same layout: a list with __dict__ and __weakref__

    def __radd__(self, other: object) -> list[data.Directive]:
        if not isinstance(other, list):
            return NotImplemented
        self.fill()
        return list.__add__(other, self)

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        self.fill()
        return Entries, (list(self),)


def _unpickle(blob: bytes, fallback: Callable[[], list[data.Directive]]) -> list[data.Directive]:
    try:
        with gc_paused():
            # The bytes were read from this program's own cache file (comptasso.books.cache.store).
            items = pickle.loads(blob)  # noqa: S301
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError):
        return fallback()
    if not isinstance(items, list):
        return fallback()
    return items


def _filling(name: str) -> Callable[..., Any]:
    method = getattr(list, name)

    def filled_first(self: DeferredEntries, *args: Any, **kwargs: Any) -> Any:
        self.fill()
        return method(self, *args, **kwargs)

    filled_first.__name__ = filled_first.__qualname__ = name
    filled_first.__doc__ = method.__doc__
    return filled_first


for _name in FILLING:
    setattr(DeferredEntries, _name, _filling(_name))
