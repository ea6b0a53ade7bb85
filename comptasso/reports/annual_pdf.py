"""The annual accounts as a PDF: bilan, compte de résultat and contributions in kind, N beside N-1."""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph, Spacer

from comptasso.money import fr_date
from comptasso.reports import pdfstyle
from comptasso.reports.annual import (
    EXCEPTIONAL_EXPENSES,
    EXCEPTIONAL_INCOME,
    EXPLOITATION_EXPENSES,
    EXPLOITATION_INCOME,
    FINANCIAL_EXPENSES,
    FINANCIAL_INCOME,
    AnnualAccounts,
    Pair,
    Section,
)


def _widths() -> list[float]:
    width = pdfstyle.content_width()
    return [width - 2 * 34 * mm, 34 * mm, 34 * mm]


def _actif_widths() -> list[float]:
    width = pdfstyle.content_width()
    return [width - 4 * 26 * mm, 26 * mm, 26 * mm, 26 * mm, 26 * mm]


def _actif_table(accounts: AnnualAccounts) -> Flowable:
    """The assets: Brut, Amortissements et dépréciations and Net for N, Net for N-1 (ANC 2018-06).

    Lines outside the fixed assets have no depreciation: their gross value is their net value.
    """
    st = pdfstyle.styles()
    year, previous = accounts.period.label, accounts.previous_period.label
    rows: list[list[str | Paragraph]] = [["Rubrique", f"Brut\n{year}", "Amortissements\net dépréciations",
                                          f"Net\n{year}", f"Net\n{previous}"]]
    bold, band = [], []

    def amounts(gross: Pair, depreciation: Pair | None, net: Pair) -> list[str]:
        shown = pdfstyle.money(depreciation.n) if depreciation is not None else ""
        return [pdfstyle.money(gross.n), shown, pdfstyle.money(net.n), pdfstyle.money(net.n1)]

    for section in accounts.actif:
        if not section.lines:
            continue
        band.append(len(rows))
        rows.append([section.title, "", "", "", ""])
        for line in section.lines:
            net = Pair(line.n, line.n1)
            heading = Paragraph(pdfstyle.escape("\u00a0" * 4 + line.heading), st.cell)
            rows.append([heading, *amounts(line.gross or net, line.depreciation, net)])
        bold.append(len(rows))
        fixed = any(line.depreciation is not None for line in section.lines)
        rows.append([f"Total {section.title[0].lower()}{section.title[1:]}",
                     *amounts(section.gross, section.depreciation if fixed else None,
                              Pair(section.total_n, section.total_n1))])
    bold.append(len(rows))
    any_fixed = any(line.depreciation is not None for section in accounts.actif for line in section.lines)
    rows.append(["Total de l'actif", *amounts(accounts.actif_gross, accounts.actif_depreciation if any_fixed else None,
                                              accounts.total_actif)])
    return pdfstyle.table(rows, _actif_widths(), bold_rows=bold, band_rows=band)


def _rows(accounts: AnnualAccounts, sections: Sequence[Section], total_label: str | None,
          total: Pair | None) -> tuple[list[list[str]], list[int], list[int]]:
    """Rows of a statement table: section title, its headings, its total; then the grand total."""
    rows = [["Rubrique", f"Exercice {accounts.period.label}", f"Exercice {accounts.previous_period.label}"]]
    bold, band = [], []
    for section in sections:
        if not section.lines:
            continue
        band.append(len(rows))
        rows.append([section.title, "", ""])
        shown: set[str] = set()
        for line in section.lines:
            if line.group and line.group not in shown:  # « Produits de tiers financeurs » and its total
                shown.add(line.group)
                total = section.group_total(line.group)
                rows.append(["    " + line.group, pdfstyle.money(total.n), pdfstyle.money(total.n1)])
            indent = "        " if line.group else "    "
            rows.append([indent + line.heading, pdfstyle.money(line.n), pdfstyle.money(line.n1)])
        bold.append(len(rows))
        rows.append([f"Total {section.title[0].lower()}{section.title[1:]}",
                     pdfstyle.money(section.total_n), pdfstyle.money(section.total_n1)])
    if total_label and total is not None:
        bold.append(len(rows))
        rows.append([total_label, pdfstyle.money(total.n), pdfstyle.money(total.n1)])
    return rows, bold, band


def _statement(accounts: AnnualAccounts, sections: Sequence[Section], total_label: str | None,
               total: Pair | None) -> Flowable:
    rows, bold, band = _rows(accounts, sections, total_label, total)
    return pdfstyle.table(rows, _widths(), bold_rows=bold, band_rows=band)


def _result_table(accounts: AnnualAccounts) -> Flowable:
    """Sub-results, totals and the excédent or déficit."""
    def row(label: str, pair: Pair) -> list[str]:
        return [label, pdfstyle.money(pair.n), pdfstyle.money(pair.n1)]
    result = accounts.result
    rows = [
        ["Résultats", f"Exercice {accounts.period.label}", f"Exercice {accounts.previous_period.label}"],
        row("Résultat d'exploitation", accounts.sub_result(EXPLOITATION_INCOME, EXPLOITATION_EXPENSES)),
        row("Résultat financier", accounts.sub_result(FINANCIAL_INCOME, FINANCIAL_EXPENSES)),
        row("Résultat exceptionnel", accounts.sub_result(EXCEPTIONAL_INCOME, EXCEPTIONAL_EXPENSES)),
        row("Total des produits", accounts.total_income),
        row("Total des charges", accounts.total_expenses),
        row("Excédent (+) ou déficit (-) de l'exercice", result),
    ]
    return pdfstyle.table(rows, _widths(), bold_rows=[len(rows) - 1])


def _in_kind_table(accounts: AnnualAccounts) -> Flowable:
    rows, bold, band = _rows(accounts, accounts.in_kind, None, None)
    return pdfstyle.table(rows, _widths(), bold_rows=bold, band_rows=band)


def render_annual_pdf(accounts: AnnualAccounts) -> bytes:
    """The PDF of the annual accounts (same accounts, same bytes)."""
    st = pdfstyle.styles()
    siren = f" — SIREN {accounts.siren}" if accounts.siren else ""
    period = f"Exercice {accounts.period.french}"
    story: list[Flowable] = [
        pdfstyle.paragraph(f"Comptes annuels {accounts.period.label} — {accounts.member_name}", st.title),
        pdfstyle.paragraph(f"{period}{siren}. Présentation du règlement ANC n° 2018-06 "
                           f"(comptes des associations), référentiel : {accounts.chart.name}. "
                           f"Livres lus au {fr_date(accounts.as_of)}.", st.subtitle),
        pdfstyle.paragraph("Bilan — actif", st.heading),
        _actif_table(accounts),
        CondPageBreak(80 * mm),
        pdfstyle.paragraph("Bilan — passif", st.heading),
        _statement(accounts, accounts.passif, "Total du passif", accounts.total_passif),
        pdfstyle.paragraph("Les excédents et déficits des exercices antérieurs figurent en report à nouveau ; "
                           "celui de l'exercice en « Excédent ou déficit de l'exercice ».", st.small),
        CondPageBreak(90 * mm),
        pdfstyle.paragraph("Compte de résultat", st.heading),
        _statement(accounts, accounts.income, "Total des produits", accounts.total_income),
        Spacer(1, 3 * mm),
        _statement(accounts, accounts.expenses, "Total des charges", accounts.total_expenses),
        Spacer(1, 3 * mm),
        KeepTogether([_result_table(accounts)]),
        CondPageBreak(60 * mm),
        pdfstyle.paragraph("Contributions volontaires en nature", st.heading),
    ]
    if any(section.lines for section in accounts.in_kind):
        story.append(_in_kind_table(accounts))
    else:
        story.append(pdfstyle.paragraph("Aucune contribution volontaire en nature enregistrée "
                                        "(comptes 86 et 87).", st.body))
    story.extend(pdfstyle.paragraph(f"Avertissement : {problem.message}", st.small) for problem in accounts.problems)
    footer = f"{accounts.member_name} — comptes annuels {accounts.period.label} — établis par Comptasso"
    return pdfstyle.build_pdf(story, title=f"Comptes annuels {accounts.period.label} — {accounts.member_name}",
                              author=accounts.member_name, subject=period, footer=footer)
