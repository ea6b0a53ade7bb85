"""`comptasso import` learns counter-accounts from the member's own history (smart_importer); rules win."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from beancount.core import data
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comptasso.books.loading import load_member_ledger
from comptasso.cli.main import main
from comptasso.importing.banks import load_banks
from comptasso.importing.categories import load_categories
from comptasso.importing.importer import BankImporter
from comptasso.importing.learning import history
from comptasso.importing.statement import BankLine
from tests.conftest import ROOT, write_group

AS_OF = "2025-04-30"
BANK = "Assets:512-CreditCoop"
SUSPENSE = "Assets:471-Operations-En-Attente"

OPENS = """
option "operating_currency" "EUR"
2025-01-01 open Assets:512-CreditCoop EUR
2025-01-01 open Assets:471-Operations-En-Attente EUR
2025-01-01 open Assets:411-Usagers EUR
2025-01-01 open Expenses:606-Achats EUR
2025-01-01 open Expenses:613-Locations EUR
2025-01-01 open Expenses:626-Frais-Postaux-Telecom EUR
2025-01-01 open Income:706-Prestations EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR

2025-01-01 * "Reprise des soldes" "Ouverture"
  Assets:512-CreditCoop          10000.00 EUR
  Equity:102-Fonds-Associatifs  -10000.00 EUR
"""


def _past(day: str, label: str, account: str, amount: str, flag: str = "*") -> str:
    return (f'\n{day} {flag} "{label}"\n  {BANK}  {amount} EUR\n  {account}\n')


#: Three months of reviewed operations: rent, sports shop, the town hall's course fees, and a phone bill
#: that the bookkeeper once booked on 606 (the rules file says 626: the rule must win).
HISTORY = OPENS + "".join(
    _past(f"2025-{month:02d}-02", f"PRLV LOYER SCI DES ALPES {name}", "Expenses:613-Locations", "-650.00")
    + _past(f"2025-{month:02d}-06", f"CB DECATHLON GAP {month:02d}{month + 3:02d}", "Expenses:606-Achats", "-84.90")
    + _past(f"2025-{month:02d}-11", f"VIR MAIRIE EMBRUN STAGE {name}", "Income:706-Prestations", "300.00")
    for month, name in ((1, "JANVIER"), (2, "FEVRIER"), (3, "MARS"))
) + _past("2025-03-20", "PRLV ORANGE MOBILE MARS", "Expenses:606-Achats", "-39.99")

#: The April statement (Crédit Coopératif layout, ISO 8859-15).
STATEMENT = """Date;Libellé;Débit;Crédit
02/04/2025;PRLV LOYER SCI DES ALPES AVRIL;650,00;
05/04/2025;CB DECATHLON GAP 0504;45,00;
08/04/2025;PRLV ORANGE MOBILE AVRIL;39,99;
10/04/2025;VIR MAIRIE EMBRUN STAGE PÂQUES;;300,00
12/04/2025;REMISE CHÈQUES DÉPÔT 0043;;180,00
"""

CATEGORIES = """
[defaults]
suspense_account = "Assets:471-Operations-En-Attente"
{extra}

[[rules]]
pattern = "ORANGE"
account = "Expenses:626-Frais-Postaux-Telecom"
direction = "debit"
"""


def _group(tmp_path: Path, ledger: str = HISTORY, extra: str = "learning_min_history = 8") -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": ledger}, bank_account=BANK)
    shutil.copy(ROOT / "rules" / "banks.toml", rules / "banks.toml")
    (rules / "categories.toml").write_text(CATEGORIES.format(extra=extra), encoding="utf-8")
    return ledgers, rules


def _statement(tmp_path: Path, text: str = STATEMENT) -> Path:
    path = tmp_path / "releve-avril-2025.csv"
    path.write_bytes(text.encode("iso-8859-15"))
    return path


def _import(ledgers: Path, rules: Path, file: Path, *extra: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["import", "velo-gap", str(file), "--ledgers", str(ledgers),
                                       "--rules", str(rules), "--as-of", AS_OF, "--json", *extra])
    return result.exit_code, result.stdout, result.stderr


def _added(out: str) -> list[tuple[str, str, str, bool]]:
    return [(a["label"], a["account"], a["flag"], a["learned"]) for a in json.loads(out)["added"]]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "var" not in p.relative_to(root).parts}


def _imported(ledgers: Path) -> list[data.Transaction]:
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    assert [p for p in ledger.problems if p.is_error] == []
    return [e for e in ledger.entries if isinstance(e, data.Transaction) and "import-id" in e.meta]


def test_a_label_seen_before_gets_its_past_account_to_review(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, out, err = _import(ledgers, rules, _statement(tmp_path))
    assert code == 0, err
    assert _added(out) == [
        ("PRLV LOYER SCI DES ALPES AVRIL", "Expenses:613-Locations", "!", True),
        ("CB DECATHLON GAP 0504", "Expenses:606-Achats", "!", True),
        ("PRLV ORANGE MOBILE AVRIL", "Expenses:626-Frais-Postaux-Telecom", "*", False),  # the rule wins
        ("VIR MAIRIE EMBRUN STAGE PÂQUES", "Income:706-Prestations", "!", True),
        ("REMISE CHÈQUES DÉPÔT 0043", SUSPENSE, "!", False),  # nothing like it in the history
    ]
    written = {e.narration: e for e in _imported(ledgers)}
    assert written["PRLV LOYER SCI DES ALPES AVRIL"].meta["categorisation"] == "apprise"
    assert "categorisation" not in written["PRLV ORANGE MOBILE AVRIL"].meta
    assert "categorisation" not in written["REMISE CHÈQUES DÉPÔT 0043"].meta
    text = (ledgers / "velo-gap" / "import.beancount").read_text(encoding="utf-8")
    assert 'import-source: "releve-avril-2025.csv:2"\n  categorisation: "apprise"\n' in text


def test_the_rules_file_beats_what_was_learnt(tmp_path: Path) -> None:
    # Without the rule, the history alone would book the phone bill on 606.
    ledgers, rules = _group(tmp_path)
    no_rule = CATEGORIES.format(extra="learning_min_history = 8").split("[[rules]]")[0]
    (rules / "categories.toml").write_text(no_rule, encoding="utf-8")
    code, out, err = _import(ledgers, rules, _statement(tmp_path), "--dry-run")
    assert code == 0, err
    assert ("PRLV ORANGE MOBILE AVRIL", "Expenses:606-Achats", "!", True) in _added(out)
    (rules / "categories.toml").write_text(CATEGORIES.format(extra="learning_min_history = 8"), encoding="utf-8")
    code, out, err = _import(ledgers, rules, _statement(tmp_path), "--dry-run")
    assert code == 0, err
    assert ("PRLV ORANGE MOBILE AVRIL", "Expenses:626-Frais-Postaux-Telecom", "*", False) in _added(out)


def test_too_little_history_falls_back_to_the_suspense_account(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path, extra="")  # default threshold: 20 reviewed operations, the history has 11
    code, out, err = _import(ledgers, rules, _statement(tmp_path))
    assert code == 0, err
    assert [(account, flag, learned) for _, account, flag, learned in _added(out)] == [
        (SUSPENSE, "!", False), (SUSPENSE, "!", False), ("Expenses:626-Frais-Postaux-Telecom", "*", False),
        (SUSPENSE, "!", False), (SUSPENSE, "!", False),
    ]


def test_sans_apprendre_turns_learning_off(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, out, err = _import(ledgers, rules, _statement(tmp_path), "--sans-apprendre")
    assert code == 0, err
    assert {account for label, account, _, _ in _added(out) if "ORANGE" not in label} == {SUSPENSE}
    assert not any(learned for *_, learned in _added(out))


def test_the_text_output_says_which_accounts_were_learnt(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = CliRunner().invoke(main, ["import", "velo-gap", str(_statement(tmp_path)), "--ledgers", str(ledgers),
                                       "--rules", str(rules), "--as-of", AS_OF, "--dry-run"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("+ 02/04/2025") and lines[0].endswith("Expenses:613-Locations à revoir (compte appris)")
    assert lines[4].endswith(f"{SUSPENSE} à revoir")


def test_reimporting_adds_nothing_and_learnt_lines_are_not_learnt_from(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    statement = _statement(tmp_path)
    assert _import(ledgers, rules, statement)[0] == 0
    before = _snapshot(tmp_path)
    code, out, err = _import(ledgers, rules, statement)
    assert code == 0, err
    document = json.loads(out)
    assert document["added"] == [] and len(document["duplicates"]) == 5 and document["written"] is False
    assert _snapshot(tmp_path) == before
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    past = history(ledger.entries, BANK, SUSPENSE)
    assert len(past) == 12  # the 11 of the history + the ORANGE rule's `*`; the learnt and suspense `!` lines are not
    assert not any("categorisation" in e.meta for e in past)


def test_a_malformed_file_changes_nothing_with_learning_on(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    before = _snapshot(tmp_path)
    bad = STATEMENT.replace("45,00;", "45.00;")
    code, out, err = _import(ledgers, rules, _statement(tmp_path, bad), "--bank", "credit-cooperatif")
    assert code == 1 and out == ""
    assert "releve-avril-2025.csv:3: ligne mal formée : montant invalide « 45.00 »" in err
    snapshot = _snapshot(tmp_path)
    snapshot.pop(str(tmp_path / "releve-avril-2025.csv"))
    assert snapshot == before


def test_a_bad_learning_threshold_names_the_key(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path, extra="learning_min_history = 0")
    statement = _statement(tmp_path)
    before = _snapshot(tmp_path)
    code, out, err = _import(ledgers, rules, statement)
    assert code == 1 and out == ""
    assert "categories.toml:4:" in err and "defaults.learning_min_history" in err
    assert _snapshot(tmp_path) == before


def test_history_keeps_only_reviewed_two_line_operations_of_the_bank_account(tmp_path: Path) -> None:
    extra = (_past("2025-03-21", "CB INTERMARCHE", "Expenses:606-Achats", "-20.00", flag="!")
             + _past("2025-03-22", "VIR INCONNU", SUSPENSE, "50.00")
             + '\n2025-03-23 * "VIR CLUB" ^F2025-01\n  Assets:512-CreditCoop  80.00 EUR\n  Assets:411-Usagers\n'
             + '\n2025-03-24 * "Avance"\n  advance: "BQA-2025-0001"\n  Assets:512-CreditCoop  100.00 EUR\n'
             + '  Equity:102-Fonds-Associatifs\n'
             + '\n2025-03-25 * "CB SPORT 2000"\n  Assets:512-CreditCoop  -30.00 EUR\n  Expenses:606-Achats  20.00 EUR\n'
             + '  Expenses:613-Locations  10.00 EUR\n')
    ledgers, _ = _group(tmp_path, HISTORY + extra)
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    assert [p for p in ledger.problems if p.is_error] == []
    past = history(ledger.entries, BANK, SUSPENSE)
    assert len(past) == 11  # the opening, 9 months' lines and ORANGE: none of the five added ones
    assert {e.narration for e in past} >= {"PRLV ORANGE MOBILE MARS", "Ouverture"}


def _counters(entries: data.Entries) -> list[str]:
    assert all(isinstance(e, data.Transaction) for e in entries)
    return [e.postings[1].account for e in entries if isinstance(e, data.Transaction)]


def test_the_beangulp_importer_learns_when_asked(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    banks, _ = load_banks(rules)
    categories, problems = load_categories(rules)
    assert problems == []
    statement = str(_statement(tmp_path))
    plain = BankImporter(banks["credit-cooperatif"], BANK, "velo-gap", categories)
    learning = BankImporter(banks["credit-cooperatif"], BANK, "velo-gap", categories, learn=True)
    assert plain.identify(statement) and learning.identify(statement)
    assert _counters(plain.extract(statement, list(ledger.entries))).count(SUSPENSE) == 4
    assert _counters(learning.extract(statement, list(ledger.entries))) == [
        "Expenses:613-Locations", "Expenses:606-Achats", "Expenses:626-Frais-Postaux-Telecom",
        "Income:706-Prestations", SUSPENSE,
    ]


_WORDS = ["PRLV", "LOYER", "SCI", "ALPES", "CB", "DECATHLON", "GAP", "VIR", "MAIRIE", "EMBRUN", "STAGE", "ORANGE",
          "MOBILE", "REMISE", "CHEQUES", "AVRIL", "INCONNU", "0043"]


@pytest.fixture(scope="module")
def learnt_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[data.Directive], BankImporter]:
    root = tmp_path_factory.mktemp("learn")
    ledgers, rules = _group(root)
    ledger = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    banks, _ = load_banks(rules)
    categories, _ = load_categories(rules)
    return list(ledger.entries), BankImporter(banks["credit-cooperatif"], BANK, "velo-gap", categories, learn=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=5),
                          st.decimals(min_value=Decimal("-999.99"), max_value=Decimal("999.99"), places=2)
                          .filter(lambda d: d != 0)), min_size=1, max_size=6))
def test_rules_always_win_and_learning_only_uses_the_history(
        learnt_ledger: tuple[list[data.Directive], BankImporter], operations: list[tuple[list[str], Decimal]]) -> None:
    existing, importer = learnt_ledger
    lines = [BankLine(dt.date(2025, 4, 15), amount, " ".join(words), n + 2)
             for n, (words, amount) in enumerate(operations)]
    entries = importer.entries_for(lines, "releve.csv", existing)
    past_accounts = {e.postings[1].account for e in history(existing, BANK, SUSPENSE)} | {
        e.postings[0].account for e in history(existing, BANK, SUSPENSE)}
    for line, entry in zip(lines, entries, strict=True):
        rule = importer.categories.categorise(line.label, line.amount, "velo-gap")
        counter = entry.postings[1].account
        if rule is not None:
            assert (counter, entry.flag, "categorisation" in entry.meta) == (rule.account, "*", False)
        elif "categorisation" in entry.meta:
            assert entry.flag == "!" and counter in past_accounts and counter != SUSPENSE
        else:
            assert (counter, entry.flag) == (SUSPENSE, "!")
        bank, other = (p.units for p in entry.postings)
        assert bank is not None and other is not None and other.number is not None
        assert bank.number == line.amount == -other.number


def test_each_ofx_account_learns_from_its_own_history(tmp_path: Path) -> None:
    # The same label on the current account (with history) and on the savings account (without any).
    ledger = HISTORY.replace("2025-01-01 open Assets:411-Usagers EUR\n",
                             "2025-01-01 open Assets:411-Usagers EUR\n2025-01-01 open Assets:512-Livret EUR\n")
    ledgers, rules = _group(tmp_path, ledger)
    banks_file = rules / "banks.toml"
    banks_file.write_text(banks_file.read_text("utf-8") + """
[[banks.accounts]]
acctid = "111"
member = "velo-gap"
account = "Assets:512-CreditCoop"

[[banks.accounts]]
acctid = "222"
member = "velo-gap"
account = "Assets:512-Livret"
""", encoding="utf-8")
    loaded = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset())
    banks, problems = load_banks(rules)
    categories, _ = load_categories(rules)
    assert problems == []
    importer = BankImporter(banks["ofx"], BANK, "velo-gap", categories, learn=True)
    label = "PRLV LOYER SCI DES ALPES AVRIL"
    lines = [BankLine(dt.date(2025, 4, 2), Decimal("-650.00"), label, 10, "A1", "111"),
             BankLine(dt.date(2025, 4, 2), Decimal("-650.00"), label, 20, "B1", "222")]
    entries = importer.entries_for(lines, "releve.ofx", list(loaded.entries))
    assert [(e.postings[0].account, e.postings[1].account, "categorisation" in e.meta) for e in entries] == [
        (BANK, "Expenses:613-Locations", True),
        ("Assets:512-Livret", SUSPENSE, False),
    ]


def test_learning_reads_only_the_history_dated_on_or_before_as_of(tmp_path: Path) -> None:
    # The rent history is only in May and June, after the statement's --as-of: it must not be learnt from.
    late = OPENS + "".join(_past(f"2025-0{m}-02", "PRLV LOYER SCI DES ALPES", "Expenses:613-Locations", "-650.00")
                           for m in (5, 5, 6, 6, 6))
    ledgers, rules = _group(tmp_path, late, extra="learning_min_history = 3")
    statement = _statement(tmp_path, "Date;Libellé;Débit;Crédit\n02/04/2025;PRLV LOYER SCI DES ALPES AVRIL;650,00;\n")
    code, out, err = _import(ledgers, rules, statement, "--dry-run")
    assert code == 0, err
    assert _added(out) == [("PRLV LOYER SCI DES ALPES AVRIL", SUSPENSE, "!", False)]
    result = CliRunner().invoke(main, ["import", "velo-gap", str(statement), "--ledgers", str(ledgers), "--rules",
                                       str(rules), "--as-of", "2025-06-30", "--json", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert _added(result.stdout) == [("PRLV LOYER SCI DES ALPES AVRIL", "Expenses:613-Locations", "!", True)]
