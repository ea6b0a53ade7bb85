"""Writing the engine files of two members as one: locked, journaled, atomic, checked, undone on failure.

SPEC section 9: a write into a ledger is atomic, idempotent and leaves every ledger passing
bean-check; a crash during a write loses nothing. Each file is replaced atomically (temp file,
fsync, rename, fsync of the folder), but two files cannot be renamed together: before touching
them, the writer stores a journal (`var/journal/ledger-write.json`) holding the previous content
of every file. The journal is removed once both files are written and checked. A journal found
later means a write was interrupted: `recover` puts every file back as it was, and the command
run again writes it whole (the event keys make that idempotent). A file that holds neither content
(edited by hand after the crash) stops the recovery, which then changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from banquasso.registry.codes import RECOVERY_EDITED
from comptasso.atomic import LOCK_TIMEOUT_SECONDS, atomic_write, locked, locks_dir
from comptasso.problems import Problem

#: Set to a step name to kill the process at that step (crash tests only).
FAULT_ENV = "BANQUASSO_FAULT"
#: The steps of a write, in order; `file-N` and `renamed-N` repeat for each file (N from 1).
STEPS = ("journal", "file-1", "renamed-1", "file-2", "renamed-2", "checked", "cleared")
JOURNAL = "ledger-write.json"
FAULT_EXIT = 86


@dataclass(frozen=True)
class FileEdit:
    """The new content of one file."""

    path: Path
    text: str


def fault(step: str) -> None:
    """Die at once, like a killed process, when `$BANQUASSO_FAULT` names this step (for crash tests)."""
    if os.environ.get(FAULT_ENV) == step:
        os._exit(FAULT_EXIT)


def journal_path(ledgers_dir: Path) -> Path:
    """The write-ahead journal, under `var/journal/` beside the ledgers folder."""
    return Path(ledgers_dir).resolve().parent / "var" / "journal" / JOURNAL


@contextlib.contextmanager
def write_lock(ledgers_dir: Path, members: Sequence[Path], timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the registry lock, then each member folder's lock (shared with the importer), in a fixed order."""
    folder = locks_dir(ledgers_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / "banquasso-registry.lock"), timeout=timeout), contextlib.ExitStack() as stack:
        for path in sorted({Path(p).resolve() for p in members}):
            stack.enter_context(locked(path, ledgers_dir, timeout))
        yield


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _restore(path: Path, text: str | None) -> bool:
    """Put a file back to `text` (absent when None); True if it had to change."""
    current = _read(path)
    if current == text:
        return False
    if text is None:
        path.unlink(missing_ok=True)
    else:
        atomic_write(path, text)
    return True


class RecoveryConflictError(Exception):
    """A file of an interrupted write is neither its old nor its new content: someone edited it since."""

    def __init__(self, problems: Sequence[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = list(problems)


def _state(path: Path, old: str | None, new_sha256: str | None) -> str:
    """`old`, `new`, or `edited` (neither: a hand edit after the crash)."""
    current = _read(path)
    if current == old:
        return "old"
    if current is not None and new_sha256 is not None and _sha(current) == new_sha256:
        return "new"
    return "edited"


def recover(ledgers_dir: Path) -> list[str]:
    """Undo an interrupted write (call under `write_lock`); returns what was put back, in French.

    Each file must hold either its content before the write or the content the write recorded
    (its SHA-256 in the journal); if one holds anything else, it was edited after the crash: raise
    RecoveryConflictError and change nothing, not even the journal.
    """
    journal = journal_path(ledgers_dir)
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    items = record["files"]
    edited = [item for item in items if _state(Path(item["path"]), item["old"], item.get("new_sha256")) == "edited"]
    if edited:
        raise RecoveryConflictError([Problem(item["path"], 0, (
            "écriture interrompue, mais ce fichier a été modifié depuis (ni son contenu d'avant ni celui que "
            f"BanquAsso écrivait) : rien n'est changé ; remettez le fichier en ordre puis supprimez {journal}"),
            code=RECOVERY_EDITED, subject=item["path"]) for item in edited])
    messages = [f"{item['path']} : écriture interrompue annulée, fichier remis dans son état précédent"
                for item in items if _restore(Path(item["path"]), item["old"])]
    journal.unlink()
    return messages


def write_files(ledgers_dir: Path, edits: Sequence[FileEdit], check: Callable[[], list[Problem]]) -> list[Problem]:
    """Write every edit or none (call under `write_lock`); undo all if `check` finds errors afterwards."""
    olds = {edit.path: _read(edit.path) for edit in edits}
    todo = [edit for edit in edits if olds[edit.path] != edit.text]
    if not todo:
        return []
    journal = journal_path(ledgers_dir)
    journal.parent.mkdir(parents=True, exist_ok=True)
    record = {"files": [{"path": str(e.path), "old": olds[e.path], "new_sha256": _sha(e.text)} for e in todo]}
    atomic_write(journal, json.dumps(record, ensure_ascii=False))
    fault("journal")
    try:
        for number, edit in enumerate(todo, start=1):
            fault(f"file-{number}")
            atomic_write(edit.path, edit.text)
            fault(f"renamed-{number}")
        problems = [p for p in check() if p.is_error]
        fault("checked")
    except BaseException:
        recover(ledgers_dir)
        raise
    if problems:
        recover(ledgers_dir)
        return problems
    journal.unlink()
    fault("cleared")
    return []
