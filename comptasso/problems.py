"""Problems found in the books or the rules: values that carry their file and line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    """One error or warning, located in a file (line 0 when the whole file is meant, printed without it).

    `code` is the stable name of the kind of problem (docs/problems.md lists them): code decides on it,
    never on `message`, which is for people. `subject` names what the problem is about (an advance id,
    an account, a policy key) when there is one.
    """

    file: str
    line: int
    message: str
    severity: Severity = "error"
    code: str = ""
    subject: str = ""

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "avertissement : "
        where = f"{display_path(self.file)}:{self.line}" if self.line else display_path(self.file)
        return f"{where}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def display_path(file: str) -> str:
    """A path as the user typed it: relative to the current folder when it lies inside it."""
    try:
        path = Path(file)
        if path.is_absolute() and path.is_relative_to(Path.cwd()):
            return str(path.relative_to(Path.cwd()))
    except (OSError, ValueError):
        pass
    return file


def at(meta: dict[str, Any] | None, message: str, severity: Severity = "error") -> Problem:
    """A problem located by a Beancount directive's metadata."""
    meta = meta or {}
    return Problem(
        str(meta.get("filename", "<inconnu>")), int(meta.get("lineno", 0) or 0), message, severity
    )


def from_beancount(error: Any) -> Problem:
    """Convert a Beancount error (a namedtuple with source, message, entry), its English message as is.

    Member ledgers are loaded with `comptasso.books.beancount_errors.translate`, which adds the French
    message and the code; this is the plain conversion for errors outside a member ledger.
    """
    message = str(getattr(error, "message", error)).strip()
    problem = at(getattr(error, "source", None), message)
    return Problem(problem.file, problem.line, problem.message, problem.severity, "beancount-error")


def in_file(path: Path | str, message: str, line: int = 0) -> Problem:
    """A problem about a file as a whole or one of its lines."""
    return Problem(str(path), line, message)


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    """Keep the errors, drop the warnings."""
    return [p for p in problems if p.is_error]


class ProblemsError(Exception):
    """Raised at a command's edge when the input cannot be used; carries every problem."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
