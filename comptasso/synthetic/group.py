"""The generated group: its members, `group.toml`, `group.beancount` and every member folder."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from comptasso.synthetic.context import Context, MemberSpec
from comptasso.synthetic.invoices import ge_billing
from comptasso.synthetic.member import build_book, main_text
from comptasso.synthetic.model import InvoiceSpec
from comptasso.synthetic.profiles import ARCHETYPES
from comptasso.synthetic.render import ENGINE_HEADER, FAVA_EXTENSION, IMPORT_HEADER

GROUP_NAME = "Groupement d'employeurs Alpes Sud"
DEMO_SEED = 2026
DEFAULT_START = date(2024, 1, 1)
DEFAULT_END = date(2026, 11, 30)
BLOCK = len(ARCHETYPES)


@dataclass(frozen=True)
class GroupReport:
    """What was written: the group's name, its members and the number of entries."""

    name: str
    members: tuple[MemberSpec, ...]
    entries: int


def siren(rng: random.Random) -> str:
    """A 9-digit SIREN with a valid Luhn check digit."""
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if index % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def demo_members(seed: int) -> list[MemberSpec]:
    """The six members of the demo group."""
    return [MemberSpec(p.key, p.name, siren(random.Random(f"{seed}:siren:{p.key}")), p) for p in ARCHETYPES]


def synthetic_members(count: int, seed: int) -> list[MemberSpec]:
    """`count` members cycling through the archetypes: `velo-gap-001`, `grange-ecrins-002`…"""
    width = max(3, len(str(count)))
    out = []
    for index in range(1, count + 1):
        profile = ARCHETYPES[(index - 1) % BLOCK]
        member_id = f"{profile.key}-{index:0{width}d}"
        name = f"{profile.name} n° {index}"
        out.append(MemberSpec(member_id, name, siren(random.Random(f"{seed}:siren:{member_id}")), profile))
    return out


def blocks(members: Sequence[MemberSpec]) -> list[list[MemberSpec]]:
    """Consecutive blocks of six members: each block's employer group bills the five others."""
    return [list(members[i:i + BLOCK]) for i in range(0, len(members), BLOCK)]


def group_toml(name: str, members: Sequence[MemberSpec], ctx: Context, command: str) -> str:
    """The text of `group.toml` (SPEC section 3), with how it was generated."""
    lines = [
        (f"# Groupe généré par comptasso.synthetic : graine {ctx.seed}, "
         f"livres du {ctx.start.isoformat()} au {ctx.end.isoformat()}."),
        f"# Pour le refaire à l'identique : {command}",
        "",
        "[group]",
        f'name = "{name}"',
        'currency = "EUR"',
    ]
    for member in members:
        lines += [
            "",
            "[[members]]",
            f'id = "{member.id}"',
            f'name = "{member.name}"',
            f'siren = "{member.siren}"',
            f'ledger = "{member.id}/main.beancount"',
            f'bank_account = "{member.bank}"',
        ]
    return "\n".join(lines) + "\n"


def group_beancount(name: str, ctx: Context) -> str:
    """The consolidated view: every member through the consolidation plugin."""
    return (
        f'option "title" "{name} — vue consolidée"\n'
        'option "operating_currency" "EUR"\n'
        'plugin "comptasso.consolidation" "group.toml"\n'
        f'{ctx.start.isoformat()} custom "fava-option" "language" "fr"\n'
        f'{ctx.start.isoformat()} custom "fava-extension" "{FAVA_EXTENSION}"\n'
    )


def write(path: Path, text: str) -> None:
    """Write a UTF-8 text file with Unix newlines, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def write_members(out_dir: Path, members: Sequence[MemberSpec], ctx: Context) -> int:
    """Write every member folder; return the number of entries written."""
    used_refs: set[str] = set()
    count = 0
    for block in blocks(members):
        received: dict[str, list[InvoiceSpec]] = {}
        issued: list[InvoiceSpec] = []
        ge = next((m for m in block if m.profile.is_employer_group), None)
        clients = [m for m in block if m is not ge]
        if ge is not None:
            issued, received = ge_billing(ge, clients, ctx)
        billed = sum(c.profile.ge_share for c in clients) if ge is not None else 0
        for member in block:
            invoices = issued if member is ge else received.get(member.id, [])
            book = build_book(member, ctx, invoices, billed, used_refs)
            count += len(book.entries)
            folder = out_dir / member.id
            write(folder / "main.beancount", main_text(member, book, ctx))
            write(folder / "banquasso.beancount", ENGINE_HEADER)
            write(folder / "import.beancount", IMPORT_HEADER)
    return count


def regenerate_hint(members: int | None, ctx: Context) -> str:
    """The command (or call) that writes the same group again."""
    if ctx.end != DEFAULT_END or ctx.start != date(ctx.start.year, 1, 1):
        return (f"generate_group(DOSSIER, members={members}, start={ctx.start.isoformat()}, "
                f"end={ctx.end.isoformat()}, seed={ctx.seed})")
    size = "" if members is None else f" --members {members}"
    return f"comptasso generate DOSSIER{size} --years {ctx.end.year - ctx.start.year + 1} --seed {ctx.seed}"


def build_group(out_dir: Path, members: int | None, start: date, end: date, seed: int) -> GroupReport:
    """Write the demo group (members=None) or a synthetic group of `members` members."""
    if end < start:
        raise ValueError(f"la date de fin {end} précède la date de début {start}")
    if members is not None and members < 1:
        raise ValueError(f"il faut au moins un membre, pas {members}")
    ctx = Context(start, end, seed)
    specs = demo_members(seed) if members is None else synthetic_members(members, seed)
    name = GROUP_NAME if members is None else f"{GROUP_NAME} — groupe synthétique de {members} membres"
    command = regenerate_hint(members, ctx)
    out_dir.mkdir(parents=True, exist_ok=True)
    write(out_dir / "group.toml", group_toml(name, specs, ctx, command))
    write(out_dir / "group.beancount", group_beancount(name, ctx))
    entries = write_members(out_dir, specs, ctx)
    return GroupReport(name, tuple(specs), entries)


def generate_group(
    out_dir: Path, *, members: int | None = None, start: date = DEFAULT_START, end: date = DEFAULT_END,
    seed: int = DEMO_SEED,
) -> None:
    """Write a group of ledgers into `out_dir`: the six-member demo, or `members` synthetic members."""
    build_group(Path(out_dir), members, start, end, seed)
