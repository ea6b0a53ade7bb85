"""Where the registry lives, without opening it: read by the quick memo before SQLAlchemy is imported."""

from __future__ import annotations

import os
from pathlib import Path

DB_URL_ENV = "BANQUASSO_DB_URL"


def var_dir(ledgers_dir: Path) -> Path:
    """`var/` beside the ledgers folder: registry, locks and write journal (never inside ledgers/)."""
    return Path(ledgers_dir).resolve().parent / "var"


def database_url(ledgers_dir: Path) -> str:
    """`$BANQUASSO_DB_URL` when set, else SQLite at `var/banquasso.db` beside the ledgers folder."""
    url = os.environ.get(DB_URL_ENV, "").strip()
    if url:
        return url
    return f"sqlite:///{var_dir(ledgers_dir) / 'banquasso.db'}"


def registry_exists(ledgers_dir: Path) -> bool:
    """Whether the group has a registry: `$BANQUASSO_DB_URL` set, or the SQLite file beside the books.

    Every reader asks this before opening the registry, so that reading never creates one.
    """
    url = database_url(ledgers_dir)
    return bool(os.environ.get(DB_URL_ENV)) or Path(url.removeprefix("sqlite:///")).exists()
