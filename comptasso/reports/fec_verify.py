"""Checking a FEC file: name, encoding, the 18 fields, formats, balance of entries, numbering, dates."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from comptasso.reports.fec import FIELDS
from comptasso.money import ZERO
from comptasso.problems import Problem

#: Every fault the verifier knows, by code, in French.
FAULTS: dict[str, str] = {
    "nom-fichier": "nom de fichier non conforme (attendu SIRENFECAAAAMMJJ.txt)",
    "encodage": "fichier non lisible en UTF-8",
    "vide": "aucune ligne d'écriture",
    "en-tete": "ligne d'en-tête différente des 18 champs de l'article A47 A-1",
    "nombre-champs": "nombre de champs différent de 18",
    "champ-obligatoire": "champ obligatoire vide",
    "date": "date invalide (attendu AAAAMMJJ)",
    "hors-exercice": "date d'écriture hors de l'exercice",
    "montant": "montant mal écrit (virgule décimale, sans séparateur de milliers, positif)",
    "debit-credit": "débit et crédit sur la même ligne",
    "compte": "numéro de compte non conforme (au moins 3 chiffres du plan comptable, classes 1 à 8)",
    "libelle-compte": "un même numéro de compte porte plusieurs libellés",
    "auxiliaire": "compte auxiliaire incomplet (CompAuxNum et CompAuxLib vont ensemble)",
    "lettrage": "lettrage incomplet (EcritureLet et DateLet vont ensemble)",
    "devise": "devise incomplète (Montantdevise et Idevise vont ensemble)",
    "desequilibre": "écriture déséquilibrée (total débit différent du total crédit)",
    "numerotation": "numérotation des écritures non continue",
    "ecriture-scindee": "lignes d'une même écriture non contiguës",
    "ecriture-incoherente": "lignes d'une même écriture de journal ou de date différents",
    "chronologie": "écritures hors de l'ordre chronologique",
    "a-nouveaux": "écriture d'à-nouveaux après d'autres écritures",
}

MANDATORY = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
             "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "ValidDate")
DATES = ("EcritureDate", "PieceDate", "ValidDate", "DateLet")
AMOUNTS = ("Debit", "Credit", "Montantdevise")
_NAME = re.compile(r"^(\d{9})FEC(\d{8})\.txt$")
_AMOUNT = re.compile(r"^\d+(,\d{1,2})?$")
_SIGNED_AMOUNT = re.compile(r"^-?\d+(,\d{1,2})?$")
_COMPTE = re.compile(r"^[1-8]\d{2}[0-9A-Za-z]*$")
_TRAILING_NUMBER = re.compile(r"(\d+)$")


@dataclass(frozen=True)
class Fault:
    """One fault of a FEC file, at a line (1 = header; 0 = the file as a whole)."""

    line: int
    code: str
    message: str

    def problem(self, file: str) -> Problem:
        return Problem(file, self.line, f"[{self.code}] {self.message}")


@dataclass(frozen=True)
class FecSummary:
    """What the verifier read: counts, totals and the year it checked dates against."""

    lines: int
    entries: int
    total_debit: Decimal
    total_credit: Decimal
    start: dt.date | None
    closing: dt.date | None


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ".")) if text else ZERO


def _date(text: str) -> dt.date | None:
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def year_from_name(path: Path) -> tuple[dt.date | None, dt.date | None]:
    """(first day, closing date) of the 12-month year whose closing date the file name carries."""
    match = _NAME.match(path.name)
    closing = _date(match.group(2)) if match else None
    if closing is None:
        return None, None
    try:
        start = closing.replace(year=closing.year - 1) + dt.timedelta(days=1)
    except ValueError:  # 29 February
        start = closing.replace(year=closing.year - 1, day=28) + dt.timedelta(days=1)
    return start, closing


class _Checker:
    """Accumulates faults line by line, then checks entries as wholes."""

    def __init__(self, start: dt.date | None, closing: dt.date | None):
        self.start, self.closing = start, closing
        self.faults: list[Fault] = []
        self.libs: dict[str, tuple[str, int]] = {}
        self.entries: dict[str, dict[str, object]] = {}
        self.order: list[str] = []
        self.total_debit = self.total_credit = ZERO
        self.lines = 0

    def fault(self, line: int, code: str, detail: str = "") -> None:
        message = FAULTS[code] + (f" : {detail}" if detail else "")
        self.faults.append(Fault(line, code, message))

    def row(self, number: int, values: list[str]) -> None:
        self.lines += 1
        if len(values) != len(FIELDS):
            self.fault(number, "nombre-champs", f"{len(values)} champ(s)")
            return
        row = dict(zip(FIELDS, values, strict=True))
        for name in MANDATORY:
            if not row[name].strip():
                self.fault(number, "champ-obligatoire", name)
        dates = {}
        for name in DATES:
            if row[name]:
                dates[name] = _date(row[name])
                if dates[name] is None:
                    self.fault(number, "date", f"{name} « {row[name]} »")
        day = dates.get("EcritureDate")
        if day and self.start and self.closing and not self.start <= day <= self.closing:
            self.fault(number, "hors-exercice", f"{row['EcritureDate']} hors du {self.start:%d/%m/%Y} "
                                                f"au {self.closing:%d/%m/%Y}")
        amounts_ok = True
        for name in AMOUNTS:
            pattern = _SIGNED_AMOUNT if name == "Montantdevise" else _AMOUNT
            if row[name] and not pattern.match(row[name]):
                self.fault(number, "montant", f"{name} « {row[name]} »")
                amounts_ok = False
        debit = _amount(row["Debit"]) if amounts_ok else ZERO
        credit = _amount(row["Credit"]) if amounts_ok else ZERO
        if debit and credit:
            self.fault(number, "debit-credit", f"{row['Debit']} / {row['Credit']}")
        self.total_debit += debit
        self.total_credit += credit
        if row["CompteNum"] and not _COMPTE.match(row["CompteNum"]):
            self.fault(number, "compte", f"« {row['CompteNum']} »")
        if row["CompteNum"]:
            seen = self.libs.setdefault(row["CompteNum"], (row["CompteLib"], number))
            if seen[0] != row["CompteLib"]:
                self.fault(number, "libelle-compte", f"{row['CompteNum']} « {row['CompteLib']} » "
                                                     f"et « {seen[0]} » (ligne {seen[1]})")
        for a, b, code in (("CompAuxNum", "CompAuxLib", "auxiliaire"), ("EcritureLet", "DateLet", "lettrage"),
                           ("Montantdevise", "Idevise", "devise")):
            if bool(row[a].strip()) != bool(row[b].strip()):
                self.fault(number, code, f"{a} « {row[a]} », {b} « {row[b]} »")
        self._entry_line(number, row, day, debit, credit)

    def _entry_line(self, number: int, row: dict[str, str], day: dt.date | None,
                    debit: Decimal, credit: Decimal) -> None:
        key = row["EcritureNum"]
        entry = self.entries.get(key)
        if entry is None:
            entry = {"first": number, "last": number, "debit": ZERO, "credit": ZERO,
                     "journal": row["JournalCode"], "date": day, "text_date": row["EcritureDate"]}
            self.entries[key] = entry
            self.order.append(key)
        elif self.order[-1] != key:
            self.fault(number, "ecriture-scindee", f"écriture {key} commencée ligne {entry['first']}")
        elif row["JournalCode"] != entry["journal"] or row["EcritureDate"] != entry["text_date"]:
            self.fault(number, "ecriture-incoherente", f"écriture {key} : {row['JournalCode']} "
                                                       f"{row['EcritureDate']} au lieu de {entry['journal']} "
                                                       f"{entry['text_date']}")
        entry["last"] = number
        entry["debit"] = entry["debit"] + debit  # type: ignore[operator]
        entry["credit"] = entry["credit"] + credit  # type: ignore[operator]

    def finish(self) -> None:
        previous_number: int | None = None
        previous_date: dt.date | None = None
        other_seen = False
        for index, key in enumerate(self.order):
            entry = self.entries[key]
            line = int(entry["first"])  # type: ignore[call-overload]
            if entry["debit"] != entry["credit"]:
                self.fault(line, "desequilibre", f"écriture {key} : débit {entry['debit']}, "
                                                 f"crédit {entry['credit']}")
            match = _TRAILING_NUMBER.search(key)
            value = int(match.group(1)) if match else None
            expected = 1 if previous_number is None else previous_number + 1
            if value is None or value != expected:
                self.fault(line, "numerotation", f"écriture « {key} » après "
                           f"{'le début du fichier' if index == 0 else repr(self.order[index - 1])} "
                           f"(attendu n° {expected})")
            previous_number = value if value is not None else expected
            day = entry["date"]
            if isinstance(day, dt.date):
                if previous_date and day < previous_date:
                    self.fault(line, "chronologie", f"écriture {key} du {day:%d/%m/%Y} après une écriture "
                                                    f"du {previous_date:%d/%m/%Y}")
                previous_date = max(day, previous_date) if previous_date else day
            if entry["journal"] == "AN" and other_seen:
                self.fault(line, "a-nouveaux", f"écriture {key}")
            other_seen = other_seen or entry["journal"] != "AN"


def verify_fec(path: Path, closing: dt.date | None = None) -> tuple[FecSummary, list[Fault]]:
    """Every fault of a FEC file; `closing` overrides the closing date read from the file name."""
    path = Path(path)
    faults: list[Fault] = []
    start, named_closing = year_from_name(path)
    if named_closing is None:
        faults.append(Fault(0, "nom-fichier", FAULTS["nom-fichier"] + f" : « {path.name} »"))
    if closing is not None:
        start = closing.replace(year=closing.year - 1) + dt.timedelta(days=1)
    else:
        closing = named_closing
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        faults.append(Fault(line, "encodage", FAULTS["encodage"] + f" (octet {raw[exc.start]:#04x})"))
        return FecSummary(0, 0, ZERO, ZERO, start, closing), faults
    text = text.removeprefix("\ufeff")
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    rows = [r.removesuffix("\r") for r in rows]
    separator = "|" if rows and "\t" not in rows[0] and "|" in rows[0] else "\t"
    checker = _Checker(start, closing)
    checker.faults = faults
    if not rows or rows[0].split(separator) != list(FIELDS):
        got = rows[0][:80] if rows else "(fichier vide)"
        checker.fault(1, "en-tete", f"« {got} »")
    for number, row in enumerate(rows[1:], start=2):
        checker.row(number, row.split(separator))
    if len(rows) <= 1:
        checker.fault(0, "vide")
    checker.finish()
    summary = FecSummary(checker.lines, len(checker.entries), checker.total_debit, checker.total_credit,
                         start, closing)
    return summary, sorted(checker.faults, key=lambda f: (f.line, f.code))
