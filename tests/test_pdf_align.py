"""`pdfstyle.table` aligns each column as told: the « Garantie » of the proposal tables reads left (issue 15)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from reportlab.lib.units import mm

from banquasso.registry.db import open_registry
from banquasso.registry.models import Advance, ScheduleLine
from banquasso.statement.pdf import PROPOSAL_ALIGN, _proposal_widths
from comptasso.reports import pdfstyle
from tests.test_statement import lending_group, statement

WIDTHS = [40 * mm, 30 * mm, 50 * mm]
FRAME_PADDING = 6.0  # reportlab's frame sets its content 6 pt inside the page margin
ROWS = [["Nom", "Montant", "Garantie"], ["Vélo Club", "1 000,00 €", "REG-1"]]


def _words(pdf: bytes) -> list[dict[str, Any]]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [word for page in document.pages for word in page.extract_words()]


def _render(*tables: Any) -> list[dict[str, Any]]:
    return _words(pdfstyle.build_pdf(list(tables), title="t", author="a", footer="f"))


def _edges(column: int) -> tuple[float, float]:
    """Left and right edge of a column's text room, in points from the page's left."""
    left = pdfstyle.MARGIN + FRAME_PADDING + sum(WIDTHS[:column])
    return left + pdfstyle.CELL_PADDING, left + WIDTHS[column] - pdfstyle.CELL_PADDING


def _word(words: list[dict[str, Any]], text: str) -> dict[str, Any]:
    return next(w for w in words if w["text"] == text)


def test_default_alignment_is_unchanged_numbers_right_from_numeric_from() -> None:
    assert pdfstyle.column_alignments(3, 1, None) == ("LEFT", "RIGHT", "RIGHT")
    assert pdfstyle.column_alignments(4, 2, None) == ("LEFT", "LEFT", "RIGHT", "RIGHT")
    words = _render(pdfstyle.table(ROWS, WIDTHS))
    right = _edges(2)[1]
    assert _word(words, "Garantie")["x1"] == pytest.approx(right, abs=0.5)
    assert _word(words, "REG-1")["x1"] == pytest.approx(right, abs=0.5)


def test_explicit_alignment_per_column_header_included() -> None:
    words = _render(pdfstyle.table(ROWS, WIDTHS, align=("LEFT", "RIGHT", "LEFT")))
    left = _edges(2)[0]
    assert _word(words, "Garantie")["x0"] == pytest.approx(left, abs=0.5)
    assert _word(words, "REG-1")["x0"] == pytest.approx(left, abs=0.5)
    assert _word(words, "Montant")["x1"] == pytest.approx(_edges(1)[1], abs=0.5)  # the amount stays right
    centred = _render(pdfstyle.table(ROWS, WIDTHS, align=("LEFT", "CENTER", "LEFT")))
    montant = _word(centred, "Montant")
    middle = pdfstyle.MARGIN + FRAME_PADDING + WIDTHS[0] + WIDTHS[1] / 2
    assert (montant["x0"] + montant["x1"]) / 2 == pytest.approx(middle, abs=0.5)


@pytest.mark.parametrize("align", [("LEFT", "RIGHT"), ("LEFT", "RIGHT", "JUSTIFY")])
def test_an_alignment_for_each_column_or_nothing(align: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="alignement attendu pour chacune des 3 colonnes"):
        pdfstyle.table(ROWS, WIDTHS, align=align)  # type: ignore[arg-type]


def _propose(ledgers: Path) -> None:
    """A proposal of alpha to beta, secured by a tranche, waiting for alpha's board."""
    registry = open_registry(ledgers)
    try:
        with registry.session() as session, session.begin():
            advance = Advance(
                id="BQA-2026-0002", year=2026, seq=2, lender="alpha", borrower="beta", principal=Decimal("1500.00"),
                rate=Decimal("0"), method="bullet", day_count="ACT/365", grace_days=15,
                disburse_on=dt.date(2026, 4, 20), repay_on=dt.date(2026, 6, 30), convention="REG-2026-7",
                tranche_date=dt.date(2026, 6, 15), state="proposed", proposed_on=dt.date(2026, 3, 31))
            advance.lines = [ScheduleLine(n=1, date=dt.date(2026, 6, 30), principal=Decimal("1500.00"),
                                          interest=Decimal("0.00"), payment=Decimal("1500.00"),
                                          remaining=Decimal("0.00"))]
            session.add(advance)
    finally:
        registry.close()


def test_the_statement_s_proposal_tables_put_the_guarantee_left(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    _propose(ledgers)
    out = tmp_path / "releve.pdf"
    result = statement(ledgers, rules, out)
    assert result.exit_code == 0, result.output
    widths = _proposal_widths(pdfstyle.content_width())
    left = pdfstyle.MARGIN + FRAME_PADDING + sum(widths[:5]) + pdfstyle.CELL_PADDING
    amount_right = pdfstyle.MARGIN + FRAME_PADDING + sum(widths[:3]) - pdfstyle.CELL_PADDING
    with pdfplumber.open(io.BytesIO(out.read_bytes())) as document:
        pages = [page.extract_words() for page in document.pages]
    heads = [w for words in pages for w in words if w["text"] == "Garantie"]
    guarantees = [w for words in pages for w in words if w["text"].startswith("REG-2026-7")]
    amounts = [w for words in pages for w in words if w["text"] == "Montant"]
    assert len(heads) >= 2 and len(guarantees) == len(heads)  # the board's decisions and the member's page
    assert all(w["x0"] == pytest.approx(left, abs=0.5) for w in heads + guarantees), (left, heads, guarantees)
    assert any(w["x1"] == pytest.approx(amount_right, abs=0.5) for w in amounts)  # the amount column stays right
    assert PROPOSAL_ALIGN[5] == "LEFT" and PROPOSAL_ALIGN[2] == "RIGHT"
