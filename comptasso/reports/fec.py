"""The FEC (fichier des écritures comptables, article A47 A-1 of the LPF) of one member for one year."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from beancount.core import data

from comptasso.model.chart import has_prefix, is_treasury, pcg_number
from comptasso.money import ZERO, cents
from comptasso.problems import Problem
from comptasso.reports.annual import (
    BALANCE_SHEET_ROOTS,
    carried_results,
    posting_amount,
    transactions,
)
from comptasso.reports.period import CALENDAR, FinancialYear

FIELDS: tuple[str, ...] = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
)
SEPARATOR = "\t"
NUMBER_WIDTH = 8  # CompteNum: the PCG number right-padded with zeros to 8 digits
ENTRY_NUMBER_WIDTH = 6
AUXILIARY_PREFIXES = ("401", "411")  # suppliers and customers: one auxiliary account per third party

JOURNALS: dict[str, str] = {
    "AN": "À nouveaux",
    "BQ": "Banque",
    "VT": "Ventes",
    "AC": "Achats",
    "OD": "Opérations diverses",
}

# Accounts of the carried-forward results when the ledger has none of that number.
CARRIED_ACCOUNTS: dict[str, str] = {
    "110": "Report à nouveau (solde créditeur)",
    "119": "Report à nouveau (solde débiteur)",
    "120": "Résultat de l'exercice (excédent)",
    "129": "Résultat de l'exercice (déficit)",
}


# --- Accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FecAccount:
    """How a Beancount account is written in the FEC: general account and optional auxiliary."""

    num: str
    lib: str
    aux_num: str = ""
    aux_lib: str = ""


def one_line(text: str) -> str:
    """No tab, carriage return or newline inside a field: each becomes a space."""
    return re.sub(r"\s+", " ", text).strip()


def label_of(component_path: Sequence[str]) -> str:
    """`['512-CreditCoop']` → `CreditCoop`.

    `['441-Subventions-A-Recevoir', 'Region-Sud']` → `Subventions A Recevoir Region Sud`.
    """
    words = [re.sub(r"^\d+-?", "", part).replace("-", " ").strip() for part in component_path]
    return one_line(" ".join(w for w in words if w)) or "Compte"


def split_account(account: str) -> tuple[str, str | None]:
    """(general account, auxiliary component) — the auxiliary part only below 401/411."""
    parts = account.split(":")
    for index in range(len(parts) - 1, 0, -1):
        if re.match(r"^\d", parts[index]):
            if has_prefix(account, *AUXILIARY_PREFIXES) and index + 1 < len(parts):
                return ":".join(parts[: index + 1]), ":".join(parts[index + 1:])
            return account, None
    return account, None


def _numbered_tail(account: str) -> list[str]:
    """The components from the deepest numbered one down (the whole path below the root if none)."""
    parts = account.split(":")
    starts = [i for i in range(1, len(parts)) if re.match(r"^\d", parts[i])]
    return parts[starts[-1]:] if starts else parts[1:]


def padded(number: str) -> str:
    """The FEC CompteNum of a PCG number: right-padded with zeros to 8 digits (longer ones kept)."""
    return number.ljust(NUMBER_WIDTH, "0")


def account_numbers(accounts: Iterable[str], names: dict[str, str],
                    opened: dict[str, dt.date] | None = None) -> dict[str, FecAccount]:
    """CompteNum/CompteLib (and auxiliary) of every account, one distinct number per general account.

    General accounts sharing a PCG number (`512-CreditCoop`, `512-Banque-Postale`) get the padded
    number plus 0, 1, 2… in the order they were opened, then of their names, so one CompteNum always
    has one CompteLib and an account opened later never renumbers the older ones.
    """
    opened = opened or {}
    generals: dict[str, str] = {}
    for account in sorted(set(accounts)):
        general, _ = split_account(account)
        number = pcg_number(general)
        if number is not None:
            generals.setdefault(general, number)
    taken: set[str] = set()
    nums: dict[str, str] = {}
    never = dt.date.max
    for general, number in sorted(generals.items(),
                                  key=lambda kv: (padded(kv[1]), opened.get(kv[0], never), kv[0])):
        candidate = padded(number)
        while candidate in taken:
            candidate = str(int(candidate) + 1).rjust(len(candidate), "0")
        taken.add(candidate)
        nums[general] = candidate
    out: dict[str, FecAccount] = {}
    for account in set(accounts):
        general, aux = split_account(account)
        num = nums.get(general, "")
        lib = one_line(names.get(general, "")) or label_of(_numbered_tail(general))
        if aux:
            aux_lib = one_line(names.get(account, "")) or label_of(aux.split(":"))
            out[account] = FecAccount(num, lib, one_line(aux), aux_lib)
        else:
            out[account] = FecAccount(num, lib)
    return out


def open_names(entries: Iterable[data.Directive]) -> dict[str, str]:
    """The `name` metadata of open directives: the account's label in the FEC."""
    return {e.account: str(e.meta["name"]) for e in entries
            if isinstance(e, data.Open) and isinstance(e.meta.get("name"), str)}


# --- Journals -----------------------------------------------------------------------------------


def is_opening(entry: data.Transaction, first_day: dt.date) -> bool:
    """The ledger's own opening entry: on its first day, balance-sheet accounts only, against 10x/11x."""
    if entry.date != first_day:
        return False
    roots = {p.account.split(":", 1)[0] for p in entry.postings}
    return roots <= BALANCE_SHEET_ROOTS and any(
        p.account.startswith("Equity:") and has_prefix(p.account, "10", "11") for p in entry.postings)


def journal_code(entry: data.Transaction, first_day: dt.date) -> str:
    """AN opening, BQ treasury, VT sales (411/70), AC purchases (401/60-62), OD otherwise."""
    accounts = [p.account for p in entry.postings]
    if is_opening(entry, first_day):
        return "AN"
    if any(is_treasury(a) for a in accounts):
        return "BQ"
    if any(has_prefix(a, "411", "70") for a in accounts):
        return "VT"
    if any(has_prefix(a, "401", "60", "61", "62") for a in accounts):
        return "AC"
    return "OD"


# --- Lettering ----------------------------------------------------------------------------------


def invoice_link(entry: data.Transaction) -> str | None:
    """The link that letters an entry's third-party lines: the first of its links (None without any)."""
    return min(entry.links) if entry.links else None


def lettering(entries: Sequence[data.Transaction], end: dt.date) -> dict[tuple[str, str], dt.date]:
    """(401/411 account, link) pairs whose linked postings net to zero by `end`, with the clearing date."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    last: dict[tuple[str, str], dt.date] = {}
    for entry in entries:
        link = invoice_link(entry)
        if entry.date > end or link is None:
            continue
        for posting in entry.postings:
            if has_prefix(posting.account, *AUXILIARY_PREFIXES):
                key = (posting.account, link)
                totals[key] += posting_amount(posting)
                last[key] = max(last.get(key, entry.date), entry.date)
    return {key: last[key] for key, total in totals.items() if total == 0}


# --- The file -----------------------------------------------------------------------------------


def fec_amount(value: Decimal) -> str:
    """`1234.5` → `1234,50`: decimal comma, no thousands separator."""
    return f"{cents(value):.2f}".replace(".", ",")


def fec_date(day: dt.date) -> str:
    """AAAAMMJJ."""
    return day.strftime("%Y%m%d")


@dataclass(frozen=True)
class Fec:
    """One year's FEC: its rows (18 text fields each) and what the description file states."""

    siren: str
    year: int
    start: dt.date
    closing: dt.date
    rows: tuple[tuple[str, ...], ...]
    entries: int
    total_debit: Decimal
    total_credit: Decimal
    journals: tuple[str, ...]
    problems: tuple[Problem, ...]

    encoding: str = "utf-8"
    validated: dt.date | None = None
    #: Characters written otherwise because the encoding lacks them (ISO 8859-15): (character, count).
    transliterated: tuple[tuple[str, int], ...] = ()

    @property
    def filename(self) -> str:
        return f"{self.siren}FEC{fec_date(self.closing)}.txt"

    def data(self) -> bytes:
        """The file's bytes in its encoding (every character already representable in it)."""
        return self.text().encode(self.encoding)

    @property
    def description_filename(self) -> str:
        return f"{self.siren}FEC{fec_date(self.closing)}-description.txt"

    def text(self) -> str:
        lines = [SEPARATOR.join(FIELDS)] + [SEPARATOR.join(row) for row in self.rows]
        return "\n".join(lines) + "\n"


#: Metadata keys that name an entry's voucher, in order of preference.
PIECE_KEYS = ("piece", "document", "facture", "convention", "advance", "import-id", "import-source")


def piece_ref(entry: data.Transaction, number: str) -> str:
    """PieceRef: the entry's link (its invoice), else its document, else a voucher named in its metadata.

    Only an entry with none of them falls back on its own number.
    """
    if entry.links:
        return one_line(min(entry.links))
    for key in PIECE_KEYS:
        value = entry.meta.get(key)
        if isinstance(value, str) and value.strip():
            return one_line(value.rsplit("/", 1)[-1] if key == "document" else value)
    return number


def _piece_date(entry: data.Transaction) -> dt.date:
    value = entry.meta.get("piece-date")
    return value if isinstance(value, dt.date) else entry.date


def _label(entry: data.Transaction) -> str:
    parts = [p for p in (entry.payee, entry.narration) if p]
    return one_line(" - ".join(parts))


@dataclass(frozen=True)
class _Line:
    """One line of a draft entry: account, amount, the posting it comes from, the invoice link it letters."""

    account: str
    amount: Decimal
    posting: data.Posting | None = None
    link: str | None = None


@dataclass(frozen=True)
class _Draft:
    """An entry before numbering: journal, date, label, the entry it comes from and its lines."""

    journal: str
    date: dt.date
    label: str
    entry: data.Transaction | None
    lines: tuple[_Line, ...]


def opening_lines(entries: Sequence[data.Directive], start: dt.date) -> list[_Line]:
    """Balance-sheet balances the day before `start`, third-party accounts detailed per open invoice.

    A 401/411 balance is split by the invoice link of its postings, so an invoice carried over keeps
    its link and can be lettered with its payment in the new year.
    """
    sums: dict[tuple[str, str | None], Decimal] = defaultdict(lambda: ZERO)
    for entry in transactions(entries):
        if entry.date >= start:
            continue
        link = invoice_link(entry)
        for posting in entry.postings:
            if posting.account.split(":", 1)[0] in BALANCE_SHEET_ROOTS:
                detail = link if has_prefix(posting.account, *AUXILIARY_PREFIXES) else None
                sums[(posting.account, detail)] += posting_amount(posting)
    return [_Line(account, value, None, link)
            for (account, link), value in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
            if value != 0]


def _opening_draft(entries: Sequence[data.Directive], period: FinancialYear,
                   numbered: dict[str, str]) -> _Draft | None:
    """Balance-sheet balances at the end of the previous year, and the results carried into this one."""
    lines = opening_lines(entries, period.start)
    if not any(e.date < period.start for e in transactions(entries)):
        return None
    carried = carried_results(entries, period.year, period.first)
    for value, credit_number, debit_number in ((carried.earlier_years, "110", "119"),
                                               (carried.previous_year, "120", "129")):
        if value != 0:
            number = credit_number if value > 0 else debit_number
            lines.append(_Line(numbered.get(number, f"#{number}"), -value))
    if not lines:
        return None
    return _Draft("AN", period.start, f"À nouveaux au {period.start.strftime('%d/%m/%Y')}", None, tuple(lines))


def _carry_accounts(accounts: Iterable[str]) -> dict[str, str]:
    """Ledger accounts numbered 110/119/120/129 (the first by name), used for the carried results."""
    out: dict[str, str] = {}
    for account in sorted(accounts):
        number = pcg_number(account)
        if number in CARRIED_ACCOUNTS and account.startswith(("Equity:", "Liabilities:")):
            out.setdefault(number, account)
    return out


#: What ISO 8859-15 lacks among the characters of French ledgers, and how it is written instead.
_TRANSLITERATION = {"\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2010": "-", "\u2011": "-",
                    "\u2019": "'", "\u2018": "'", "\u201a": ",", "\u201c": '"', "\u201d": '"',
                    "\u201e": '"', "\u2026": "...", "\u202f": " ", "\u2009": " ", "\u2022": "-",
                    "\u2122": "TM"}
ENCODINGS = ("utf-8", "iso-8859-15")


def transliterate(text: str, encoding: str, counts: dict[str, int]) -> str:
    """`text` with every character `encoding` cannot write replaced (— → -, ’ → ', accents kept when possible)."""
    if encoding == "utf-8":
        return text
    out = []
    for char in text:
        try:
            char.encode(encoding)
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        counts[char] = counts.get(char, 0) + 1
        replacement = _TRANSLITERATION.get(char)
        if replacement is None:
            decomposed = unicodedata.normalize("NFKD", char)
            replacement = "".join(c for c in decomposed if c.encode(encoding, "ignore")) or "?"
        out.append(replacement)
    return "".join(out)


def _rows(drafts: Sequence[_Draft], fec_accounts: dict[str, FecAccount], letters: dict[tuple[str, str], dt.date],
          period: FinancialYear, encoding: str, validated: dt.date | None,
          counts: dict[str, int]) -> list[tuple[str, ...]]:
    """The 18 fields of every line of the numbered drafts (`counts` gets the transliterated characters)."""
    rows: list[tuple[str, ...]] = []
    for index, draft in enumerate(drafts, start=1):
        number = str(index).rjust(ENTRY_NUMBER_WIDTH, "0")
        piece = piece_ref(draft.entry, number) if draft.entry else f"AN{period.label}"
        piece_date = _piece_date(draft.entry) if draft.entry else draft.date
        for line in draft.lines:
            acc = fec_accounts[line.account]
            debit, credit = (line.amount, ZERO) if line.amount > 0 else (ZERO, -line.amount)
            cleared = letters.get((line.account, line.link)) if line.link else None
            let, date_let = (one_line(line.link), fec_date(cleared)) if cleared and line.link else ("", "")
            label = draft.label or acc.lib
            if draft.entry is None and line.link:
                label = f"{label} - {line.link}"
            devise, idevise = "", ""
            posting = line.posting
            if posting is not None and posting.units is not None and posting.units.currency != "EUR":
                devise, idevise = fec_amount(posting.units.number or ZERO), posting.units.currency
            row = (draft.journal, JOURNALS[draft.journal], number, fec_date(draft.date), acc.num, acc.lib,
                   acc.aux_num, acc.aux_lib, piece, fec_date(piece_date), one_line(label),
                   fec_amount(debit), fec_amount(credit), let, date_let,
                   fec_date(validated or draft.date), devise, idevise)
            rows.append(tuple(transliterate(field, encoding, counts) for field in row))
    return rows


def build_fec(entries: Sequence[data.Directive], year: int, as_of: dt.date, siren: str,
              where: str = "", *, year_start: tuple[int, int] = CALENDAR, encoding: str = "utf-8",
              validated: dt.date | None = None) -> Fec:
    """The FEC of the year closing in `year` from a member's entries read as of `as_of` (opening first).

    `validated` is the date the year was closed (ValidDate of every line); without it ValidDate is the
    entry's date. `encoding` is UTF-8 or ISO 8859-15 (characters it lacks are transliterated).
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encodage non pris en charge « {encoding} » ({', '.join(ENCODINGS)})")
    period = FinancialYear.closing_in(year, year_start)
    start, closing = period.start, period.end
    end = min(as_of, closing)
    known = [e for e in entries if e.date <= end]
    txns = transactions(known)
    problems: list[Problem] = []
    if as_of < closing:
        problems.append(Problem(where, 0, f"exercice {period.label} non terminé à la date de lecture "
                                          f"{as_of.strftime('%d/%m/%Y')} : FEC provisoire", "warning",
                                "year-not-ended"))
    first_day = min((e.date for e in txns), default=start)
    all_accounts = {p.account for e in txns for p in e.postings} | {
        e.account for e in known if isinstance(e, data.Open)}
    carry = _carry_accounts(all_accounts)
    opening = _opening_draft(known, period, carry)
    drafts: list[_Draft] = [opening] if opening else []
    pending = 0
    for entry in txns:
        if entry.date not in period:
            continue
        link = invoice_link(entry)
        lines = tuple(_Line(p.account, posting_amount(p), p, link) for p in entry.postings
                      if posting_amount(p) != 0)
        if not lines:
            continue
        pending += entry.flag == "!"
        drafts.append(_Draft(journal_code(entry, first_day), entry.date, _label(entry), entry, lines))
    if pending:
        problems.append(Problem(where, 0, f"{pending} écriture(s) de {period.label} encore marquée(s) « ! » "
                                          "(à confirmer) figurent dans le FEC", "warning", "pending-entry"))
    drafts.sort(key=lambda d: (d.date, d.journal != "AN"))
    # Numbered over every account of the ledger, so an account keeps its CompteNum from year to year.
    opened = {e.account: e.date for e in known if isinstance(e, data.Open)}
    fec_accounts = account_numbers(all_accounts, open_names(known), opened)
    for number, lib in CARRIED_ACCOUNTS.items():
        fec_accounts[f"#{number}"] = FecAccount(padded(number), lib)
    letters = lettering(txns, closing)
    counts: dict[str, int] = {}
    rows = _rows(drafts, fec_accounts, letters, period, encoding, validated, counts)
    total_debit = sum((cents(Decimal(r[11].replace(",", "."))) for r in rows), ZERO)
    total_credit = sum((cents(Decimal(r[12].replace(",", "."))) for r in rows), ZERO)
    if counts:
        shown = ", ".join(f"« {c} » ×{n}" for c, n in sorted(counts.items()))
        problems.append(Problem(where, 0, f"FEC en {encoding.upper()} : caractères absents de cet encodage "
                                          f"remplacés ({shown})", "warning", "fec-transliterated"))
    journals = tuple(sorted({d.journal for d in drafts}))
    return Fec(siren, period.year, start, closing, tuple(rows), len(drafts), total_debit, total_credit,
               journals, tuple(problems), encoding, validated, tuple(sorted(counts.items())))


ENCODING_NAMES = {"utf-8": "UTF-8", "iso-8859-15": "ISO 8859-15 (Latin-9)"}


def _valid_date_note(fec: Fec) -> str:
    if fec.validated:
        return f"date de clôture (validation) de l'exercice, le {fec.validated:%d/%m/%Y}"
    return "date de l'écriture (exercice non clôturé)"


def _transliteration_note(fec: Fec) -> str:
    if not fec.transliterated:
        return ""
    shown = ", ".join(f"« {c} » (U+{ord(c):04X})" for c, _ in fec.transliterated)
    return f"\n  Caractères absents de l'encodage, remplacés par leur équivalent le plus proche : {shown}."


def description(fec: Fec, member_name: str, generated_as_of: dt.date) -> str:
    """The description of the file that the administration requires with a flat-file FEC (French)."""
    digest = hashlib.sha256(fec.data()).hexdigest()
    journals = "\n".join(f"  {code}  {JOURNALS[code]}" for code in fec.journals) or "  (aucun)"
    fields = "\n".join(f"  {i:2d}. {name}" for i, name in enumerate(FIELDS, start=1))
    return f"""DESCRIPTION DU FICHIER DES ÉCRITURES COMPTABLES
(article A47 A-1 du Livre des procédures fiscales)

Association : {member_name}
SIREN : {fec.siren}
Exercice : du {fec.start.strftime('%d/%m/%Y')} au {fec.closing.strftime('%d/%m/%Y')}
Fichier : {fec.filename}
Empreinte SHA-256 : {digest}
Établi à partir des livres lus au {generated_as_of.strftime('%d/%m/%Y')} par Comptasso.

Format
  Fichier texte à plat, encodage {ENCODING_NAMES[fec.encoding]}, une ligne par ligne d'écriture,
  fin de ligne LF.{_transliteration_note(fec)}
  Première ligne : les noms des 18 champs. Séparateur de champs : tabulation.
  Dates au format AAAAMMJJ. Montants avec une virgule décimale, sans séparateur de milliers,
  toujours positifs : le sens est donné par la colonne Debit ou Credit.
  Aucun champ ne contient de tabulation ni de retour à la ligne.

Champs, dans l'ordre
{fields}

Conventions
  EcritureNum : numéro continu sur tout l'exercice (000001, 000002…), dans l'ordre chronologique ;
    les à-nouveaux (journal AN) sont la première écriture.
  CompteNum : numéro du plan comptable associatif complété à droite par des zéros sur 8 chiffres ;
    deux comptes de même numéro reçoivent des numéros consécutifs (51200000, 51200001).
  CompAuxNum / CompAuxLib : compte auxiliaire du tiers pour les comptes 401 (fournisseurs)
    et 411 (usagers, clients).
  PieceRef : lien de la pièce (facture), sinon référence de convention, d'avance ou de relevé.
  EcritureLet / DateLet : lettrage des comptes de tiers par le lien de la facture, quand la facture
    est soldée à la clôture.
  ValidDate : {_valid_date_note(fec)}.
  Montantdevise / Idevise : vides (toutes les écritures en euros).
  À-nouveaux : soldes des comptes de bilan au {(fec.start - dt.timedelta(days=1)).strftime('%d/%m/%Y')} ;
    le résultat de l'exercice précédent en 120 (excédent) ou 129 (déficit), les résultats antérieurs
    en 110 (report à nouveau créditeur) ou 119 (débiteur).

Journaux
{journals}

Totaux
  Écritures : {fec.entries}
  Lignes : {len(fec.rows)}
  Total débit : {fec_amount(fec.total_debit)}
  Total crédit : {fec_amount(fec.total_credit)}
"""
