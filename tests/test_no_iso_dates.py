"""No ISO date in what a French reader reads: command output, refusals, problems (issue 15).

Sentences and tables write dates `01/12/2026` (`comptasso.money.fr_date`); `--json`, options and the
ledgers keep `2026-12-01` (SPEC §6, §10). The only ISO-looking strings a reader may still meet are
identifiers and ledger text, listed in `EXCEPTIONS`, each with the reason it stays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from click.testing import CliRunner, Result

from banquasso.commands.main import main as banquasso_main
from comptasso.cli.main import main as comptasso_main
from comptasso.model.previsions import parse_prevision
from comptasso.problems import Problem
from tests.conftest import DEMO_AS_OF, DEMO_LEDGERS

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# What may carry an ISO-looking date in a French text, and why. Each is removed before the check.
EXCEPTIONS: dict[str, re.Pattern[str]] = {
    # the entries just written to the two ledgers, echoed as Beancount text (ledger syntax, SPEC §10)
    "ledger entry": re.compile(r'^\d{4}-\d{2}-\d{2} [!*] "BanquAsso".*$', re.MULTILINE),
    "ledger metadata": re.compile(r'^\s+[a-z_]+: ".*"$', re.MULTILINE),
    # a bank reference key (`2026-12-01-100.00`, the day and the cents of the movement) is an identifier
    "bank reference": re.compile(r"\(réf\. [^)]*\)"),
    "event key": re.compile(r"\(BQA-\d{4}-\d{4}/[a-z]+/[^)]*\)"),
    # the board's decision number is typed by the user (`--decision CA-2026-11-28-03`)
    "decision number": re.compile(r"\bCA-\d{4}-\d{2}-\d{2}-\d{2}\b"),
    # click repeats the option it refuses (`'--as-of'`), and the format hint `AAAA-MM-JJ` is not a date
}

DECISION = "CA-2026-11-28-03"


def iso_dates(text: str) -> list[str]:
    """The ISO dates left in `text` once the listed exceptions are taken out."""
    for pattern in EXCEPTIONS.values():
        text = pattern.sub("", text)
    return ISO_DATE.findall(text)


def test_the_check_sees_an_iso_date_and_spares_the_exceptions() -> None:
    """The check itself can fail: an ISO date in a sentence is found, an identifier is not."""
    assert iso_dates("versée le 2026-12-01") == ["2026-12-01"]
    assert iso_dates("BQA-2026-0001 déjà versée le 01/12/2026 (réf. 2026-12-01-9075.05) : rien à faire") == []
    assert iso_dates(f"approuvée par Conseil (décision {DECISION})") == []
    assert iso_dates('2026-12-01 ! "BanquAsso" "Avance BQA-2026-0001 à MJC"\n  event: "BQA-2026-0001/disburse"') == []
    assert iso_dates('2026-12-01 ! "Autre" "Pas une écriture du moteur"') == ["2026-12-01"]


def _prevision_problem(text: str) -> Problem:
    entries, errors, _ = loader.load_string(text)
    assert errors == []
    custom = next(e for e in entries if isinstance(e, data.Custom))
    problem = parse_prevision(custom)
    assert isinstance(problem, Problem)
    return problem


def test_a_prevision_ending_before_it_starts_says_the_end_the_french_way() -> None:
    problem = _prevision_problem('2026-01-01 open Expenses:606-Achats\n'
                                 '2026-03-01 custom "prevision" Expenses:606-Achats "Fournitures" -50.00 EUR '
                                 '"mensuel" 10 2026-02-15\n')
    assert problem.message == "prévision « Fournitures » : la date de fin 15/02/2026 précède la prévision"


def _bq(args: Sequence[str], ledgers: Path, rules: Path, as_of: str, code: int = 0) -> Result:
    result = CliRunner().invoke(banquasso_main, [*args, "--ledgers", str(ledgers), "--rules", str(rules),
                                                 "--as-of", as_of])
    assert result.exit_code == code, result.output
    return result


def _french(result: Result) -> None:
    assert iso_dates(result.output) == [], result.output


@pytest.mark.slow
def test_refusals_of_a_running_advance_write_french_dates(tmp_path: Path) -> None:
    """Each refusal that names a day (small group: 10 000 € lent on 01/12, 4 000 € repaid on 10/12)."""
    from tests.test_reconcile import ID, running_advance

    ledgers, rules = running_advance(tmp_path)
    refused = {
        "après la date du jour 10/12/2026": ["advance", "repay", ID, "--amount", "1", "--on", "2026-12-11"],
        "avant le dernier mouvement de l'avance (10/12/2026)": ["advance", "repay", ID, "--amount", "1", "--on",
                                                                "2026-12-05"],
        "supérieur à ce qui reste dû le 10/12/2026 : 6 000,00 €": ["advance", "repay", ID, "--amount", "6000.01",
                                                                   "--on", "2026-12-10", "--ref", "autre"],
    }
    for message, args in refused.items():
        result = _bq(args, ledgers, rules, "2026-12-10", code=1)
        assert message in result.output
        _french(result)
    again = _bq(["advance", "repay", ID, "--amount", "4000", "--on", "2026-12-10"], ledgers, rules, "2026-12-10")
    assert "remboursement de 4 000,00 € du 10/12/2026" in again.output
    _french(again)
    for args in (["advance", "show", ID], ["advance", "list"], ["reconcile"], ["capacity"], ["forecast"],
                 ["plan"], ["funders"]):
        _french(_bq(args, ledgers, rules, "2026-12-10"))


@pytest.mark.slow
@pytest.mark.skipif(not (DEMO_LEDGERS / "group.toml").exists(), reason="demo group not generated")
def test_the_demo_commands_write_no_iso_date(demo_copy: tuple[Path, Path]) -> None:
    """One advance of the demo's plan through its life, then every reading command, read as text."""
    ledgers, rules = demo_copy
    first = json.loads(_bq(["advance", "propose", "--json"], ledgers, rules, DEMO_AS_OF).stdout)["advances"][0]
    advance, day = first["id"], first["disburse_on"]
    outputs = [
        _bq(["advance", "approve", advance, "--by", "Conseil", "--decision", DECISION], ledgers, rules, DEMO_AS_OF),
        _bq(["advance", "disburse", advance, "--on", day], ledgers, rules, day),
        _bq(["advance", "disburse", advance, "--on", day], ledgers, rules, day),  # done already: says when
        _bq(["advance", "confirm", advance], ledgers, rules, day),
        _bq(["advance", "repay", advance, "--amount", "100", "--on", day], ledgers, rules, day),
        _bq(["advance", "repay", advance, "--amount", "100", "--on", day], ledgers, rules, day),
    ]
    assert "déjà versée le " in outputs[2].output and "déjà enregistré" in outputs[5].output
    assert any(ISO_DATE.search(result.output) for result in outputs[1:2])  # the ledger text is echoed, ISO
    readings = (["forecast"], ["capacity"], ["plan"], ["funders"], ["accuracy"], ["reconcile"],
                ["advance", "list"], ["advance", "show", advance], ["subventions"], ["budget"])
    outputs.extend(_bq(args, ledgers, rules, day) for args in readings)
    outputs.append(_bq(["backtest"], ledgers, rules, "2026-06-30"))
    outputs.append(_bq(["backtest"], ledgers, rules, day, code=2))  # nothing after the day: refused, in French
    assert "aucune écriture après le " in outputs[-1].output
    check = CliRunner().invoke(comptasso_main, ["check", "--ledgers", str(ledgers), "--rules", str(rules),
                                                "--as-of", day])
    assert check.exit_code == 0, check.output
    closing = CliRunner().invoke(comptasso_main, ["cloture", first["lender"], "--year", "2026", "--ledgers",
                                                  str(ledgers), "--rules", str(rules), "--as-of", day])
    assert closing.exit_code == 1 and "(livres lus au 01/12/2026, --as-of)" in closing.output, closing.output
    outputs += [check, closing]
    for result in outputs:
        assert iso_dates(result.output.replace("'--as-of'", "")) == [], result.output
