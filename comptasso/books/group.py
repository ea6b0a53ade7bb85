"""The group file `ledgers/group.toml`: the group and its member associations."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.problems import Problem

GROUP_FILE = "group.toml"
MEMBER_ID = r"^[a-z0-9][a-z0-9-]{1,31}$"
ACCOUNT = r"^(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+$"
#: An e-mail address (`board_emails`, `treasurer_email`, `bookkeeper_email`): local@domain.tld, no spaces.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
EMAIL = rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]+@{_LABEL}(?:\.{_LABEL})+$"


class _GroupTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")


class _MemberTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=MEMBER_ID)
    name: str = Field(min_length=1)
    siren: str | None = Field(default=None, pattern=r"^\d{9}$")
    ledger: str = Field(min_length=1)
    bank_account: str = Field(pattern=ACCOUNT)
    exercice_debut: str = Field(default="01-01")
    board_emails: list[str] = Field(default_factory=list)
    treasurer_email: str | None = None
    bookkeeper_email: str | None = None

    @field_validator("board_emails", "treasurer_email", "bookkeeper_email")
    @classmethod
    def _emails(cls, value: list[str] | str | None) -> list[str] | str | None:
        for address in [value] if isinstance(value, str) else value or []:
            if not re.fullmatch(EMAIL, address):
                raise ValueError(f"adresse électronique invalide « {address} » (attendu nom@domaine.fr)")
        return value
    adresse: str | None = Field(default=None, min_length=1)

    @field_validator("exercice_debut")
    @classmethod
    def _month_day(cls, value: str) -> str:
        parse_month_day(value)
        return value

    @field_validator("ledger")
    @classmethod
    def _relative(cls, value: str) -> str:
        if Path(value).is_absolute():
            raise ValueError(f"chemin absolu interdit « {value} » : il doit rester dans ledgers/")
        return value


class _GroupFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group: _GroupTable
    members: list[_MemberTable] = Field(min_length=1)


def account_component(member_id: str) -> str:
    """A member id as an account component: `velo-gap` → `Velo-Gap`."""
    return "-".join(part[:1].upper() + part[1:] for part in member_id.split("-"))


def parse_month_day(value: str) -> tuple[int, int]:
    """`"09-01"` → (9, 1): the first day of a financial year, MM-DD, a day every year has (no 02-29)."""
    if not re.fullmatch(r"\d{2}-\d{2}", value):
        raise ValueError(f"« {value} » : attendu MM-JJ, par exemple \"09-01\"")
    month, day = int(value[:2]), int(value[3:])
    try:
        dt.date(2001, month, day)  # a common year: 29 February is refused
    except ValueError:
        raise ValueError(f"« {value} » : jour de l'année inexistant (attendu MM-JJ, sans 02-29)") from None
    return month, day


@dataclass(frozen=True)
class Member:
    """One member association and where its books are."""

    id: str
    name: str
    siren: str | None
    ledger: Path
    bank_account: str
    #: (month, day) of the first day of the member's financial year (`exercice_debut`, default 1 January).
    year_start: tuple[int, int] = (1, 1)
    #: Where the statement and the alerts are e-mailed (optional keys of group.toml, banquasso.delivery).
    board_emails: tuple[str, ...] = ()
    treasurer_email: str | None = None
    bookkeeper_email: str | None = None
    #: The postal address (`adresse`, optional): the loan contract and the form 2062 data name it.
    address: str | None = None

    @property
    def folder(self) -> Path:
        return self.ledger.parent

    @property
    def component(self) -> str:
        return account_component(self.id)


@dataclass(frozen=True)
class Group:
    """The employer group: its name, currency and members, read from `group.toml`."""

    name: str
    currency: str
    members: tuple[Member, ...]
    ledgers_dir: Path

    @property
    def file(self) -> Path:
        return self.ledgers_dir / GROUP_FILE

    def member(self, member_id: str) -> Member:
        for member in self.members:
            if member.id == member_id:
                return member
        known = ", ".join(m.id for m in self.members)
        raise KeyError(f"membre inconnu « {member_id} » (membres : {known})")

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.members)


def load_group(ledgers_dir: Path) -> tuple[Group | None, list[Problem]]:
    """Read and check `group.toml`: keys, ids, unique ids, ledgers inside the folder."""
    ledgers_dir = Path(ledgers_dir).resolve()
    path = ledgers_dir / GROUP_FILE
    data, problems = read_toml(path)
    if problems:
        return None, problems
    parsed, problems = validate(path, _GroupFile, data)
    if parsed is None:
        return None, problems
    text = path.read_text(encoding="utf-8")
    members: list[Member] = []
    seen: set[str] = set()
    for index, table in enumerate(parsed.members):
        where = f"members[{index}]"
        if table.id in seen:
            line = locate(text, ("members", index, "id"))
            problems.append(Problem(str(path), line, f"{where}.id : identifiant en double « {table.id} »",
                                    code="member-duplicate", subject=f"{where}.id"))
            continue
        seen.add(table.id)
        ledger = (ledgers_dir / table.ledger).resolve()
        if not ledger.is_relative_to(ledgers_dir):
            line = locate(text, ("members", index, "ledger"))
            problems.append(Problem(
                str(path), line,
                f"{where}.ledger : « {table.ledger} » sort du dossier des livres {ledgers_dir}",
                code="ledger-outside", subject=f"{where}.ledger",
            ))
            continue
        if not ledger.is_file():
            line = locate(text, ("members", index, "ledger"))
            problems.append(Problem(str(path), line, f"{where}.ledger : fichier introuvable « {table.ledger} »",
                                    code="ledger-missing", subject=f"{where}.ledger"))
            continue
        members.append(Member(table.id, table.name, table.siren, ledger, table.bank_account,
                              parse_month_day(table.exercice_debut), tuple(table.board_emails),
                              table.treasurer_email, table.bookkeeper_email, table.adresse))
    if problems:
        return None, problems
    group = Group(parsed.group.name, parsed.group.currency, tuple(members), ledgers_dir)
    return group, []
