"""Writing a member's entries as Beancount text, grouped by month."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from comptasso.synthetic.basics import fmt, month_title
from comptasso.synthetic.model import Directive, Entry, Transaction

AMOUNT_COLUMN = 72
ENGINE_HEADER = "; Fichier écrit par BanquAsso — ne pas modifier à la main.\n"
#: The BanquAsso Fava extension every generated ledger loads (listed in rules/plugins.toml).
FAVA_EXTENSION = "banquasso.fava_ext"
IMPORT_HEADER = "; Relevés bancaires importés par « comptasso import ».\n"


def quoted(text: str) -> str:
    """A Beancount string (labels never contain double quotes)."""
    if '"' in text or "\n" in text:
        raise ValueError(f"libellé invalide : {text!r}")
    return f'"{text}"'


def posting_line(account: str, amount: str) -> str:
    """`  Account      123.45 EUR`, amounts aligned when accounts allow it."""
    pad = max(2, AMOUNT_COLUMN - 2 - len(account) - len(amount))
    return f"  {account}{' ' * pad}{amount} EUR"


def transaction_text(txn: Transaction) -> str:
    """A transaction, its metadata, postings and following directives."""
    links = "".join(f" ^{link}" for link in txn.links)
    lines = [f"{txn.date.isoformat()} * {quoted(txn.payee)} {quoted(txn.narration)}{links}"]
    lines += [f"  {key}: {value}" for key, value in txn.meta]
    lines += [posting_line(p.account, fmt(p.amount)) for p in txn.postings]
    text = "\n".join(lines) + "\n"
    if txn.followers:
        text += "\n" + "".join(f"{txn.date.isoformat()} {line}\n" for line in txn.followers)
    return text


def entry_text(entry: Entry) -> str:
    """One entry as text."""
    if isinstance(entry, Transaction):
        return transaction_text(entry)
    return f"{entry.date.isoformat()} {entry.body}\n"


def header_text(title: str, start: date, seed_note: str) -> str:
    """Options, Fava language and includes at the top of `main.beancount`."""
    return (
        f"option \"title\" {quoted(title)}\n"
        'option "operating_currency" "EUR"\n'
        f'{start.isoformat()} custom "fava-option" "language" "fr"\n'
        f'{start.isoformat()} custom "fava-extension" "{FAVA_EXTENSION}"\n'
        "\n"
        'include "banquasso.beancount"\n'
        'include "import.beancount"\n'
        "\n"
        f"; {seed_note}\n"
    )


def opens_text(accounts: Iterable[str], start: date) -> str:
    """The open directives, one per account, on the start date."""
    lines = [f"{start.isoformat()} open {account} EUR" for account in sorted(set(accounts))]
    return "\n; Plan de comptes\n" + "\n".join(lines) + "\n"


def body_text(entries: Sequence[Entry]) -> str:
    """The entries in date order, with a comment header at each new month."""
    parts: list[str] = []
    current: tuple[int, int] | None = None
    previous_was_directive = False
    for entry in entries:
        month = (entry.date.year, entry.date.month)
        if month != current:
            parts.append(f"\n; ==== {month_title(*month)} ====\n")
            current = month
            previous_was_directive = False
        is_directive = isinstance(entry, Directive)
        if not (is_directive and previous_was_directive):
            parts.append("\n")
        parts.append(entry_text(entry))
        previous_was_directive = is_directive
    return "".join(parts)
