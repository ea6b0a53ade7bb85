"""The attestation pack of one lender and one financial year: JSON and PDF for its commissaire aux comptes.

Article R511-2-1-4 of the Code monétaire et financier asks the lender's commissaire aux comptes (or,
failing one, an expert-comptable) to attest the initial amount and the capital outstanding of each
loan, and its compliance. The pack gives, for the financial year opening in the year asked (the
member's own `exercice_debut`): the legal table (`banquasso.statement.legal_table`, the statement's
annex is the same function), the compliance of each loan, the table for the management report and
the annexe, and the data of form 2062 for each loan of the year whose principal exceeds 5 000 €.

Under `mode = "convention-de-tresorerie"` (article D511-2-1-5) the pack attests treasury operations with
the organisme pivot: the member's current-account positions (4511) with the pivot — the pivot's with every
member — opening, movements and closing, the operations with their rate and TMOP and decisions, and it
says that the five-year and 50 % tests do not apply to them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Spacer

from banquasso.registry.snapshot import AdvanceView
from banquasso.statement.legal_pdf import decision_text, legal_table_flowables, long_date, percent, positions_rows
from banquasso.statement.legal_table import TREASURY_ARTICLE, LegalRow, LenderYear, Treasury, lender_year
from banquasso.terms.net_cash import Year, financial_year
from banquasso.terms.policy import LEGAL_MAX_DAYS, Policy
from banquasso.terms.tmop import TmopTable
from comptasso.books.facade import GroupBooks
from comptasso.books.group import Member
from comptasso.money import fr_date, fr_money, money_json
from comptasso.reports import pdfstyle

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Party:
    """A party to a loan as form 2062 names it: name, SIREN and address when `group.toml` has them."""

    id: str
    name: str
    siren: str | None
    address: str | None

    @classmethod
    def of(cls, member: Member) -> Party:
        return cls(member.id, member.name, member.siren, member.address)

    def to_json(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name, "siren": self.siren, "adresse": self.address}

    def text(self) -> str:
        """`Name (SIREN 123456789), address` with what is known."""
        siren = f" (SIREN {self.siren})" if self.siren else " (SIREN non renseigné)"
        return f"{self.name}{siren}, {self.address or 'adresse non renseignée'}"


@dataclass(frozen=True)
class Form2062:
    """The data of form 2062 (déclaration de contrat de prêt) for one loan over 5 000 €."""

    row: LegalRow
    lender: Party
    borrower: Party

    @property
    def contract_date(self) -> dt.date:
        """The day the contract was concluded: the lender's decision, else the disbursement."""
        decided = self.row.lender_decision
        return decided.date if decided is not None and decided.date is not None else self.row.granted_on

    def to_json(self) -> dict[str, object]:
        view = self.row.view
        return {"advance": view.id, "lender": self.lender.to_json(), "borrower": self.borrower.to_json(),
                "amount": money_json(self.row.initial), "rate": str(view.rate),
                "contract_date": self.contract_date.isoformat(), "disbursed_on": self.row.granted_on.isoformat(),
                "repay_on": self.row.term.isoformat()}


@dataclass(frozen=True)
class Attestation:
    """The pack: the group, the day it was drawn up, the lender's legal table and the form 2062 data."""

    group_name: str
    as_of: dt.date
    table: LenderYear
    forms: tuple[Form2062, ...]

    def to_json(self) -> dict[str, object]:
        table = self.table
        return {
            "group": self.group_name, "as_of": self.as_of.isoformat(), "member": table.lender, "name": table.name,
            "year_start": table.year.start.isoformat(), "year_end": table.year.end.isoformat(),
            "table": table.to_json(),
            "mode": "prets" if table.treasury is None else "convention-de-tresorerie",
            "management_report": [p.to_json() for p in table.treasury.positions] if table.treasury is not None
            else [{"advance": r.view.id, "borrower": r.borrower_name, "initial": money_json(r.initial),
                                   "outstanding": money_json(r.outstanding), "rate": str(r.view.rate),
                                   "granted_on": r.granted_on.isoformat(), "term": r.term.isoformat()}
                                  for r in table.rows],
            "forms_2062": [f.to_json() for f in self.forms],
        }


def attested_year(member: Member, year: int) -> Year:
    """The member's financial year opening in `year` (its `exercice_debut`)."""
    month, day = member.year_start
    return financial_year(member, dt.date(year, month, day))


def build_attestation(books: GroupBooks, policy: Policy, tmop: TmopTable, views: Sequence[AdvanceView],
                      lender: str, year: Year, as_of: dt.date) -> Attestation:
    """The pack of `lender` for `year`, as of min(year end, `as_of`); `views` are the registry's as of that day."""
    day = min(year.end, as_of)
    table = lender_year(books, policy, tmop, views, lender, year, day)
    members = {m.id: m for m in books.group.members}
    forms = tuple(Form2062(r, Party.of(members[lender]), Party.of(members[r.view.borrower]))
                  for r in table.rows if r.granted_in_year and r.form_2062 and r.view.lender == lender)
    return Attestation(books.group.name, as_of, table, forms)


# ------------------------------------------------------------------------------------------------- PDF


def _yes(value: bool) -> str:
    return "oui" if value else "NON"


def _compliance(table: LenderYear, st: pdfstyle.Styles) -> list[Flowable]:
    width = pdfstyle.content_width()
    treasury = table.treasury is not None
    rows = [["Avance", "Taux ≤ TMOP", "Durée" if treasury else "Durée ≤ 5 ans", "Décision(s)", "Dépendance"]]
    for row in table.rows:
        share = row.dependence.lender_share
        duration = (f"{row.days} j, sans objet ({TREASURY_ARTICLE})" if treasury
                    else f"{_yes(row.within_five_years)} ({row.days} j / {LEGAL_MAX_DAYS} j)")
        rows.append([
            row.view.id,
            (f"{_yes(row.rate_within_cap)} ({percent(row.view.rate)} / {percent(row.rate_cap.rate)}, "
             f"{row.rate_cap.key})"),
            duration,
            decision_text(row),
            "sans ressources" if share is None else percent(share),
        ])
    title = "2. Conformité, opération par opération" if treasury else "2. Conformité, prêt par prêt"
    return [pdfstyle.paragraph(title, st.heading),
            pdfstyle.table(rows, [24 * mm, 44 * mm, 32 * mm, width - 122 * mm, 22 * mm], numeric_from=5)]


def _treasury_report(table: LenderYear, treasury: Treasury, st: pdfstyle.Styles) -> list[Flowable]:
    width = pdfstyle.content_width()
    rows = positions_rows(treasury, table.day)
    who = ("L'organisme pivot y mentionne la position de chaque membre." if treasury.is_pivot
           else f"Opérations avec l'organisme pivot {treasury.pivot_name}.")
    return [pdfstyle.paragraph("3. Tableau pour le rapport de gestion et l'annexe des comptes annuels", st.heading),
            pdfstyle.paragraph("Opérations de trésorerie entre membres du groupement (article L511-7 I ter du Code "
                               "monétaire et financier, article D511-2-1-5), à reprendre dans le rapport de gestion "
                               f"(ou d'activité) et l'annexe. {who}", st.small),
            pdfstyle.table(rows, [width - 110 * mm, 20 * mm, 22 * mm, 24 * mm, 22 * mm, 22 * mm],
                           bold_rows=[len(rows) - 2, len(rows) - 1], numeric_from=2)]


def _management_report(table: LenderYear, st: pdfstyle.Styles) -> list[Flowable]:
    if table.treasury is not None:
        return _treasury_report(table, table.treasury, st)
    width = pdfstyle.content_width()
    rows = [["Emprunteur", "Avance", "Accordée le", "Montant initial", f"Restant dû au {fr_date(table.day)}", "Taux",
             "Échéance"]]
    rows += [[r.borrower_name, r.view.id, fr_date(r.granted_on), fr_money(r.initial), fr_money(r.outstanding),
              percent(r.view.rate), fr_date(r.term)] for r in table.rows]
    rows.append(["Total", "", "", fr_money(sum((r.initial for r in table.rows), ZERO)),
                 fr_money(table.outstanding), "", ""])
    return [pdfstyle.paragraph("3. Tableau pour le rapport de gestion et l'annexe des comptes annuels", st.heading),
            pdfstyle.paragraph("Prêts consentis à des membres du groupement (article L511-6 1° bis du Code monétaire "
                               "et financier), à reprendre dans le rapport de gestion (ou d'activité) et l'annexe.",
                               st.small),
            pdfstyle.table(rows, [width - 128 * mm, 24 * mm, 19 * mm, 22 * mm, 25 * mm, 16 * mm, 22 * mm],
                           bold_rows=[len(rows) - 1], numeric_from=3)]


def _forms(attestation: Attestation, st: pdfstyle.Styles) -> list[Flowable]:
    story: list[Flowable] = [CondPageBreak(70 * mm),
                             pdfstyle.paragraph("4. Déclaration des contrats de prêt (formulaire 2062)", st.heading)]
    if not attestation.forms:
        return [*story, pdfstyle.paragraph("Aucun prêt de plus de 5 000 € accordé sur l'exercice.", st.body)]
    width = pdfstyle.content_width()
    for form in attestation.forms:
        row = form.row
        rows = [["Rubrique", "Valeur"],
                ["Prêteur (créancier)", form.lender.text()],
                ["Emprunteur (débiteur)", form.borrower.text()],
                ["Montant du prêt", fr_money(row.initial)],
                ["Taux d'intérêt annuel", percent(row.view.rate)],
                ["Date du contrat", fr_date(form.contract_date)],
                ["Date de versement", fr_date(row.granted_on)],
                ["Échéance", fr_date(row.term)]]
        story.append(KeepTogether([pdfstyle.paragraph(f"Avance {row.view.id}", st.body),
                                   pdfstyle.table(rows, [45 * mm, width - 45 * mm], numeric_from=2),
                                   Spacer(1, 2 * mm)]))
    return story


def _signature(attestation: Attestation, st: pdfstyle.Styles) -> list[Flowable]:
    table = attestation.table
    width = pdfstyle.content_width()
    signer = ("Je soussigné·e, ........................................, commissaire aux comptes (ou expert-comptable) "
              f"de {table.name}, atteste ")
    if table.treasury is not None:
        text = (f"{signer}des positions de compte courant au {long_date(table.day)} et des opérations de trésorerie "
                f"ci-dessus, et de leur conformité aux conditions de l'article D511-2-1-5 du Code monétaire et "
                f"financier (convention de trésorerie écrite et approuvée, taux au plus le TMOP) ; la durée de cinq "
                f"ans et le plafond de 50 % de la trésorerie nette disponible ne s'appliquent pas à ces opérations.")
    else:
        text = (f"{signer}du montant initial et du capital restant dû au {long_date(table.day)} des prêts "
                f"ci-dessus, et de leur conformité aux conditions de l'article R511-2-1-4 du Code monétaire et "
                f"financier (taux au plus le TMOP, durée au plus cinq ans, total accordé sur l'exercice au plus 50 % "
                f"de la trésorerie nette disponible à son ouverture, absence de dépendance financière de "
                f"l'emprunteur).")
    rows = [["Fait à", "Le", "Signature et cachet"], ["", "", ""]]
    grid = pdfstyle.table(rows, [width / 3] * 3, numeric_from=3)
    grid.setStyle([("BOTTOMPADDING", (0, 1), (-1, 1), 18 * mm)])
    return [pdfstyle.paragraph("5. Attestation", st.heading), pdfstyle.paragraph(text, st.body), Spacer(1, 3 * mm),
            grid]


def _first_heading(table: LenderYear) -> str:
    if table.treasury is None:
        return "1. Prêts accordés sur l'exercice et encours"
    if table.treasury.is_pivot:
        return "1. Organisme pivot : position de chaque membre et opérations de l'exercice"
    return "1. Positions avec l'organisme pivot et opérations de l'exercice"


def render_attestation(attestation: Attestation) -> bytes:
    """The pack's PDF bytes (reportlab invariant mode: same data, same bytes)."""
    st = pdfstyle.styles()
    table = attestation.table
    treasury = table.treasury is not None
    if treasury:
        what = "Attestation des opérations de trésorerie"
        article = "article D511-2-1-5 du Code monétaire et financier ; loi n° 2024-344, décret 2025-780"
    else:
        what = "Attestation des prêts consentis"
        article = "article R511-2-1-4 du Code monétaire et financier ; loi n° 2024-344, décret 2025-779"
    story: list[Flowable] = [
        pdfstyle.paragraph(f"{what} — {table.name}", st.title),
        pdfstyle.paragraph(f"Exercice du {long_date(table.year.start)} au {long_date(table.year.end)} ; situation au "
                           f"{long_date(table.day)}. Pièces pour le commissaire aux comptes ou l'expert-comptable "
                           f"({article}). {attestation.group_name}.", st.subtitle),
        pdfstyle.paragraph(_first_heading(table), st.heading),
    ]
    if not table.rows and not treasury:
        story.append(pdfstyle.paragraph("Aucun prêt accordé sur l'exercice ni restant dû.", st.body))
    story += legal_table_flowables(table, st)[1:]
    story += _compliance(table, st) + _management_report(table, st) + _forms(attestation, st)
    story += _signature(attestation, st)
    short = "des opérations de trésorerie" if treasury else "des prêts"
    footer = f"Attestation {short} de {table.lender}, exercice ouvert le {fr_date(table.year.start)} — BanquAsso"
    return pdfstyle.build_pdf(story, title=f"Attestation {short} — {table.name}", author=attestation.group_name,
                              footer=footer, subject=f"Exercice ouvert le {fr_date(table.year.start)}")
