"""`comptasso check`: each kind of broken ledger is reported with file, line and message; nothing changes."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from comptasso.cli.main import main
from tests.conftest import write_group

GOOD = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque
2024-01-01 open Assets:441-Subventions-A-Recevoir:Region-Sud
2024-01-01 open Income:741-Subventions-Exploitation:Region-Sud
2024-01-01 open Equity:102-Fonds-Associatifs
2024-01-01 open Liabilities:401-Fournisseurs:Imprimerie-Alpine
2024-01-01 open Expenses:606-Achats-Non-Stockes

2024-01-02 * "Apport" "Fonds associatifs"
  Assets:512-Banque  1000.00 EUR
  Equity:102-Fonds-Associatifs

2024-02-10 * "Région Sud" "Convention REG-1"
  convention: "REG-1"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir:Region-Sud  2000.00 EUR
  Income:741-Subventions-Exploitation:Region-Sud

2024-02-10 custom "subvention-echeance" "REG-1" 2024-04-30 2000.00 EUR

2024-03-01 * "Imprimerie Alpine" "Affiches" ^A2024-001
  echeance: 2024-03-31
  Expenses:606-Achats-Non-Stockes  120.00 EUR
  Liabilities:401-Fournisseurs:Imprimerie-Alpine

2024-03-01 custom "prevision" Expenses:606-Achats-Non-Stockes "Fournitures" -50.00 EUR "mensuel" 10
"""

BROKEN = {
    "syntax-error": (GOOD + "\n2024-05-01 * \"Oups\n  Assets:512-Banque 1 EUR\n", 29, "Invalid token"),
    "unbalanced": (GOOD + textwrap.dedent("""
        2024-05-01 * "Déséquilibre"
          Assets:512-Banque  10.00 EUR
          Equity:102-Fonds-Associatifs  -9.00 EUR
        """), 29, "does not balance"),
    "no-pcg-number": (GOOD.replace("open Assets:512-Banque", "open Assets:Banque").replace(
        "Assets:512-Banque", "Assets:Banque"), 3, "n'a pas de numéro du plan comptable"),
    "class-vs-root": (GOOD + "2024-01-01 open Expenses:706-Prestations\n", 28, "doit être sous Income"),
    "grant-without-funder": (GOOD.replace('  funder: "region-sud"\n', ""), 14, "sans métadonnée « funder »"),
    "unknown-funder": (GOOD.replace('funder: "region-sud"', 'funder: "inconnu"'), 14, "financeur inconnu « inconnu »"),
    "tranche-without-convention": (GOOD + '2024-02-10 custom "subvention-echeance" "REG-9" 2024-06-30 10.00 EUR\n',
                                   28, "convention inconnue « REG-9 »"),
    "invoice-without-echeance": (GOOD.replace("  echeance: 2024-03-31\n", ""), 22, "sans métadonnée « echeance »"),
    "bad-prevision": (GOOD.replace('"mensuel" 10', '"mensuel" 32'), 27, "jour du mois de 1 à 31"),
    "other-currency": (GOOD + textwrap.dedent("""
        2024-05-01 * "Don en francs suisses"
          Assets:512-Banque  10.00 CHF
          Equity:102-Fonds-Associatifs  -10.00 CHF
        """), 30, "seule la devise EUR"),
    "budget-period": (GOOD + '\n2024-01-01 custom "budget" "606" 2024-12-31 2024-01-01 600.00 EUR\n', 29,
                      "budget « 606 » : la fin 01/01/2024 précède le début 31/12/2024"),
    "budget-prefix": (GOOD + '\n2024-01-01 custom "budget" "512" 2024-01-01 2024-12-31 600.00 EUR\n', 29,
                      "préfixe ou compte de charges (classe 6)"),
    "budget-malformed": (GOOD + '\n2024-01-01 custom "budget" "606" 2024-01-01 600.00 EUR\n', 29,
                         "budget mal formé (3 arguments)"),
    "include-outside": ('include "../../secrets.beancount"\n' + GOOD, 2, "hors du dossier du membre"),
    "plugin-not-allowed": ('plugin "beancount.plugins.auto_accounts"\n' + GOOD, 2,
                           "greffon « beancount.plugins.auto_accounts » refusé"),
    "python-path": ('option "insert_pythonpath" "TRUE"\n' + GOOD, 2, "insert_pythonpath"),
}


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "cache" not in p.parts}


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(main, ["check", "--ledgers", "ledgers", "--rules", "rules", *args])


def test_good_group_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_group(tmp_path, {"asso-a": GOOD})
    result = _run(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "0 erreur(s)" in result.output
    assert not list((tmp_path / "ledgers").rglob(".*picklecache"))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    text, line, needle = BROKEN[case]
    write_group(tmp_path, {"asso-a": text})
    (tmp_path / "secrets.beancount").write_text("; outside\n", encoding="utf-8")
    before = _snapshot(tmp_path)
    result = _run(tmp_path, monkeypatch)
    assert result.exit_code == 1, result.output
    assert f"ledgers/asso-a/main.beancount:{line}: " in result.output, result.output
    assert needle in result.output
    assert _snapshot(tmp_path) == before


def test_tranches_not_summing_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_group(tmp_path, {"asso-a": GOOD.replace('"REG-1" 2024-04-30 2000.00 EUR', '"REG-1" 2024-04-30 1500.00 EUR')})
    result = _run(tmp_path, monkeypatch)
    assert result.exit_code == 0
    assert "avertissement : convention « REG-1 » : échéances 1500.00 EUR pour 2000.00 EUR notifiés" in result.output


def test_engine_file_must_be_included(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, _ = write_group(tmp_path, {"asso-a": GOOD})
    main_file = ledgers / "asso-a" / "main.beancount"
    main_file.write_text(main_file.read_text().replace('include "banquasso.beancount"\n', ""))
    result = _run(tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert 'include "banquasso.beancount"' in result.output


def test_as_of_ignores_later_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_group(tmp_path, {"asso-a": GOOD + '2025-01-01 custom "subvention-echeance" "REG-9" 2025-06-30 10.00 EUR\n'})
    assert _run(tmp_path, monkeypatch).exit_code == 1
    assert _run(tmp_path, monkeypatch, "--as-of", "2024-12-31").exit_code == 0
    assert _run(tmp_path, monkeypatch, "--as-of", "2024-13-01").exit_code == 2


def test_disallowed_plugin_never_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin module that would write a marker file is refused before it is even imported."""
    marker = tmp_path / "marker.txt"
    module_dir = tmp_path / "pymods"
    module_dir.mkdir()
    (module_dir / "evil_marker_plugin.py").write_text(textwrap.dedent(f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("imported")
        __plugins__ = ("run",)
        def run(entries, options_map):
            Path({str(marker)!r}).write_text("ran")
            return entries, []
    """))
    monkeypatch.syspath_prepend(str(module_dir))
    write_group(tmp_path, {"asso-a": 'plugin "evil_marker_plugin"\n' + GOOD})
    result = _run(tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert "greffon « evil_marker_plugin » refusé" in result.output
    assert not marker.exists()
    assert "evil_marker_plugin" not in sys.modules
    # Allowed, the same module does run: the test above could fail.
    write_group(tmp_path, {"asso-a": 'plugin "evil_marker_plugin"\n' + GOOD},
                plugins='allowed = ["evil_marker_plugin"]\n')
    _run(tmp_path, monkeypatch)
    assert marker.read_text() == "ran"
    sys.modules.pop("evil_marker_plugin", None)


def test_json_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    write_group(tmp_path, {"asso-a": BROKEN["unknown-funder"][0]})
    result = _run(tmp_path, monkeypatch, "--json")
    document = json.loads(result.stdout)
    assert result.exit_code == 1
    assert document["members"] == ["asso-a"]
    assert document["errors"][0]["line"] == 14


@pytest.mark.parametrize(("case", "code"), [("budget-period", "budget-period-invalid"),
                                            ("budget-prefix", "budget-prefix-invalid"),
                                            ("budget-malformed", "budget-malformed")])
def test_budget_problems_carry_their_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str,
                                          code: str) -> None:
    import json

    write_group(tmp_path, {"asso-a": BROKEN[case][0]})
    result = _run(tmp_path, monkeypatch, "--json")
    assert result.exit_code == 1, result.output
    [error] = json.loads(result.stdout)["errors"]
    assert error["code"] == code
    assert error["line"] == 29
