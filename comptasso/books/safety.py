"""The safety rules of a member ledger: allowed plugins only, includes inside the member folder.

Also what a ledger may ask of Fava: Fava options on `rules/fava.toml` only, Fava extensions on
`rules/plugins.toml` only, document directives inside the member folder, and no `documents` option
(the group configuration, never a ledger, names the folders Fava reads and writes).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beancount.core import data

from comptasso.books.fava_rules import FavaRules
from comptasso.problems import Problem, at


@dataclass(frozen=True)
class IncludeMatch:
    """An include pattern of one file and the files it matched."""

    file: str
    pattern: str
    matches: tuple[str, ...]


def directive_line(text: str, keyword: str, argument: str) -> int:
    """Line of the first `keyword "argument"` directive in a file's text (0 if not found)."""
    rx = re.compile(rf'^\s*{keyword}\s*"{re.escape(argument)}"')
    for number, line in enumerate(text.splitlines(), start=1):
        if rx.match(line):
            return number
    return 0


def expand_include(source_file: str, pattern: str) -> IncludeMatch:
    """Expand an include pattern the way Beancount's loader does (relative to its file)."""
    # The very calls of beancount.loader, so that the files checked are the files it loads: pathlib would
    # normalise the pattern, and its glob refuses absolute patterns.
    folder = os.path.dirname(source_file)  # noqa: PTH120
    search = pattern if os.path.isabs(pattern) else os.path.join(folder, pattern)  # noqa: PTH117, PTH118
    matches = sorted(os.path.normpath(m) for m in glob.glob(search, recursive=True))  # noqa: PTH207
    return IncludeMatch(source_file, pattern, tuple(matches))


def check_file(
    source_file: str,
    text: str,
    options_map: dict[str, Any],
    folder: Path,
    allowed_plugins: frozenset[str],
) -> tuple[list[IncludeMatch], list[Problem]]:
    """Check one parsed file's plugins, includes and Python path option."""
    problems: list[Problem] = []
    for module, _config in options_map.get("plugin", []):
        if module not in allowed_plugins:
            problems.append(Problem(
                source_file, directive_line(text, "plugin", module),
                f"greffon « {module} » refusé : il n'est pas dans la liste autorisée (rules/plugins.toml)",
                code="plugin-not-allowed", subject=module,
            ))
    if options_map.get("insert_pythonpath"):
        problems.append(Problem(
            source_file, directive_line(text, "option", "insert_pythonpath"),
            "option « insert_pythonpath » refusée : un livre ne peut pas ajouter de code Python",
            code="pythonpath-refused", subject="insert_pythonpath",
        ))
    if options_map.get("documents"):
        problems.append(Problem(
            source_file, directive_line(text, "option", "documents"),
            "option « documents » refusée : le dossier des justificatifs est fixé par la configuration "
            "du groupe, jamais par un livre",
            code="ledger-documents-option",
        ))
    includes: list[IncludeMatch] = []
    root = folder.resolve()
    for pattern in options_map.get("include", []):
        match = expand_include(source_file, pattern)
        outside = [m for m in match.matches if not Path(m).resolve().is_relative_to(root)]
        target = (Path(source_file).parent / pattern).resolve()
        if outside or (not match.matches and not target.is_relative_to(root)):
            problems.append(Problem(
                source_file, directive_line(text, "include", pattern),
                f"inclusion « {pattern} » refusée : hors du dossier du membre {root}",
                code="include-outside-member", subject=pattern,
            ))
            continue
        includes.append(match)
    return includes, problems


def inside(path: str | Path, folder: Path) -> bool:
    """Whether a path, resolved (symlinks followed), lies inside a folder (resolved too)."""
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, RuntimeError, ValueError):
        return False


def shown(name: str) -> str:
    """A name as the user must see it: non-ASCII look-alikes spelled out."""
    return name if name.isascii() else f"{name} (caractères non ASCII : {name!a})"


def document_path(entry: data.Document) -> Path:
    """Where a `document` directive points, relative to the file that declares it."""
    base = Path(str((entry.meta or {}).get("filename", "."))).parent
    return base / entry.filename


def fava_entry_problems(
    entries: Iterable[data.Directive],
    folder: Path,
    allowed_extensions: frozenset[str],
    rules: FavaRules,
) -> list[Problem]:
    """Fava options off `rules/fava.toml`, Fava extensions off the allow-list, documents outside `folder`."""
    problems: list[Problem] = []
    for entry in entries:
        if isinstance(entry, data.Document):
            if not inside(document_path(entry), folder):
                problems.append(_coded(at(entry.meta, f"justificatif « {entry.filename} » refusé : hors du "
                                                     f"dossier du membre {Path(folder).resolve()}"),
                                       "document-outside-member", entry.filename))
            continue
        if not isinstance(entry, data.Custom) or entry.type not in {"fava-option", "fava-extension"}:
            continue
        first = entry.values[0].value if entry.values else None
        name = first if isinstance(first, str) else repr(first)
        if entry.type == "fava-extension" and name not in allowed_extensions:
            problems.append(_coded(at(entry.meta, f"extension Fava « {shown(name)} » refusée : elle n'est pas dans "
                                                  "la liste autorisée (rules/plugins.toml)"),
                                   "fava-extension-refused", name))
        elif entry.type == "fava-option" and name not in rules.allowed_options:
            problems.append(_coded(at(entry.meta, f"option Fava « {shown(name)} » refusée : elle n'est pas dans "
                                                  "la liste autorisée (rules/fava.toml)"),
                                   "fava-option-refused", name))
    return problems


def _coded(problem: Problem, code: str, subject: str) -> Problem:
    return Problem(problem.file, problem.line, problem.message, problem.severity, code, subject)
