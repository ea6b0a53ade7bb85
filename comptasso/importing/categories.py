"""Categorisation rules of `rules/categories.toml`: a label pattern gives the counter-account."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comptasso.books.group import ACCOUNT
from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.problems import Problem

CATEGORIES_FILE = "categories.toml"
DEFAULT_SUSPENSE = "Assets:471-Operations-En-Attente"
#: Fewest reviewed past operations of a bank account before its lines' counter-accounts are learnt.
DEFAULT_LEARNING_MIN_HISTORY = 20


class _RuleTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pattern: str = Field(min_length=1)
    account: str = Field(pattern=ACCOUNT)
    direction: Literal["debit", "credit", "any"] = "any"
    members: list[str] = Field(default_factory=list)
    payee: str | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"expression régulière invalide « {value} » : {exc}") from exc
        return value


class _Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suspense_account: str = Field(default=DEFAULT_SUSPENSE, pattern=ACCOUNT)
    duplicate_window_days: int = Field(default=3, ge=0, le=31)
    learning_min_history: int = Field(default=DEFAULT_LEARNING_MIN_HISTORY, ge=1, le=100_000)


class _CategoriesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: _Defaults = Field(default_factory=_Defaults)
    rules: list[_RuleTable] = Field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """One categorisation rule: first rule whose pattern is found in the label wins."""

    pattern: re.Pattern[str]
    account: str
    direction: str
    members: frozenset[str]
    payee: str | None
    file: str
    line: int

    def matches(self, label: str, amount: Decimal, member_id: str) -> bool:
        if self.members and member_id not in self.members:
            return False
        if self.direction == "debit" and amount >= 0:
            return False
        if self.direction == "credit" and amount <= 0:
            return False
        return self.pattern.search(label) is not None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Categories:
    """The ordered rules, the suspense account for unmatched lines, the duplicate window, the learning threshold."""

    rules: tuple[Rule, ...]
    suspense_account: str
    duplicate_window_days: int
    learning_min_history: int = DEFAULT_LEARNING_MIN_HISTORY

    def categorise(self, label: str, amount: Decimal, member_id: str) -> Rule | None:
        """The first rule matching a bank line (amount signed from the bank account), or None."""
        for rule in self.rules:
            if rule.matches(label, amount, member_id):
                return rule
        return None


def empty_categories() -> Categories:
    """No rules: every line goes to the suspense account."""
    return Categories((), DEFAULT_SUSPENSE, 3)


def load_categories(rules_dir: Path) -> tuple[Categories, list[Problem]]:
    """Read `rules/categories.toml` (a missing file means no rules)."""
    path = Path(rules_dir) / CATEGORIES_FILE
    if not path.exists():
        return empty_categories(), []
    data, problems = read_toml(path)
    if problems:
        return empty_categories(), problems
    parsed, problems = validate(path, _CategoriesFile, data)
    if parsed is None:
        return empty_categories(), problems
    text = path.read_text(encoding="utf-8")
    rules = tuple(
        Rule(re.compile(table.pattern, re.IGNORECASE), table.account, table.direction,
             frozenset(table.members), table.payee, str(path), locate(text, ("rules", index, "pattern")))
        for index, table in enumerate(parsed.rules)
    )
    defaults = parsed.defaults
    return Categories(rules, defaults.suspense_account, defaults.duplicate_window_days,
                      defaults.learning_min_history), []
