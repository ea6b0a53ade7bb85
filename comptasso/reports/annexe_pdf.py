"""The annexe as a PDF, beside the bilan and compte de résultat."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph

from comptasso.model.fonds_dedies import FundMovement
from comptasso.money import ZERO
from comptasso.reports import pdfstyle
from comptasso.reports.annexe import Annexe, Movement


def _widths() -> list[float]:
    width = pdfstyle.content_width()
    return [width - 4 * 28 * mm, 28 * mm, 28 * mm, 28 * mm, 28 * mm]


def _movements(title: str, rows: Sequence[Movement], increase: str, decrease: str, empty: str) -> list[Flowable]:
    st = pdfstyle.styles()
    story: list[Flowable] = [pdfstyle.paragraph(title, st.heading)]
    if not rows:
        return [*story, pdfstyle.paragraph(empty, st.body)]
    table: list[list[str | Paragraph]] = [["Compte", "Début d'exercice", increase, decrease, "Fin d'exercice"]]
    table.extend([Paragraph(pdfstyle.escape(m.account), st.cell), pdfstyle.money(m.opening),
                  pdfstyle.money(m.increases), pdfstyle.money(m.decreases), pdfstyle.money(m.closing)] for m in rows)
    total = [sum((m.opening for m in rows), ZERO), sum((m.increases for m in rows), ZERO),
             sum((m.decreases for m in rows), ZERO), sum((m.closing for m in rows), ZERO)]
    table.append(["Total", *(pdfstyle.money(v) for v in total)])
    return [*story, pdfstyle.table(table, _widths(), bold_rows=[len(table) - 1])]


def _funds(rows: Sequence[FundMovement]) -> list[Flowable]:
    """The fonds dédiés by convention: booked movements, and the unused part computed for earmarked grants."""
    st = pdfstyle.styles()
    story: list[Flowable] = [pdfstyle.paragraph("Fonds dédiés, par projet", st.heading)]
    if not rows:
        return [*story, pdfstyle.paragraph("Aucun fonds dédié.", st.body)]
    table: list[list[str | Paragraph]] = [["Convention (action) / compte", "Début", "Reports (689)",
                                           "Utilisations (789)", "Fin", "Non utilisé*"]]
    for m in rows:
        label = m.account if m.convention is None else f"{m.convention} ({m.action or 'sans action'}) — {m.account}"
        table.append([Paragraph(pdfstyle.escape(label), st.cell), pdfstyle.money(m.opening),
                      pdfstyle.money(m.increases), pdfstyle.money(m.decreases), pdfstyle.money(m.closing),
                      "—" if m.unused is None else pdfstyle.money(m.unused)])
    total = [sum((getattr(m, k) for m in rows), ZERO) for k in ("opening", "increases", "decreases", "closing")]
    table.append(["Total", *(pdfstyle.money(v) for v in total), ""])
    width = pdfstyle.content_width()
    widths = [width - 5 * 28 * mm, *([28 * mm] * 5)]
    story.append(pdfstyle.table(table, widths, bold_rows=[len(table) - 1]))
    story.append(pdfstyle.paragraph("* Non utilisé : part de la subvention affectée non employée par "
                                    "les charges de l'action sur l'exercice, à reporter en fonds dédiés (689).",
                                    st.small))
    return story


def render_annexe_pdf(annexe: Annexe) -> bytes:
    """The PDF of the annexe (same annexe, same bytes)."""
    st = pdfstyle.styles()
    label = annexe.period.label
    story: list[Flowable] = [
        pdfstyle.paragraph(f"Annexe des comptes annuels {label} — {annexe.member_name}", st.title),
        pdfstyle.paragraph(f"Exercice {annexe.period.french}.", st.subtitle),
        pdfstyle.paragraph("Règles et méthodes comptables", st.heading),
        *(pdfstyle.paragraph(text, st.body) for text in annexe.methods),
        *_movements("Immobilisations (valeurs brutes)", annexe.fixed_assets, "Acquisitions", "Sorties",
                    "Aucune immobilisation."),
        *_movements("Amortissements et dépréciations", annexe.depreciation, "Dotations", "Reprises et sorties",
                    "Aucun amortissement."),
        *_funds(annexe.dedicated_funds),
        *_movements("Provisions pour risques et charges", annexe.provisions, "Dotations", "Reprises",
                    "Aucune provision."),
        pdfstyle.paragraph("Contributions volontaires en nature", st.heading),
    ]
    if annexe.in_kind:
        rows: list[list[str | Paragraph]] = [["Compte", f"Exercice {label}",
                                              f"Exercice {annexe.period.previous().label}", "Valorisation"]]
        rows.extend([Paragraph(pdfstyle.escape(item.account), st.cell), pdfstyle.money(item.n),
                     pdfstyle.money(item.n1),
                     Paragraph(pdfstyle.escape("; ".join(item.valuations) or "non renseignée"), st.cell)]
                    for item in annexe.in_kind)
        width = pdfstyle.content_width()
        story.append(pdfstyle.table(rows, [width - 3 * 34 * mm, 28 * mm, 28 * mm, 46 * mm]))
    else:
        story.append(pdfstyle.paragraph("Aucune contribution volontaire en nature enregistrée.", st.body))
    story += _movements("Engagements : avances de trésorerie accordées à d'autres associations (BanquAsso)",
                        annexe.advances_granted, "Versées", "Remboursées", "Aucune avance accordée.")
    story += _movements("Engagements : avances de trésorerie reçues d'autres associations (BanquAsso)",
                        annexe.advances_received, "Reçues", "Remboursées", "Aucune avance reçue.")
    story.append(pdfstyle.paragraph("Événements postérieurs à la clôture", st.heading))
    if annexe.events:
        for event in annexe.events:
            story.append(pdfstyle.paragraph(f"{event.date:%d/%m/%Y} : {event.label} "
                                            f"({pdfstyle.money(event.amount)})", st.body))
    else:
        story.append(pdfstyle.paragraph("Aucun événement postérieur à la clôture signalé "
                                        "(écritures marquées #evenement-posterieur).", st.body))
    for problem in annexe.problems:
        story.append(pdfstyle.paragraph(f"Avertissement : {problem.message}", st.small))
    footer = f"{annexe.member_name} — annexe {label} — établie par Comptasso"
    return pdfstyle.build_pdf(story, title=f"Annexe {label} — {annexe.member_name}", author=annexe.member_name,
                              subject=f"Exercice {annexe.period.french}", footer=footer)
