"""The loan contract (*convention de prêt*) of one advance, as a PDF ready to sign.

Article R511-2-1-4 of the Code monétaire et financier wants a written contract, approved like a
*convention réglementée* (article L612-5 of the code de commerce). The contract names both parties
(name, SIREN, address from `group.toml`), the amount, the rate against the TMOP of the decision's
half-year, the term, the repayment schedule (the registry's lines, `banquasso.terms.schedule`), the
security (the grant tranche), the board decisions, the legal references and the signature blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Spacer

from banquasso.registry.snapshot import AdvanceView
from banquasso.statement.attestation import Party
from banquasso.statement.legal_pdf import long_date, percent
from banquasso.statement.legal_table import FORM_2062_THRESHOLD
from banquasso.terms.policy import LEGAL_MAX_DAYS
from banquasso.terms.tmop import RateCap
from comptasso.money import fr_date, fr_money
from comptasso.reports import pdfstyle

METHODS = {"bullet": "en une fois à l'échéance (in fine)",
           "on-receipt": "à l'encaissement de la subvention qui garantit l'avance",
           "linear": "par échéances de capital constantes", "annuity": "par échéances constantes (annuités)"}
DAY_COUNTS = {"ACT/365": "jours exacts sur 365", "30/360": "mois de 30 jours sur une année de 360 jours"}


@dataclass(frozen=True)
class Contract:
    """What the contract needs: the advance, both parties, the group and the rate cap of the decision's half-year."""

    view: AdvanceView
    lender: Party
    borrower: Party
    group_name: str
    cap: RateCap


def _article(title: str, text: str, st: pdfstyle.Styles) -> list[Flowable]:
    return [pdfstyle.paragraph(title, st.heading), pdfstyle.paragraph(text, st.body)]


def _parties(contract: Contract, st: pdfstyle.Styles) -> list[Flowable]:
    return [
        pdfstyle.paragraph("Entre les soussignées :", st.body),
        pdfstyle.paragraph(f"{contract.lender.text()}, ci-après « le prêteur »,", st.body),
        pdfstyle.paragraph("et", st.body),
        pdfstyle.paragraph(f"{contract.borrower.text()}, ci-après « l'emprunteur »,", st.body),
        pdfstyle.paragraph(f"toutes deux associations membres du groupement {contract.group_name}, il est convenu "
                           "ce qui suit.", st.body),
    ]


def _terms(contract: Contract, st: pdfstyle.Styles) -> list[Flowable]:
    view, cap = contract.view, contract.cap
    paid_on = view.disbursement.date if view.disbursement is not None else view.disburse_on
    days = (view.repay_on - paid_on).days
    count = DAY_COUNTS.get(view.day_count, view.day_count)
    rate = (f"Le prêt porte intérêt au taux annuel de {percent(view.rate)} ({count}), au plus le taux moyen de "
            "rendement des obligations des sociétés privées (TMOP) du semestre de la décision")
    if cap.warning:
        rate += (f". Faute de valeur de ce TMOP dans rules/tmop.toml, le plafond retenu est de {percent(cap.rate)} "
                 f"({cap.key}) ; le TMOP publié reste à vérifier avant la signature.")
    else:
        rate += f" : {percent(cap.rate)} ({cap.key})."
    story = [
        *_article("Article 1 — Objet", f"Le prêteur consent à l'emprunteur un prêt de trésorerie de "
                  f"{fr_money(view.principal)}, référencé {view.id}, dans le cadre de l'article L511-6 1° bis du "
                  "Code monétaire et financier (prêts entre associations membres d'un même groupement).", st),
        *_article("Article 2 — Versement", f"Le prêteur verse la somme le {long_date(paid_on)} sur le compte bancaire "
                  "de l'emprunteur.", st),
        *_article("Article 3 — Taux d'intérêt", rate, st),
        *_article("Article 4 — Durée et remboursement",
                  f"Le prêt est remboursé {METHODS.get(view.method, view.method)}, au plus tard le "
                  f"{long_date(view.repay_on)}, soit {days} jours (au plus {LEGAL_MAX_DAYS} jours, cinq ans), "
                  f"selon l'échéancier ci-dessous (délai de grâce de {view.grace_days} jours).", st),
    ]
    rows = [["n°", "Échéance", "Capital", "Intérêts", "Échéance totale", "Capital restant dû"]]
    rows += [[str(line.n), fr_date(line.date), fr_money(line.principal), fr_money(line.interest),
              fr_money(line.payment), fr_money(line.remaining)] for line in view.lines]
    width = pdfstyle.content_width()
    story.append(pdfstyle.table(rows, [12 * mm, 26 * mm, *([(width - 38 * mm) / 4] * 4)], numeric_from=2))
    return story


def _security_and_approval(contract: Contract, st: pdfstyle.Styles) -> list[Flowable]:
    view = contract.view
    if view.convention and view.tranche_date:
        security = (f"Le prêt est adossé à l'échéance du {long_date(view.tranche_date)} de la convention de "
                    f"subvention {view.convention} de l'emprunteur, dont l'encaissement sert au remboursement.")
    else:
        security = "Le prêt n'est adossé à aucune échéance de subvention."
    decisions = []
    if view.decision:
        body = view.decision_body or "conseil d'administration"
        day = f" du {long_date(view.decided_on)}" if view.decided_on else ""
        decisions.append(f"pour le prêteur, décision {view.decision} ({body}){day}")
    if view.borrower_decision:
        day = f" du {long_date(view.borrower_decision_date)}" if view.borrower_decision_date else ""
        decisions.append(f"pour l'emprunteur, décision {view.borrower_decision} ({view.borrower_body}){day}")
    approval = ("La présente convention est approuvée selon la procédure des conventions réglementées (article "
                "L612-5 du code de commerce) : " + ("; ".join(decisions) if decisions else "décision à venir") + ".")
    story = [*_article("Article 5 — Garantie", security, st), *_article("Article 6 — Approbation", approval, st)]
    refs = ("Article L511-6 1° bis du Code monétaire et financier (loi n° 2024-344 du 15 avril 2024, article 8) ; "
            "article R511-2-1-4 du même code (décret n° 2025-779) : taux au plus le TMOP, durée au plus cinq ans, "
            "total des prêts d'un exercice au plus 50 % de la trésorerie nette disponible du prêteur à son "
            "ouverture, absence de dépendance financière de l'emprunteur, attestation du commissaire aux comptes "
            "ou de l'expert-comptable du prêteur, mention au rapport de gestion et à l'annexe ; article L612-5 du "
            "code de commerce.")
    if view.principal > FORM_2062_THRESHOLD:
        refs += " Le prêt dépassant 5 000 €, il est déclaré sur le formulaire n° 2062 (article 242 ter du CGI)."
    story += _article("Article 7 — Références légales", refs, st)
    return story


def _signatures(contract: Contract, st: pdfstyle.Styles) -> list[Flowable]:
    width = pdfstyle.content_width()
    rows = [["Pour le prêteur", "Pour l'emprunteur"],
            [contract.lender.name, contract.borrower.name],
            ["Nom, qualité :", "Nom, qualité :"],
            ["Fait à ............, le ............", "Fait à ............, le ............"],
            ["Signature :", "Signature :"]]
    grid = pdfstyle.table(rows, [width / 2, width / 2], numeric_from=2)
    grid.setStyle([("BOTTOMPADDING", (0, 4), (-1, 4), 20 * mm)])
    return [KeepTogether([pdfstyle.paragraph("Signatures", st.heading),
                          pdfstyle.paragraph("En deux exemplaires originaux.", st.small), Spacer(1, 2 * mm), grid])]


def render_convention(contract: Contract) -> bytes:
    """The contract's PDF bytes (reportlab invariant mode: same data, same bytes)."""
    st = pdfstyle.styles()
    view = contract.view
    story: list[Flowable] = [
        pdfstyle.paragraph(f"Convention de prêt {view.id}", st.title),
        pdfstyle.paragraph(f"Prêt de {fr_money(view.principal)} de {contract.lender.name} à {contract.borrower.name}",
                           st.subtitle),
        *_parties(contract, st), *_terms(contract, st), *_security_and_approval(contract, st),
        *_signatures(contract, st),
    ]
    footer = f"Convention de prêt {view.id} — {contract.group_name} — BanquAsso"
    return pdfstyle.build_pdf(story, title=f"Convention de prêt {view.id}", author=contract.group_name,
                              footer=footer, subject=f"{contract.lender.name} → {contract.borrower.name}")
