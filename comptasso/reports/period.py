"""The financial year (exercice) of a member: twelve months from `exercice_debut`, named by its closing year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CALENDAR = (1, 1)


@dataclass(frozen=True)
class FinancialYear:
    """One exercice: its first and last day.

    `FinancialYear.closing_in(2025, (9, 1))` is 1 September 2024 – 31 August 2025: a year is named by
    the calendar year in which it closes, as the FEC's file name names it by its closing date.
    """

    start: dt.date
    end: dt.date

    @classmethod
    def closing_in(cls, year: int, first: tuple[int, int] = CALENDAR) -> FinancialYear:
        month, day = first
        if (month, day) == CALENDAR:
            return cls(dt.date(year, 1, 1), dt.date(year, 12, 31))
        start = dt.date(year - 1, month, day)
        end = dt.date(year, month, day) - dt.timedelta(days=1)
        return cls(start, end)

    @property
    def year(self) -> int:
        """The calendar year of the closing date: the number `--year` takes."""
        return self.end.year

    @property
    def first(self) -> tuple[int, int]:
        return self.start.month, self.start.day

    def previous(self) -> FinancialYear:
        return FinancialYear.closing_in(self.year - 1, self.first)

    def next(self) -> FinancialYear:
        return FinancialYear.closing_in(self.year + 1, self.first)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    @property
    def label(self) -> str:
        """`2025` for a calendar year, `2024-2025` for one that straddles two."""
        return str(self.year) if self.start.year == self.end.year else f"{self.start.year}-{self.end.year}"

    @property
    def french(self) -> str:
        """`du 01/09/2024 au 31/08/2025`."""
        return f"du {self.start:%d/%m/%Y} au {self.end:%d/%m/%Y}"
