"""Reading OFX statements (OFX 1.x SGML and OFX 2.x XML) with ofxtools: every statement of every account."""

from __future__ import annotations

import datetime as dt
import io
import re
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from comptasso.importing.statement import BankLine, clean_label
from comptasso.problems import Problem

#: Dates in OFX files are instants; a French bank's day is the day in Paris.
BANK_TIMEZONE = zoneinfo.ZoneInfo("Europe/Paris")
_STATEMENT_TAGS = ("STMTRS", "CCSTMTRS")


def looks_like_ofx(head: str) -> bool:
    """True when the start of a file is an OFX document."""
    return "OFXHEADER" in head.upper() or "<OFX>" in head.upper()


def ofx_encoding(raw: bytes) -> str:
    """The encoding an OFX file declares (`CHARSET:1252`, `ENCODING:UTF-8`, `<?xml encoding=...?>`)."""
    head = raw[:600].decode("ascii", errors="replace").upper()
    if re.search(r"ENCODING\s*[:=]\s*\"?UTF-8", head):
        return "utf-8"
    charset = re.search(r"CHARSET\s*:\s*([A-Z0-9-]+)", head)
    charsets = {"1252": "cp1252", "ISO-8859-1": "iso-8859-1", "8859-1": "iso-8859-1", "ISO-8859-15": "iso-8859-15"}
    if charset and charset.group(1) in charsets:
        return charsets[charset.group(1)]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


@dataclass(frozen=True)
class OfxStatement:
    """One account's statement in an OFX file: the account, its period, its closing balance, its lines."""

    account_id: str
    bank_id: str | None
    currency: str
    start: dt.date | None
    end: dt.date | None
    balance: Decimal | None
    balance_date: dt.date | None
    lines: tuple[BankLine, ...]


def bank_day(value: dt.datetime | dt.date | None) -> dt.date | None:
    """The calendar day of an OFX instant, in the bank's time zone."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.date()
        return value.astimezone(BANK_TIMEZONE).date()
    return value


def _line_of(text: str, fitid: str | None, after: int) -> tuple[int, int]:
    """(line number, offset) of a transaction's FITID in the text, searching from `after`."""
    if fitid:
        match = re.compile(rf"<FITID>\s*{re.escape(fitid)}", re.IGNORECASE).search(text, after)
        if match:
            return text.count("\n", 0, match.start()) + 1, match.end()
    match = re.compile(r"<STMTTRN>", re.IGNORECASE).search(text, after)
    if match:
        return text.count("\n", 0, match.start()) + 1, match.end()
    return 0, after


def _statement(model: Any, text: str, offset: int) -> tuple[OfxStatement, int]:
    account = model.account
    account_id = str(account.acctid)
    lines = []
    for transaction in model.transactions:
        fitid = str(transaction.fitid) if transaction.fitid else None
        line, offset = _line_of(text, fitid, offset)
        name, memo = transaction.name or "", transaction.memo or ""
        label = clean_label(name if memo in name else f"{name} {memo}")
        day = bank_day(transaction.dtposted)
        if day is None:
            raise ValueError(f"ligne {line} : date DTPOSTED absente")
        if not label:
            raise ValueError(f"ligne {line} : libellé vide (NAME et MEMO absents)")
        amount = Decimal(transaction.trnamt).quantize(Decimal("0.01"))
        if amount == 0:
            raise ValueError(f"ligne {line} : montant nul")
        lines.append(BankLine(day, amount, label, line, fitid, account_id))
    listing = model.banktranlist
    balance = getattr(model, "ledgerbal", None)
    return OfxStatement(
        account_id, getattr(account, "bankid", None), str(model.curdef or ""),
        bank_day(listing.dtstart) if listing is not None else None,
        bank_day(listing.dtend) if listing is not None else None,
        Decimal(balance.balamt) if balance is not None else None,
        bank_day(balance.dtasof) if balance is not None else None,
        tuple(lines),
    ), offset


_VALUE = re.compile(r"<(TRNAMT|DTPOSTED|BALAMT)>\s*([^<\r\n]*)", re.IGNORECASE)
_OFX_AMOUNT = re.compile(r"^[+-]?\d*[.,]?\d+$")
_OFX_DATE = re.compile(r"^\d{8}(\d{6}(\.\d{3})?)?(\[[+-]?\d+(\.\d+)?(:\w+)?\])?$")


def _first_bad_value(text: str) -> tuple[int, str]:
    """(line, French reason) of the first amount or date that cannot be one, to say where a file breaks."""
    for match in _VALUE.finditer(text):
        tag, value = match.group(1).upper(), match.group(2).strip()
        pattern = _OFX_DATE if tag == "DTPOSTED" else _OFX_AMOUNT
        if not pattern.match(value):
            kind = "date" if tag == "DTPOSTED" else "montant"
            return text.count("\n", 0, match.start()) + 1, f"{kind} {tag} invalide « {value} »"
    return 0, ""


def read_statements(path: Path, encoding: str | None = None) -> tuple[list[OfxStatement], list[Problem]]:
    """Every account statement of an OFX file (bank and credit card), read by ofxtools.

    ofxtools parses the SGML (OFX 1) or XML (OFX 2), decodes its entities and checks each statement
    against the OFX models; the sign-on block that some French banks leave out is not required.
    """
    from ofxtools.models.base import Aggregate
    from ofxtools.Parser import OFXTree

    path = Path(path)
    raw = path.read_bytes()
    chosen = encoding or ofx_encoding(raw)
    try:
        text = raw.decode(chosen)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [], [Problem(str(path), line, f"caractère illisible en {chosen} : vérifiez « encoding » "
                                             "de cette banque dans rules/banks.toml", code="ofx-encoding")]
    if not looks_like_ofx(text[:2000]):
        return [], [Problem(str(path), 1, "ce fichier n'est pas un relevé OFX (en-tête OFXHEADER ou <OFX> absent)",
                            code="ofx-not-ofx")]
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(raw))
        root = tree.getroot()
        elements = [e for tag in _STATEMENT_TAGS for e in root.iter(tag)] if root is not None else []
        models = [Aggregate.from_etree(e) for e in elements]
    except Exception as exc:  # noqa: BLE001 - ofxtools raises ParseError, OFXSpecError, ValueError, KeyError…
        line, detail = _first_bad_value(text)
        reason = detail or f"{type(exc).__name__} : {exc}"
        return [], [Problem(str(path), line, f"relevé OFX illisible par ofxtools : {reason} ; rien n'est importé",
                            code="ofx-malformed")]
    if not models:
        return [], [Problem(str(path), 0, "relevé OFX sans relevé de compte (STMTRS ou CCSTMTRS)",
                            code="ofx-no-statement")]
    statements, offset = [], 0
    try:
        for model in models:
            statement, offset = _statement(model, text, offset)
            statements.append(statement)
    except (ValueError, ArithmeticError) as exc:
        return [], [Problem(str(path), 0, f"opération mal formée : {exc}", code="ofx-malformed")]
    return statements, []


def read_ofx(path: Path, encoding: str | None = None) -> tuple[list[BankLine], list[Problem]]:
    """Every operation of every statement of an OFX file, each with its account id (ACCTID)."""
    statements, problems = read_statements(path, encoding)
    return [line for s in statements for line in s.lines], problems
