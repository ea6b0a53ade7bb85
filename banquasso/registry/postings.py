"""The entries an advance writes into the engine file `banquasso.beancount` of its members (pure text).

In `prets` mode an event writes two entries, the lender's and the borrower's. In
`convention-de-tresorerie` mode (`banquasso.terms.modes`) the money goes through the pivot: each
event is the hops lender → pivot → borrower (reversed for a repayment), booked on the current
accounts 4511 (`accounts.group_receivable` / `accounts.group_payable`), so it writes three entries —
the lender's, the pivot's and the borrower's — each balanced. The pivot's entry carries both bank
movements (money in from one member, out to the other), both current accounts and, for interest,
the same amount in 768 and 6618: the pivot passes interest on without margin.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from banquasso.terms.policy import AccountsPolicy
from comptasso.books.group import Member
from comptasso.money import cents

PAYEE = "BanquAsso"
HEADER = "; Fichier écrit par BanquAsso — ne pas modifier à la main.\n"
PENDING, CLEARED = "!", "*"

_DATE_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) ([*!]) ")
_EVENT_META = re.compile(r'^\s+event:\s*"([^"]+)"\s*$')
_OPEN_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) open (\S+)")


@dataclass(frozen=True)
class Leg:
    """One posting line: account and signed amount."""

    account: str
    amount: Decimal


@dataclass(frozen=True)
class EngineEntry:
    """A transaction the engine writes for one member: one event of one advance."""

    member: str
    date: dt.date
    flag: str
    narration: str
    advance: str
    event: str
    legs: tuple[Leg, ...]
    currency: str = "EUR"

    @property
    def accounts(self) -> tuple[str, ...]:
        return tuple(leg.account for leg in self.legs)


@dataclass(frozen=True)
class Accounts:
    """The accounts one event touches, seen from the lender and from the borrower."""

    lender_bank: str
    lender_principal: str
    lender_interest: str
    borrower_bank: str
    borrower_principal: str
    borrower_interest: str


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(entry: EngineEntry) -> str:
    """The Beancount text of an entry (ends with a blank line)."""
    lines = [f"{entry.date.isoformat()} {entry.flag} {_quote(PAYEE)} {_quote(entry.narration)}",
             f"  advance: {_quote(entry.advance)}", f"  event: {_quote(entry.event)}"]
    width = max(len(leg.account) for leg in entry.legs) + 2
    lines.extend(f"  {leg.account.ljust(width)}{cents(leg.amount):>12} {entry.currency}" for leg in entry.legs)
    return "\n".join(lines) + "\n\n"


def disbursement(advance: str, event: str, day: dt.date, amount: Decimal, flag: str, accounts: Accounts,
                 names: tuple[str, str], ids: tuple[str, str],
                 currency: str = "EUR") -> tuple[EngineEntry, EngineEntry]:
    """The lender pays `amount` out of its bank into its receivable; the borrower gets it against its debt."""
    lender_name, borrower_name = names
    lender = EngineEntry(ids[0], day, flag, f"Avance {advance} à {borrower_name}", advance, event, (
        Leg(accounts.lender_principal, amount), Leg(accounts.lender_bank, -amount)), currency)
    borrower = EngineEntry(ids[1], day, flag, f"Avance {advance} de {lender_name}", advance, event, (
        Leg(accounts.borrower_bank, amount), Leg(accounts.borrower_principal, -amount)), currency)
    return lender, borrower


def repayment(advance: str, event: str, day: dt.date, principal: Decimal, interest: Decimal, flag: str,
              accounts: Accounts, names: tuple[str, str], ids: tuple[str, str],
              currency: str = "EUR") -> tuple[EngineEntry, EngineEntry]:
    """The borrower pays back principal and interest; the lender's receivable shrinks, its interest income grows."""
    lender_name, borrower_name = names
    total = principal + interest
    lender_legs = [Leg(accounts.lender_bank, total)]
    borrower_legs = []
    if principal:
        lender_legs.append(Leg(accounts.lender_principal, -principal))
        borrower_legs.append(Leg(accounts.borrower_principal, principal))
    if interest:
        lender_legs.append(Leg(accounts.lender_interest, -interest))
        borrower_legs.append(Leg(accounts.borrower_interest, interest))
    borrower_legs.append(Leg(accounts.borrower_bank, -total))
    lender = EngineEntry(ids[0], day, flag, f"Remboursement {advance} par {borrower_name}", advance, event,
                         tuple(lender_legs), currency)
    borrower = EngineEntry(ids[1], day, flag, f"Remboursement {advance} à {lender_name}", advance, event,
                           tuple(borrower_legs), currency)
    return lender, borrower


def blocks(text: str) -> dict[str, tuple[int, int]]:
    """Where each event's entry sits in the engine file: event → (first line, end line) indexes."""
    lines = text.splitlines()
    out: dict[str, tuple[int, int]] = {}
    index = 0
    while index < len(lines):
        if _DATE_LINE.match(lines[index]):
            end = index + 1
            while end < len(lines) and lines[end].startswith((" ", "\t")):
                end += 1
            for line in lines[index + 1:end]:
                match = _EVENT_META.match(line)
                if match:
                    out.setdefault(match.group(1), (index, end))
            index = end
        else:
            index += 1
    return out


def _unflagged(block: str) -> str:
    return _DATE_LINE.sub(lambda m: f"{m.group(1)} ? ", block, count=1).strip()


def opened_accounts(text: str) -> dict[str, dt.date]:
    """The accounts the engine file opens, with their open date."""
    out = {}
    for line in text.splitlines():
        match = _OPEN_LINE.match(line)
        if match:
            out[match.group(2)] = dt.date.fromisoformat(match.group(1))
    return out


def add_entries(text: str, entries: Sequence[EngineEntry], opened_elsewhere: Iterable[str]) -> tuple[str, list[str]]:
    """The engine file with `entries` added; an event already there with the same content is skipped.

    Returns the new text and the French reasons it cannot be written (an event already written
    with different content). Accounts the member's ledger does not open yet are opened here, on
    or before the first entry that uses them.
    """
    text = text if text.strip() else HEADER
    if not text.endswith("\n"):
        text += "\n"
    existing = blocks(text)
    lines = text.splitlines()
    refusals: list[str] = []
    todo: list[EngineEntry] = []
    for entry in entries:
        if entry.event in existing:
            start, end = existing[entry.event]
            current = "\n".join(lines[start:end])
            if _unflagged(current) != _unflagged(render(entry)):
                refusals.append(f"l'événement « {entry.event} » est déjà écrit avec un autre contenu "
                                f"dans le livre de {entry.member} (ligne {start + 1})")
            continue
        todo.append(entry)
    if refusals or not todo:
        return text, refusals
    text = ensure_opens(text, todo, frozenset(opened_elsewhere))
    if not text.endswith("\n\n"):
        text += "\n"
    return text + "".join(render(entry) for entry in todo), []


def ensure_opens(text: str, entries: Sequence[EngineEntry], opened_elsewhere: frozenset[str]) -> str:
    """Open (or open earlier) every account the entries use that the rest of the ledger does not open."""
    needed: dict[str, tuple[dt.date, str]] = {}
    for entry in entries:
        for account in entry.accounts:
            if account not in opened_elsewhere:
                day = min(needed[account][0], entry.date) if account in needed else entry.date
                needed[account] = (day, entry.currency)
    opened = opened_accounts(text)
    lines = text.splitlines()
    for account, (day, currency) in sorted(needed.items()):
        if account not in opened:
            lines.insert(_opens_end(lines), f"{day.isoformat()} open {account} {currency}")
        elif day < opened[account]:
            lines = [_reopen(line, account, day) for line in lines]
    return "\n".join(lines) + "\n"


def _reopen(line: str, account: str, day: dt.date) -> str:
    match = _OPEN_LINE.match(line)
    if match is None or match.group(2) != account:
        return line
    return day.isoformat() + line[len(match.group(1)):]


def _opens_end(lines: list[str]) -> int:
    """Index after the header comments and the existing open directives."""
    index = 0
    while index < len(lines) and (lines[index].startswith(";") or _OPEN_LINE.match(lines[index])):
        index += 1
    return index


def set_flag(text: str, events: Iterable[str], flag: str) -> str:
    """The engine file with the entries of `events` flagged `flag` (`*` once the bank confirmed)."""
    found = blocks(text)
    lines = text.splitlines()
    for event in events:
        if event in found:
            start, _ = found[event]
            lines[start] = _DATE_LINE.sub(lambda m: f"{m.group(1)} {flag} ", lines[start], count=1)
    return "\n".join(lines) + "\n"


def remove_events(text: str, events: Iterable[str]) -> str:
    """The engine file without the entries of `events` (and the blank line after each)."""
    found = blocks(text)
    lines = text.splitlines()
    drop: set[int] = set()
    for event in events:
        if event in found:
            start, end = found[event]
            drop.update(range(start, end))
            if end < len(lines) and not lines[end].strip():
                drop.add(end)
    return "\n".join(line for i, line in enumerate(lines) if i not in drop) + "\n"


def advance_accounts(accounts: AccountsPolicy, lender: Member, borrower: Member) -> Accounts:
    """The six accounts of an advance between two members, following `rules/pool.toml`."""
    return Accounts(
        lender.bank_account, accounts.lender_principal_for(borrower.id), accounts.lender_interest,
        borrower.bank_account, accounts.borrower_principal_for(lender.id), accounts.borrower_interest,
    )


def event_entries(advance: str, kind: str, event: str, day: dt.date, principal: Decimal, interest: Decimal,
                  flag: str, lender: Member, borrower: Member, accounts: AccountsPolicy,
                  currency: str = "EUR") -> tuple[EngineEntry, EngineEntry]:
    """The lender's and the borrower's entry for one event (`disbursement` or `repayment`)."""
    both = advance_accounts(accounts, lender, borrower)
    names, ids = (lender.name, borrower.name), (lender.id, borrower.id)
    if kind == "disbursement":
        return disbursement(advance, event, day, principal, flag, both, names, ids, currency)
    return repayment(advance, event, day, principal, interest, flag, both, names, ids, currency)


# --- convention de trésorerie: lender → pivot → borrower -----------------------------------------

def hops(lender: str, borrower: str, pivot: str | None) -> tuple[tuple[str, str], ...]:
    """Who pays whom when an advance is paid out (payer, payee): one hop between two members, or two
    through the pivot (a hop from a member to itself, when the pivot lends or borrows, is left out)."""
    if pivot is None:
        return ((lender, borrower),)
    return tuple(hop for hop in ((lender, pivot), (pivot, borrower)) if hop[0] != hop[1])


def _narration(kind: str, advance: str, member: str, lender: Member, borrower: Member, pivot: Member) -> str:
    what = "Avance" if kind == "disbursement" else "Remboursement"
    if member == pivot.id:
        return f"{what} {advance} de {lender.name} à {borrower.name} (organisme pivot)"
    if member == lender.id:
        return f"{what} {advance} à {borrower.name} par {pivot.name} (convention de trésorerie)"
    return f"{what} {advance} de {lender.name} par {pivot.name} (convention de trésorerie)"


def treasury_entries(advance: str, kind: str, event: str, day: dt.date, principal: Decimal, interest: Decimal,
                     flag: str, members: tuple[Member, Member, Member], accounts: AccountsPolicy,
                     currency: str = "EUR") -> tuple[EngineEntry, ...]:
    """One event under a convention de trésorerie: an entry per member it touches (lender, pivot, borrower).

    A disbursement is, for each hop (payer → payee): the payer's receivable on the payee
    (`group_receivable_for`) up and its bank down; the payee's bank up and its debt to the payer
    (`group_payable_for`) up. A repayment runs the hops backwards, with the interest through 6618
    (who pays) and 768 (who receives).
    """
    lender, pivot, borrower = members
    by_id = {m.id: m for m in members}
    legs: dict[str, list[Leg]] = {m.id: [] for m in (lender, pivot, borrower)}
    if kind == "disbursement":
        for payer, payee in hops(lender.id, borrower.id, pivot.id):
            legs[payer] += [Leg(accounts.group_receivable_for(payee), principal),
                            Leg(by_id[payer].bank_account, -principal)]
            legs[payee] += [Leg(by_id[payee].bank_account, principal),
                            Leg(accounts.group_payable_for(payer), -principal)]
    else:
        total = principal + interest
        for receiver, payer in reversed(hops(lender.id, borrower.id, pivot.id)):
            legs[payer] += [leg for leg in (Leg(accounts.group_payable_for(receiver), principal),
                                            Leg(accounts.borrower_interest, interest)) if leg.amount]
            legs[payer].append(Leg(by_id[payer].bank_account, -total))
            legs[receiver].append(Leg(by_id[receiver].bank_account, total))
            legs[receiver] += [leg for leg in (Leg(accounts.group_receivable_for(payer), -principal),
                                               Leg(accounts.lender_interest, -interest)) if leg.amount]
    return tuple(EngineEntry(member, day, flag, _narration(kind, advance, member, lender, borrower, pivot),
                             advance, event, tuple(lines), currency)
                 for member, lines in legs.items() if lines)


def advance_entries(advance: str, kind: str, event: str, day: dt.date, principal: Decimal, interest: Decimal,
                    flag: str, lender: Member, borrower: Member, accounts: AccountsPolicy,
                    currency: str = "EUR", pivot: Member | None = None) -> tuple[EngineEntry, ...]:
    """Every member's entry for one event: lender and borrower, or through `pivot` (convention de trésorerie)."""
    if pivot is None:
        return event_entries(advance, kind, event, day, principal, interest, flag, lender, borrower, accounts,
                             currency)
    return treasury_entries(advance, kind, event, day, principal, interest, flag, (lender, pivot, borrower),
                            accounts, currency)


Namer = Callable[[str], str]


def principal_accounts(accounts: AccountsPolicy, pivot: str | None) -> tuple[Namer, Namer]:
    """The accounts of a hop (payer, payee): the payer's receivable on the payee, the payee's debt to the payer."""
    if pivot is None:
        return accounts.lender_principal_for, accounts.borrower_principal_for
    return accounts.group_receivable_for, accounts.group_payable_for
