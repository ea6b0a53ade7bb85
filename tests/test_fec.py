"""`comptasso fec`: the 18 fields, opening entries, numbering, auxiliary accounts; the verifier's faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount.core import data
from beancount.core.amount import Amount
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from comptasso.books.loading import load_member_ledger
from comptasso.cli.main import main
from comptasso.reports.fec import FIELDS, build_fec, is_opening
from comptasso.reports.fec_verify import FAULTS, verify_fec
from tests.conftest import DEMO_AS_OF, DEMO_LEDGERS, write_group

SIREN = "123456789"
NAME = f"{SIREN}FEC20251231.txt"

LEDGER = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque EUR
2024-01-01 open Assets:512-Livret EUR
2024-01-01 open Assets:411-Clients:Mairie-De-Gap EUR
2024-01-01 open Assets:441-Subventions-A-Recevoir EUR
2024-01-01 open Liabilities:401-Fournisseurs:Imprimerie-Alpine EUR
  name: "Imprimerie Alpine SARL"
2024-01-01 open Equity:102-Fonds-Associatifs EUR
2024-01-01 open Income:706-Prestations EUR
2024-01-01 open Income:741-Subventions EUR
2024-01-01 open Expenses:623-Publicite EUR

2024-01-01 * "Reprise des soldes" "Ouverture"
  Assets:512-Banque              5000.00 EUR
  Equity:102-Fonds-Associatifs  -5000.00 EUR

2024-06-10 * "Mairie de Gap" "Facture F2024-01" ^F2024-01
  echeance: 2024-07-10
  Assets:411-Clients:Mairie-De-Gap   1200.00 EUR
  Income:706-Prestations            -1200.00 EUR

2024-11-20 * "Imprimerie Alpine" "Affiches" ^A2024-07
  echeance: 2025-01-20
  Expenses:623-Publicite                              300.00 EUR
  Liabilities:401-Fournisseurs:Imprimerie-Alpine     -300.00 EUR

2025-01-15 * "Imprimerie Alpine" "Règlement des affiches" ^A2024-07
  Liabilities:401-Fournisseurs:Imprimerie-Alpine      300.00 EUR
  Assets:512-Banque                                  -300.00 EUR

2025-02-01 * "Virement interne"
  Assets:512-Livret    1000.00 EUR
  Assets:512-Banque   -1000.00 EUR

2025-03-05 * "Région" "Subvention notifiée	avec
une tabulation et un saut de ligne"
  convention: "ESS-2025-01"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir   5000.00 EUR
  Income:741-Subventions             -5000.00 EUR

2025-12-31 * "Stage de Noël"
  Assets:512-Banque        800.00 EUR
  Income:706-Prestations  -800.00 EUR

2026-01-05 * "Après l'exercice"
  Assets:512-Banque        10.00 EUR
  Income:706-Prestations  -10.00 EUR
"""

EXPECTED = [
    # JournalCode, EcritureNum, EcritureDate, CompteNum, CompteLib, CompAuxNum, CompAuxLib, PieceRef,
    # EcritureLib, Debit, Credit, EcritureLet, DateLet
    # The opening entry details third-party balances per open invoice, so a carried-over invoice is
    # lettered with its payment inside the file (A2024-07), and an unpaid one keeps its link (F2024-01).
    ("AN", "000001", "20250101", "41100000", "Clients", "Mairie-De-Gap", "Mairie De Gap", "AN2025",
     "À nouveaux au 01/01/2025 - F2024-01", "1200,00", "0,00", "", ""),
    ("AN", "000001", "20250101", "51200000", "Banque", "", "", "AN2025",
     "À nouveaux au 01/01/2025", "5000,00", "0,00", "", ""),
    ("AN", "000001", "20250101", "10200000", "Fonds Associatifs", "", "", "AN2025",
     "À nouveaux au 01/01/2025", "0,00", "5000,00", "", ""),
    ("AN", "000001", "20250101", "40100000", "Fournisseurs", "Imprimerie-Alpine", "Imprimerie Alpine SARL",
     "AN2025", "À nouveaux au 01/01/2025 - A2024-07", "0,00", "300,00", "A2024-07", "20250115"),
    ("AN", "000001", "20250101", "12000000", "Résultat de l'exercice (excédent)", "", "", "AN2025",
     "À nouveaux au 01/01/2025", "0,00", "900,00", "", ""),
    ("BQ", "000002", "20250115", "40100000", "Fournisseurs", "Imprimerie-Alpine", "Imprimerie Alpine SARL",
     "A2024-07", "Imprimerie Alpine - Règlement des affiches", "300,00", "0,00", "A2024-07", "20250115"),
    ("BQ", "000002", "20250115", "51200000", "Banque", "", "", "A2024-07",
     "Imprimerie Alpine - Règlement des affiches", "0,00", "300,00", "", ""),
    ("BQ", "000003", "20250201", "51200001", "Livret", "", "", "000003", "Virement interne",
     "1000,00", "0,00", "", ""),
    ("BQ", "000003", "20250201", "51200000", "Banque", "", "", "000003", "Virement interne",
     "0,00", "1000,00", "", ""),
    ("OD", "000004", "20250305", "44100000", "Subventions A Recevoir", "", "", "ESS-2025-01",
     "Région - Subvention notifiée avec une tabulation et un saut de ligne", "5000,00", "0,00", "", ""),
    ("OD", "000004", "20250305", "74100000", "Subventions", "", "", "ESS-2025-01",
     "Région - Subvention notifiée avec une tabulation et un saut de ligne", "0,00", "5000,00", "", ""),
    ("BQ", "000005", "20251231", "51200000", "Banque", "", "", "000005", "Stage de Noël",
     "800,00", "0,00", "", ""),
    ("BQ", "000005", "20251231", "70600000", "Prestations", "", "", "000005", "Stage de Noël",
     "0,00", "800,00", "", ""),
]


def _group(tmp_path: Path, siren: str | None = SIREN) -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"asso": LEDGER})
    if siren:
        group = ledgers / "group.toml"
        text = group.read_text(encoding="utf-8")
        group.write_text(text.replace('ledger = "asso/', f'siren = "{siren}"\nledger = "asso/'), encoding="utf-8")
    return ledgers, rules


def _export(tmp_path: Path, *extra: str) -> tuple[int, str, str, Path]:
    ledgers, rules = _group(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["fec", "asso", "--year", "2025", "--as-of", "2026-03-31",
                                       "--ledgers", str(ledgers), "--rules", str(rules), "--output", str(out),
                                       *extra])
    return result.exit_code, result.stdout, result.stderr, out


@pytest.fixture
def good_fec(tmp_path: Path) -> Path:
    code, _, err, out = _export(tmp_path)
    assert code == 0, err
    return out / NAME


def test_fec_fields_order_and_values(good_fec: Path) -> None:
    raw = good_fec.read_bytes()
    text = raw.decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "\t".join(FIELDS) and len(FIELDS) == 18
    assert lines[-1] == "" and "\r" not in text
    rows = [line.split("\t") for line in lines[1:-1]]
    assert all(len(r) == 18 for r in rows)
    got = [(r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[10], r[11], r[12], r[13], r[14]) for r in rows]
    assert got == EXPECTED
    journal_libs = {r[0]: r[1] for r in rows}
    assert journal_libs == {"AN": "À nouveaux", "BQ": "Banque", "OD": "Opérations diverses"}
    assert all(r[15] == r[3] and r[9] == r[3] and r[16] == "" and r[17] == "" for r in rows)


def test_fec_description_file_and_summary(tmp_path: Path) -> None:
    code, out, _, folder = _export(tmp_path)
    assert code == 0
    assert f"{SIREN}FEC20251231.txt (5 écriture(s), 13 ligne(s), débit 13 300,00 € = crédit 13 300,00 €)" in out
    notice = (folder / f"{SIREN}FEC20251231-description.txt").read_text(encoding="utf-8")
    assert "article A47 A-1" in notice and f"SIREN : {SIREN}" in notice
    assert "Exercice : du 01/01/2025 au 31/12/2025" in notice
    assert "Séparateur de champs : tabulation" in notice and "Total débit : 13300,00" in notice
    assert all(name in notice for name in FIELDS)


def test_fec_of_the_first_year_has_the_ledger_opening_as_an(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["fec", "asso", "--year", "2024", "--as-of", "2026-03-31", "--json",
                                       "--ledgers", str(ledgers), "--rules", str(rules), "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    rows = [line.split("\t") for line in (out / f"{SIREN}FEC20241231.txt").read_text("utf-8").splitlines()[1:]]
    assert [(r[0], r[2], r[4]) for r in rows[:2]] == [("AN", "000001", "51200000"), ("AN", "000001", "10200000")]
    assert [r[0] for r in rows[2:]] == ["VT", "VT", "AC", "AC"]
    assert verify_fec(out / f"{SIREN}FEC20241231.txt")[1] == []


def test_fec_without_siren_is_an_error(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path, siren=None)
    result = CliRunner().invoke(main, ["fec", "asso", "--year", "2025", "--as-of", "2026-03-31",
                                       "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "group.toml:6: members[0].siren absent" in result.stderr
    assert not (tmp_path / "out").exists()


def test_fec_usage_errors(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["fec", "asso", "--ledgers", str(ledgers), "--rules", str(rules)])
    assert result.exit_code == 2 and "--year" in result.stderr
    result = runner.invoke(main, ["fec", "nobody", "--year", "2025", "--ledgers", str(ledgers),
                                  "--rules", str(rules)])
    assert result.exit_code == 2 and "membre inconnu « nobody »" in result.stderr


def test_good_fec_passes_the_verifier(good_fec: Path) -> None:
    summary, faults = verify_fec(good_fec)
    assert faults == []
    assert (summary.lines, summary.entries) == (13, 5)
    assert summary.total_debit == summary.total_credit == Decimal("13300.00")
    result = CliRunner().invoke(main, ["fec", "--verify", str(good_fec)])
    assert result.exit_code == 0 and "conforme" in result.stdout


# --- Each fault the verifier knows ----------------------------------------------------------------

Rows = list[list[str]]


def _set(line: int, field: str, value: str) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[line - 1][FIELDS.index(field)] = value
    return change


def _set_entry(number: str, field: str, value: str) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        for row in rows[1:]:
            if row[2] == number:
                row[FIELDS.index(field)] = value
    return change


def _move_line_to_end(line: int) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows.append(rows.pop(line - 1))
    return change


def _drop_field(line: int) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[line - 1].pop()
    return change


def _both(*changes: Callable[[Rows], None]) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        for one in changes:
            one(rows)
    return change


def _header_only(rows: Rows) -> None:
    del rows[1:]


# (code, change of the rows (line 1 = header), line where the fault must be reported)
BREAKS: list[tuple[str, Callable[[Rows], None], int]] = [
    ("vide", _header_only, 0),
    ("en-tete", _set(1, "Debit", "Débit"), 1),
    ("nombre-champs", _drop_field(4), 4),
    ("champ-obligatoire", _set(8, "EcritureLib", ""), 8),
    ("date", _set(8, "PieceDate", "2025-01-15"), 8),
    ("hors-exercice", _set_entry("000005", "EcritureDate", "20260102"), 13),
    ("montant", _set(9, "Debit", "1 000,00"), 9),
    ("montant", _set(9, "Debit", "1000.00"), 9),
    ("debit-credit", _set(9, "Credit", "1000,00"), 9),
    ("compte", _set(9, "CompteNum", "9X"), 9),
    ("libelle-compte", _set(13, "CompteLib", "Banque populaire"), 13),
    ("auxiliaire", _set(7, "CompAuxLib", ""), 7),
    ("lettrage", _set(7, "DateLet", ""), 7),
    ("devise", _set(9, "Montantdevise", "10,00"), 9),
    ("desequilibre", _set(7, "Debit", "301,00"), 7),
    ("numerotation", _set_entry("000005", "EcritureNum", "000007"), 13),
    ("ecriture-scindee", _move_line_to_end(7), 14),
    ("ecriture-incoherente", _set(8, "JournalCode", "OD"), 8),
    ("chronologie", _set_entry("000004", "EcritureDate", "20250110"), 11),
    ("a-nouveaux", _set_entry("000005", "JournalCode", "AN"), 13),
    # The six faults the first verifier missed (issue 14), each its own case.
    ("validation-avant-ecriture", _set(9, "ValidDate", "20250131"), 9),
    ("lettrage-avant-ecriture", _set(7, "DateLet", "20250110"), 7),
    ("code-devise", _both(_set(9, "Montantdevise", "1000,00"), _set(9, "Idevise", "EURO")), 9),
    ("ecriture-nulle", _both(_set_entry("000003", "Debit", "0,00"), _set_entry("000003", "Credit", "0,00")), 9),
    ("lettrage-isole", _both(_set(9, "EcritureLet", "ZZ"), _set(9, "DateLet", "20250201")), 9),
    ("a-nouveaux-gestion", _both(_set(4, "CompteNum", "60600000"), _set(4, "CompteLib", "Achats")), 4),
]


def _broken(good: Path, change: Callable[[Rows], None], name: str = NAME) -> Path:
    rows = [line.split("\t") for line in good.read_text("utf-8").splitlines()]
    change(rows)
    path = good.parent / "broken" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("code", "change", "line"), BREAKS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(BREAKS)])
def test_each_break_is_reported(good_fec: Path, code: str, change: Callable[[Rows], None], line: int) -> None:
    _, faults = verify_fec(_broken(good_fec, change))
    assert (line, code) in {(f.line, f.code) for f in faults}, faults


def test_file_name_and_encoding_faults(good_fec: Path) -> None:
    renamed = _broken(good_fec, lambda rows: None, "fec-2025.txt")
    _, faults = verify_fec(renamed)
    assert [(f.line, f.code) for f in faults] == [(0, "nom-fichier")]
    _, faults = verify_fec(renamed, closing=dt.date(2025, 12, 31))
    assert {f.code for f in faults} == {"nom-fichier"}
    windows = _broken(good_fec, _set(7, "EcritureLib", "Règlement \u2014 affiches"))
    windows.write_bytes(windows.read_text("utf-8").encode("cp1252"))  # "—" is byte 0x97, a C1 control in Latin-9
    _, faults = verify_fec(windows)
    assert [(f.line, f.code) for f in faults] == [(7, "encodage")]


def test_every_fault_code_is_exercised() -> None:
    assert {code for code, _, _ in BREAKS} | {"nom-fichier", "encodage", "sens"} == set(FAULTS)


# --- Every variant A47 A-1 allows passes ------------------------------------------------------------


def _variant(good: Path, change: Callable[[Rows], None], name: str = NAME, separator: str = "\t",
             encoding: str = "utf-8") -> Path:
    rows = [line.split("\t") for line in good.read_text("utf-8").splitlines()]
    change(rows)
    path = good.parent / "variant" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(("\n".join(separator.join(r) for r in rows) + "\n").encode(encoding))
    return path


def _montant_sens(rows: Rows) -> None:
    debit, credit = FIELDS.index("Debit"), FIELDS.index("Credit")
    rows[0][debit], rows[0][credit] = "Montant", "Sens"
    for row in rows[1:]:
        if row[debit] != "0,00":
            row[credit] = "D"
        else:
            row[debit], row[credit] = row[credit], "C"


def _signed(rows: Rows) -> None:
    """Credits written as negative debits, as some software does."""
    debit, credit = FIELDS.index("Debit"), FIELDS.index("Credit")
    for row in rows[1:]:
        if row[credit] != "0,00":
            row[debit], row[credit] = f"-{row[credit]}", "0,00"


def _per_journal(rows: Rows) -> None:
    """EcritureNum continuous per journal, the file sorted by journal then number."""
    counters: dict[str, int] = {}
    numbers: dict[tuple[str, str], str] = {}
    for row in rows[1:]:
        key = (row[0], row[2])
        if key not in numbers:
            counters[row[0]] = counters.get(row[0], 0) + 1
            numbers[key] = f"{row[0]}{counters[row[0]]:05d}"
        row[2] = numbers[key]
    rows[1:] = sorted(rows[1:], key=lambda r: (r[0] != "AN", r[0], r[2]))


VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("iso-8859-15", {"change": _set(7, "EcritureLib", "Règlement des affiches : œuvre, 10 € « net »"),
                     "encoding": "iso-8859-15"}),
    ("montant-sens", {"change": _montant_sens}),
    ("signed-amounts", {"change": _signed}),
    ("numbering-per-journal", {"change": _per_journal}),
    ("upper-case-extension", {"change": lambda rows: None, "name": NAME.replace(".txt", ".TXT")}),
    ("pipe-separator", {"change": lambda rows: None, "separator": "|"}),
    ("utf-8-bom", {"change": _set(1, "JournalCode", "\ufeffJournalCode")}),
]


@pytest.mark.parametrize(("name", "how"), VARIANTS, ids=[v for v, _ in VARIANTS])
def test_every_legal_variant_passes(good_fec: Path, name: str, how: dict[str, Any]) -> None:
    path = _variant(good_fec, **how)
    summary, faults = verify_fec(path)
    assert faults == [], faults
    assert (summary.entries, summary.lines) == (5, 13)
    assert summary.total_debit == summary.total_credit == Decimal("13300.00")


def test_montant_sens_with_a_bad_direction_is_a_fault(good_fec: Path) -> None:
    def change(rows: Rows) -> None:
        _montant_sens(rows)
        rows[8][FIELDS.index("Credit")] = "X"
    _, faults = verify_fec(_variant(good_fec, change))
    assert (9, "sens") in {(f.line, f.code) for f in faults}


def test_per_journal_numbering_still_catches_a_gap(good_fec: Path) -> None:
    def change(rows: Rows) -> None:
        _per_journal(rows)
        for row in rows[1:]:
            if row[2] == "BQ00003":
                row[2] = "BQ00004"
    _, faults = verify_fec(_variant(good_fec, change))
    assert "numerotation" in {f.code for f in faults}


def test_verify_cli_lists_every_fault_and_exits_1(good_fec: Path) -> None:
    def two_faults(rows: Rows) -> None:
        _set(7, "Debit", "301,00")(rows)
        _set(9, "CompteNum", "9X")(rows)
    path = _broken(good_fec, two_faults)
    result = CliRunner().invoke(main, ["fec", "--verify", str(path)])
    assert result.exit_code == 1
    assert f"{path}:7: [desequilibre] écriture déséquilibrée" in result.stderr
    assert f"{path}:9: [compte] numéro de compte non conforme" in result.stderr
    assert "2 défaut(s)" in result.stdout


# --- Invariants -----------------------------------------------------------------------------------

ACCOUNTS = ["Assets:512-Banque", "Assets:411-Clients:A", "Liabilities:401-Fournisseurs:B",
            "Equity:102-Fonds", "Income:706-Prestations", "Expenses:606-Achats", "Assets:512-Caisse-Bis"]


def _open(account: str) -> data.Open:
    """An account opened on 2024-01-01 with no currency constraint: None, as the parser makes it."""
    # Beancount annotates `currencies` as a list, though its docstring and its parser give None.
    return data.Open(data.new_metadata("x", 0), dt.date(2024, 1, 1), account, None, None)  # type: ignore[arg-type]


def _number(posting: data.Posting) -> Decimal:
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


@st.composite
def _transactions(draw: st.DrawFn) -> list[data.Directive]:
    entries: list[data.Directive] = [_open(a) for a in ACCOUNTS]
    for index in range(draw(st.integers(1, 25))):
        day = draw(st.dates(dt.date(2024, 1, 1), dt.date(2026, 6, 30)))
        first, second = draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2, unique=True))
        amount = draw(st.decimals(Decimal("0.01"), Decimal("99999.99"), places=2))
        postings = [data.Posting(first, Amount(amount, "EUR"), None, None, None, None),
                    data.Posting(second, Amount(-amount, "EUR"), None, None, None, None)]
        entries.append(data.Transaction(data.new_metadata("x", index + 10), day, "*", None, f"op {index}",
                                        data.EMPTY_SET, data.EMPTY_SET, postings))
    return sorted(entries, key=data.entry_sortkey)


@settings(max_examples=30, deadline=None)
@given(_transactions())
def test_any_balanced_books_give_a_valid_fec(tmp_path_factory: pytest.TempPathFactory,
                                             entries: list[data.Directive]) -> None:
    fec = build_fec(entries, 2025, dt.date(2026, 12, 31), SIREN)
    path = tmp_path_factory.mktemp("fec") / fec.filename
    path.write_text(fec.text(), encoding="utf-8")
    summary, faults = verify_fec(path)
    assert [f.code for f in faults] == ([] if fec.rows else ["vide"])  # a year without entries is no FEC
    assert fec.total_debit == fec.total_credit == summary.total_debit
    _assert_opening_plus_moves(fec, entries)


def _assert_opening_plus_moves(fec: Any, entries: list[data.Directive]) -> None:
    """Total debit = journal AN (carried balances and the ledger's own opening entry) + the year's other moves.

    The ledger's own opening entry (first day, balance sheet against 10x/11x) sits in journal AN even when
    it is dated in the year: counting it as a move too was the first oracle's fault.
    """
    opening_day = dt.date(2025, 1, 1)
    first_day = min(e.date for e in entries if isinstance(e, data.Transaction))
    in_year = [e for e in entries if isinstance(e, data.Transaction) and opening_day <= e.date <= dt.date(2025, 12, 31)
               and not is_opening(e, first_day)]
    moved = sum((_number(p) for e in in_year for p in e.postings if _number(p) > 0), Decimal(0))
    opening = sum((Decimal(r[11].replace(",", ".")) for r in fec.rows if r[0] == "AN"), Decimal(0))
    assert fec.total_debit == moved + opening


def test_the_ledgers_own_opening_entry_is_counted_once() -> None:
    """The counterexample Hypothesis found against the first oracle: the ledger's first entry, on 1 January
    against 102, is journal AN; the oracle counted it as carried balance and as a move of the year."""
    opens: list[data.Directive] = [_open(a) for a in ACCOUNTS]
    postings = [data.Posting("Assets:512-Banque", Amount(Decimal("0.01"), "EUR"), None, None, None, None),
                data.Posting("Equity:102-Fonds", Amount(Decimal("-0.01"), "EUR"), None, None, None, None)]
    entry = data.Transaction(data.new_metadata("x", 10), dt.date(2025, 1, 1), "*", None, "op 0",
                             data.EMPTY_SET, data.EMPTY_SET, postings)
    fec = build_fec([*opens, entry], 2025, dt.date(2026, 12, 31), SIREN)
    assert {r[0] for r in fec.rows} == {"AN"}
    assert fec.total_debit == Decimal("0.01")
    _assert_opening_plus_moves(fec, [*opens, entry])


# --- The demo group ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not (DEMO_LEDGERS / "group.toml").exists(), reason="demo group not generated")
def test_every_demo_member_fec_2025_passes_verify(demo_copy: tuple[Path, Path], tmp_path: Path) -> None:
    ledgers, rules = demo_copy
    runner = CliRunner()
    from comptasso.books.group import load_group
    group, _ = load_group(ledgers)
    assert group is not None and len(group.members) == 6
    for member in group.members:
        out = tmp_path / "fec"
        result = runner.invoke(main, ["fec", member.id, "--year", "2025", "--as-of", DEMO_AS_OF,
                                      "--ledgers", str(ledgers), "--rules", str(rules), "--output", str(out)])
        assert result.exit_code == 0, result.stderr
        path = out / f"{member.siren}FEC20251231.txt"
        check = runner.invoke(main, ["fec", "--verify", str(path)])
        assert check.exit_code == 0, check.stderr
        assert "conforme" in check.stdout
        rows = _pandas_rows(path, "utf-8")
        assert _amounts(rows, "Debit") == _amounts(rows, "Credit")
        groups: dict[tuple[str, ...], Decimal] = {}
        for r in rows:
            if r[13]:
                key = (r[4], r[6], r[13])
                groups[key] = groups.get(key, Decimal(0)) + Decimal(r[11].replace(",", ".")) - \
                    Decimal(r[12].replace(",", "."))
        assert groups and {k: v for k, v in groups.items() if v != 0} == {}, member.id


# --- Export: encodings, an independent reader, lettering, pieces ------------------------------------


def _pandas_rows(path: Path, encoding: str) -> list[tuple[str, ...]]:
    """The file as an independent reader sees it: pandas, 18 text columns, nothing converted."""
    import pandas as pd
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, encoding=encoding)
    assert list(frame.columns) == list(FIELDS)
    return [tuple(str(v) for v in row) for row in frame.itertuples(index=False)]


def _amounts(rows: list[tuple[str, ...]], field: str) -> Decimal:
    return sum((Decimal(r[FIELDS.index(field)].replace(",", ".")) for r in rows), Decimal(0))


@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-15"])
def test_export_round_trips_through_pandas(tmp_path: Path, encoding: str) -> None:
    ledgers, rules = write_group(tmp_path, {"asso": LEDGER + """
2025-06-01 * "Imprimerie Alpine" "Flyers — l’été"
  Expenses:623-Publicite   50.00 EUR
  Assets:512-Banque       -50.00 EUR
"""})
    group = ledgers / "group.toml"
    group.write_text(group.read_text("utf-8").replace('ledger = "asso/', f'siren = "{SIREN}"\nledger = "asso/'),
                     encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["fec", "asso", "--year", "2025", "--as-of", "2026-03-31", "--encoding",
                                       encoding, "--ledgers", str(ledgers), "--rules", str(rules),
                                       "--output", str(out)])
    assert result.exit_code == 0, result.stderr
    path = out / NAME
    entries = load_member_ledger("asso", ledgers / "asso" / "main.beancount", frozenset()).entries
    fec = build_fec(entries, 2025, dt.date(2026, 3, 31), SIREN, encoding=encoding)
    assert _pandas_rows(path, encoding) == list(fec.rows)
    assert _amounts(list(fec.rows), "Debit") == _amounts(list(fec.rows), "Credit") == fec.total_debit
    assert verify_fec(path)[1] == []
    labels = {r[FIELDS.index("EcritureLib")] for r in fec.rows}
    notice = (out / f"{SIREN}FEC20251231-description.txt").read_text("utf-8")
    if encoding == "utf-8":
        assert "Imprimerie Alpine - Flyers — l’été" in labels
        assert "fec-transliterated" not in {p.code for p in fec.problems}
        assert "encodage UTF-8" in notice
    else:
        assert "Imprimerie Alpine - Flyers - l'été" in labels
        assert path.read_bytes().decode("iso-8859-15")  # every byte is Latin-9
        expected = ("avertissement : FEC en ISO-8859-15 : caractères absents de cet encodage remplacés "
                    "(« — » ×2, « ’ » ×2)")  # two lines each
        assert expected in result.stderr
        assert "encodage ISO 8859-15 (Latin-9)" in notice and "« — » (U+2014)" in notice


def test_fec_refuses_an_unknown_encoding(tmp_path: Path) -> None:
    code, _, err, out = _export(tmp_path, "--encoding", "cp1252")
    assert code == 2 and "--encoding" in err and not out.exists()


def test_every_lettering_group_balances_inside_the_file(good_fec: Path) -> None:
    rows = [line.split("\t") for line in good_fec.read_text("utf-8").splitlines()[1:]]
    groups: dict[tuple[str, str, str], Decimal] = {}
    for r in rows:
        if r[13]:
            key = (r[4], r[6], r[13])
            groups[key] = groups.get(key, Decimal(0)) + Decimal(r[11].replace(",", ".")) - \
                Decimal(r[12].replace(",", "."))
    assert groups == {("40100000", "Imprimerie-Alpine", "A2024-07"): Decimal(0)}


def test_piece_ref_from_the_document_of_the_entry() -> None:
    opens: list[data.Directive] = [_open(a) for a in ACCOUNTS]

    def entry(line: int, meta: dict[str, Any], links: frozenset[str] = data.EMPTY_SET) -> data.Transaction:
        postings = [data.Posting("Expenses:606-Achats", Amount(Decimal("10.00"), "EUR"), None, None, None, None),
                    data.Posting("Assets:512-Banque", Amount(Decimal("-10.00"), "EUR"), None, None, None, None)]
        return data.Transaction(data.new_metadata("x", line, meta), dt.date(2025, 3, line), "*", None, "achat",
                                data.EMPTY_SET, links, postings)
    fec = build_fec([*opens, entry(1, {"document": "pieces/2025/ticket-0042.pdf"}),
                     entry(2, {}, frozenset({"F2025-9"})), entry(3, {})], 2025, dt.date(2026, 1, 31), SIREN)
    assert [r[FIELDS.index("PieceRef")] for r in fec.rows[::2]] == ["ticket-0042.pdf", "F2025-9", "000003"]


def test_valid_date_is_the_closing_date_when_given() -> None:
    opens: list[data.Directive] = [_open(a) for a in ACCOUNTS]
    postings = [data.Posting("Expenses:606-Achats", Amount(Decimal("10.00"), "EUR"), None, None, None, None),
                data.Posting("Assets:512-Banque", Amount(Decimal("-10.00"), "EUR"), None, None, None, None)]
    entry = data.Transaction(data.new_metadata("x", 5), dt.date(2025, 3, 1), "*", None, "achat",
                             data.EMPTY_SET, data.EMPTY_SET, postings)
    fec = build_fec([*opens, entry], 2025, dt.date(2026, 1, 31), SIREN, validated=dt.date(2026, 1, 20))
    assert {r[FIELDS.index("ValidDate")] for r in fec.rows} == {"20260120"}
