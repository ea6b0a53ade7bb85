"""Atomic, locked writes of ledger files: temp file beside the target, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

#: How long a writer waits for another one to release a ledger, in seconds.
LOCK_TIMEOUT_SECONDS = 60.0


def locks_dir(ledgers_dir: Path) -> Path:
    """`var/locks` beside the ledgers folder (never inside it, so Fava and git never see the locks)."""
    return Path(ledgers_dir).resolve().parent / "var" / "locks"


def lock_name(path: Path, ledgers_dir: Path) -> str:
    """A readable lock file name for a file of the ledgers folder: `velo-gap/import.beancount` → `velo-gap.lock`.

    The lock is per member folder (the first component below the ledgers folder), so every writer of
    one member's ledger files — the importer, the advance writer — excludes the others.
    """
    relative = Path(path).resolve().relative_to(Path(ledgers_dir).resolve())
    first = relative.parts[0] if len(relative.parts) > 1 else relative.stem
    return re.sub(r"[^A-Za-z0-9_.-]", "_", first) + ".lock"


@contextlib.contextmanager
def locked(path: Path, ledgers_dir: Path, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the member's lock (under `var/locks/`) while the block reads and writes `path`."""
    folder = locks_dir(ledgers_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / lock_name(path, ledgers_dir)), timeout=timeout):
        yield


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some systems cannot open a folder; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` (UTF-8; bytes as they are) atomically: a crash leaves the old or the new content."""
    path = Path(path)
    folder = path.parent
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).chmod(mode)
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temp).unlink()
        raise
    _fsync_dir(folder)
