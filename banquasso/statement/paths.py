"""Where the board's documents are written by default: `reports/` beside the ledgers folder."""

from __future__ import annotations

from pathlib import Path

from banquasso.registry.db import var_dir
from banquasso.statement.data import Month


def default_reports_dir(ledgers_dir: Path) -> Path:
    """`reports/` beside the ledgers folder."""
    return var_dir(ledgers_dir).parent / "reports"


def statement_path(reports_dir: Path, month: Month) -> Path:
    """`reports/YYYY-MM.pdf`."""
    return Path(reports_dir) / f"{month.iso}.pdf"
