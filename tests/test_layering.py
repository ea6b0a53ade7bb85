"""The package layers: each subpackage is a room of the architecture, and imports only run down.

`banquasso` may import `comptasso`, never the reverse; inside each package the rooms form the table
`ALLOWED` below (docs/architecture.md draws it); no module imports itself back through a cycle;
every module says what it owns.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted((ROOT / "comptasso").rglob("*.py")) + sorted((ROOT / "banquasso").rglob("*.py"))
SOURCE = [p for p in MODULES if "migrations" not in p.parts]

# The base of comptasso: values every room uses (problems, money, the atomic write).
BASE = "comptasso"
COMPTASSO_READ = {BASE, "comptasso.books", "comptasso.model"}
BANQUASSO_CORE = {"banquasso.terms", "banquasso.registry", "banquasso.forecast"}

# room -> the rooms it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    BASE: set(),
    "comptasso.books": {BASE},
    "comptasso.model": {BASE, "comptasso.books"},
    "comptasso.importing": COMPTASSO_READ,
    "comptasso.reports": COMPTASSO_READ,
    "comptasso.plugins": COMPTASSO_READ,
    "comptasso.cli": COMPTASSO_READ | {"comptasso.importing", "comptasso.reports", "comptasso.plugins"},
    "comptasso.web": COMPTASSO_READ | {"comptasso.plugins", "comptasso.cli"},
    "comptasso.synthetic": COMPTASSO_READ | {"comptasso.cli"},
    "banquasso": set(),
    "banquasso.terms": COMPTASSO_READ,
    "banquasso.registry": COMPTASSO_READ | {"banquasso.terms"},
    "banquasso.forecast": COMPTASSO_READ | {"banquasso.terms", "banquasso.registry"},
    "banquasso.pool": COMPTASSO_READ | BANQUASSO_CORE,
    "banquasso.watch": COMPTASSO_READ | BANQUASSO_CORE,
    "banquasso.practice": COMPTASSO_READ | BANQUASSO_CORE | {"comptasso.reports"},
    "banquasso.statement": COMPTASSO_READ | BANQUASSO_CORE
    | {"comptasso.reports", "banquasso.pool", "banquasso.watch"},
    "banquasso.delivery": COMPTASSO_READ | BANQUASSO_CORE | {"banquasso.watch"},
    "banquasso.scheduler": COMPTASSO_READ | BANQUASSO_CORE
    | {"comptasso.reports", "banquasso.pool", "banquasso.watch", "banquasso.statement", "banquasso.delivery"},
    "banquasso.commands": COMPTASSO_READ | BANQUASSO_CORE
    | {"comptasso.reports", "comptasso.plugins", "comptasso.cli", "comptasso.web", "banquasso.pool",
       "banquasso.watch", "banquasso.statement", "banquasso.scheduler", "banquasso.practice",
       "banquasso.delivery"},
    "banquasso.fava_ext": COMPTASSO_READ | BANQUASSO_CORE
    | {"comptasso.reports", "comptasso.plugins", "comptasso.cli", "comptasso.web", "banquasso.pool",
       "banquasso.watch", "banquasso.statement", "banquasso.scheduler", "banquasso.commands",
       "banquasso.practice", "banquasso.delivery"},
}
# Public module names that users' ledgers write: thin shims that re-export from their room.
SHIMS = {"comptasso.consolidation": "comptasso.plugins"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room(module: str) -> str:
    """The room of a module: its subpackage, or the package's base for a top-level module."""
    if module in SHIMS:
        return SHIMS[module]
    parts = module.split(".")
    candidate = ".".join(parts[:2])
    return candidate if candidate in ALLOWED else parts[0]


def _imports(path: Path) -> list[str]:
    """Every project module a file imports, anywhere in it (lazy imports count as much as the others)."""
    names: list[str] = []
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
    return [n for n in names if n.split(".")[0] in {"comptasso", "banquasso"}]


KNOWN = {module_name(p) for p in SOURCE}


def _graph() -> dict[str, set[str]]:
    return {module_name(p): {n for n in _imports(p) if n in KNOWN and n != module_name(p)} for p in SOURCE}


@pytest.mark.parametrize("path", [p for p in MODULES if "comptasso" in p.relative_to(ROOT).parts[:1]],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_comptasso_never_imports_banquasso(path: Path) -> None:
    offending = [name for name in _imports(path) if name == "banquasso" or name.startswith("banquasso.")]
    assert not offending, f"{path.relative_to(ROOT)} importe {offending}"


@pytest.mark.parametrize("path", SOURCE, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_run_down_the_table(path: Path) -> None:
    own = room(module_name(path))
    upward = sorted({n for n in _imports(path) if n in KNOWN and room(n) != own and room(n) not in ALLOWED[own]})
    assert not upward, f"{path.relative_to(ROOT)} ({own}) importe {upward}, hors de {sorted(ALLOWED[own])}"


def test_every_subpackage_is_a_room_of_the_table() -> None:
    packages = {module_name(p.parent / "__init__.py") for p in SOURCE if p.name == "__init__.py"}
    assert packages <= set(ALLOWED) | {"comptasso.importing", "banquasso.registry"}, packages - set(ALLOWED)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, if any (depth-first search with colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> Iterator[list[str]]:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                yield [*stack[stack.index(child):], child]
            elif child not in state:
                yield from visit(child)
        stack.pop()
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            for found in visit(start):
                return found
    return None


def test_no_import_cycle() -> None:
    assert _cycle(_graph()) is None, " → ".join(_cycle(_graph()) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_table_refuses_an_upward_import() -> None:
    assert "banquasso.pool" not in ALLOWED["banquasso.forecast"]
    assert room("banquasso.forecast.daily") == "banquasso.forecast"
    assert room("comptasso.money") == BASE


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_docstring(path: Path) -> None:
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    assert docstring and docstring.strip(), f"{path.relative_to(ROOT)} n'a pas de docstring de module"
