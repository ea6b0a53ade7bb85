"""`comptasso import`: CSV (both encodings, both amount layouts) and OFX, categories, duplicates, safety."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from comptasso import atomic
from comptasso.books.loading import load_member_ledger
from comptasso.cli.main import main
from comptasso.importing import run
from comptasso.importing.statement import parse_bank_amount
from comptasso.money import fr_number
from tests.conftest import ROOT, write_group

DATA = Path(__file__).parent / "data" / "import"
AS_OF = "2025-06-30"

LEDGER = """
option "operating_currency" "EUR"
2025-01-01 open Assets:512-CreditCoop EUR
2025-01-01 open Assets:471-Operations-En-Attente EUR
2025-01-01 open Liabilities:431-URSSAF EUR
2025-01-01 open Expenses:616-Assurances EUR
2025-01-01 open Expenses:626-Frais-Postaux-Telecom EUR
2025-01-01 open Expenses:627-Services-Bancaires EUR
2025-01-01 open Income:756-Cotisations EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR

2025-01-01 * "Reprise des soldes" "Ouverture"
  Assets:512-CreditCoop          10000.00 EUR
  Equity:102-Fonds-Associatifs  -10000.00 EUR
"""

MANUAL_URSSAF = """
2025-03-04 * "URSSAF" "Cotisations de février, saisies à la main"
  Liabilities:431-URSSAF     1638.00 EUR
  Assets:512-CreditCoop     -1638.00 EUR
"""


def _group(tmp_path: Path, ledger: str = LEDGER) -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": ledger}, bank_account="Assets:512-CreditCoop")
    for name in ("banks.toml", "categories.toml"):
        shutil.copy(ROOT / "rules" / name, rules / name)
    return ledgers, rules


def _import(ledgers: Path, rules: Path, file: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["import", "velo-gap", str(file), "--ledgers", str(ledgers),
                                       "--rules", str(rules), "--as-of", AS_OF, *extra])
    return result.exit_code, result.stdout, result.stderr


def _imported(ledgers: Path) -> list[data.Transaction]:
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    assert [p for p in ledger.problems if p.is_error] == []
    return [e for e in ledger.entries if isinstance(e, data.Transaction) and "import-id" in e.meta]


def _number(entry: data.Transaction) -> Decimal:
    units = entry.postings[0].units
    assert units is not None and units.number is not None
    return units.number


def _summary(entries: list[data.Transaction]) -> list[tuple[str, str, str, str]]:
    return [(e.date.isoformat(), str(_number(e)), e.postings[1].account, e.flag or "") for e in entries]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "var" not in p.relative_to(root).parts}


def test_latin9_csv_with_debit_and_credit_columns(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv")
    assert code == 0, err
    assert "5 opération(s) ajoutée(s)" in out and "0 doublon(s)" in out
    entries = sorted(_imported(ledgers), key=lambda e: (e.date, e.meta["import-source"]))
    assert _summary(entries) == [
        ("2025-03-03", "-1638.00", "Liabilities:431-URSSAF", "*"),
        ("2025-03-05", "245.00", "Income:756-Cotisations", "*"),
        ("2025-03-10", "-12.50", "Expenses:627-Services-Bancaires", "*"),
        ("2025-03-12", "1200.00", "Assets:471-Operations-En-Attente", "!"),
        ("2025-03-12", "1200.00", "Assets:471-Operations-En-Attente", "!"),
    ]
    assert entries[0].narration == "PRLV SEPA URSSAF COTISATIONS FÉVRIER"  # ISO-8859-15 decoded
    assert [e.meta["import-source"] for e in entries] == [f"coop-mars-2025.csv:{n}" for n in (2, 3, 4, 5, 6)]
    assert entries[3].meta["import-id"] != entries[4].meta["import-id"]  # two identical operations
    main_text = (ledgers / "velo-gap" / "main.beancount").read_text(encoding="utf-8")
    assert main_text.rstrip().endswith('include "import.beancount"')


def test_utf8_csv_with_signed_amount_and_header_lines(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / "postale-mars-2025.csv", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["bank"] == "banque-postale" and document["written"] is True
    assert [(a["date"], a["amount"], a["account"], a["flag"], a["source"]) for a in document["added"]] == [
        ("2025-03-14", "-39.99", "Expenses:626-Frais-Postaux-Telecom", "*", "postale-mars-2025.csv:8"),
        ("2025-03-18", "1500.00", "Assets:471-Operations-En-Attente", "!", "postale-mars-2025.csv:9"),
        ("2025-03-20", "-312.40", "Expenses:616-Assurances", "*", "postale-mars-2025.csv:10"),
        ("2025-03-21", "-1234.56", "Assets:471-Operations-En-Attente", "!", "postale-mars-2025.csv:11"),
    ]
    assert sum((_number(e) for e in _imported(ledgers)), Decimal(0)) == Decimal("-86.95")


def test_importing_twice_doubles_nothing(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert _import(ledgers, rules, DATA / "coop-mars-2025.csv")[0] == 0
    before = (ledgers / "velo-gap" / "import.beancount").read_bytes()
    code, out, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["added"] == [] and document["written"] is False
    assert len(document["duplicates"]) == 5
    assert {d["reason"] for d in document["duplicates"]} == {"déjà importée"}
    assert (ledgers / "velo-gap" / "import.beancount").read_bytes() == before
    assert len(_imported(ledgers)) == 5


def test_ofx_import_uses_the_bank_ids_and_is_idempotent(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / "releve-avril-2025.ofx")
    assert code == 0, err
    entries = sorted(_imported(ledgers), key=lambda e: e.meta["import-source"])
    assert _summary(entries) == [
        ("2025-04-03", "-58.20", "Expenses:626-Frais-Postaux-Telecom", "*"),
        ("2025-04-07", "150.00", "Income:756-Cotisations", "*"),
        ("2025-04-07", "150.00", "Income:756-Cotisations", "*"),
    ]
    assert entries[1].narration == "VIR HELLOASSO Adhésions avril"  # CHARSET:1252 decoded
    code, out, _ = _import(ledgers, rules, DATA / "releve-avril-2025.ofx")
    assert code == 0 and "0 opération(s) ajoutée(s)" in out and "3 doublon(s)" in out
    assert len(_imported(ledgers)) == 3


def test_an_operation_entered_by_hand_is_not_imported_again(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path, LEDGER + MANUAL_URSSAF)
    code, out, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert len(document["added"]) == 4
    [dup] = document["duplicates"]
    assert (dup["date"], dup["amount"], dup["reason"]) == ("2025-03-03", "-1638.00", "déjà saisie dans le livre")
    assert dup["existing"].endswith("main.beancount:16")  # after the include line write_group adds


def test_a_malformed_line_is_reported_with_its_number_and_nothing_is_written(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    before = _snapshot(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / "coop-malformee.csv", "--bank", "credit-cooperatif")
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].endswith("coop-malformee.csv:3: ligne mal formée : montant invalide « 12.50 » "
                             "(séparateur décimal attendu : virgule)")
    assert lines[1].endswith("coop-malformee.csv:5: ligne mal formée : date invalide « 2025-03-09 » "
                             "(format attendu %d/%m/%Y)")
    assert len(lines) == 2 and out == ""
    assert _snapshot(tmp_path) == before


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((DATA / "coop-mars-2025.csv").read_bytes())
    code, _, err = _import(ledgers, rules, latin, "--bank", "banque-postale")
    assert code == 1
    assert "latin.csv:1: caractère illisible en utf-8" in err
    assert not (ledgers / "velo-gap" / "import.beancount").exists()


def test_an_account_the_ledger_has_not_opened_stops_the_import(tmp_path: Path) -> None:
    ledger = LEDGER.replace("2025-01-01 open Expenses:627-Services-Bancaires EUR\n", "")
    ledgers, rules = _group(tmp_path, ledger)
    before = _snapshot(tmp_path)
    code, _, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv")
    assert code == 1
    assert "categories.toml:" in err and "« Expenses:627-Services-Bancaires » n'est pas ouvert" in err
    assert _snapshot(tmp_path) == before


def test_a_line_dated_after_as_of_is_refused(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = CliRunner().invoke(main, ["import", "velo-gap", str(DATA / "coop-mars-2025.csv"),
                                       "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", "2025-03-10"])
    assert result.exit_code == 1
    assert "coop-mars-2025.csv:5: opération datée du 12/03/2025, après la date de lecture 10/03/2025" \
        in result.stderr


def test_dry_run_shows_and_writes_nothing(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    before = _snapshot(tmp_path)
    code, out, _ = _import(ledgers, rules, DATA / "coop-mars-2025.csv", "--dry-run")
    assert code == 0
    assert "5 opération(s) à ajouter (essai, rien n'est écrit)" in out
    assert "+ 03/03/2025      -1 638,00 €  PRLV SEPA URSSAF COTISATIONS FÉVRIER" in out
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(("args", "message"), [
    (["import", "inconnu", "F"], "membre inconnu « inconnu »"),
    (["import", "velo-gap", "F", "--bank", "nope"], "banque inconnue « nope »"),
    (["import", "velo-gap", "F", "--account", "Actif:512"], "compte invalide « Actif:512 »"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    ledgers, rules = _group(tmp_path)
    args = [str(DATA / "coop-mars-2025.csv") if a == "F" else a for a in args]
    result = CliRunner().invoke(main, [*args, "--ledgers", str(ledgers), "--rules", str(rules)])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_file_no_bank_recognises_asks_for_bank(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    odd = tmp_path / "odd.csv"
    odd.write_text("when,what,how much\n", encoding="utf-8")
    code, _, err = _import(ledgers, rules, odd)
    assert code == 2 and "aucune banque de rules/banks.toml ne reconnaît ce fichier" in err


def test_a_bad_banks_file_names_the_key_and_line(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    (rules / "banks.toml").write_text('[[banks]]\nid = "x-bank"\nname = "X"\ncolour = "red"\n'
                                      'amount_column = "Montant"\n', encoding="utf-8")
    code, _, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv", "--bank", "x-bank")
    assert code == 1 and "banks.toml:4: banks[0].colour : clé inconnue" in err
    (rules / "banks.toml").write_text('[[banks]]\nid = "x-bank"\nname = "X"\n', encoding="utf-8")
    code, _, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv", "--bank", "x-bank")
    assert code == 1 and "indiquez soit amount_column" in err


def test_a_bad_category_regex_names_the_line(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    (rules / "categories.toml").write_text('[[rules]]\npattern = "URSSAF("\naccount = "Liabilities:431-URSSAF"\n',
                                           encoding="utf-8")
    code, _, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv")
    assert code == 1 and "categories.toml:2: rules[0].pattern : expression régulière invalide" in err


def test_a_write_that_breaks_the_ledger_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = _group(tmp_path)
    main_file = ledgers / "velo-gap" / "main.beancount"
    before = _snapshot(tmp_path / "ledgers")
    real = load_member_ledger
    calls = []

    def failing_second_load(member_id: str, path: Path, allowed: frozenset[str]):  # type: ignore[no-untyped-def]
        calls.append(path)
        ledger = real(member_id, path, allowed)
        if len(calls) == 2:
            from comptasso.problems import Problem
            return type(ledger)(member_id, ledger.entries, ledger.options,
                                (Problem(str(path), 3, "erreur simulée"),), ledger.files)
        return ledger

    monkeypatch.setattr(run, "load_member_ledger", failing_second_load)
    code, _, err = _import(ledgers, rules, DATA / "coop-mars-2025.csv")
    assert code == 1
    assert "import annulé" in err and "main.beancount:3: erreur simulée" in err
    assert _snapshot(tmp_path / "ledgers") == before
    assert 'import.beancount' not in main_file.read_text(encoding="utf-8")


def test_the_lock_lives_beside_the_ledgers_folder(tmp_path: Path) -> None:
    ledgers, _ = _group(tmp_path)
    target = ledgers / "velo-gap" / "import.beancount"
    with atomic.locked(target, ledgers):
        assert (tmp_path / "var" / "locks" / "velo-gap.lock").exists()
    assert not list(ledgers.rglob("*.lock"))
    atomic.atomic_write(target, "; bonjour\n")
    assert target.read_text(encoding="utf-8") == "; bonjour\n"
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2),
       st.sampled_from([" ", "\u00a0", "\u202f", ""]))
def test_french_bank_amounts_parse_back_to_the_cent(value: Decimal, space: str) -> None:
    text = fr_number(value).replace(" ", space)
    assert parse_bank_amount(text) == value
    assert parse_bank_amount(text + " €") == value


def test_trailing_minus_and_garbage_amounts() -> None:
    assert parse_bank_amount("12,50-") == Decimal("-12.50")
    assert parse_bank_amount("1.234,56", thousands_separator=".") == Decimal("1234.56")
    for bad in ("12,5,0", "12,345", "douze", ""):
        with pytest.raises(ValueError, match="montant invalide"):
            parse_bank_amount(bad)


# --- OFX through ofxtools: several accounts, entities, invoices (issue 14) -------------------------

TWO_ACCOUNTS = LEDGER + """
2025-01-01 open Assets:512-Livret EUR
2025-01-01 open Assets:411-Usagers:Mairie-De-Gap EUR
2025-01-01 open Income:706-Prestations EUR
2025-01-01 open Expenses:606-Fournitures EUR

2025-03-10 * "Mairie de Gap" "Animation du 8 mars" ^F2025-03
  echeance: 2025-04-10
  Assets:411-Usagers:Mairie-De-Gap   1200.00 EUR
  Income:706-Prestations            -1200.00 EUR
"""

OFX_ACCOUNTS = """
[[banks.accounts]]
acctid = "21020123456"
member = "velo-gap"
account = "Assets:512-CreditCoop"

[[banks.accounts]]
acctid = "21020999888"
member = "velo-gap"
account = "Assets:512-Livret"
"""

MM_RULE = """
[[rules]]
pattern = "M&M"
account = "Expenses:606-Fournitures"
direction = "debit"
"""


def _ofx_group(tmp_path: Path, mapping: str = OFX_ACCOUNTS) -> tuple[Path, Path]:
    ledgers, rules = _group(tmp_path, TWO_ACCOUNTS)
    banks = rules / "banks.toml"
    text = banks.read_text("utf-8")
    assert text.rfind("[[banks]]") == text.find('[[banks]]\nid = "ofx"'), "the OFX bank must be the last table"
    banks.write_text(text + mapping, encoding="utf-8")
    categories = rules / "categories.toml"
    categories.write_text(categories.read_text("utf-8") + MM_RULE, encoding="utf-8")
    return ledgers, rules


@pytest.mark.parametrize("name", ["deux-comptes-avril-2025.ofx", "deux-comptes-avril-2025-v2.ofx"],
                         ids=["ofx1-sgml", "ofx2-xml"])
def test_a_two_account_ofx_file_books_each_account(tmp_path: Path, name: str) -> None:
    ledgers, rules = _ofx_group(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / name, "--bank", "ofx")
    assert code == 0, err
    entries = sorted(_imported(ledgers), key=lambda e: (e.date, e.postings[0].account))
    assert [(e.date.isoformat(), e.postings[0].account, str(_number(e)), e.postings[1].account,
             e.flag, e.meta["ofx-account"]) for e in entries] == [
        ("2025-04-05", "Assets:512-CreditCoop", "-42.30", "Expenses:606-Fournitures", "*", "21020123456"),
        ("2025-04-14", "Assets:512-CreditCoop", "1200.00", "Assets:411-Usagers:Mairie-De-Gap", "*", "21020123456"),
        ("2025-04-20", "Assets:512-CreditCoop", "-5000.00", "Assets:471-Operations-En-Attente", "!", "21020123456"),
        ("2025-04-20", "Assets:512-Livret", "5000.00", "Assets:471-Operations-En-Attente", "!", "21020999888"),
    ]
    assert (entries[0].narration or "").startswith("CB M&M DISTRIBUTION")  # the entity decoded, so the rule matched
    # The Mairie's transfer pays invoice F2025-03: booked against 411 with the invoice's link.
    assert entries[1].links == frozenset({"F2025-03"}) and entries[1].payee == "Mairie de Gap"
    from comptasso.model.invoices import extract_invoices
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    [invoice] = extract_invoices(ledger.entries)[0]
    assert invoice.open_amount == Decimal(0)
    # Re-import adds nothing.
    before = (ledgers / "velo-gap" / "import.beancount").read_bytes()
    code, out, _ = _import(ledgers, rules, DATA / name, "--bank", "ofx")
    assert code == 0 and "0 opération(s) ajoutée(s)" in out and "4 doublon(s)" in out
    assert (ledgers / "velo-gap" / "import.beancount").read_bytes() == before


def test_an_unmapped_ofx_account_is_refused_with_its_id(tmp_path: Path) -> None:
    ledgers, rules = _ofx_group(tmp_path, OFX_ACCOUNTS.split("[[banks.accounts]]", maxsplit=1)[0] + "[[banks.accounts]]"
                                + OFX_ACCOUNTS.split("[[banks.accounts]]")[1])
    before = _snapshot(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / "deux-comptes-avril-2025.ofx", "--bank", "ofx")
    assert code == 1 and out == ""
    assert "deux-comptes-avril-2025.ofx:28: compte OFX « 21020999888 » absent de" in err
    assert _snapshot(tmp_path) == before


def test_a_multi_account_ofx_file_without_mapping_is_refused(tmp_path: Path) -> None:
    ledgers, rules = _ofx_group(tmp_path, "")
    before = _snapshot(tmp_path)
    code, _, err = _import(ledgers, rules, DATA / "deux-comptes-avril-2025-v2.ofx", "--bank", "ofx")
    assert code == 1 and "le relevé contient 2 comptes (21020123456, 21020999888)" in err
    assert _snapshot(tmp_path) == before


def test_an_ofx_account_of_another_member_is_refused(tmp_path: Path) -> None:
    ledgers, rules = _ofx_group(tmp_path, OFX_ACCOUNTS.replace('member = "velo-gap"\naccount = "Assets:512-Livret"',
                                                               'member = "mjc-embrun"\naccount = "Assets:512-Livret"'))
    code, _, err = _import(ledgers, rules, DATA / "deux-comptes-avril-2025.ofx", "--bank", "ofx")
    assert code == 1 and "compte OFX « 21020999888 » associé au membre « mjc-embrun », pas à « velo-gap »" in err


def test_a_malformed_ofx_file_changes_nothing(tmp_path: Path) -> None:
    ledgers, rules = _ofx_group(tmp_path)
    before = _snapshot(tmp_path)
    code, out, err = _import(ledgers, rules, DATA / "ofx-malforme.ofx", "--bank", "ofx")
    assert code == 1 and out == ""
    assert "ofx-malforme.ofx:19: relevé OFX illisible par ofxtools : montant TRNAMT invalide « douze cents »" in err
    assert _snapshot(tmp_path) == before


@pytest.mark.parametrize(("mapping", "needle"), [
    ('\n[[banks.accounts]]\nacctid = "1"\nmember = "velo-gap"\naccount = "512"\n', "banks[2].accounts[0].account"),
    ('\n[[banks.accounts]]\nacctid = "1"\nmember = "Velo Gap"\naccount = "Assets:512-X"\n',
     "banks[2].accounts[0].member"),
    (OFX_ACCOUNTS + OFX_ACCOUNTS.split("\n\n", maxsplit=1)[0], "compte OFX « 21020123456 » associé deux fois"),
], ids=["account", "member", "double"])
def test_bad_ofx_account_mapping_names_the_key(tmp_path: Path, mapping: str, needle: str) -> None:
    ledgers, rules = _ofx_group(tmp_path, mapping)
    before = _snapshot(tmp_path)
    code, _, err = _import(ledgers, rules, DATA / "deux-comptes-avril-2025.ofx", "--bank", "ofx")
    assert code == 1 and needle in err and "banks.toml:" in err
    assert _snapshot(tmp_path) == before


def test_importer_date_is_the_statement_date() -> None:
    from comptasso.importing.banks import load_banks
    from comptasso.importing.categories import empty_categories
    from comptasso.importing.importer import BankImporter
    banks, problems = load_banks(ROOT / "rules")
    assert problems == []
    ofx = BankImporter(banks["ofx"], "Assets:512-CreditCoop", "velo-gap", empty_categories())
    assert ofx.date(str(DATA / "deux-comptes-avril-2025.ofx")) == dt.date(2025, 4, 30)  # DTEND, not today
    coop = BankImporter(banks["credit-cooperatif"], "Assets:512-CreditCoop", "velo-gap", empty_categories())
    assert coop.date(str(DATA / "coop-mars-2025.csv")) == dt.date(2025, 3, 12)  # its last operation


def test_a_payment_without_the_invoice_named_is_not_matched() -> None:
    from comptasso.importing.matching import OpenInvoice, matching_invoice
    from comptasso.importing.statement import BankLine
    invoice = OpenInvoice("F2025-03", "Assets:411-Usagers:Mairie-De-Gap", Decimal("1200.00"), dt.date(2025, 3, 10),
                          dt.date(2025, 4, 10), "Mairie de Gap", "Animation")
    line = BankLine(dt.date(2025, 4, 14), Decimal("1200.00"), "VIR MAIRIE DE GAP", 1)
    assert matching_invoice(line, [invoice], set()) == invoice  # counterparty named
    assert matching_invoice(BankLine(line.date, line.amount, "VIR RECU 8812", 1), [invoice], set()) is None
    assert matching_invoice(BankLine(line.date, Decimal("1100.00"), line.label, 1), [invoice], set()) is None
    late = BankLine(dt.date(2025, 9, 1), line.amount, line.label, 1)
    assert matching_invoice(late, [invoice], set()) is None  # outside the due window
    assert matching_invoice(line, [invoice], {"F2025-03"}) is None  # already paid by an earlier line
