"""Reading the TOML files of the group and its rules, with errors that name file, line and key."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from comptasso.problems import Problem

M = TypeVar("M", bound=BaseModel)

_FRENCH = {
    "extra_forbidden": "clé inconnue",
    "missing": "clé obligatoire absente",
    "string_pattern_mismatch": "valeur au mauvais format",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "greater_than": "valeur trop petite",
    "less_than": "valeur trop grande",
}


def read_toml(path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """Parse a TOML file; a syntax error becomes a problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, [Problem(str(path), 0, "fichier introuvable", code="file-missing")]
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [Problem(str(path), 0, f"fichier illisible : {exc}", code="file-unreadable")]
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else 0
        return {}, [Problem(str(path), line, f"syntaxe TOML invalide : {exc}", code="toml-syntax")]


def dotted(loc: Sequence[str | int]) -> str:
    """`('members', 2, 'id')` → `members[2].id`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def locate(text: str, loc: Sequence[str | int]) -> int:
    """Best-effort line of a key path in a TOML text (0 when not found)."""
    lines = text.splitlines()
    start, table = 0, ""
    keys = [k for k in loc if isinstance(k, str)]
    index = next((k for k in loc if isinstance(k, int)), None)
    if loc and isinstance(loc[0], str) and len(loc) > 1:
        table = str(loc[0])
        headers = [
            i for i, line in enumerate(lines)
            if re.match(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?", line)
        ]
        if headers:
            start = headers[index] if index is not None and index < len(headers) else headers[0]
            keys = keys[1:]
    key = keys[-1] if keys else None
    for i in range(start, len(lines)):
        if key is None:
            return i + 1
        if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", lines[i]):
            return i + 1
        if i > start and lines[i].lstrip().startswith("[") and table:
            break
    return start + 1 if table else 0


#: The code of a key that fails validation, by pydantic error type (`other`: every other type).
KEY_CODES = {"extra_forbidden": "key-unknown", "missing": "key-missing", "other": "key-invalid"}


def key_code(error_type: str) -> str:
    """The problem code of a pydantic validation error: `key-unknown`, `key-missing` or `key-invalid`."""
    return KEY_CODES.get(error_type, KEY_CODES["other"])


def validate(path: Path, model: type[M], data: dict[str, Any]) -> tuple[M | None, list[Problem]]:
    """Validate TOML data against a pydantic model; each error names its key and line."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            reason = _FRENCH.get(err["type"], err["msg"])
            if err["type"] == "value_error":
                reason = str(err.get("ctx", {}).get("error", err["msg"]))
            where = dotted(loc) or "(racine)"
            problems.append(Problem(str(path), locate(text, loc), f"{where} : {reason}", code=key_code(err["type"]),
                                    subject=dotted(loc)))
        return None, problems
