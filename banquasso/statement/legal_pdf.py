"""The legal table of a lender's financial year as PDF flowables: the statement's annex and the attestation share it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from babel.dates import format_date
from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from banquasso.statement.legal_table import BORROWED, LENT, TREASURY_ARTICLE, Decided, LegalRow, LenderYear, Treasury
from banquasso.terms.dependence import Dependence
from comptasso.money import fr_date, fr_money, fr_number
from comptasso.reports import pdfstyle


def long_date(day: dt.date) -> str:
    """`2026-11-30` → `30 novembre 2026`, `2026-12-01` → `1er décembre 2026` (dates in sentences)."""
    text = str(format_date(day, "d MMMM y", locale="fr_FR"))
    return "1er" + text[1:] if day.day == 1 else text


def percent(value: Decimal) -> str:
    """`0.0337` → `3,37 %`."""
    return f"{fr_number(value * 100, 2)} %"


def decisions_text(lender: Decided | None, borrower: Decided | None,
                   day_text: Callable[[dt.date], str] = fr_date) -> str:
    """`CA-2026-11 (conseil d'administration) du 28/11/2026`, and the borrower's when recorded (`—`: none).

    `day_text` writes the meeting's date: `fr_date` in tables, `long_date` (« 28 novembre 2026 ») in sentences.
    """
    parts = []
    for label, decided in (("", lender), ("emprunteur : ", borrower)):
        if decided is None:
            continue
        body = f" ({decided.body})" if decided.body else ""
        day = f" du {day_text(decided.date)}" if decided.date else ""
        parts.append(f"{label}{decided.ref}{body}{day}")
    return " ; ".join(parts) or "—"


def decision_text(row: LegalRow) -> str:
    """The decisions of one row of the legal table, dates as `28/11/2026`."""
    return decisions_text(row.lender_decision, row.borrower_decision)


def dependence_text(figures: Dependence, names: dict[str, str]) -> str:
    """One sentence with the dependence indicator's figures."""
    borrower = names.get(figures.borrower, figures.borrower)
    share, total = figures.lender_share, figures.total_share
    if share is None or total is None:
        ratio = "sans ressources sur la période"
    else:
        ratio = f"soit {percent(share)} de ses ressources annuelles (tous prêteurs : {percent(total)})"
    return (f"{borrower} doit {fr_money(figures.owed_to_lender)} au prêteur au {long_date(figures.day)} "
            f"({fr_money(figures.owed_total)} à tous les prêteurs) pour {fr_money(figures.resources)} de produits "
            f"(classe 7) du {fr_date(figures.first_day)} au {fr_date(figures.day)}, {ratio}.")


def fifty_percent_text(table: LenderYear) -> str:
    """The 50 % test with its figures, in one sentence."""
    cash = table.net_cash
    share = table.granted_share
    shown = f" ({percent(share)} de la trésorerie nette)" if share is not None else ""
    verdict = "respecté" if table.within_cap else "DÉPASSÉ"
    return (f"Test des 50 % : trésorerie nette disponible à l'ouverture ({long_date(cash.opening)}) "
            f"{fr_money(cash.value)} = trésorerie (51, 53) {fr_money(cash.treasury)} − avances reçues encore dues "
            f"{fr_money(cash.advances_owed)} − fonds dédiés (19) {fr_money(cash.earmarked)} ; plafond "
            f"{fr_number(table.share, 2)} × {fr_money(cash.value)} = {fr_money(table.cap)} ; accordé sur l'exercice "
            f"{fr_money(table.granted)}{shown} : {verdict}.")


def not_applied_text() -> str:
    """Why the five-year and 50 % tests are not applied to treasury operations."""
    return (f"Opérations de trésorerie avec l'organisme pivot (article L511-7 I ter du Code monétaire et financier, "
            f"article {TREASURY_ARTICLE}) : la durée de cinq ans et le plafond de 50 % de la trésorerie nette "
            f"disponible ne s'appliquent pas ; le taux reste plafonné au TMOP, la convention de trésorerie est "
            f"approuvée comme une convention réglementée et attestée.")


def positions_rows(treasury: Treasury, day: dt.date) -> list[list[str]]:
    """The current-account positions as table rows (heading first), with the totals of each side."""
    rows = [["Compte courant avec", "Position", "Ouverture", "Prêté / emprunté", "Remboursé",
             f"Clôture au {fr_date(day)}"]]
    for p in treasury.positions:
        side = "prêté à" if p.side == LENT else "emprunté à"
        rows.append([f"{p.counterpart_name} ({p.counterpart})", side,
                     fr_money(p.opening), fr_money(p.increase), fr_money(p.decrease), fr_money(p.closing)])
    rows.append(["Total prêté", "", "", "", "", fr_money(treasury.total(LENT))])
    rows.append(["Total emprunté", "", "", "", "", fr_money(treasury.total(BORROWED))])
    return rows


def _treasury_flowables(table: LenderYear, treasury: Treasury, st: pdfstyle.Styles) -> list[Flowable]:
    """The treasury operations of one member's year: positions with the pivot, operations, the tests not applied."""
    width = pdfstyle.content_width()
    who = ("organisme pivot : position de chaque membre" if treasury.is_pivot
           else f"opérations de trésorerie avec l'organisme pivot {treasury.pivot_name}")
    positions = positions_rows(treasury, table.day)
    operations: list[list[str]] = [["Opération", "Prêteur", "Emprunteur", "Décision", "Versée le", "Montant",
                                    "Taux / TMOP", "Restant dû"]]
    names = {m.view.borrower: m.borrower_name for m in table.rows}
    for row in table.rows:
        rate = f"{percent(row.view.rate)} / {percent(row.rate_cap.rate)}"
        if not row.rate_within_cap:
            rate += " DÉPASSÉ"
        operations.append([row.view.id, row.view.lender, row.view.borrower, decision_text(row),
                           fr_date(row.granted_on), fr_money(row.initial), rate, fr_money(row.outstanding)])
    seen: set[str] = set()
    dependence = []
    for row in table.rows:
        pair = f"{row.view.borrower}|{row.view.lender}"
        if pair not in seen:
            seen.add(pair)
            dependence.append(pdfstyle.paragraph("Dépendance : " + dependence_text(row.dependence, names), st.small))
    story: list[Flowable] = [
        pdfstyle.paragraph(f"{table.name} — exercice du {long_date(table.year.start)} au {long_date(table.year.end)} "
                           f"— {who}", st.heading),
        pdfstyle.table(positions, [width - 110 * mm, 20 * mm, 22 * mm, 24 * mm, 22 * mm, 22 * mm],
                       bold_rows=[len(positions) - 2, len(positions) - 1], numeric_from=2),
        pdfstyle.paragraph("Comptes courants 4511 des livres du membre : ouverture avant le premier jour de "
                           "l'exercice ; prêté ou emprunté, et remboursé, du premier jour au "
                           f"{long_date(table.day)}.", st.small),
    ]
    if table.rows:
        story.append(pdfstyle.table(operations, [24 * mm, 22 * mm, 22 * mm, width - 152 * mm, 19 * mm, 21 * mm,
                                                 24 * mm, 20 * mm], numeric_from=5))
    story += [pdfstyle.paragraph(not_applied_text(), st.small), *dependence]
    return story


def legal_table_flowables(table: LenderYear, st: pdfstyle.Styles) -> list[Flowable]:
    """The heading, the advances' table, the 50 % test and the dependence indicators of one lender's year.

    Under a convention de trésorerie: the positions with the pivot and the operations instead (the heading
    stays first, so a caller may drop it).
    """
    if table.treasury is not None:
        return _treasury_flowables(table, table.treasury, st)
    width = pdfstyle.content_width()
    rows: list[list[str]] = [["Avance", "Emprunteur", "Décision", "Versée le", "Montant initial", "Taux / TMOP",
                              "Terme (durée)", "Restant dû"]]
    for row in table.rows:
        rate = f"{percent(row.view.rate)} / {percent(row.rate_cap.rate)}"
        if not row.rate_within_cap:
            rate += " DÉPASSÉ"
        term = f"{fr_date(row.term)} ({row.days} j)"
        if not row.within_five_years:
            term += " > 5 ans"
        rows.append([row.view.id, row.borrower_name, decision_text(row), fr_date(row.granted_on),
                     fr_money(row.initial), rate, term, fr_money(row.outstanding)])
    rows.append(["Total", "", "", "", fr_money(table.granted), "", "", fr_money(table.outstanding)])
    names = {r.view.borrower: r.borrower_name for r in table.rows}
    seen: set[str] = set()
    dependence = []
    for row in table.rows:
        if row.view.borrower not in seen:
            seen.add(row.view.borrower)
            dependence.append(pdfstyle.paragraph("Dépendance : " + dependence_text(row.dependence, names), st.small))
    return [
        pdfstyle.paragraph(f"{table.name} — exercice du {long_date(table.year.start)} au {long_date(table.year.end)}",
                           st.heading),
        pdfstyle.table(rows, [24 * mm, width - 149 * mm, 27 * mm, 19 * mm, 21 * mm, 19 * mm, 19 * mm, 20 * mm],
                       bold_rows=[len(rows) - 1], numeric_from=4),
        pdfstyle.paragraph("Total : montant versé sur l'exercice ; restant dû au " + long_date(table.day) + ".",
                           st.small),
        pdfstyle.paragraph(fifty_percent_text(table), st.small),
        *dependence,
    ]
