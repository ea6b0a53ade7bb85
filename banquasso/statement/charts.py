"""Forecast charts for the statement (reportlab.graphics): daily balance, Monte Carlo band, floor.

Amounts stay Decimal; they become floats only as drawing coordinates (points on the page), which
never feed back into a number shown to the reader: every label is formatted from the Decimal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from reportlab.graphics.shapes import Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors

from comptasso.money import fr_number

FONT = "Helvetica"
LINE = colors.HexColor("#1f4e79")
BAND = colors.HexColor("#c6dbef")
FLOOR = colors.HexColor("#c0392b")
AXIS = colors.HexColor("#616e7c")
GRID = colors.HexColor("#e4e7eb")

Day = tuple[dt.date, Decimal]
Band = tuple[dt.date, Decimal, Decimal]


def nice_step(span: Decimal, ticks: int = 5) -> Decimal:
    """A round tick step (1, 2 or 5 × 10^k euros) giving about `ticks` intervals over `span`."""
    if span <= 0:
        return Decimal(1000)
    raw = span / ticks
    power = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal(1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def value_range(days: Sequence[Day], band: Sequence[Band], floor: Decimal | None) -> tuple[Decimal, Decimal, Decimal]:
    """The axis bounds and tick step covering the balances, the band and the floor."""
    values = [b for _, b in days] + [lo for _, lo, _ in band] + [hi for _, _, hi in band]
    if floor is not None:
        values.append(floor)
    low, high = min([*values, Decimal(0)]), max([*values, Decimal(0)])
    step = nice_step(high - low)
    bottom = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    top = (high / step).to_integral_value(rounding=ROUND_CEILING) * step
    if top == bottom:
        top = bottom + step
    return bottom, top, step


def axis_label(value: Decimal) -> str:
    """`-12 000 €`: whole euros, French grouping."""
    return f"{fr_number(value, 0)} €"


def forecast_chart(days: Sequence[Day], band: Sequence[Band], floor: Decimal | None, *,
                   width: float, height: float = 190.0, floor_label: str = "Plancher") -> Drawing:
    """The projected balance (line), its 5th–95th percentile band (shaded) and the floor (dashed)."""
    drawing = Drawing(width, height)
    left, right, bottom_pad, top_pad = 62.0, 8.0, 30.0, 16.0
    plot_w, plot_h = width - left - right, height - bottom_pad - top_pad
    if not days:
        drawing.add(String(width / 2, height / 2, "Aucune prévision", fontName=FONT, fontSize=9,
                           textAnchor="middle", fillColor=AXIS))
        return drawing
    low, high, step = value_range(days, band, floor)
    span = high - low
    count = max(1, len(days) - 1)

    def x(index: int) -> float:
        return left + plot_w * index / count

    def y(value: Decimal) -> float:
        return bottom_pad + plot_h * float((value - low) / span)

    drawing.add(Rect(left, bottom_pad, plot_w, plot_h, fillColor=None, strokeColor=GRID, strokeWidth=0.5))
    tick = low
    while tick <= high:
        drawing.add(Line(left, y(tick), left + plot_w, y(tick), strokeColor=GRID, strokeWidth=0.5))
        drawing.add(String(left - 4, y(tick) - 3, axis_label(tick), fontName=FONT, fontSize=6.5,
                           textAnchor="end", fillColor=AXIS))
        tick += step
    for index in range(0, len(days), 7):
        drawing.add(Line(x(index), bottom_pad, x(index), bottom_pad - 3, strokeColor=AXIS, strokeWidth=0.5))
        drawing.add(String(x(index), bottom_pad - 11, days[index][0].strftime("%d/%m"), fontName=FONT,
                           fontSize=6.5, textAnchor="middle", fillColor=AXIS))
    if band:
        upper = [c for i, (_, _, hi) in enumerate(band) for c in (x(i), y(hi))]
        lower = [c for i, (_, lo, _) in reversed(list(enumerate(band))) for c in (x(i), y(lo))]
        drawing.add(Polygon(upper + lower, fillColor=BAND, strokeColor=None, strokeWidth=0))
    if low < 0 < high:
        drawing.add(Line(left, y(Decimal(0)), left + plot_w, y(Decimal(0)), strokeColor=AXIS, strokeWidth=0.6))
    if floor is not None:
        drawing.add(Line(left, y(floor), left + plot_w, y(floor), strokeColor=FLOOR, strokeWidth=1,
                         strokeDashArray=[4, 2]))
    drawing.add(PolyLine([c for i, (_, b) in enumerate(days) for c in (x(i), y(b))], strokeColor=LINE,
                         strokeWidth=1.4))
    _legend(drawing, left, height - 10, band_shown=bool(band), floor_label=floor_label if floor is not None else None)
    return drawing


def _legend(drawing: Drawing, x0: float, y0: float, *, band_shown: bool, floor_label: str | None) -> None:
    items: list[tuple[str, str]] = [("line", "Solde prévu")]
    if band_shown:
        items.append(("band", "5e–95e centile (Monte Carlo)"))
    if floor_label:
        items.append(("floor", floor_label))
    cursor = x0
    for kind, label in items:
        if kind == "band":
            drawing.add(Rect(cursor, y0 - 1, 14, 6, fillColor=BAND, strokeColor=None))
        elif kind == "floor":
            drawing.add(Line(cursor, y0 + 2, cursor + 14, y0 + 2, strokeColor=FLOOR, strokeWidth=1,
                             strokeDashArray=[4, 2]))
        else:
            drawing.add(Line(cursor, y0 + 2, cursor + 14, y0 + 2, strokeColor=LINE, strokeWidth=1.4))
        drawing.add(String(cursor + 18, y0, label, fontName=FONT, fontSize=7, fillColor=AXIS))
        cursor += 30 + 4.2 * len(label)
