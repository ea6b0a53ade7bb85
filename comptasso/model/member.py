"""One member's model: its grants, invoices and previsions as of a day, extracted once per loaded ledger.

Every consumer (forecast, commitment guard, Fava pages, statement) reads a member through
`member_model(entries, as_of)`. The first call for a loaded ledger and a day extracts the conventions
(`comptasso.model.grants`, `invoices`, `previsions`) from the entries known on that day; the next calls
get the same frozen value. The memo is keyed on the identity of the ledger's directive list
(`comptasso.books.loading.Entries`) and dies with it, so a reloaded ledger is read anew and nothing
outlives its books. A plain list (an inline ledger of a test, Fava's own entries) is simply read each time.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from beancount.core import data

from comptasso.model.grants import GrantBook, TrancheStatus, extract_grants
from comptasso.model.invoices import Invoice, extract_invoices
from comptasso.model.previsions import Prevision, extract_previsions
from comptasso.problems import Problem


@dataclass(frozen=True)
class MemberModel:
    """What the ledger conventions say of one member's books at the end of `as_of` (None: every entry)."""

    as_of: dt.date | None
    known: tuple[data.Directive, ...]
    grants: GrantBook
    invoices: tuple[Invoice, ...]
    previsions: tuple[Prevision, ...]
    grant_problems: tuple[Problem, ...]
    other_problems: tuple[Problem, ...]

    @cached_property
    def statuses(self) -> tuple[TrancheStatus, ...]:
        """The tranches after FIFO matching of the receipts, computed once."""
        return tuple(self.grants.statuses())

    @property
    def problems(self) -> list[Problem]:
        """Every problem of the conventions: grants first, then invoices and previsions."""
        return [*self.grant_problems, *self.other_problems]


def build_model(entries: Sequence[data.Directive], as_of: dt.date | None) -> MemberModel:
    """Extract the model from the entries dated on or before `as_of` (a pure function)."""
    known = tuple(e for e in entries if as_of is None or e.date <= as_of)
    grants, grant_problems = extract_grants(known)
    invoices, invoice_problems = extract_invoices(known)
    previsions, prevision_problems = extract_previsions(known)
    return MemberModel(as_of, known, grants, tuple(invoices), tuple(previsions),
                       tuple(grant_problems), (*invoice_problems, *prevision_problems))


# Days kept per ledger: a page or a command reads one day; a backtest walks many, and must not keep them all.
DAYS_KEPT = 4
Models = OrderedDict[dt.date | None, MemberModel]


class _Memo:
    """Models per directive list (by identity, weakly held) and per day (the latest few); thread-safe."""

    def __init__(self) -> None:
        self._models: dict[int, tuple[weakref.ref[Sequence[data.Directive]], Models]] = {}
        self._lock = threading.Lock()

    def get(self, entries: Sequence[data.Directive], as_of: dt.date | None) -> MemberModel:
        try:
            ref = weakref.ref(entries, self._forget)
        except TypeError:  # a plain list cannot be weakly referenced: no memo
            return build_model(entries, as_of)
        key = id(entries)
        with self._lock:
            held = self._models.get(key)
            if held is None or held[0]() is not entries:
                held = (ref, OrderedDict())
                self._models[key] = held
            models = held[1]
            if as_of in models:
                models.move_to_end(as_of)
                return models[as_of]
        model = build_model(entries, as_of)  # outside the lock: other ledgers are read meanwhile
        with self._lock:
            models[as_of] = model
            while len(models) > DAYS_KEPT:
                models.popitem(last=False)
        return model

    def _forget(self, ref: weakref.ref[Sequence[data.Directive]]) -> None:
        with self._lock:
            for key, (held, _) in list(self._models.items()):
                if held is ref or held() is None:
                    del self._models[key]


_MEMO = _Memo()


def member_model(entries: Sequence[data.Directive], as_of: dt.date | None = None) -> MemberModel:
    """The member model of a loaded ledger's entries as of a day, extracted once per list and day."""
    return _MEMO.get(entries, as_of)
