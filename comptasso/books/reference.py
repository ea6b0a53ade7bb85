"""The group's reference files in `rules/`: funders and the plugin allow-list."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.problems import Problem

FunderKind = Literal[
    "etat", "region", "departement", "commune", "epci", "caf", "europe", "fondation", "autre"
]
FUNDER_KINDS: tuple[str, ...] = FunderKind.__args__  # type: ignore[attr-defined]


class _FunderTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,47}$")
    name: str = Field(min_length=1)
    kind: FunderKind
    default_delay_days: int | None = Field(default=None, ge=-365, le=1826)


class _FundersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    funders: list[_FunderTable] = Field(default_factory=list)


class _PluginsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Funder:
    """A grant funder of `rules/funders.toml`."""

    id: str
    name: str
    kind: str
    default_delay_days: int | None


@dataclass(frozen=True)
class Reference:
    """Everything in `rules/` that the ledgers are checked against."""

    rules_dir: Path
    funders: dict[str, Funder]
    allowed_plugins: frozenset[str]

    def funder(self, funder_id: str) -> Funder | None:
        return self.funders.get(funder_id)


def load_funders(rules_dir: Path) -> tuple[dict[str, Funder], list[Problem]]:
    """Read `funders.toml`: each funder once, with a known kind."""
    path = rules_dir / "funders.toml"
    data, problems = read_toml(path)
    if problems:
        return {}, problems
    parsed, problems = validate(path, _FundersFile, data)
    if parsed is None:
        return {}, problems
    funders: dict[str, Funder] = {}
    text = path.read_text(encoding="utf-8")
    for index, table in enumerate(parsed.funders):
        if table.id in funders:
            line = locate(text, ("funders", index, "id"))
            problems.append(Problem(str(path), line, f"funders[{index}].id : financeur en double « {table.id} »",
                                    code="funder-duplicate", subject=f"funders[{index}].id"))
            continue
        funders[table.id] = Funder(table.id, table.name, table.kind, table.default_delay_days)
    return funders, problems


def load_allowed_plugins(rules_dir: Path) -> tuple[frozenset[str], list[Problem]]:
    """Read `plugins.toml`: the Beancount plugins a member ledger may load (none if absent)."""
    path = rules_dir / "plugins.toml"
    if not path.exists():
        return frozenset(), []
    data, problems = read_toml(path)
    if problems:
        return frozenset(), problems
    parsed, problems = validate(path, _PluginsFile, data)
    if parsed is None:
        return frozenset(), problems
    return frozenset(parsed.allowed), []


def load_reference(rules_dir: Path) -> tuple[Reference, list[Problem]]:
    """Read every reference file of `rules/`."""
    rules_dir = Path(rules_dir).resolve()
    funders, problems = load_funders(rules_dir)
    allowed, more = load_allowed_plugins(rules_dir)
    return Reference(rules_dir, funders, allowed), problems + more
