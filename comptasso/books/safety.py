"""The safety rules of a member ledger: allowed plugins only, includes inside the member folder."""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from comptasso.problems import Problem


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
    search = pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(source_file), pattern)
    matches = sorted(os.path.normpath(m) for m in glob.glob(search, recursive=True))
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
    includes: list[IncludeMatch] = []
    root = folder.resolve()
    for pattern in options_map.get("include", []):
        match = expand_include(source_file, pattern)
        outside = [m for m in match.matches if not Path(m).resolve().is_relative_to(root)]
        target = Path(os.path.join(os.path.dirname(source_file), pattern)).resolve()
        if outside or (not match.matches and not target.is_relative_to(root)):
            problems.append(Problem(
                source_file, directive_line(text, "include", pattern),
                f"inclusion « {pattern} » refusée : hors du dossier du membre {root}",
                code="include-outside-member", subject=pattern,
            ))
            continue
        includes.append(match)
    return includes, problems
