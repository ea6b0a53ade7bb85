"""The bank file formats of `rules/banks.toml`: CSV layouts of French banks, and OFX."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from comptasso.books.group import ACCOUNT, MEMBER_ID
from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.problems import Problem

BANKS_FILE = "banks.toml"

Encoding = Literal["utf-8", "utf-8-sig", "iso-8859-15", "iso-8859-1", "cp1252"]
Column = str | int


class _OfxAccountTable(BaseModel):
    """`[[banks.accounts]]`: which ledger account of which member an OFX account (ACCTID) is."""

    model_config = ConfigDict(extra="forbid")
    acctid: str = Field(min_length=1, pattern=r"^\S+$")
    member: str = Field(pattern=MEMBER_ID)
    account: str = Field(pattern=ACCOUNT)


class _BankTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,47}$")
    name: str = Field(min_length=1)
    format: Literal["csv", "ofx"] = "csv"
    encoding: Encoding = "utf-8"
    delimiter: str = Field(default=";", min_length=1, max_length=1)
    skip_lines: int = Field(default=0, ge=0, le=100)
    header: bool = True
    date_column: Column = "Date"
    date_format: str = "%d/%m/%Y"
    label_columns: list[Column] = Field(default_factory=lambda: list[Column](["Libellé"]), min_length=1)
    amount_column: Column | None = None
    debit_column: Column | None = None
    credit_column: Column | None = None
    decimal_separator: Literal[",", "."] = ","
    thousands_separator: Literal[" ", ".", "", "'"] = " "
    identify: str | None = None
    accounts: list[_OfxAccountTable] = Field(default_factory=list)

    @field_validator("identify")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expression régulière invalide « {value} » : {exc}") from exc
        return value

    @field_validator("date_column", "amount_column", "debit_column", "credit_column")
    @classmethod
    def _column_number(cls, value: Column | None) -> Column | None:
        if isinstance(value, int) and value < 1:
            raise ValueError("les colonnes se comptent à partir de 1")
        return value

    @model_validator(mode="after")
    def _amount_layout(self) -> _BankTable:
        if self.format == "ofx":
            ids = [a.acctid for a in self.accounts]
            doubles = sorted({i for i in ids if ids.count(i) > 1})
            if doubles:
                raise ValueError(f"compte OFX « {doubles[0]} » associé deux fois")
            return self
        if self.accounts:
            raise ValueError("accounts (comptes OFX) ne vaut que pour format = \"ofx\"")
        signed = self.amount_column is not None
        split = self.debit_column is not None or self.credit_column is not None
        if signed == split:
            raise ValueError("indiquez soit amount_column (montant signé), soit debit_column et credit_column")
        if split and (self.debit_column is None or self.credit_column is None):
            raise ValueError("debit_column et credit_column vont ensemble")
        named = [c for c in (self.date_column, self.amount_column, self.debit_column, self.credit_column,
                             *self.label_columns) if isinstance(c, str)]
        if named and not self.header:
            raise ValueError(f"colonne « {named[0]} » désignée par son nom alors que header = false : "
                             "donnez son numéro (à partir de 1)")
        if self.thousands_separator == self.decimal_separator:
            raise ValueError("le séparateur des milliers doit différer du séparateur décimal")
        return self


class _BanksFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    banks: list[_BankTable] = Field(default_factory=list)


@dataclass(frozen=True)
class OfxAccount:
    """An OFX account id and the ledger account of the member it belongs to."""

    acctid: str
    member: str
    account: str


@dataclass(frozen=True)
class BankFormat:
    """How one bank writes its statement files (one `[[banks]]` table)."""

    id: str
    name: str
    format: str
    encoding: str
    delimiter: str
    skip_lines: int
    header: bool
    date_column: Column
    date_format: str
    label_columns: tuple[Column, ...]
    amount_column: Column | None
    debit_column: Column | None
    credit_column: Column | None
    decimal_separator: str
    thousands_separator: str
    identify: str | None
    source: Problem  # where the table is, as an empty-message problem (file and line)
    accounts: tuple[OfxAccount, ...] = ()

    def ofx_account(self, acctid: str) -> OfxAccount | None:
        """The mapping of an OFX account id, or None when rules/banks.toml does not name it."""
        for mapping in self.accounts:
            if mapping.acctid == acctid:
                return mapping
        return None


def load_banks(rules_dir: Path) -> tuple[dict[str, BankFormat], list[Problem]]:
    """Read `rules/banks.toml`; every bad key is a problem naming its line."""
    path = Path(rules_dir) / BANKS_FILE
    data, problems = read_toml(path)
    if problems:
        return {}, problems
    parsed, problems = validate(path, _BanksFile, data)
    if parsed is None:
        return {}, problems
    text = path.read_text(encoding="utf-8")
    banks: dict[str, BankFormat] = {}
    for index, table in enumerate(parsed.banks):
        line = locate(text, ("banks", index, "id"))
        if table.id in banks:
            problems.append(Problem(str(path), line, f"banks[{index}].id : banque en double « {table.id} »"))
            continue
        banks[table.id] = BankFormat(
            table.id, table.name, table.format, table.encoding, table.delimiter, table.skip_lines,
            table.header, table.date_column, table.date_format, tuple(table.label_columns),
            table.amount_column, table.debit_column, table.credit_column, table.decimal_separator,
            table.thousands_separator, table.identify, Problem(str(path), line, ""),
            tuple(OfxAccount(a.acctid, a.member, a.account) for a in table.accounts),
        )
    return banks, problems
