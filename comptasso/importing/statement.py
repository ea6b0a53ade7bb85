"""Bank statement lines, and reading them from the CSV exports of French banks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from comptasso.importing.banks import BankFormat, Column
from comptasso.problems import Problem

_SPACES = re.compile(r"[\s\u00a0\u202f]+")


@dataclass(frozen=True)
class BankLine:
    """One operation of a statement: signed amount seen from the bank account (negative = money out)."""

    date: dt.date
    amount: Decimal
    label: str
    line: int
    bank_id: str | None = None  # the bank's own id of the operation (OFX FITID), when it gives one
    account_id: str | None = None  # the bank account the statement is of (OFX ACCTID), when it says


def clean_label(text: str) -> str:
    """One line of text: tabs, newlines and runs of spaces become one space."""
    return _SPACES.sub(" ", text).strip()


def parse_bank_amount(text: str, decimal_separator: str = ",", thousands_separator: str = " ") -> Decimal:
    """`-1 234,56` → `Decimal('-1234.56')`; ValueError (French) when it is not an amount to the cent."""
    raw = text.strip().replace("€", "").replace("EUR", "")
    raw = re.sub(r"[\u00a0\u202f]", " ", raw).strip()
    if thousands_separator:
        raw = raw.replace(thousands_separator, "")
    raw = raw.replace(" ", "")
    if decimal_separator == ",":
        if "." in raw:
            raise ValueError(f"montant invalide « {text.strip()} » (séparateur décimal attendu : virgule)")
        raw = raw.replace(",", ".")
    if raw.endswith("-") and not raw.startswith("-"):  # some banks write `12,50-`
        raw = "-" + raw[:-1]
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", raw):
        raise ValueError(f"montant invalide « {text.strip()} »")
    try:
        return Decimal(raw).quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise ValueError(f"montant invalide « {text.strip()} »") from exc


def decode(raw: bytes, encoding: str, path: Path) -> tuple[str | None, list[Problem]]:
    """Decode a file's bytes; an undecodable byte is a problem naming its line."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(str(path), line, f"caractère illisible en {encoding} : vérifiez « encoding » "
                                               "de cette banque dans rules/banks.toml")]
    return text.lstrip("\ufeff"), []


def _column_index(column: Column, header: list[str] | None) -> int | None:
    if isinstance(column, int):
        return column - 1
    if header is None:
        return None
    wanted = column.strip().casefold()
    for index, name in enumerate(header):
        if name.strip().casefold() == wanted:
            return index
    return None


def _columns(fmt: BankFormat, header: list[str] | None) -> tuple[dict[str, int], list[str]]:
    """The index of every configured column, or the names that the header lacks."""
    wanted: dict[str, Column | None] = {
        "date": fmt.date_column, "amount": fmt.amount_column,
        "debit": fmt.debit_column, "credit": fmt.credit_column,
    }
    wanted.update({f"label{i}": c for i, c in enumerate(fmt.label_columns)})
    found: dict[str, int] = {}
    missing: list[str] = []
    for key, column in wanted.items():
        if column is None:
            continue
        index = _column_index(column, header)
        if index is None:
            missing.append(str(column))
        else:
            found[key] = index
    return found, missing


def _parse_row(row: list[str], cols: dict[str, int], fmt: BankFormat) -> tuple[dt.date, Decimal, str]:
    """Date, signed amount and label of one CSV row; ValueError with a French reason."""
    need = max(cols.values()) + 1
    if len(row) < need:
        raise ValueError(f"{len(row)} champ(s) au lieu d'au moins {need} (séparateur « {fmt.delimiter} » attendu)")
    text = row[cols["date"]].strip()
    try:
        day = dt.datetime.strptime(text, fmt.date_format).date()  # noqa: DTZ007 - a calendar day
    except ValueError as exc:
        raise ValueError(f"date invalide « {text} » (format attendu {fmt.date_format})") from exc
    if "amount" in cols:
        amount = parse_bank_amount(row[cols["amount"]], fmt.decimal_separator, fmt.thousands_separator)
    else:
        debit_text, credit_text = row[cols["debit"]].strip(), row[cols["credit"]].strip()
        debit = parse_bank_amount(debit_text, fmt.decimal_separator, fmt.thousands_separator) if debit_text else None
        credit = parse_bank_amount(credit_text, fmt.decimal_separator, fmt.thousands_separator) if credit_text else None
        if debit and credit:
            raise ValueError("débit et crédit tous deux remplis")
        if debit is None and credit is None:
            raise ValueError("ni débit ni crédit")
        amount = -abs(debit) if debit else abs(credit or Decimal("0.00"))
    if amount == 0:
        raise ValueError("montant nul")
    label = clean_label(" ".join(row[cols[k]] for k in sorted(cols) if k.startswith("label") and cols[k] < len(row)))
    if not label:
        raise ValueError("libellé vide")
    return day, amount, label


def read_csv(path: Path, fmt: BankFormat) -> tuple[list[BankLine], list[Problem]]:
    """Every operation of a CSV statement, or every malformed line with its line number."""
    path = Path(path)
    text, problems = decode(path.read_bytes(), fmt.encoding, path)
    if text is None:
        return [], problems
    physical = text.splitlines(keepends=True)
    body = "".join(physical[fmt.skip_lines:])
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=fmt.delimiter)
    header: list[str] | None = None
    cols: dict[str, int] = {}
    lines: list[BankLine] = []
    try:
        for row in reader:
            line = fmt.skip_lines + reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if fmt.header and header is None:
                header = row
                cols, missing = _columns(fmt, header)
                if missing:
                    names = ", ".join(f"« {m} »" for m in missing)
                    return [], [Problem(str(path), line, f"colonne(s) {names} absente(s) de l'en-tête "
                                                         f"(banque « {fmt.id} » de rules/banks.toml)")]
                continue
            if not cols:
                cols, _ = _columns(fmt, None)
            try:
                day, amount, label = _parse_row(row, cols, fmt)
            except ValueError as exc:
                problems.append(Problem(str(path), line, f"ligne mal formée : {exc}"))
                continue
            lines.append(BankLine(day, amount, label, line))
    except csv.Error as exc:
        problems.append(Problem(str(path), fmt.skip_lines + reader.line_num, f"CSV illisible : {exc}"))
    if header is None and fmt.header and not problems:
        problems.append(Problem(str(path), 0, "fichier vide : aucune ligne d'en-tête"))
    return lines, problems
