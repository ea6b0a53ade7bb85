"""Problems carry a stable code, every code is listed in docs/problems.md, and no decision reads message text.

The datasette way: the codes are collected from the source (a `code=` argument, the fifth argument
of `Problem(...)`, a `code` class attribute, the values of a `*_CODES` table, or a module constant
used there), and each must appear in docs/problems.md as `` `code` ``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "problems.md"
CODE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$|^[a-z]+$")
#: Decisions on message text the registry's owner is removing (issue 11 item 8): listed until they are gone.
PENDING: set[str] = set()


def _modules() -> list[Path]:
    return sorted((ROOT / "comptasso").rglob("*.py")) + sorted((ROOT / "banquasso").rglob("*.py"))


def _constants(trees: list[ast.Module]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tree in trees:
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        out[target.id] = node.value.value
    return out


def _value(node: ast.expr, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Attribute):
        return constants.get(node.attr)
    return None


def _callee(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def codes_in(trees: list[ast.Module]) -> set[str]:
    """Every problem code the source gives (see the module's docstring for where they are found)."""
    constants = _constants(trees)
    found: list[ast.expr] = []
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                found += [kw.value for kw in node.keywords if kw.arg == "code"]
                if _callee(node) == "Problem" and len(node.args) >= 5:
                    found.append(node.args[4])
            elif isinstance(node, ast.ClassDef):
                found += [s.value for s in node.body if isinstance(s, ast.Assign)
                          and any(isinstance(t, ast.Name) and t.id == "code" for t in s.targets)]
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                    isinstance(t, ast.Name) and t.id.endswith("CODES") for t in node.targets):
                found += [v for v in node.value.values if v is not None]
    values = {_value(node, constants) for node in found}
    return {v for v in values if v and CODE.match(v)}


def _trees() -> list[ast.Module]:
    return [ast.parse(path.read_text(encoding="utf-8")) for path in _modules()]


def documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z0-9-]+)` \|", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))


def test_every_code_used_in_the_source_is_documented() -> None:
    used = codes_in(_trees())
    assert len(used) >= 20, sorted(used)
    missing = sorted(used - documented())
    assert not missing, f"codes absents de docs/problems.md : {missing}"


def test_the_collector_finds_codes_wherever_they_are_given() -> None:
    source = ast.parse(
        'K = "kind-a"\n'
        'Problem("f", 1, "m", "error", "kind-b")\n'
        'Problem("f", 1, "m", code=K)\n'
        'class E(ValueError):\n    code = "kind-c"\n'
        'X_CODES = {"t": "kind-d"}\n'
        'redirect("/", code=303)\n'
    )
    assert codes_in([source]) == {"kind-a", "kind-b", "kind-c", "kind-d"}


def _message_decisions(tree: ast.Module) -> Iterator[int]:
    """Lines that decide on a problem's or an error's text: `… in x.message`, `x.message == …`, `in str(exc)`."""
    def is_text(node: ast.expr) -> bool:
        return (isinstance(node, ast.Attribute) and node.attr == "message") or (
            isinstance(node, ast.Call) and _callee(node) == "str" and len(node.args) == 1
            and isinstance(node.args[0], ast.Name) and node.args[0].id in ("exc", "error", "err", "e"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn, ast.Eq, ast.NotEq))
                                                 for op in node.ops):
            if is_text(node.left) or any(is_text(c) for c in node.comparators):
                yield node.lineno
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("startswith", "endswith", "find") and is_text(node.func.value):
            yield node.lineno


def test_no_decision_is_made_on_message_text() -> None:
    offending = []
    for path in _modules():
        name = str(path.relative_to(ROOT))
        lines = list(_message_decisions(ast.parse(path.read_text(encoding="utf-8"))))
        if lines and name not in PENDING:
            offending += [f"{name}:{line}" for line in lines]
    assert offending == []


def test_the_pending_list_only_holds_what_is_still_there() -> None:
    """When the registry stops deciding on message text, its entry in PENDING must go (the guard then covers it)."""
    for name in PENDING:
        assert list(_message_decisions(ast.parse((ROOT / name).read_text(encoding="utf-8")))), name


def test_the_decision_finder_finds_them() -> None:
    probe = ast.parse('if "x" in p.message: pass\nif str(exc) == "y": pass\nok = p.message.startswith("z")\n'
                      'if p.code == "x": pass\n')
    assert list(_message_decisions(probe)) == [1, 2, 3]
