"""The board's monthly statement as an A4 PDF in French (reportlab platypus, same data → same bytes)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Paragraph, Spacer

from banquasso.pool.capacity import WINDOWS
from banquasso.registry.snapshot import AdvanceView
from banquasso.statement.charts import forecast_chart
from banquasso.statement.data import DUE_SOON_DAYS, MemberPage, StatementData, delinquency_section
from banquasso.watch.accuracy import BUCKETS, Accuracy
from banquasso.watch.monitoring import AdvanceOnDay
from comptasso.money import fr_date, fr_money, fr_number
from comptasso.reports import pdfstyle

METHODS = {"bullet": "in fine", "on-receipt": "à l'encaissement", "linear": "linéaire", "annuity": "annuités"}


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return pdfstyle.paragraph(text, style)


def _money(value: Decimal | None) -> str:
    return "—" if value is None else fr_money(value)


def _rate(value: Decimal) -> str:
    return f"{fr_number(value * 100, 2)} %"


def _chart_width() -> float:
    return pdfstyle.content_width()


def _name(data: StatementData, member_id: str) -> str:
    """A member as the statement names it: its name from group.toml (its id only when it has none)."""
    return data.names.get(member_id, member_id)


def _parties(data: StatementData, view: AdvanceView) -> str:
    """`Prêteur → Emprunteur`, by name."""
    return f"{_name(data, view.lender)} → {_name(data, view.borrower)}"


def _security(view: AdvanceView) -> str:
    """The tranche securing an advance, or a dash."""
    if view.convention is None:
        return "—"
    return view.convention + (f", échéance du {fr_date(view.tranche_date)}" if view.tranche_date else "")


# ----------------------------------------------------------------------------------------------- cover


def _cover(data: StatementData) -> list[Flowable]:
    st = pdfstyle.styles()
    forecast = data.forecast
    end = forecast.as_of + dt.timedelta(days=forecast.horizon_days)
    story: list[Flowable] = [
        _p(f"Relevé mensuel de la trésorerie mutualisée — {data.month.label}", st.title),
        _p(f"{data.group_name} · Livres arrêtés au {fr_date(data.books_date)} · "
           f"Prévision du {fr_date(forecast.as_of + dt.timedelta(days=1))} au {fr_date(end)} "
           f"({forecast.horizon_days} jours)", st.subtitle),
        _p("La trésorerie mutualisée", st.heading),
    ]
    due = data.due_soon
    rows = [
        ["Indicateur", "Montant"],
        ["Trésorerie du groupe (comptes 51 et 53 de tous les membres)", fr_money(forecast.opening_balance)],
        *[[f"Capacité de prêt du groupe sur {w} jours", fr_money(data.pool_capacity[w])] for w in WINDOWS],
        [f"Avances en cours ({len(data.running)}) : capital restant dû", fr_money(data.outstanding)],
        [f"Remboursements attendus dans les {DUE_SOON_DAYS} jours ({len(due)} échéance(s))",
         fr_money(sum((d.line.payment for d in due), Decimal(0)))],
        [f"Avances en retard ({len(data.late)})", fr_money(sum((a.outstanding for a in data.late), Decimal(0)))],
        ["Membres prévus sous leur plancher", str(len(data.under_floor))],
        ["Point bas prévu du groupe", f"{fr_money(forecast.min_balance)} le {fr_date(forecast.min_date)}"],
    ]
    width = pdfstyle.content_width()
    story.append(pdfstyle.table(rows, [width - 60 * mm, 60 * mm]))
    story += [_p("Les membres", st.heading), _members_table(data)]
    story += _decisions(data) + _due_soon(data) + _late(data) + _delinquency(data) + _under_floor(data) + _plan(data)
    story += [CondPageBreak(95 * mm), _p("Prévision du groupe sur 13 semaines", st.heading),
              forecast_chart(forecast.days, data.risk.group.band, forecast.floor, width=_chart_width(),
                             floor_label="Somme des planchers"),
              _p(f"Bande : 5e et 95e centiles, jour par jour, de {data.risk.scenarios} tirages de délais de "
                 f"paiement des financeurs (tirés de leurs délais observés, graine {data.risk.seed}). Probabilité "
                 f"que le groupe passe sous la somme des planchers : "
                 f"{fr_number(data.risk.group.probability_below_floor * 100, 1)} %.", st.small)]
    story += _accuracy(data)
    return story


def _members_table(data: StatementData) -> Flowable:
    rows = [["Membre", "Trésorerie", "Plancher", "Point bas\nprévu", "Date du\npoint bas", "Jours sous\nle plancher"]]
    rows += [[member.name, fr_money(member.opening_balance), fr_money(member.floor),
              fr_money(member.min_balance), fr_date(member.min_date), str(member.days_below_floor)]
             for member in data.forecast.members]
    rows.append(["Groupe", fr_money(data.forecast.opening_balance), fr_money(data.forecast.floor),
                 fr_money(data.forecast.min_balance), fr_date(data.forecast.min_date),
                 str(data.forecast.days_below_floor)])
    width = pdfstyle.content_width()
    return pdfstyle.table(rows, [width - 128 * mm, 27 * mm, 25 * mm, 27 * mm, 19 * mm, 30 * mm],
                          bold_rows=[len(rows) - 1])


def _due_soon(data: StatementData) -> list[Flowable]:
    st = pdfstyle.styles()
    story: list[Flowable] = [_p(f"Remboursements attendus dans les {DUE_SOON_DAYS} jours", st.heading)]
    if not data.due_soon:
        return [*story, _p("Aucun remboursement n'est attendu dans les 30 jours.", st.body)]
    rows = [["Avance", "Prêteur → emprunteur", "Échéance", "Date", "Capital", "Intérêts"]]
    for item in data.due_soon:
        view, line = item.advance.view, item.line
        when = fr_date(line.date) + (" (prévue)" if line.planned else "")
        rows.append([view.id, _parties(data, view), str(line.n), when,
                     fr_money(line.principal), fr_money(line.interest)])
    width = pdfstyle.content_width()
    return [*story, pdfstyle.table(rows, [28 * mm, width - 124 * mm, 16 * mm, 28 * mm, 28 * mm, 24 * mm],
                                   numeric_from=2)]


# parties and guarantee read as text (left), amount and dates as figures (right)
PROPOSAL_ALIGN: tuple[pdfstyle.Align, ...] = ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT")


def _proposal_widths(width: float) -> list[float]:
    """Columns of a table of proposals: id, parties (the rest), amount, two dates, security."""
    return [25 * mm, width - 127 * mm, 23 * mm, 19 * mm, 19 * mm, 41 * mm]


def _decisions(data: StatementData) -> list[Flowable]:
    """The proposals recorded in the registry that each lender's board has to approve or reject."""
    st = pdfstyle.styles()
    story: list[Flowable] = [CondPageBreak(40 * mm), _p("Décisions à prendre au prochain conseil", st.heading)]
    if not data.decisions:
        return [*story, _p("Aucune proposition d'avance n'attend de décision au "
                           f"{fr_date(data.books_date)}.", st.body)]
    rows = [["Avance", "Prêteur → emprunteur", "Montant", "Versement", "Rembour-\nsement", "Garantie"]]
    for advance in data.decisions:
        view = advance.view
        rows.append([view.id, _parties(data, view), fr_money(view.principal), fr_date(view.disburse_on),
                     fr_date(view.repay_on), _security(view)])
    width = pdfstyle.content_width()
    total = sum((a.view.principal for a in data.decisions), Decimal(0))
    return [*story, pdfstyle.table(rows, _proposal_widths(width), align=PROPOSAL_ALIGN),
            _p(f"{len(data.decisions)} proposition(s), {fr_money(total)} au total. Le conseil de chaque prêteur "
               "approuve (banquasso advance approve, avec le numéro de sa délibération) ou rejette "
               "(banquasso advance reject) ; rien n'est versé avant son approbation.", st.small)]


def _late(data: StatementData) -> list[Flowable]:
    st = pdfstyle.styles()
    story: list[Flowable] = [_p("Avances en retard", st.heading)]
    if not data.late:
        return [*story, _p("Aucune avance en retard.", st.body)]
    rows = [["Avance", "Prêteur → emprunteur", "En retard depuis", "Restant dû"]]
    for advance in data.late:
        view = advance.view
        rows.append([view.id, _parties(data, view), fr_date(advance.late_since or advance.day),
                     fr_money(advance.outstanding)])
    width = pdfstyle.content_width()
    return [*story, pdfstyle.table(rows, [28 * mm, width - 92 * mm, 32 * mm, 32 * mm], numeric_from=2)]


def _delinquency(data: StatementData) -> list[Flowable]:
    """The delinquency buckets of the running advances (1–30, 31–90, over 90 days past their due date)."""
    st = pdfstyle.styles()
    story: list[Flowable] = [_p("Ancienneté des retards de remboursement", st.heading)]
    buckets = delinquency_section(data.advances)
    if not any(b.count for b in buckets):
        return [*story, _p("Aucune avance en cours n'a d'échéance impayée.", st.body)]
    labels = {"1-30": "1 à 30 jours", "31-90": "31 à 90 jours", "90+": "plus de 90 jours"}
    rows = [["Retard depuis la première échéance impayée", "Avances", "Restant dû"]]
    rows += [[labels.get(b.label, b.label), str(b.count), fr_money(b.outstanding)] for b in buckets]
    width = pdfstyle.content_width()
    return [*story, pdfstyle.table(rows, [width - 64 * mm, 24 * mm, 40 * mm], numeric_from=1)]


def _under_floor(data: StatementData) -> list[Flowable]:
    st = pdfstyle.styles()
    story: list[Flowable] = [_p("Membres prévus sous leur plancher", st.heading)]
    members = [m for m in data.forecast.members if m.below_floor]
    if not members:
        return [*story, _p("Aucun membre n'est prévu sous son plancher sur les 13 semaines.", st.body)]
    rows = [["Membre", "Plancher", "Sous le plancher dès le", "Point bas", "Le"]]
    rows += [[m.name, fr_money(m.floor), fr_date(m.below_floor[0]), fr_money(m.min_balance), fr_date(m.min_date)]
             for m in members]
    width = pdfstyle.content_width()
    return [*story, pdfstyle.table(rows, [width - 112 * mm, 27 * mm, 36 * mm, 27 * mm, 22 * mm])]


def _plan(data: StatementData) -> list[Flowable]:
    """The advances the plan of the day proposes, and the needs it leaves unmet with their reason."""
    st = pdfstyle.styles()
    plan = data.plan
    if plan is None:
        return []
    story: list[Flowable] = [_p("Avances proposées par le plan du jour", st.heading)]
    width = pdfstyle.content_width()
    if plan.advances:
        rows = [["Prêteur", "Emprunteur", "Montant", "Versement", "Remboursement", "Garantie"]]
        for advance in plan.advances:
            security = advance.security
            rows.append([_p(data.names.get(advance.lender, advance.lender), st.small),
                         _p(data.names.get(advance.borrower, advance.borrower), st.small), fr_money(advance.amount),
                         fr_date(advance.disburse_on), fr_date(advance.repay_on),
                         _p(f"{security.convention}, {fr_date(security.tranche_date)}", st.small)])
        rows[0][4] = "Rembour-\nsement"
        story.append(pdfstyle.table(rows, [34 * mm, 34 * mm, 23 * mm, 20 * mm, 20 * mm, width - 131 * mm],
                                    align=PROPOSAL_ALIGN))
    else:
        story.append(_p("Le plan ne propose aucune avance.", st.body))
    if plan.unmet:
        rows = [["Membre", "Du", "Au", "Non couvert", "Raison"]]
        for unmet in plan.unmet:
            need = unmet.need
            rows.append([_p(data.names.get(need.member, need.member), st.small), fr_date(need.start), fr_date(need.end),
                         fr_money(unmet.amount), _p(unmet.text, st.small)])
        story += [Spacer(1, 3 * mm), _p("Besoins non couverts", st.body),
                  pdfstyle.table(rows, [34 * mm, 20 * mm, 20 * mm, 23 * mm, width - 97 * mm])]
    story.append(_p(f"Besoin total : {fr_money(plan.total_need)} ; couvert : {fr_money(plan.total_covered)} ; "
                    f"non couvert : {fr_money(plan.total_unmet)}. Une avance proposée n'engage personne tant que "
                    "le conseil du prêteur ne l'a pas approuvée (banquasso advance approve).", st.small))
    return story


def _accuracy_row(name: str, item: Accuracy) -> list[str]:
    return [name, str(item.snapshots), str(item.days_compared),
            *(_money(item.bucket_error(first, last)) for _, first, last in BUCKETS), _money(item.bias)]


def _accuracy(data: StatementData) -> list[Flowable]:
    st = pdfstyle.styles()
    report = data.accuracy
    story: list[Flowable] = [CondPageBreak(60 * mm), _p("Fiabilité des prévisions passées", st.heading)]
    if report.empty:
        return [*story, _p("Ce tableau est vide : le registre ne contient aucune prévision enregistrée avant le "
                           f"{fr_date(data.books_date)}. Le planificateur (banquasso scheduler) en garde une "
                           "chaque matin ; dès qu'une prévision passée peut être comparée à la trésorerie "
                           "réellement constatée, ce tableau en montre l'écart.", st.body)]
    rows = [["Membre", "Prévisions", "Jours\ncomparés", "Écart à\n1–7 jours", "Écart à\n8–30 jours",
             "Écart à\n31–91 jours", "Biais"]]
    rows += [_accuracy_row(data.names.get(m.member, m.member), m) for m in report.members]
    rows.append(_accuracy_row("Groupe", report.group))
    width = pdfstyle.content_width()
    return [
        *story,
        pdfstyle.table(rows, [width - 137 * mm, 21 * mm, 20 * mm, 24 * mm, 24 * mm, 24 * mm, 24 * mm],
                       bold_rows=[len(rows) - 1]),
        _p("Écart : moyenne de |prévu - réel| des soldes quotidiens, selon l'éloignement du jour prévu. "
           "Biais : moyenne de prévu - réel (positif : prévisions trop optimistes).", st.small),
    ]


# ------------------------------------------------------------------------------------------ member page


def _advance_rows(data: StatementData, advances: Sequence[AdvanceOnDay], role: str) -> list[list[str]]:
    rows = [["Avance", role, "Montant", "Versée le", "Statut", "Restant dû"]]
    for advance in advances:
        view = advance.view
        other = view.borrower if role == "Emprunteur" else view.lender
        paid = view.disbursement
        rows.append([view.id, _name(data, other), fr_money(view.principal), fr_date(paid.date) if paid else "—",
                     advance.label, fr_money(advance.outstanding)])
    return rows


def _schedule_rows(advances: Sequence[AdvanceOnDay]) -> list[list[str]]:
    rows = [["Avance", "Échéance", "Date", "Capital", "Intérêts", "Total"]]
    for advance in advances:
        for line in advance.remaining:
            when = fr_date(line.date) + (" (prévue)" if line.planned else "")
            rows.append([advance.view.id, str(line.n), when, fr_money(line.principal), fr_money(line.interest),
                         fr_money(line.payment)])
    return rows


def _advances_block(data: StatementData, title: str, advances: Sequence[AdvanceOnDay],
                    role: str) -> list[Flowable]:
    st = pdfstyle.styles()
    width = pdfstyle.content_width()
    story: list[Flowable] = [_p(title, st.heading)]
    if not advances:
        return [*story, _p("Aucune.", st.body)]
    story.append(pdfstyle.table(_advance_rows(data, advances, role),
                                [28 * mm, width - 136 * mm, 28 * mm, 22 * mm, 30 * mm, 28 * mm], numeric_from=2))
    schedule = _schedule_rows(advances)
    if len(schedule) > 1:
        story += [Spacer(1, 2 * mm), _p("Échéancier restant", st.small),
                  pdfstyle.table(schedule, [28 * mm, 18 * mm, width - 148 * mm, 34 * mm, 30 * mm, 34 * mm],
                                 numeric_from=3)]
    return story


def _proposed_block(data: StatementData, page: MemberPage) -> list[Flowable]:
    """The proposals the member is a party to: not granted until the lender's board approves them."""
    st = pdfstyle.styles()
    story: list[Flowable] = [CondPageBreak(30 * mm),
                             _p("Avances proposées (en attente du conseil du prêteur)", st.heading)]
    if not page.proposed:
        return [*story, _p("Aucune.", st.body)]
    rows = [["Avance", "Prêteur → emprunteur", "Montant", "Versement", "Rembour-\nsement", "Garantie"]]
    for advance in page.proposed:
        view = advance.view
        rows.append([view.id, _parties(data, view), fr_money(view.principal), fr_date(view.disburse_on),
                     fr_date(view.repay_on), _security(view)])
    width = pdfstyle.content_width()
    return [*story, pdfstyle.table(rows, _proposal_widths(width), align=PROPOSAL_ALIGN)]


def _member_page(data: StatementData, page: MemberPage) -> list[Flowable]:
    st = pdfstyle.styles()
    member = data.forecast.members[page.forecast_index]
    width = pdfstyle.content_width()
    summary = [
        ["Trésorerie au " + fr_date(data.books_date), fr_money(page.treasury)],
        ["Plancher", fr_money(member.floor)],
        ["Point bas prévu", f"{fr_money(member.min_balance)} le {fr_date(member.min_date)}"],
        ["Jours sous le plancher (13 semaines)", str(member.days_below_floor)],
        ["Probabilité de passer sous le plancher (Monte Carlo)",
         f"{fr_number(page.risk.probability_below_floor * 100, 1)} %"],
        ["Peut prêter sur 90 jours", fr_money(page.lendable.get(90, Decimal(0)))],
        ["Avances consenties : restant dû", fr_money(page.lent_outstanding)],
        ["Avances reçues : restant dû", fr_money(page.borrowed_outstanding)],
    ]
    story: list[Flowable] = [
        _p(f"{page.name} ({page.id})", st.title),
        pdfstyle.table(summary, [width - 60 * mm, 60 * mm], header_rows=0),
        Spacer(1, 3 * mm),
        forecast_chart(member.days, page.risk.band, member.floor, width=_chart_width(), height=170),
        _p("Alertes", st.heading),
    ]
    story += [_p(f"• {a}", st.body) for a in page.alerts] or [
        _p("Aucune alerte.", st.body)]
    story += _advances_block(data, "Avances consenties", page.given, "Emprunteur")
    story += _advances_block(data, "Avances reçues", page.received, "Prêteur")
    story += _proposed_block(data, page)
    story.append(_p("Subventions attendues (échéances ouvertes)", st.heading))
    if page.tranches:
        rows = [["Convention", "Financeur", "Échéance", "Attendue le", "Reste à recevoir"]]
        rows += [[t.convention, t.funder, fr_date(t.due), fr_date(t.expected), fr_money(t.amount)]
                 for t in page.tranches]
        story.append(pdfstyle.table(rows, [34 * mm, width - 126 * mm, 24 * mm, 30 * mm, 38 * mm], numeric_from=2))
        story.append(_p("Attendue le : date de l'échéance décalée du délai médian observé du financeur.", st.small))
    else:
        story.append(_p("Aucune échéance de subvention ouverte.", st.body))
    return story


# ---------------------------------------------------------------------------------------------- annex


def _annex(data: StatementData) -> list[Flowable]:
    from banquasso.statement.legal_pdf import legal_table_flowables  # the attestation's table too

    st = pdfstyle.styles()
    story: list[Flowable] = [
        _p("Annexe — avances de trésorerie consenties", st.title),
        _p("Prêts et avances consentis à d'autres membres du groupement (loi n° 2024-344 ; décrets 2025-779 et "
           "2025-780) : chaque prêteur les mentionne dans l'annexe de ses comptes annuels. Sont listées les "
           "avances versées depuis l'ouverture de son exercice et celles encore dues ; la décision est celle du "
           "conseil qui l'a approuvée, à la date de sa réunion.", st.subtitle),
    ]
    if not data.annex:
        return [*story, _p("Aucune avance consentie sur l'exercice.", st.body)]
    story.extend(KeepTogether(legal_table_flowables(lender, st)) for lender in data.annex)
    return story


# --------------------------------------------------------------------------------------------- render


def render_statement(data: StatementData) -> bytes:
    """The statement's PDF bytes (reportlab invariant mode: the same data always gives the same bytes)."""
    story = _cover(data)
    for page in data.members:
        story += [PageBreak(), *_member_page(data, page)]
    story += [PageBreak(), *_annex(data)]
    title = f"Relevé mensuel {data.month.iso} — {data.group_name}"
    footer = f"{data.group_name} — relevé de {data.month.label} — livres au {fr_date(data.books_date)} — BanquAsso"
    return pdfstyle.build_pdf(story, title=title, author=data.group_name, footer=footer,
                              subject=f"Trésorerie mutualisée, {data.month.label}")


def write_atomically(path: Path, content: bytes) -> None:
    """Write bytes to `path` through a temporary file in the same folder and a rename (never half-written).

    Creates the folder; raises OSError when the folder cannot be created or written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temp).chmod(0o644)
        Path(temp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(temp).unlink()
        raise
