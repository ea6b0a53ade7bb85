"""The 13-week forecast chart as inline SVG, drawn on the server: balance, floor, Monte Carlo band, low point.

Amounts stay Decimal; only the pixel positions of the drawing are floats (rounded to 0.1 px).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from banquasso.forecast.risk import GroupRisk
from comptasso.money import fr_date, fr_money, fr_number, money_json

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 92, 16, 16, 40
MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")


@dataclass(frozen=True)
class Series:
    """What one chart draws: the daily balances, the floor and the 5th–95th percentile band."""

    days: Sequence[tuple[dt.date, Decimal]]
    floor: Decimal
    band: Sequence[tuple[dt.date, Decimal, Decimal]]
    title: str


def nice_step(span: Decimal) -> Decimal:
    """A round grid step (1, 2 or 5 × 10^k) giving about five lines over `span`."""
    raw = span / 5 if span > 0 else Decimal(1)
    power = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal(1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _px(value: float) -> str:
    return f"{value:.1f}"


def chart_svg(series: Series, element_id: str = "forecast-chart") -> str:
    """The chart as one `<svg>` element, with a title and a text summary for screen readers."""
    days = list(series.days)
    if not days:
        return ""
    values = [b for _, b in days] + [series.floor] + [v for _, lo, hi in series.band for v in (lo, hi)]
    low, high = min(values), max(values)
    step = nice_step(high - low)
    bottom = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    top = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    if top == bottom:
        top = bottom + step
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    first = days[0][0]
    span_days = max(1, (days[-1][0] - first).days)

    def x(day: dt.date) -> float:
        return LEFT + inner_w * (day - first).days / span_days

    def y(amount: Decimal) -> float:
        return TOP + inner_h * float((top - amount) / (top - bottom))

    parts = [(f'<svg id="{escape(element_id)}" class="bqa-chart" xmlns="http://www.w3.org/2000/svg" '
              f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-labelledby="{escape(element_id)}-title" '
              f'data-days="{len(days)}" data-floor="{money_json(series.floor)}">'),
             f'<title id="{escape(element_id)}-title">{escape(series.title)}</title>']
    level = bottom
    while level <= top:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_px(y(level))}" y2="{_px(y(level))}" '
                     'stroke="#ddd" stroke-width="1"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{_px(y(level) + 4)}" text-anchor="end" font-size="11" fill="#555">'
                     f'{escape(fr_number(level, 0))} €</text>')
        level += step
    for day, _ in days:
        if day.day == 1 or day == first:
            parts.append(f'<line x1="{_px(x(day))}" x2="{_px(x(day))}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
                         'stroke="#eee" stroke-width="1"/>')
            parts.append(f'<text x="{_px(x(day))}" y="{HEIGHT - BOTTOM + 16}" font-size="11" fill="#555" '
                         f'text-anchor="middle">{day.day} {MONTHS[day.month - 1]}</text>')
    if series.band:
        upper = " ".join(f"{_px(x(d))},{_px(y(hi))}" for d, _, hi in series.band)
        lower = " ".join(f"{_px(x(d))},{_px(y(lo))}" for d, lo, _ in reversed(series.band))
        parts.append(f'<polygon class="band" points="{upper} {lower}" fill="#4a78c2" fill-opacity="0.18" '
                     'stroke="none"><title>5e–95e centile des tirages de délais</title></polygon>')
    floor_y = _px(y(series.floor))
    parts.append(f'<line class="floor" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{floor_y}" y2="{floor_y}" '
                 f'stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"><title>Plancher : '
                 f'{escape(fr_money(series.floor))}</title></line>')
    points = " ".join(f"{_px(x(d))},{_px(y(b))}" for d, b in days)
    parts.append(f'<polyline class="balance" points="{points}" fill="none" stroke="#1f4e9c" stroke-width="2"/>')
    low_day, low_value = min(days, key=lambda item: (item[1], item[0]))
    parts.append(f'<circle class="low" cx="{_px(x(low_day))}" cy="{_px(y(low_value))}" r="4" fill="#c0392b" '
                 f'data-amount="{money_json(low_value)}" data-date="{low_day.isoformat()}"><title>Point bas : '
                 f'{escape(fr_money(low_value))} le {fr_date(low_day)}</title></circle>')
    parts.append(f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="none" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def band_note(risk: GroupRisk) -> str:
    """The legend of the band: how many draws, and where it was widened by the delay model's past error."""
    text = f"90 % des tirages de délais ({risk.scenarios} tirages)"
    if not risk.widening:
        return text
    widened = ", ".join(f"{kind} à {horizon} j : ± {days} j" for (kind, horizon), days in sorted(risk.widening.items()))
    return f"{text}, élargie par l'erreur passée du modèle de délais ({widened})"
