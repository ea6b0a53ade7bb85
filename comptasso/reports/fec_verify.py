"""Checking a FEC file: name, encoding, the 18 fields, formats, balance of entries, numbering, dates."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from comptasso.money import ZERO
from comptasso.problems import Problem
from comptasso.reports.fec import FIELDS

#: Every fault the verifier knows, by code, in French.
FAULTS: dict[str, str] = {
    "nom-fichier": "nom de fichier non conforme (attendu SIRENFECAAAAMMJJ.txt)",
    "encodage": "fichier ni en UTF-8 ni en ISO 8859-15 (octet de contrôle ou caractère impossible)",
    "vide": "aucune ligne d'écriture",
    "en-tete": "ligne d'en-tête différente des 18 champs de l'article A47 A-1 (Debit/Credit ou Montant/Sens)",
    "nombre-champs": "nombre de champs différent de 18",
    "champ-obligatoire": "champ obligatoire vide",
    "date": "date invalide (attendu AAAAMMJJ)",
    "hors-exercice": "date d'écriture hors de l'exercice",
    "montant": "montant mal écrit (virgule décimale, sans séparateur de milliers)",
    "sens": "sens invalide (attendu D ou C, +1 ou -1)",
    "debit-credit": "débit et crédit sur la même ligne",
    "compte": "numéro de compte non conforme (au moins 3 chiffres du plan comptable, classes 1 à 8)",
    "libelle-compte": "un même numéro de compte porte plusieurs libellés",
    "auxiliaire": "compte auxiliaire incomplet (CompAuxNum et CompAuxLib vont ensemble)",
    "lettrage": "lettrage incomplet (EcritureLet et DateLet vont ensemble)",
    "devise": "devise incomplète (Montantdevise et Idevise vont ensemble)",
    "code-devise": "code de devise inconnu (attendu un code ISO 4217 de 3 lettres, ex. EUR)",
    "validation-avant-ecriture": "date de validation (ValidDate) antérieure à la date d'écriture",
    "lettrage-avant-ecriture": "date de lettrage (DateLet) antérieure à la date d'écriture",
    "lettrage-isole": "code de lettrage porté par une seule ligne du compte",
    "ecriture-nulle": "écriture dont toutes les lignes sont à zéro",
    "a-nouveaux-gestion": "compte de charges ou de produits (classes 6 et 7) dans les à-nouveaux",
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
_NAME = re.compile(r"^(\d{9})FEC(\d{8})\.txt$", re.IGNORECASE)
_SIGNED_AMOUNT = re.compile(r"^[-+]?\d+(,\d{1,2})?$")
#: The variant of A47 A-1 with one amount and its direction instead of Debit and Credit.
MONTANT_SENS = (*FIELDS[:11], "Montant", "Sens", *FIELDS[13:])
_SENS = {"D": 1, "C": -1, "+1": 1, "-1": -1, "1": 1}
#: Journal codes and labels that name the opening entries (à-nouveaux).
OPENING_CODES = frozenset({"AN", "ANO", "RAN", "ANX", "ANV"})
#: C0 and C1 control bytes: no text file of A47 A-1 holds them (ISO 8859-15 has no character there).
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
        return dt.datetime.strptime(text, "%Y%m%d").replace(tzinfo=dt.UTC).date()
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


@functools.lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    from babel.numbers import list_currencies
    return frozenset(list_currencies())


@dataclass
class _Entry:
    """What the checker knows of one EcritureNum while it reads its lines."""

    key: str
    first: int
    journal: str
    journal_lib: str
    text_date: str
    date: dt.date | None
    last: int = 0
    balance: Decimal = ZERO
    nonzero: bool = False


class _Checker:
    """Accumulates faults line by line, then checks entries as wholes."""

    def __init__(self, start: dt.date | None, closing: dt.date | None, fields: tuple[str, ...]):
        self.start, self.closing = start, closing
        self.fields = fields
        self.faults: list[Fault] = []
        self.libs: dict[str, tuple[str, int]] = {}
        self.entries: dict[tuple[str, str], _Entry] = {}
        self.order: list[tuple[str, str]] = []
        self.total_debit = self.total_credit = ZERO
        self.lines = 0
        self.letters: dict[tuple[str, str, str], list[int]] = {}
        self.currencies = _currencies()

    def fault(self, line: int, code: str, detail: str = "") -> None:
        message = FAULTS[code] + (f" : {detail}" if detail else "")
        self.faults.append(Fault(line, code, message))

    def _amounts(self, number: int, row: dict[str, str]) -> tuple[Decimal, Decimal]:
        """(debit, credit) of a line, both positive: from Debit/Credit (signed allowed) or Montant/Sens."""
        names = ("Montant", "Montantdevise") if "Montant" in row else ("Debit", "Credit", "Montantdevise")
        ok = True
        for name in names:
            if row[name] and not _SIGNED_AMOUNT.match(row[name]):
                self.fault(number, "montant", f"{name} « {row[name]} »")
                ok = False
        if not ok:
            return ZERO, ZERO
        if "Montant" in row:
            sens = _SENS.get(row["Sens"].strip().upper())
            if sens is None:
                self.fault(number, "sens", f"« {row['Sens']} »")
                return ZERO, ZERO
            value = _amount(row["Montant"]) * sens
            return (value, ZERO) if value >= 0 else (ZERO, -value)
        debit, credit = _amount(row["Debit"]), _amount(row["Credit"])
        if debit and credit:
            self.fault(number, "debit-credit", f"{row['Debit']} / {row['Credit']}")
        # A negative amount (contre-passation in red) counts on the other side.
        net = debit - credit
        return (net, ZERO) if net >= 0 else (ZERO, -net)

    def row(self, number: int, values: list[str]) -> None:
        self.lines += 1
        if len(values) != len(self.fields):
            self.fault(number, "nombre-champs", f"{len(values)} champ(s)")
            return
        row = dict(zip(self.fields, values, strict=True))
        mandatory = MANDATORY if "Debit" in row else (
            *(n for n in MANDATORY if n not in ("Debit", "Credit")), "Montant", "Sens")
        for name in mandatory:
            if not row[name].strip():
                self.fault(number, "champ-obligatoire", name)
        day = self._dates(number, row)
        debit, credit = self._amounts(number, row)
        self.total_debit += debit
        self.total_credit += credit
        self._fields(number, row)
        self._entry_line(number, row, day, debit, credit)

    def _dates(self, number: int, row: dict[str, str]) -> dt.date | None:
        """Check the line's dates (readable, within the year, none before EcritureDate); return EcritureDate."""
        dates: dict[str, dt.date | None] = {}
        for name in DATES:
            if row[name]:
                dates[name] = _date(row[name])
                if dates[name] is None:
                    self.fault(number, "date", f"{name} « {row[name]} »")
        day = dates.get("EcritureDate")
        if day and self.start and self.closing and not self.start <= day <= self.closing:
            self.fault(number, "hors-exercice", f"{row['EcritureDate']} hors du {self.start:%d/%m/%Y} "
                                                f"au {self.closing:%d/%m/%Y}")
        for name, code in (("ValidDate", "validation-avant-ecriture"), ("DateLet", "lettrage-avant-ecriture")):
            other = dates.get(name)
            if day and other and other < day:
                self.fault(number, code, f"{name} {row[name]} avant EcritureDate {row['EcritureDate']}")
        return day

    def _fields(self, number: int, row: dict[str, str]) -> None:
        """Check the account, the paired fields, the currency; note the line's lettering."""
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
        if row["Idevise"].strip() and row["Idevise"].strip() not in self.currencies:
            self.fault(number, "code-devise", f"« {row['Idevise']} »")
        if row["EcritureLet"].strip():
            key = (row["CompteNum"], row["CompAuxNum"], row["EcritureLet"].strip())
            self.letters.setdefault(key, []).append(number)

    def _entry_line(self, number: int, row: dict[str, str], day: dt.date | None,
                    debit: Decimal, credit: Decimal) -> None:
        """Add a line to its entry: the current one when it has the same EcritureNum, else (journal, number).

        Keying by journal as well lets a file number its entries per journal (A47 A-1 allows it).
        """
        num = row["EcritureNum"]
        current = self.entries[self.order[-1]] if self.order else None
        if current is not None and current.key == num:
            entry = current
            if row["JournalCode"] != entry.journal or row["EcritureDate"] != entry.text_date:
                self.fault(number, "ecriture-incoherente", f"écriture {num} : {row['JournalCode']} "
                                                           f"{row['EcritureDate']} au lieu de {entry.journal} "
                                                           f"{entry.text_date}")
        else:
            found = self.entries.get((row["JournalCode"], num))
            if found is not None:
                entry = found
                self.fault(number, "ecriture-scindee", f"écriture {num} commencée ligne {entry.first}")
            else:
                entry = _Entry(num, number, row["JournalCode"], row["JournalLib"], row["EcritureDate"], day)
                self.entries[(entry.journal, num)] = entry
                self.order.append((entry.journal, num))
        entry.last = number
        entry.balance += debit - credit
        entry.nonzero = entry.nonzero or bool(debit or credit)
        if is_opening_journal(row["JournalCode"], row["JournalLib"]) and row["CompteNum"][:1] in ("6", "7"):
            self.fault(number, "a-nouveaux-gestion", f"compte {row['CompteNum']} « {row['CompteLib']} »")

    def _numbering(self, keys: list[tuple[str, str]]) -> list[Fault]:
        """Faults of continuous numbering over `keys` (1, 2, 3… by their trailing number)."""
        out = []
        previous: int | None = None
        for index, pair in enumerate(keys):
            key = pair[1]
            match = _TRAILING_NUMBER.search(key)
            value = int(match.group(1)) if match else None
            expected = 1 if previous is None else previous + 1
            if value is None or value != expected:
                after = "le début du fichier" if index == 0 else repr(keys[index - 1][1])
                out.append(Fault(self.entries[pair].first, "numerotation",
                                 FAULTS["numerotation"] + f" : écriture « {key} » après {after} "
                                                          f"(attendu n° {expected})"))
            previous = value if value is not None else expected
        return out

    def _chronology(self, keys: list[tuple[str, str]]) -> None:
        previous_date: dt.date | None = None
        for pair in keys:
            entry = self.entries[pair]
            key = entry.key
            if entry.date is None:
                continue
            if previous_date and entry.date < previous_date:
                self.fault(entry.first, "chronologie", f"écriture {key} du {entry.date:%d/%m/%Y} après une "
                                                       f"écriture du {previous_date:%d/%m/%Y}")
            previous_date = max(entry.date, previous_date) if previous_date else entry.date

    def finish(self) -> None:
        other_seen = False
        for pair in self.order:
            entry = self.entries[pair]
            key = entry.key
            if entry.balance != 0:
                self.fault(entry.first, "desequilibre", f"écriture {key} : solde {entry.balance}")
            if not entry.nonzero:
                self.fault(entry.first, "ecriture-nulle", f"écriture {key}")
            opening = is_opening_journal(entry.journal, entry.journal_lib)
            if opening and other_seen:
                self.fault(entry.first, "a-nouveaux", f"écriture {key}")
            other_seen = other_seen or not opening
        # Numbering may run over the whole file or per journal (A47 A-1 allows both); dates then
        # follow the numbering's order.
        journals: dict[str, list[tuple[str, str]]] = {}
        for pair in self.order:
            journals.setdefault(pair[0], []).append(pair)
        whole = self._numbering(self.order)
        per_journal = [f for keys in journals.values() for f in self._numbering(keys)]
        if whole and not per_journal and len(journals) > 1:
            for keys in journals.values():
                self._chronology(keys)
        else:
            self.faults.extend(whole)
            self._chronology(self.order)
        for (compte, aux, letter), lines in self.letters.items():
            if len(lines) == 1:
                self.fault(lines[0], "lettrage-isole", f"« {letter} » sur {compte} {aux}".rstrip())


def is_opening_journal(code: str, label: str) -> bool:
    """The journal of the à-nouveaux: AN, RAN, ANO… or a label that says « à nouveau »."""
    return code.strip().upper() in OPENING_CODES or "nouveau" in label.lower()


def decode_fec(raw: bytes) -> tuple[str | None, str, Fault | None]:
    """(text, encoding, fault): UTF-8 (BOM allowed), else ISO 8859-15 unless control bytes betray another one."""
    try:
        return raw.decode("utf-8").removeprefix("\ufeff"), "utf-8", None
    except UnicodeDecodeError as exc:
        utf8_error = exc
    bad = _CONTROL_BYTES.search(raw)
    if bad is None:
        return raw.decode("iso-8859-15"), "iso-8859-15", None
    line = raw[: bad.start()].count(b"\n") + 1
    del utf8_error
    return None, "", Fault(line, "encodage", FAULTS["encodage"] + f" (octet {raw[bad.start()]:#04x})")


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
    text, _, fault = decode_fec(path.read_bytes())
    if text is None:
        assert fault is not None
        faults.append(fault)
        return FecSummary(0, 0, ZERO, ZERO, start, closing), faults
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()
    rows = [r.removesuffix("\r") for r in rows]
    separator = "|" if rows and "\t" not in rows[0] and "|" in rows[0] else "\t"
    header = tuple(rows[0].split(separator)) if rows else ()
    fields = MONTANT_SENS if header == MONTANT_SENS else FIELDS
    checker = _Checker(start, closing, fields)
    checker.faults = faults
    if header not in (FIELDS, MONTANT_SENS):
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
