"""The generation context (period, seed) and the member description shared by every step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from comptasso.synthetic.basics import add_months, component
from comptasso.synthetic.profiles import Profile


@dataclass(frozen=True)
class Context:
    """The period of the books and the seed of every random draw."""

    start: date
    end: date
    seed: int

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def years(self) -> range:
        return range(self.start.year, self.end.year + 1)

    def hire_date(self, months_before_end: int) -> date:
        year, month = add_months(self.end.year, self.end.month, -months_before_end)
        return date(year, month, 1)


@dataclass(frozen=True)
class MemberSpec:
    """One member of the generated group."""

    id: str
    name: str
    siren: str
    profile: Profile

    @property
    def bank(self) -> str:
        return self.profile.bank

    @property
    def component(self) -> str:
        return component(self.id)
