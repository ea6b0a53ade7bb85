"""The consolidated group ledger: prefixing, eliminations, member errors and plugin safety."""

from __future__ import annotations

import textwrap
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data
from beancount.parser import parser
from click.testing import CliRunner
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from comptasso.books import cache
from comptasso.books import loading as loading_module
from comptasso.books.facade import open_books
from comptasso.books.loading import MemberLedger, load_group_view
from comptasso.cli.main import main
from comptasso.model.chart import class_problem, is_treasury, pcg_number
from comptasso.plugins import consolidation
from comptasso.plugins.consolidation import (
    DEFAULT_ACCOUNTS,
    GROUP_LEDGER,
    PLUGIN,
    AdvanceAccounts,
    Renamer,
    group_ledger_text,
    parse_config,
    read_advance_accounts,
)
from comptasso.web import fava_adapter as fava
from comptasso.web.serve import build_app, prepare
from tests.conftest import write_group

LENDER = textwrap.dedent("""
    2026-01-01 open Assets:512-Banque EUR
    2026-01-01 open Equity:102-Fonds-Associatifs EUR
    2026-01-01 open Assets:2748-Avances-BanquAsso:Velo-Gap EUR
    2026-01-01 open Income:768-Interets-BanquAsso EUR
    2026-01-01 open Income:706-Prestations EUR

    2026-01-02 * "Fonds propres"
      Assets:512-Banque                 8000.00 EUR
      Equity:102-Fonds-Associatifs

    2026-02-15 * "Vente de matériel"
      Assets:512-Banque                  250.55 EUR
      Income:706-Prestations

    2026-03-01 * "Avance BQA-2026-0001 à Vélo Gap"
      advance: "BQA-2026-0001"
      Assets:2748-Avances-BanquAsso:Velo-Gap   1000.00 EUR
      Assets:512-Banque

    2026-06-01 * "Intérêts BQA-2026-0001"
      advance: "BQA-2026-0001"
      Assets:512-Banque                   12.34 EUR
      Income:768-Interets-BanquAsso

    2026-06-02 balance Assets:512-Banque 7262.89 EUR
    2026-06-02 note Assets:512-Banque "Relevé vérifié"
    2026-01-01 custom "prevision" Income:706-Prestations "Ventes" 300.00 EUR "mensuel" 10
""").lstrip()

BORROWER = textwrap.dedent("""
    2026-01-01 open Assets:512-Banque EUR
    2026-01-01 open Assets:530-Caisse EUR
    2026-01-01 open Equity:102-Fonds-Associatifs EUR
    2026-01-01 open Liabilities:1687-Avances-BanquAsso:Ressourcerie EUR
    2026-01-01 open Expenses:6618-Interets-BanquAsso EUR
    2026-01-01 open Expenses:641-Salaires EUR

    2026-01-01 pad Assets:530-Caisse Equity:102-Fonds-Associatifs
    2026-01-02 balance Assets:530-Caisse 40.00 EUR

    2026-01-02 * "Fonds propres"
      Assets:512-Banque                  500.00 EUR
      Equity:102-Fonds-Associatifs

    2026-03-01 * "Avance BQA-2026-0001 de la Ressourcerie"
      advance: "BQA-2026-0001"
      Assets:512-Banque                 1000.00 EUR
      Liabilities:1687-Avances-BanquAsso:Ressourcerie

    2026-03-28 * "Salaires de mars"
      Expenses:641-Salaires              900.10 EUR
      Assets:512-Banque

    2026-06-01 * "Intérêts BQA-2026-0001"
      advance: "BQA-2026-0001"
      Expenses:6618-Interets-BanquAsso    12.34 EUR
      Assets:512-Banque
""").lstrip()


def write_consolidated(root: Path, ledgers: dict[str, str], **kwargs: str) -> Path:
    """An inline group plus its `group.beancount`; return the group ledger's path."""
    ledgers_dir, _rules = write_group(root, ledgers, **kwargs)
    path = ledgers_dir / GROUP_LEDGER
    path.write_text(group_ledger_text("Groupe de test"), encoding="utf-8")
    return path


def balances(entries: list[data.Directive]) -> dict[str, Decimal]:
    """Sum of every posting per account (all in EUR here)."""
    out: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                assert posting.units is not None and posting.units.number is not None
                out[posting.account] += posting.units.number
    return dict(out)


def treasury(entries: list[data.Directive]) -> Decimal:
    return sum((v for k, v in balances(entries).items() if is_treasury(k)), Decimal(0))


@pytest.fixture
def pair(tmp_path: Path) -> Path:
    return write_consolidated(tmp_path, {"ressourcerie": LENDER, "velo-gap": BORROWER})


def test_every_account_is_prefixed_by_its_member(pair: Path) -> None:
    entries, errors, _options = loader.load_file(str(pair))
    assert errors == []
    opened = {e.account for e in entries if isinstance(e, data.Open)}
    assert {"Assets:Ressourcerie:512-Banque", "Assets:Velo-Gap:512-Banque", "Assets:Velo-Gap:530-Caisse",
            "Income:Ressourcerie:706-Prestations", "Expenses:Velo-Gap:641-Salaires"} <= opened
    assert not any(a.startswith("Assets:512") for a in opened)
    balance = next(e for e in entries if isinstance(e, data.Balance) and e.amount.number == Decimal("7262.89"))
    assert balance.account == "Assets:Ressourcerie:512-Banque"
    note = next(e for e in entries if isinstance(e, data.Note))
    assert note.account == "Assets:Ressourcerie:512-Banque"
    prevision = next(e for e in entries if isinstance(e, data.Custom) and e.type == "prevision")
    assert prevision.values[0].value == "Income:Ressourcerie:706-Prestations"
    pad = next(e for e in entries if isinstance(e, data.Pad))
    assert (pad.account, pad.source_account) == ("Assets:Velo-Gap:530-Caisse", "Equity:Velo-Gap:102-Fonds-Associatifs")
    # The group's own pad step pads the cash box once, not twice.
    assert balances(entries)["Assets:Velo-Gap:530-Caisse"] == Decimal("40.00")
    # Entries keep the member file and line they came from.
    assert note.meta["filename"] == str(pair.parent / "ressourcerie" / "main.beancount")


def test_advances_and_their_interest_cancel_out(pair: Path) -> None:
    entries, errors, _ = loader.load_file(str(pair))
    assert errors == []
    totals = balances(entries)
    accounts = AdvanceAccounts(**DEFAULT_ACCOUNTS)
    pair_account = accounts.principal_elimination + ":Ressourcerie:Velo-Gap"
    assert pair_account == "Assets:Eliminations:2748-Avances-Intra-Groupe:Ressourcerie:Velo-Gap"
    assert totals[pair_account] == Decimal("0.00")
    assert totals["Income:Eliminations:768-Interets-Intra-Groupe"] == Decimal("0.00")
    assert not any("BanquAsso" in account for account in totals)
    # Each elimination account is opened once, and keeps the chart's rule.
    opens = [e.account for e in entries if isinstance(e, data.Open) and "Eliminations" in e.account]
    assert sorted(opens) == [pair_account, "Income:Eliminations:768-Interets-Intra-Groupe"]
    assert all(class_problem(a) is None for a in opens)


def test_group_treasury_is_the_sum_of_the_members(pair: Path) -> None:
    entries, _, _ = loader.load_file(str(pair))
    # By hand: lender 8000 + 250.55 - 1000 + 12.34 = 7262.89; borrower bank 500 + 1000 - 900.10
    # - 12.34 = 587.56 and cash 40.00.
    assert treasury(entries) == Decimal("7262.89") + Decimal("587.56") + Decimal("40.00")
    lender, _, _ = loader.load_file(str(pair.parent / "ressourcerie" / "main.beancount"))
    borrower, _, _ = loader.load_file(str(pair.parent / "velo-gap" / "main.beancount"))
    assert treasury(entries) == treasury(lender) + treasury(borrower) == Decimal("7890.45")


def test_one_sided_advance_stays_visible(tmp_path: Path) -> None:
    """Only the lender wrote its side: the pair account shows what the borrower still owes."""
    lone_borrower = BORROWER.replace("Liabilities:1687-Avances-BanquAsso:Ressourcerie", "Equity:102-Fonds-Associatifs")
    lone_borrower = lone_borrower.replace("2026-01-01 open Equity:102-Fonds-Associatifs EUR\n", "", 1)
    path = write_consolidated(tmp_path, {"ressourcerie": LENDER, "velo-gap": lone_borrower})
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    eliminated = "Assets:Eliminations:2748-Avances-Intra-Groupe:Ressourcerie:Velo-Gap"
    assert balances(entries)[eliminated] == Decimal("1000.00")


def test_accounts_of_pool_toml_are_followed(tmp_path: Path) -> None:
    pool = """
    [accounts]
    lender_principal = "Assets:451-Groupe-Preteur"
    lender_interest = "Income:7681-Interets-Groupe"
    borrower_principal = "Liabilities:451-Groupe-Emprunteur"
    borrower_interest = "Expenses:6615-Interets-Groupe"
    """
    lender = (LENDER.replace("Assets:2748-Avances-BanquAsso", "Assets:451-Groupe-Preteur")
              .replace("Income:768-Interets-BanquAsso", "Income:7681-Interets-Groupe"))
    borrower = (BORROWER.replace("Liabilities:1687-Avances-BanquAsso", "Liabilities:451-Groupe-Emprunteur")
                .replace("Expenses:6618-Interets-BanquAsso", "Expenses:6615-Interets-Groupe"))
    path = write_consolidated(tmp_path, {"ressourcerie": lender, "velo-gap": borrower}, pool=pool)
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    totals = balances(entries)
    assert totals["Assets:Eliminations:451-Avances-Intra-Groupe:Ressourcerie:Velo-Gap"] == Decimal("0.00")
    assert totals["Income:Eliminations:7681-Interets-Intra-Groupe"] == Decimal("0.00")
    assert "Liabilities:Velo-Gap:451-Groupe-Emprunteur:Ressourcerie" not in totals


def test_member_errors_come_back_with_their_file_and_line(tmp_path: Path) -> None:
    broken = BORROWER + "\n2026-07-01 balance Assets:512-Banque 999.99 EUR\n"
    path = write_consolidated(tmp_path, {"ressourcerie": LENDER, "velo-gap": broken})
    _entries, errors, _ = loader.load_file(str(path))
    member_file = str(path.parent / "velo-gap" / "main.beancount")
    ours = [e for e in errors if e.source["filename"] == member_file]
    # The member's own check and the group's balance step both see it, at the same line.
    line = (path.parent / "velo-gap" / "main.beancount").read_text().splitlines().index(
        "2026-07-01 balance Assets:512-Banque 999.99 EUR") + 1
    assert ours and {e.source["lineno"] for e in ours} == {line}
    assert any(e.message.startswith("[velo-gap] ") and "Balance failed" in e.message for e in ours)


def test_broken_group_file_is_an_error_not_a_crash(tmp_path: Path) -> None:
    path = write_consolidated(tmp_path, {"ressourcerie": LENDER})
    (path.parent / "group.toml").write_text("[group]\nname = 'x'\nunknown = 1\n", encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    assert any(str(path.parent / "group.toml") == e.source["filename"] for e in errors)
    assert not any(isinstance(e, data.Transaction) for e in entries)


EVIL = '''
from pathlib import Path
Path({marker!r}).write_text("import")
__plugins__ = ("run",)
def run(entries, options_map):
    Path({marker!r}).write_text("run")
    return entries, []
'''


@pytest.fixture
def evil_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A member ledger that loads a plugin not on the allow-list; the plugin would leave a marker."""
    marker = tmp_path / "marker.txt"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "comptasso_evil_plugin.py").write_text(EVIL.format(marker=str(marker)), encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    evil = 'plugin "comptasso_evil_plugin"\n' + BORROWER
    return write_consolidated(tmp_path, {"ressourcerie": LENDER, "velo-gap": evil}), marker


def test_disallowed_plugin_is_refused_by_check_and_never_runs(evil_group: tuple[Path, Path]) -> None:
    path, marker = evil_group
    result = CliRunner().invoke(main, ["check", "--ledgers", str(path.parent),
                                       "--rules", str(path.parent.parent / "rules")])
    assert result.exit_code == 1
    assert "velo-gap/main.beancount:2: greffon « comptasso_evil_plugin » refusé" in result.output
    assert not marker.exists()


def test_disallowed_plugin_is_refused_by_the_group_ledger(evil_group: tuple[Path, Path]) -> None:
    path, marker = evil_group
    entries, errors, _ = loader.load_file(str(path))
    assert any("comptasso_evil_plugin" in e.message and e.source["lineno"] == 2 for e in errors)
    assert not marker.exists()
    # The safe member is still in the group view; the unsafe one is left out.
    opened = {e.account for e in entries if isinstance(e, data.Open)}
    assert "Assets:Ressourcerie:512-Banque" in opened
    assert "Assets:Velo-Gap:512-Banque" not in opened


def test_config_names_the_group_file_and_the_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "ledgers"
    base.mkdir()
    config, error = parse_config("group.toml", base)
    assert error is None and config is not None
    assert (config.ledgers_dir, config.rules_dir) == (base.resolve(), (tmp_path / "rules").resolve())
    config, error = parse_config("group.toml;rules=../regles", base)
    assert config is not None and config.rules_dir == (tmp_path / "regles").resolve()
    monkeypatch.setenv("COMPTASSO_RULES_DIR", str(tmp_path / "autres"))  # no environment overrides the line
    config, _ = parse_config("group.toml;rules=../regles", base)
    assert config is not None and config.rules_dir == (tmp_path / "regles").resolve()
    assert parse_config("group.toml;regles=x", base) == (None, parse_config("group.toml;regles=x", base)[1])
    assert "option « regles=x » inconnue" in (parse_config("group.toml;regles=x", base)[1] or "")
    assert "group.toml" in (parse_config("groupe.toml", base)[1] or "")


def test_bad_config_is_reported_by_the_group_ledger(tmp_path: Path) -> None:
    path = write_consolidated(tmp_path, {"ressourcerie": LENDER})
    path.write_text(group_ledger_text("G", "group.toml;taux=3"), encoding="utf-8")
    _entries, errors, _ = loader.load_file(str(path))
    assert [e.message for e in errors] == [
        "configuration « group.toml;taux=3 » : option « taux=3 » inconnue (syntaxe : \"group.toml;rules=../rules\")"]


def test_advance_accounts_default_and_bad_values(tmp_path: Path) -> None:
    assert read_advance_accounts(tmp_path) == (AdvanceAccounts(**DEFAULT_ACCOUNTS), [])
    (tmp_path / "pool.toml").write_text("[accounts]\nlender_interest = 3\n", encoding="utf-8")
    accounts, problems = read_advance_accounts(tmp_path)
    assert accounts.lender_interest == DEFAULT_ACCOUNTS["lender_interest"]
    assert [p.message for p in problems] == ["accounts.lender_interest : un nom de compte est attendu"]


COMPONENT = st.from_regex(r"[A-Z][a-z]{0,6}(-[A-Z][a-z]{0,5})?", fullmatch=True)
NUMBERED = st.builds(lambda n, c: f"{n}-{c}", st.from_regex(r"[1-8][0-9]{1,4}", fullmatch=True), COMPONENT)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(root=st.sampled_from(["Assets", "Liabilities", "Equity", "Income", "Expenses"]),
       numbered=NUMBERED, aux=st.lists(COMPONENT, max_size=2),
       member=st.from_regex(r"[a-z][a-z0-9]{1,8}(-[a-z0-9]{1,6})?", fullmatch=True))
def test_renaming_keeps_root_number_and_auxiliary(root: str, numbered: str, aux: list[str], member: str) -> None:
    account = ":".join([root, numbered, *aux])
    rename = Renamer(member, AdvanceAccounts(**DEFAULT_ACCOUNTS))
    renamed = rename(account)
    if rename.eliminated(account):
        assert ":Eliminations:" in renamed
        return
    assert renamed.split(":")[0] == root and renamed.split(":")[1] != root
    assert pcg_number(renamed) == pcg_number(account)
    assert renamed.replace(f":{renamed.split(':')[1]}", "", 1) == account


@settings(max_examples=15, deadline=None)
@given(principal=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
       interest=st.decimals(min_value=Decimal("0.00"), max_value=Decimal("999.99"), places=2))
def test_any_two_sided_advance_nets_to_zero(tmp_path_factory: pytest.TempPathFactory,
                                           principal: Decimal, interest: Decimal) -> None:
    lender = LENDER.replace("1000.00 EUR", f"{principal} EUR").replace("12.34 EUR", f"{interest} EUR")
    lender = lender.replace("2026-06-02 balance Assets:512-Banque 7262.89 EUR\n", "")
    borrower = BORROWER.replace("1000.00 EUR", f"{principal} EUR").replace("12.34 EUR", f"{interest} EUR")
    path = write_consolidated(tmp_path_factory.mktemp("g"), {"ressourcerie": lender, "velo-gap": borrower})
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    totals = balances(entries)
    assert totals["Assets:Eliminations:2748-Avances-Intra-Groupe:Ressourcerie:Velo-Gap"] == 0
    assert totals["Income:Eliminations:768-Interets-Intra-Groupe"] == 0
    assert treasury(entries) == Decimal("8250.55") + Decimal("540.00") - Decimal("900.10")


def test_group_view_defaults_to_french_language_and_amounts(tmp_path: Path) -> None:
    path = write_consolidated(tmp_path, {"ressourcerie": LENDER})
    path.write_text('plugin "comptasso.consolidation" "group.toml"\n'
                    '2024-01-01 custom "fava-option" "language" "de"\n', encoding="utf-8")
    entries, errors, _ = loader.load_file(str(path))
    assert errors == []
    options = {e.values[0].value: e.values[1].value for e in entries
               if isinstance(e, data.Custom) and e.type == "fava-option"}
    assert options == {"language": "de", "locale": "fr_FR"}


def test_a_member_cannot_load_the_group_view_into_itself(tmp_path: Path) -> None:
    member = 'plugin "comptasso.consolidation" "../group.toml"\n' + LENDER
    path = write_consolidated(tmp_path, {"ressourcerie": member, "velo-gap": BORROWER},
                              plugins='allowed = ["comptasso.consolidation"]\n')
    entries, errors, _ = loader.load_file(str(path))
    assert any("ne se charge que dans la vue consolidée" in e.message and e.message.startswith("[ressourcerie] ")
               for e in errors)
    assert "Assets:Velo-Gap:512-Banque" in {e.account for e in entries if isinstance(e, data.Open)}


# ------------------------------------------------------- `comptasso serve`: the group view shares the members' entries


def _served_app(ledgers: Path, tmp_path: Path) -> Flask:
    served, problems = prepare(ledgers, ledgers.parent / "rules", tmp_path / "work")
    assert served, problems
    return build_app(served)


def _fava_ledger(app: Flask, path: Path) -> Any:
    return next(led for _slug, led in fava.ledgers(app) if Path(fava.ledger_file(led)).resolve() == path.resolve())


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The member ledgers parsed — in this process or a worker — and stored in the books cache."""
    calls: list[str] = []
    real = cache.write

    def counting(cache_dir: Path, main: Path, allowed: frozenset[str], ledger: MemberLedger) -> None:
        calls.append(ledger.member_id)
        real(cache_dir, main, allowed, ledger)

    monkeypatch.setattr(cache, "write", counting)
    return calls


def test_served_group_view_shares_the_members_parsed_entries(pair: Path, tmp_path: Path, parsed: list[str]) -> None:
    ledgers = pair.parent
    (tmp_path / "work").mkdir()
    app = _served_app(ledgers, tmp_path)
    assert sorted(parsed) == ["ressourcerie", "velo-gap"]  # once each: for the checks, Fava and the group view
    books, _ = open_books(ledgers, ledgers.parent / "rules")
    assert books is not None
    lender = _fava_ledger(app, ledgers / "ressourcerie" / "main.beancount")
    assert lender.all_entries and all(a is b for a, b in zip(lender.all_entries, books.ledgers["ressourcerie"].entries,
                                                             strict=True))
    group = _fava_ledger(app, pair)
    assert group.load_errors == []
    note = next(e for e in group.all_entries if isinstance(e, data.Note))
    assert note.meta is next(e for e in lender.all_entries if isinstance(e, data.Note)).meta  # shared, not copied
    # The group view equals the sum of the members to the cent, and Beancount's own load of group.beancount.
    assert treasury(group.all_entries) == Decimal("7890.45")
    assert treasury(group.all_entries) == sum((treasury(_fava_ledger(app, ledgers / m / "main.beancount").all_entries)
                                               for m in ("ressourcerie", "velo-gap")), Decimal(0))
    beancount_entries, errors, _ = loader.load_file(str(pair))
    assert errors == []
    assert balances(group.all_entries) == balances(beancount_entries)


def test_group_view_after_one_members_edit_reparses_only_that_member(pair: Path, parsed: list[str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    renamed: list[str] = []
    real = consolidation.member_entries

    def counting(member_id: str, entries: Any, accounts: AdvanceAccounts) -> Any:
        renamed.append(member_id)
        return real(member_id, entries, accounts)

    monkeypatch.setattr(consolidation, "member_entries", counting)
    first = load_group_view(pair, pair.parent, frozenset({PLUGIN}))
    assert sorted(parsed) == sorted(renamed) == ["ressourcerie", "velo-gap"] and first.ok
    parsed.clear()
    renamed.clear()
    borrower = pair.parent / "velo-gap" / "main.beancount"
    borrower.write_text(borrower.read_text(encoding="utf-8").replace("900.10", "900.20"), encoding="utf-8")
    second = load_group_view(pair, pair.parent, frozenset({PLUGIN}))
    assert parsed == renamed == ["velo-gap"]  # the other member's directives: neither parsed nor renamed again
    assert treasury(second.entries) == treasury(first.entries) - Decimal("0.10")
    lender_note = [e for e in second.entries if isinstance(e, data.Note)]
    assert lender_note and lender_note[0] is next(e for e in first.entries if isinstance(e, data.Note))


def test_group_view_balances_its_own_transactions_and_reports_the_members_once(pair: Path) -> None:
    pair.write_text(pair.read_text(encoding="utf-8") + textwrap.dedent("""
        2026-01-01 open Assets:Groupe:Caisse EUR
        2026-01-01 open Equity:Groupe:Fonds EUR
        2026-05-05 * "Écriture du groupe, déséquilibrée"
          Assets:Groupe:Caisse   10.00 EUR
          Equity:Groupe:Fonds    -9.00 EUR
    """), encoding="utf-8")
    lender = pair.parent / "ressourcerie" / "main.beancount"
    lender.write_text(lender.read_text(encoding="utf-8").replace(
        "  Assets:512-Banque                  250.55 EUR\n  Income:706-Prestations",
        "  Assets:512-Banque                  250.55 EUR\n  Income:706-Prestations  -250.00 EUR"), encoding="utf-8")
    view = load_group_view(pair, pair.parent, frozenset({PLUGIN}))
    located = sorted((Path(p.file).name, p.line) for p in view.problems if p.is_error)
    assert ("group.beancount", 10) in located  # the group's own transaction is still checked
    assert located.count(("main.beancount", 12)) == 1  # the member's, once (from its own ledger), not twice


def _group_view_errors(path: Path) -> list[tuple[str, int, str]]:
    view = load_group_view(path, path.parent, frozenset({PLUGIN}))
    return sorted((Path(p.file).name, p.line, p.message) for p in view.problems if p.is_error)


def _beancount_balance_errors(path: Path) -> list[tuple[str, int]]:
    """Where Beancount's own load of the group view finds a balance assertion failing (every check run)."""
    _entries, errors, _options = loader.load_file(str(path))
    return sorted((Path(e.source["filename"]).name, e.source["lineno"]) for e in errors
                  if "Balance failed" in e.message)


def test_group_view_trusts_its_members_balance_checks_and_keeps_their_verdict(
        pair: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lender = pair.parent / "ressourcerie" / "main.beancount"
    lender.write_text(lender.read_text(encoding="utf-8").replace("7262.89", "7000.00"), encoding="utf-8")
    asked: list[str] = []
    real = loading_module._balance_check

    def recording(entries: Any, options: Any) -> Any:
        asked.extend(e.account for e in entries if isinstance(e, data.Balance))
        return real(entries, options)

    monkeypatch.setattr(loading_module, "_balance_check", recording)
    view = load_group_view(pair, pair.parent, frozenset({PLUGIN}))
    # The lender's assertion failed in its own load: reported once, still shown failing, not checked again.
    failing = [p for p in view.problems if p.is_error and "7000.00" in p.message]
    assert len(failing) == 1 and Path(failing[0].file).parent.name == "ressourcerie"
    balance = next(e for e in view.entries if isinstance(e, data.Balance) and e.account.endswith("512-Banque"))
    assert balance.diff_amount is not None and balance.diff_amount.number == Decimal("262.89")
    assert "Assets:Ressourcerie:512-Banque" not in asked
    # The borrower pads: padded again on the group view, so its assertion is checked again (and holds).
    assert asked == ["Assets:Velo-Gap:530-Caisse"]
    assert _beancount_balance_errors(pair) == [("main.beancount", 26)] * 2  # Beancount: the plugin's and its own


def test_group_view_checks_again_what_its_own_file_changes_in_a_member(pair: Path) -> None:
    pair.write_text(pair.read_text(encoding="utf-8") + textwrap.dedent("""
        2026-01-01 open Equity:Groupe:Ajustement EUR
        2026-05-01 * "Ajustement du groupe sur le compte d'un membre"
          Assets:Ressourcerie:512-Banque    1.00 EUR
          Equity:Groupe:Ajustement
        2026-05-02 close Assets:Velo-Gap:512-Banque
    """), encoding="utf-8")
    errors = _group_view_errors(pair)
    # The member's assertion held in its own ledger, not in the group view: the group view says so.
    assert [(f, n) for f, n, m in errors if "Balance failed" in m] == [("main.beancount", 26)]
    assert _beancount_balance_errors(pair) == [("main.beancount", 26)]
    # Closing a member's account in the group file: the member's later uses of it are checked again.
    assert any(n == 25 and "Assets:Velo-Gap:512-Banque" in m and "fermé" in m for _f, n, m in errors)


def test_group_view_checks_again_a_balance_above_an_eliminated_account(tmp_path: Path) -> None:
    pool = """
    [accounts]
    lender_principal = "Assets:27-Immobilisations:2748-Avances"
    """
    lender = (LENDER.replace("Assets:2748-Avances-BanquAsso", "Assets:27-Immobilisations:2748-Avances")
              .replace("2026-06-02 note", "2026-01-01 open Assets:27-Immobilisations EUR\n"
                                          "2026-06-03 balance Assets:27-Immobilisations 1000.00 EUR\n2026-06-02 note"))
    path = write_consolidated(tmp_path, {"ressourcerie": lender, "velo-gap": BORROWER}, pool=pool)
    books, _errors = open_books(path.parent, path.parent.parent / "rules", cache_dir=False)
    assert books is not None
    assert books.ledgers["ressourcerie"].ok, books.ledgers["ressourcerie"].problems  # the advance, in the member
    errors = _group_view_errors(path)
    # The advance moved to the eliminations: the group view's Assets:Ressourcerie:27-… no longer holds it.
    assert [m for _f, _n, m in errors if "Balance failed for 'Assets:Ressourcerie:27-Immobilisations'" in m]
    assert len(_beancount_balance_errors(path)) == 1


def test_members_checks_are_reused_only_when_the_group_view_cannot_change_them(pair: Path) -> None:
    books, _problems = open_books(pair.parent, pair.parent.parent / "rules", cache_dir=False)
    assert books is not None
    group_options = {"tolerance_multiplier": books.ledgers["velo-gap"].options["tolerance_multiplier"]}
    vouched = consolidation.reuses_member_checks(books, [], group_options)
    assert vouched("ressourcerie") and vouched("velo-gap")
    own_posting, _errors, _options = parser.parse_string(
        '2026-05-01 close Assets:Velo-Gap:530-Caisse\n')
    vouched = consolidation.reuses_member_checks(books, own_posting, group_options)
    assert vouched("ressourcerie") and not vouched("velo-gap")  # the group file names one of its accounts
    own_elimination, _errors, _options = parser.parse_string(
        '2026-05-01 close Assets:Eliminations:2748-Avances-Intra-Groupe\n')
    vouched = consolidation.reuses_member_checks(books, own_elimination, group_options)
    assert not vouched("ressourcerie") and not vouched("velo-gap")
    other_tolerance = {"tolerance_multiplier": group_options["tolerance_multiplier"] * 2}
    assert not consolidation.reuses_member_checks(books, [], other_tolerance)("ressourcerie")
    books.ledgers["ressourcerie"].options["plugin_processing_mode"] = "raw"  # its own checks never ran
    assert not consolidation.reuses_member_checks(books, [], group_options)("ressourcerie")


def test_the_group_view_keeps_one_commodity_per_currency(pair: Path) -> None:
    """Every member may declare EUR: the view keeps one Commodity of it (the earliest), and no duplicate error."""
    for member, day in (("ressourcerie", "2026-01-01"), ("velo-gap", "2025-06-01")):
        main = pair.parent / member / "main.beancount"
        main.write_text(main.read_text(encoding="utf-8") + f"\n{day} commodity EUR\n", encoding="utf-8")
    pair.write_text(pair.read_text(encoding="utf-8") + "\n2026-03-01 commodity EUR\n", encoding="utf-8")
    view = load_group_view(pair, pair.parent, frozenset({PLUGIN}))
    commodities = [e for e in view.entries if isinstance(e, data.Commodity)]
    assert [(c.currency, c.date.isoformat()) for c in commodities] == [("EUR", "2025-06-01")]
    assert [p for p in view.problems if p.is_error] == []
