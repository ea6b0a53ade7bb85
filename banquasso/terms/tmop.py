"""The TMOP table (`rules/tmop.toml`): the legal cap on an advance's rate, by half-year of its approval.

Décrets 2025-779 and 2025-780 cap the rate of a loan or treasury operation at the *taux moyen de
rendement des obligations des sociétés privées* (TMOP), published every half-year. The cap of an
advance is the TMOP of the half-year in which it is approved; when the table has no value for that
half-year, the cap is `terms.max_rate` of `rules/pool.toml` and `advance approve` warns.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from comptasso.books.tomlfile import locate, read_toml
from comptasso.problems import Problem

TMOP_FILE = "tmop.toml"
TMOP_INVALID = "tmop-invalid"
_HALF = re.compile(r"^(\d{4})-S([12])$")


def half_year(day: dt.date) -> str:
    """`2026-03-15` → `"2026-S1"`, `2026-07-01` → `"2026-S2"`."""
    return f"{day.year}-S{1 if day.month <= 6 else 2}"


@dataclass(frozen=True)
class TmopTable:
    """The published TMOP values, half-year → annual rate (a fraction)."""

    rates: tuple[tuple[str, Decimal], ...] = ()

    def rate_for(self, day: dt.date) -> Decimal | None:
        """The TMOP of the half-year containing `day`, or None when the table has no value for it."""
        return dict(self.rates).get(half_year(day))


@dataclass(frozen=True)
class RateCap:
    """The cap on the rate of an advance approved on `day`, where it comes from, and a warning if any."""

    rate: Decimal
    key: str  # `tmop."2026-S1"` or `terms.max_rate`
    warning: str | None


def load_tmop(rules_dir: Path) -> tuple[TmopTable | None, list[Problem]]:
    """Read `rules/tmop.toml`; a missing file is an empty table. Bad input names the file, line and key."""
    path = Path(rules_dir) / TMOP_FILE
    if not path.exists():
        return TmopTable(), []
    data, problems = read_toml(path)
    if problems:
        return None, problems
    text = path.read_text(encoding="utf-8")
    unknown = sorted(set(data) - {"tmop"})
    problems = [Problem(str(path), _header_line(text, k), f"{k} : clé inconnue (attendu [tmop])",
                        code=TMOP_INVALID, subject=k) for k in unknown]
    table = data.get("tmop", {})
    if not isinstance(table, dict):
        return None, [*problems, Problem(str(path), _header_line(text, "tmop"), "tmop : table attendue",
                                         code=TMOP_INVALID, subject="tmop")]
    rates = []
    for key, value in table.items():
        line = locate(text, ["tmop", key])
        if not _HALF.match(key):
            problems.append(Problem(str(path), line, f"tmop.{key} : semestre attendu au format AAAA-S1 ou AAAA-S2",
                                    code=TMOP_INVALID, subject=f"tmop.{key}"))
            continue
        rate = _rate(value)
        if rate is None:
            problems.append(Problem(str(path), line, f"tmop.{key} : taux attendu entre 0 et 1 (0.0337 = 3,37 %)",
                                    code=TMOP_INVALID, subject=f"tmop.{key}"))
            continue
        rates.append((key, rate))
    if problems:
        return None, problems
    return TmopTable(tuple(sorted(rates))), []


def _header_line(text: str, key: str) -> int:
    """The line of a top-level table header `[key]` or key `key = …` (0 when not found)."""
    pattern = re.compile(rf"^\s*(\[\s*{re.escape(key)}\s*\]|\"?{re.escape(key)}\"?\s*=)")
    return next((i for i, line in enumerate(text.splitlines(), 1) if pattern.match(line)), 0)


def _rate(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return None
    return rate if 0 <= rate <= 1 else None


def rate_cap(table: TmopTable, approved_on: dt.date, fallback: Decimal) -> RateCap:
    """The legal cap for an advance approved on `approved_on`: the TMOP of its half-year, else `fallback`."""
    half = half_year(approved_on)
    tmop = table.rate_for(approved_on)
    if tmop is not None:
        return RateCap(tmop, f'tmop."{half}"', None)
    return RateCap(fallback, "terms.max_rate",
                   f"rules/tmop.toml n'a pas de TMOP pour le semestre {half} : le plafond retenu est "
                   f"terms.max_rate = {fallback} ; ajoutez la valeur publiée")
