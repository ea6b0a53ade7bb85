"""The compte rendu financier of an action (CERFA 15059 figures) as PDF and as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from reportlab.platypus import Flowable, Spacer

from comptasso.model.compte_rendu import CompteRendu, Row
from comptasso.money import fr_date, fr_number, money_json
from comptasso.reports import pdfstyle


def _percent(value: Decimal | None) -> str:
    return "" if value is None else f"{fr_number(value, 1)} %"


def _rows_json(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [{"group": r.group, "label": r.label, "budget": money_json(r.budget), "actual": money_json(r.actual),
             "percent": None if r.percent is None else str(r.percent)} for r in rows]


def compte_rendu_json(member_id: str, report: CompteRendu) -> dict[str, Any]:
    """The document of `banquasso compte-rendu --json`."""
    file = report.file
    return {
        "member": member_id, "convention": file.grant.convention, "funder": file.grant.funder,
        "action": file.action, "start": report.start.isoformat(), "end": report.end.isoformat(),
        "report_due": file.report_due.isoformat(), "report_status": file.report_status,
        "charges": _rows_json(report.charges), "produits": _rows_json(report.produits),
        "in_kind": _rows_json(report.in_kind),
        "total_charges": money_json(report.total_charges), "total_produits": money_json(report.total_produits),
        "grant_amount": money_json(report.grant_amount),
        "grant_share_percent": None if report.grant_share is None else str(report.grant_share),
    }


def _table(title: str, rows: Sequence[Row], total: Decimal | None) -> Flowable:
    body: list[list[str]] = [[title, "Prévision", "Réalisation", "%"]]
    body += [[f"{r.group} — {r.label}", pdfstyle.money(r.budget), pdfstyle.money(r.actual), _percent(r.percent)]
             for r in rows]
    bold = []
    if total is not None:
        body.append(["Total", pdfstyle.money(sum((r.budget for r in rows), Decimal(0))), pdfstyle.money(total), ""])
        bold.append(len(body) - 1)
    width = pdfstyle.content_width()
    return pdfstyle.table(body, [width * 0.52, width * 0.18, width * 0.18, width * 0.12], bold_rows=bold)


def render_compte_rendu_pdf(member_name: str, report: CompteRendu) -> bytes:
    """The PDF: the CERFA 15059 table of charges and produits of the action, budget vs réalisé."""
    s = pdfstyle.styles()
    file = report.file
    title = f"Compte rendu financier — convention {file.grant.convention}"
    story: list[Flowable] = [
        pdfstyle.paragraph(title, s.title),
        pdfstyle.paragraph(f"{member_name} · action « {file.action} » · exercice du {fr_date(report.start)} au "
                           f"{fr_date(report.end)} · à remettre au plus tard le {fr_date(file.report_due)} "
                           "(CERFA n° 15059)", s.subtitle),
        _table("Charges", report.charges, report.total_charges), Spacer(1, 12),
        _table("Produits", report.produits, report.total_produits),
    ]
    if report.in_kind:
        story += [Spacer(1, 12), _table("Contributions volontaires en nature", report.in_kind, None)]
    story += [
        pdfstyle.paragraph("Part de la subvention", s.heading),
        pdfstyle.paragraph(f"Subvention notifiée : {pdfstyle.money(report.grant_amount)} ; part dans les charges "
                           f"de l'action : {_percent(report.grant_share) or 'sans objet'}.", s.body),
    ]
    return pdfstyle.build_pdf(story, title=title, author=member_name,
                              footer=f"{member_name} — compte rendu financier {file.grant.convention}")
