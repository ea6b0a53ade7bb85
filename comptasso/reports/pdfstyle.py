"""The look of every Comptasso/BanquAsso PDF: A4, Helvetica, French amounts, numbered pages, same bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from comptasso.money import fr_money

FONT = "Helvetica"
BOLD = "Helvetica-Bold"
ITALIC = "Helvetica-Oblique"
MARGIN = 18 * mm
INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#616e7c")
RULE = colors.HexColor("#cbd2d9")
BAND = colors.HexColor("#eef2f6")


@dataclass(frozen=True)
class Styles:
    """The paragraph styles of a document."""

    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_bold: ParagraphStyle
    number: ParagraphStyle


def styles() -> Styles:
    """Fresh styles (no shared mutable state between documents)."""
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=12.5, textColor=INK)
    return Styles(
        title=ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=17, leading=21, spaceAfter=3 * mm),
        subtitle=ParagraphStyle("subtitle", parent=base, textColor=MUTED, spaceAfter=5 * mm),
        heading=ParagraphStyle("heading", parent=base, fontName=BOLD, fontSize=12, leading=15,
                               spaceBefore=5 * mm, spaceAfter=2 * mm),
        body=base,
        small=ParagraphStyle("small", parent=base, fontSize=8, leading=10, textColor=MUTED),
        cell=ParagraphStyle("cell", parent=base, fontSize=8.5, leading=10.5),
        cell_bold=ParagraphStyle("cell_bold", parent=base, fontName=BOLD, fontSize=8.5, leading=10.5),
        number=ParagraphStyle("number", parent=base, fontSize=8.5, leading=10.5, alignment=TA_RIGHT),
    )


def money(value: Decimal | None, blank_zero: bool = False) -> str:
    """`12 345,67 €` (empty for None, or for zero when `blank_zero`)."""
    if value is None or (blank_zero and value == 0):
        return ""
    return fr_money(value)


def escape(text: str) -> str:
    """Text safe inside a reportlab Paragraph."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def table(rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header_rows: int = 1,
          bold_rows: Sequence[int] = (), band_rows: Sequence[int] = (), numeric_from: int = 1,
          align: Sequence[Align] | None = None) -> Table:
    """A ruled table: header band, numbers right-aligned from column `numeric_from`, bold total rows.

    `align` gives each column its own alignment (« LEFT », « RIGHT », « CENTER »), header included, for
    a table whose text columns follow its numbers (a guarantee after the amounts); it replaces
    `numeric_from`. Every text cell is a Paragraph, so a long name wraps inside its column instead of
    running over the next one (tests/test_pdf_layout.py extracts the words of every page and finds no overlap).
    """
    columns = column_alignments(len(widths), numeric_from, align)
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        *(("ALIGN", (column, 0), (column, -1), how) for column, how in enumerate(columns)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    if header_rows:
        commands += [("FONT", (0, 0), (-1, header_rows - 1), BOLD, 8.5),
                     ("BACKGROUND", (0, 0), (-1, header_rows - 1), BAND),
                     ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.8, INK)]
    for row in bold_rows:
        commands.append(("FONT", (0, row), (-1, row), BOLD, 8.5))
    for row in band_rows:
        commands.append(("BACKGROUND", (0, row), (-1, row), BAND))
    bold = set(bold_rows) | set(range(header_rows))
    cells = [[_cell(value, bold=index in bold, align=columns[column]) for column, value in enumerate(row)]
             for index, row in enumerate(rows)]
    result = Table(cells, colWidths=list(widths), repeatRows=header_rows, hAlign="LEFT")
    result.setStyle(TableStyle(commands))
    return result


CELL_PADDING = 3.0
Align = Literal["LEFT", "RIGHT", "CENTER"]
_ENUMS = {"LEFT": TA_LEFT, "RIGHT": TA_RIGHT, "CENTER": TA_CENTER}
_CELL_STYLES = {
    (bold, how): ParagraphStyle(f"cell_{'bold_' if bold else ''}{how.lower()}", fontName=BOLD if bold else FONT,
                                fontSize=8.5, leading=10.5, textColor=INK, alignment=enum)
    for bold in (False, True) for how, enum in _ENUMS.items()
}


def column_alignments(count: int, numeric_from: int, align: Sequence[Align] | None) -> tuple[Align, ...]:
    """Each column's alignment: `align` as given, else left before `numeric_from` and right from it."""
    if align is None:
        return tuple("LEFT" if column < numeric_from else "RIGHT" for column in range(count))
    if len(align) != count or any(how not in _ENUMS for how in align):
        raise ValueError(f"alignement attendu pour chacune des {count} colonnes (LEFT, RIGHT, CENTER) : {list(align)}")
    return tuple(align)


def _cell(value: Any, *, bold: bool, align: Align) -> Any:
    """A text cell as a wrapping Paragraph; flowables and empty cells as they are."""
    if not isinstance(value, str) or not value:
        return value
    return Paragraph(escape(value), _CELL_STYLES[(bold, align)])


def content_width() -> float:
    """Usable width of an A4 page between the margins."""
    return float(A4[0] - 2 * MARGIN)


def fit_text(text: str, width: float, font: str, size: float) -> str:
    """`text` cut with an ellipsis so that it prints within `width` points (a footer beside the page number)."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


class _NumberedCanvas(rl_canvas.Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """A canvas that writes `Page n / N` and a footer line once the page count is known."""

    footer_text = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._footer(total)
            super().showPage()
        super().save()

    def _footer(self, total: int) -> None:
        self.saveState()
        self.setFont(FONT, 7.5)
        self.setFillColor(MUTED)
        self.setStrokeColor(RULE)
        self.setLineWidth(0.4)
        self.line(MARGIN, 13 * mm, A4[0] - MARGIN, 13 * mm)
        number = f"Page {self._pageNumber} / {total}"
        room = A4[0] - 2 * MARGIN - self.stringWidth(number, FONT, 7.5) - 4 * mm
        self.drawString(MARGIN, 9 * mm, fit_text(self.footer_text, room, FONT, 7.5))
        self.drawRightString(A4[0] - MARGIN, 9 * mm, number)
        self.restoreState()


def build_pdf(story: Sequence[Flowable], *, title: str, author: str, footer: str,
              subject: str = "") -> bytes:
    """Render a story to PDF bytes; invariant mode, so the same story always gives the same bytes."""
    buffer = io.BytesIO()
    canvas_class = type("FooterCanvas", (_NumberedCanvas,), {"footer_text": footer})
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=20 * mm,
        title=title, author=author, subject=subject, creator="Comptasso", producer="Comptasso",
        invariant=1, lang="fr-FR",
    )
    doc.build(list(story), canvasmaker=canvas_class)
    return buffer.getvalue()


def write_pdf(path: Path, content: bytes) -> None:
    """Write PDF bytes, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped)."""
    return Paragraph(escape(text), style)
