"""`comptasso import`: CSV (both encodings, both amount layouts) and OFX, categories, duplicates, safety."""

from __future__ import annotations

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
from comptasso.cli.main import main
from comptasso.importing import run
from comptasso.importing.statement import parse_bank_amount
from comptasso.books.loading import load_member_ledger
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


def _summary(entries: list[data.Transaction]) -> list[tuple[str, str, str, str]]:
    return [(e.date.isoformat(), str(e.postings[0].units.number), e.postings[1].account, e.flag) for e in entries]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "var" not in p.relative_to(root).parts}


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
    assert sum(Decimal(e.postings[0].units.number) for e in _imported(ledgers)) == Decimal("-86.95")


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
    real = run.load_member_ledger
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
