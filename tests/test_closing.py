"""`comptasso cloture`: checks before closing, the hash-chain lock, `check` on a closed period, ValidDate,
and the à-nouveaux detailed per invoice so lettering survives the year change."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from comptasso.cli.main import main
from comptasso.reports.closing import chain, read_lock
from tests.conftest import write_group

SIREN = "123456789"

LEDGER = """
option "operating_currency" "EUR"
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Assets:411-Usagers:Mairie-De-Gap EUR
2025-01-01 open Assets:471-Attente EUR
2025-01-01 open Liabilities:401-Fournisseurs:Imprimerie EUR
2025-01-01 open Equity:102-Fonds-Associatifs EUR
2025-01-01 open Income:706-Prestations EUR
2025-01-01 open Expenses:623-Publicite EUR

2025-01-01 * "Ouverture"
  Assets:512-Banque              5000.00 EUR
  Equity:102-Fonds-Associatifs  -5000.00 EUR

2025-11-20 * "Mairie de Gap" "Animation" ^F2025-11
  echeance: 2026-01-20
  Assets:411-Usagers:Mairie-De-Gap   900.00 EUR
  Income:706-Prestations            -900.00 EUR

2025-12-01 * "Imprimerie" "Affiches" ^A2025-12
  echeance: 2026-01-15
  Expenses:623-Publicite                     300.00 EUR
  Liabilities:401-Fournisseurs:Imprimerie   -300.00 EUR

2025-12-15 * "Imprimerie" "Acompte" ^A2025-12
  Liabilities:401-Fournisseurs:Imprimerie   100.00 EUR
  Assets:512-Banque                        -100.00 EUR

2026-01-25 * "Mairie de Gap" "Règlement" ^F2025-11
  Assets:512-Banque                   900.00 EUR
  Assets:411-Usagers:Mairie-De-Gap   -900.00 EUR
"""


def _group(tmp_path: Path, ledger: str = LEDGER) -> tuple[Path, Path]:
    ledgers, rules = write_group(tmp_path, {"asso": ledger})
    group = ledgers / "group.toml"
    group.write_text(group.read_text("utf-8").replace('ledger = "asso/', f'siren = "{SIREN}"\nledger = "asso/'),
                     encoding="utf-8")
    return ledgers, rules


def _run(ledgers: Path, rules: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--ledgers", str(ledgers), "--rules", str(rules)])
    return result.exit_code, result.stdout, result.stderr


def _close(ledgers: Path, rules: Path, *extra: str) -> tuple[int, str, str]:
    return _run(ledgers, rules, "cloture", "asso", "--year", "2025", "--as-of", "2026-01-31", *extra)


def test_closing_writes_a_sealed_lock_and_the_detailed_opening(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, out, err = _close(ledgers, rules, "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["entries"] == 4 and document["closed_on"] == "2026-01-31"
    assert document["a_nouveaux"] == [
        {"account": "Assets:411-Usagers:Mairie-De-Gap", "link": "F2025-11", "amount": "900.00"},
        {"account": "Assets:512-Banque", "link": None, "amount": "4900.00"},
        {"account": "Equity:102-Fonds-Associatifs", "link": None, "amount": "-5000.00"},
        {"account": "Liabilities:401-Fournisseurs:Imprimerie", "link": "A2025-12", "amount": "-200.00"},
    ]
    lock, problems = read_lock(ledgers / "asso" / "cloture-2025.json")
    assert problems == [] and lock is not None
    assert lock.seal == chain([e.digest for e in lock.entries]) == document["seal"]
    assert _run(ledgers, rules, "check")[0] == 0
    code, _, err = _close(ledgers, rules)
    assert code == 1 and "exercice 2025 déjà clôturé" in err


def test_an_edit_in_a_closed_period_is_reported_at_its_line(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert _close(ledgers, rules)[0] == 0
    main_file = ledgers / "asso" / "main.beancount"
    text = main_file.read_text("utf-8")
    main_file.write_text(text.replace("Expenses:623-Publicite                     300.00 EUR\n"
                                      "  Liabilities:401-Fournisseurs:Imprimerie   -300.00 EUR",
                                      "Expenses:623-Publicite                     310.00 EUR\n"
                                      "  Liabilities:401-Fournisseurs:Imprimerie   -310.00 EUR"), encoding="utf-8")
    line = next(i for i, t in enumerate(main_file.read_text("utf-8").splitlines(), 1) if '"Affiches"' in t)
    code, _, err = _run(ledgers, rules, "check")
    assert code == 1
    assert f"main.beancount:{line}: écriture du 01/12/2025 modifiée ou ajoutée dans l'exercice 2025" in err
    assert "cloture-2025.json:" in err and "supprimée ou modifiée dans l'exercice clôturé 2025" in err


def test_an_entry_added_to_a_closed_period_fails_check_but_the_open_year_is_free(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert _close(ledgers, rules)[0] == 0
    main_file = ledgers / "asso" / "main.beancount"
    main_file.write_text(main_file.read_text("utf-8") + '\n2026-02-01 * "Prestation"\n  Assets:512-Banque  50.00 EUR\n'
                         "  Income:706-Prestations  -50.00 EUR\n", encoding="utf-8")
    assert _run(ledgers, rules, "check")[0] == 0  # 2026 is open
    main_file.write_text(main_file.read_text("utf-8") + '\n2025-06-01 * "Oubli"\n  Assets:512-Banque  20.00 EUR\n'
                         "  Income:706-Prestations  -20.00 EUR\n", encoding="utf-8")
    code, _, err = _run(ledgers, rules, "check")
    assert code == 1 and "écriture du 01/06/2025 modifiée ou ajoutée" in err


def test_a_tampered_lock_is_reported(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert _close(ledgers, rules)[0] == 0
    path = ledgers / "asso" / "cloture-2025.json"
    text = path.read_text("utf-8")
    digest = json.loads(text)["entries"][0]["digest"]
    path.write_text(text.replace(digest, "f" * 64), encoding="utf-8")
    code, _, err = _run(ledgers, rules, "check")
    assert code == 1 and "fichier de clôture 2025 altéré" in err


@pytest.mark.parametrize(("edit", "needle"), [
    (lambda t: t.replace('2025-12-15 *', '2025-12-15 !'), "encore marquée « ! »"),
    (lambda t: t + '\n2025-12-20 * "Inconnu"\n  Assets:512-Banque  10.00 EUR\n  Assets:471-Attente  -10.00 EUR\n',
     "compte d'attente Assets:471-Attente non soldé"),
    (lambda t: t.replace('"Acompte" ^A2025-12', '"Acompte" ^F2025-11'), "lettrage"),
], ids=["pending", "suspense", "lettering"])
def test_closing_refuses_books_that_are_not_ready(tmp_path: Path, edit, needle: str) -> None:  # type: ignore[no-untyped-def]
    ledgers, rules = _group(tmp_path)
    main_file = ledgers / "asso" / "main.beancount"
    main_file.write_text(edit(main_file.read_text("utf-8")), encoding="utf-8")
    code, out, err = _close(ledgers, rules)
    assert code == 1 and needle in err and out == ""
    assert not (ledgers / "asso" / "cloture-2025.json").exists()


def test_closing_before_the_end_of_the_year_or_out_of_order_is_refused(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    code, _, err = _run(ledgers, rules, "cloture", "asso", "--year", "2025", "--as-of", "2025-12-30")
    assert code == 1 and "exercice 2025 non terminé" in err
    code, _, err = _run(ledgers, rules, "cloture", "asso", "--year", "2026", "--as-of", "2027-01-31")
    assert code == 1 and "exercice précédent 2025 non clôturé" in err


def test_fec_of_a_closed_year_has_the_closing_date_as_valid_date(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    assert _close(ledgers, rules)[0] == 0
    out = tmp_path / "out"
    for year in ("2025", "2026"):
        code, _, err = _run(ledgers, rules, "fec", "asso", "--year", year, "--as-of", "2027-01-31",
                            "--output", str(out))
        assert code == 0, err
    rows = [r.split("\t") for r in (out / f"{SIREN}FEC20251231.txt").read_text("utf-8").splitlines()[1:]]
    assert {r[15] for r in rows} == {"20260131"}
    following = [r.split("\t") for r in (out / f"{SIREN}FEC20261231.txt").read_text("utf-8").splitlines()[1:]]
    assert {r[15] for r in following if r[0] == "BQ"} == {"20260125"}  # 2026 not closed: its entry dates
    # The invoice of November 2025 is lettered with its January payment across the year change.
    assert [(r[0], r[13], r[14]) for r in following if r[13]] == [("AN", "F2025-11", "20260125"),
                                                                  ("BQ", "F2025-11", "20260125")]
