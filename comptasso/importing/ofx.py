"""Reading OFX statements (OFX 1.x SGML and OFX 2.x XML): one bank line per `<STMTTRN>`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from comptasso.importing.statement import BankLine, clean_label, decode, parse_bank_amount
from comptasso.problems import Problem

_BLOCK = re.compile(r"<STMTTRN>(.*?)(?:</STMTTRN>|(?=<STMTTRN>)|(?=</BANKTRANLIST>))", re.S | re.I)
_CHARSETS = {"1252": "cp1252", "ISO-8859-1": "iso-8859-1", "8859-1": "iso-8859-1", "ISO-8859-15": "iso-8859-15"}


def _field(block: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>([^<\r\n]*)", block, re.I)
    return match.group(1).strip() if match else None


def looks_like_ofx(head: str) -> bool:
    """True when the start of a file is an OFX document."""
    return "OFXHEADER" in head.upper() or "<OFX>" in head.upper()


def ofx_encoding(raw: bytes) -> str:
    """The encoding an OFX file declares (`CHARSET:1252`, `ENCODING:UTF-8`, `<?xml encoding=...?>`)."""
    head = raw[:600].decode("ascii", errors="replace").upper()
    if re.search(r"ENCODING\s*[:=]\s*\"?UTF-8", head):
        return "utf-8"
    charset = re.search(r"CHARSET\s*:\s*([A-Z0-9-]+)", head)
    if charset and charset.group(1) in _CHARSETS:
        return _CHARSETS[charset.group(1)]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _parse_block(block: str) -> BankLine:
    posted = _field(block, "DTPOSTED") or ""
    try:
        day = dt.datetime.strptime(posted[:8], "%Y%m%d").date()
    except ValueError as exc:
        raise ValueError(f"date DTPOSTED invalide « {posted} »") from exc
    amount_text = _field(block, "TRNAMT")
    if not amount_text:
        raise ValueError("montant TRNAMT absent")
    separator = "," if "," in amount_text else "."
    amount = parse_bank_amount(amount_text, separator, "")
    if amount == 0:
        raise ValueError("montant nul")
    name, memo = _field(block, "NAME") or "", _field(block, "MEMO") or ""
    label = clean_label(name if memo in name else f"{name} {memo}")
    if not label:
        raise ValueError("libellé vide (NAME et MEMO absents)")
    return BankLine(day, amount, label, 0, _field(block, "FITID") or None)


def read_ofx(path: Path, encoding: str | None = None) -> tuple[list[BankLine], list[Problem]]:
    """Every `<STMTTRN>` of an OFX file, or every malformed one with its line number."""
    path = Path(path)
    raw = path.read_bytes()
    text, problems = decode(raw, encoding or ofx_encoding(raw), path)
    if text is None:
        return [], problems
    if not looks_like_ofx(text[:2000]):
        return [], [Problem(str(path), 1, "ce fichier n'est pas un relevé OFX (en-tête OFXHEADER ou <OFX> absent)")]
    lines: list[BankLine] = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        try:
            parsed = _parse_block(match.group(1))
        except ValueError as exc:
            problems.append(Problem(str(path), line, f"opération mal formée : {exc}"))
            continue
        lines.append(BankLine(parsed.date, parsed.amount, parsed.label, line, parsed.bank_id))
    return lines, problems
