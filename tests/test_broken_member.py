"""One member's broken ledger is reported and left out: it never stops the others' results (issue 11, item 6)."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pytest
from beancount import loader
from beancount.core.data import Directive
from click.testing import CliRunner, Result

from banquasso.commands.main import main as banquasso
from banquasso.forecast.frames import load_forecast
from comptasso.books.beancount_errors import BEANCOUNT_ERROR, translate
from comptasso.books.facade import MEMBER_EXCLUDED, open_books
from comptasso.cli.main import main as comptasso
from comptasso.problems import Problem, ProblemsError
from tests.conftest import DEMO_AS_OF, write_group
from tests.forecast_helpers import OPEN, opening

AS_OF = "2025-06-30"
ALPHA = OPEN + opening("20000.00") + """
2025-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -2000.00 EUR "mensuel" 28
2025-02-28 * "Personnel" "Salaires de février"
  Expenses:641-Salaires  2000.00 EUR
  Assets:512-Banque
"""
BETA = OPEN + opening("5000.00") + """
2025-01-01 custom "prevision" Expenses:606-Achats "Fournitures" -300.00 EUR "mensuel" 10
"""
TYPO = ('\n2025-03-01 * "Fournisseur" "Facture saisie à la française"\n  Expenses:606-Achats  12,50 EUR\n'
        '  Assets:512-Banque\n')


def _group(tmp_path: Path, beta: str = BETA + TYPO) -> tuple[Path, Path]:
    return write_group(tmp_path, {"alpha": ALPHA, "beta": beta})


def _typo_line(ledgers: Path) -> int:
    lines = (ledgers / "beta" / "main.beancount").read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if "12,50" in line)


def _run(command: object, ledgers: Path, rules: Path, *args: str) -> Result:
    return CliRunner().invoke(command, [*args, "--ledgers", str(ledgers), "--rules", str(rules)])  # type: ignore[arg-type]


def test_forecast_of_another_member_still_comes_out_with_the_same_figures(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path / "broken")
    result = _run(banquasso, ledgers, rules, "forecast", "--member", "alpha", "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    line = _typo_line(ledgers)
    [excluded] = doc["excluded"]
    assert excluded["id"] == "beta"
    [problem] = excluded["problems"]
    assert f"main.beancount:{line}: montant mal écrit « 12,50 »" in problem
    assert problem.endswith("Beancount : ValueError: Invalid number format: '12,50'")  # the original, after
    assert f"main.beancount:{line}: avertissement : membre « beta »" in result.stderr
    assert "exclu" in result.stderr

    healthy_ledgers, healthy_rules = _group(tmp_path / "healthy", BETA)
    healthy = _run(banquasso, healthy_ledgers, healthy_rules, "forecast", "--member", "alpha", "--as-of", AS_OF,
                   "--json")
    assert healthy.exit_code == 0, healthy.output
    expected = json.loads(healthy.stdout)
    assert expected["excluded"] == []
    assert doc["members"] == expected["members"]


def test_the_group_without_member_option_leaves_the_broken_one_out(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = _run(banquasso, ledgers, rules, "forecast", "--as-of", AS_OF, "--json", "--horizon", "10")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [m["id"] for m in doc["members"]] == ["alpha"]
    assert doc["group"]["opening_balance"] == doc["members"][0]["opening_balance"] == "18000.00"
    assert [e["id"] for e in doc["excluded"]] == ["beta"]
    text = _run(banquasso, ledgers, rules, "forecast", "--as-of", AS_OF, "--horizon", "10")
    assert text.exit_code == 0 and "Alpha (alpha)" in text.stdout and "(beta)" not in text.stdout
    assert "membre « beta » (Beta) exclu" in text.stderr


def test_asking_for_the_broken_member_exits_1_naming_file_and_line(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = _run(banquasso, ledgers, rules, "forecast", "--member", "beta", "--as-of", AS_OF, "--json")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"main.beancount:{_typo_line(ledgers)}: montant mal écrit « 12,50 »" in result.stderr


def test_an_unknown_member_is_still_a_usage_error(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = _run(banquasso, ledgers, rules, "forecast", "--member", "gamma", "--as-of", AS_OF)
    assert result.exit_code == 2 and "membre inconnu « gamma »" in result.output and "beta" in result.output


@pytest.mark.parametrize("command", [["capacity"], ["plan"], ["funders"], ["backtest", "--horizon", "60"]])
def test_capacity_plan_funders_and_backtest_leave_the_broken_member_out(tmp_path: Path, command: list[str]) -> None:
    ledgers, rules = _group(tmp_path)
    result = _run(banquasso, ledgers, rules, *command, "--as-of", "2025-01-31", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [e["id"] for e in doc["excluded"]] == ["beta"]
    assert "beta" not in json.dumps({k: v for k, v in doc.items() if k != "excluded"})
    assert "membre « beta »" in result.stderr


def test_every_member_broken_exits_1(tmp_path: Path) -> None:
    ledgers, rules = write_group(tmp_path, {"alpha": ALPHA + TYPO, "beta": BETA + TYPO})
    for command in ("forecast", "capacity", "plan"):
        result = _run(banquasso, ledgers, rules, command, "--as-of", AS_OF)
        assert result.exit_code == 1, (command, result.output)
        assert "alpha/main.beancount" in result.stderr and "beta/main.beancount" in result.stderr


def test_a_broken_rules_file_still_stops_everything(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    (rules / "funders.toml").write_text("[[funders]]\nid = 3\n", encoding="utf-8")
    result = _run(banquasso, ledgers, rules, "forecast", "--as-of", AS_OF)
    assert result.exit_code == 1 and "funders.toml" in result.stderr


def test_check_reports_every_member_and_exits_1(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    result = _run(comptasso, ledgers, rules, "check", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["members"] == ["alpha", "beta"]
    assert any("montant mal écrit « 12,50 »" in e["message"] and e["line"] == _typo_line(ledgers)
               and (e["code"], e["subject"]) == ("number-format", "12,50") for e in doc["errors"])


def test_the_books_say_who_is_excluded_and_why(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    books, _ = open_books(ledgers, rules, cache_dir=False)
    assert books is not None and not books.ok
    usable = books.without_broken()
    assert usable.group.ids == ("alpha",) and set(usable.ledgers) == {"alpha"} and usable.ok
    [exclusion] = usable.excluded
    assert exclusion.member_id == "beta" and exclusion.problems[0].code == "number-format"
    warning = exclusion.warning()
    assert (warning.code, warning.subject, warning.severity) == (MEMBER_EXCLUDED, "beta", "warning")
    assert warning.line == _typo_line(ledgers)
    assert books.group.ids == ("alpha", "beta")  # the books themselves are unchanged
    healthy, _ = open_books(*_group(tmp_path / "ok", BETA), cache_dir=False)
    assert healthy is not None and healthy.without_broken() is healthy


def test_the_notebook_api_warns_and_leaves_the_member_out(tmp_path: Path) -> None:
    ledgers, rules = _group(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forecast = load_forecast(ledgers, rules, AS_OF, 10)
    assert [m.member_id for m in forecast.members] == ["alpha"]
    assert any("membre « beta »" in str(w.message) for w in caught)
    both, rules = write_group(tmp_path / "both", {"alpha": ALPHA + TYPO, "beta": BETA + TYPO})
    with pytest.raises(ProblemsError):
        load_forecast(both, rules, AS_OF, 10)


def test_demo_a_typo_in_one_member_does_not_stop_another(demo_copy: tuple[Path, Path]) -> None:
    """The issue's replay: `12,50 EUR` in velo-gap's ledger, forecast of grange-ecrins."""
    ledgers, rules = demo_copy
    main_file = ledgers / "velo-gap" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + TYPO.replace("2025-03-01", "2026-11-20"),
                         encoding="utf-8")
    result = _run(banquasso, ledgers, rules, "forecast", "--member", "grange-ecrins", "--as-of", DEMO_AS_OF,
                  "--json", "--horizon", "14")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [m["id"] for m in doc["members"]] == ["grange-ecrins"]
    assert [e["id"] for e in doc["excluded"]] == ["velo-gap"]
    assert "membre « velo-gap »" in result.stderr
    asked = _run(banquasso, ledgers, rules, "forecast", "--member", "velo-gap", "--as-of", DEMO_AS_OF)
    assert asked.exit_code == 1 and "montant mal écrit « 12,50 »" in asked.stderr


OPENS = "2026-01-01 open Assets:Bank\n2026-01-01 open Expenses:X\n"
BEANCOUNT_CASES = {
    "number-format": (OPENS + '2026-01-02 * "t"\n  Assets:Bank  12,50 EUR\n  Expenses:X\n', 4,
                      "montant mal écrit « 12,50 »", "12,50"),
    "account-unknown": (('2026-01-01 open Assets:Bank\n2026-01-02 * "t"\n  Assets:Bank  1.00 EUR\n'
                         '  Expenses:Y  -1.00 EUR\n'), 2, "compte « Expenses:Y » jamais ouvert", "Expenses:Y"),
    "account-inactive": (OPENS + '2026-01-02 close Assets:Bank\n2026-01-03 * "t"\n  Assets:Bank  1.00 EUR\n'
                         '  Expenses:X\n', 4, "compte « Assets:Bank » fermé", "Assets:Bank"),
    "transaction-unbalanced": (OPENS + '2026-01-02 * "t"\n  Assets:Bank  12.50 EUR\n  Expenses:X  -12.00 EUR\n',
                               3, "écriture déséquilibrée", ""),
    "balance-failed": (OPENS + '2026-01-02 * "t"\n  Assets:Bank  12.50 EUR\n  Expenses:X\n'
                       '2026-01-05 balance Assets:Bank 10.00 EUR\n', 6,
                       "contrôle de solde en échec sur « Assets:Bank » : solde attendu 10.00 EUR", "Assets:Bank"),
    "open-duplicate": ('2026-01-01 open Assets:Bank\n2026-01-02 open Assets:Bank\n', 2,
                       "compte « Assets:Bank » ouvert deux fois", "Assets:Bank"),
    "account-close-unopened": ('2026-01-02 close Assets:Bank\n', 1, "fermeture du compte « Assets:Bank »",
                               "Assets:Bank"),
    "currency-not-allowed": (('2026-01-01 open Assets:Bank EUR\n2026-01-01 open Expenses:X\n2026-01-02 * "t"\n'
                              '  Assets:Bank  1.00 USD\n  Expenses:X\n'), 3, "devise USD refusée", "Assets:Bank"),
    "syntax-error": (OPENS + '2026-01-02 * "t"\n  Assets:Bank  12.50 EUR EUR\n', 4, "ligne mal formée", ""),
    "token-invalid": ('2026-01-01 open Assets:bank\n', 1, "élément non reconnu « Assets:bank »", "Assets:bank"),
    "date-invalid": ('2026-13-01 open Assets:Bank\n', 1, "date impossible", ""),
    "auto-posting-multiple": (OPENS + '2026-01-02 * "t"\n  Assets:Bank\n  Expenses:X\n', 5,
                              "plusieurs lignes sans montant", ""),
}


@pytest.mark.parametrize("code", sorted(BEANCOUNT_CASES))
def test_common_beancount_errors_get_a_french_message_and_a_code(code: str) -> None:
    text, line, french, subject = BEANCOUNT_CASES[code]
    errors = loader.load_string(text, dedent=False)[1]
    problems = [translate(e) for e in errors]
    found = [p for p in problems if p.code == code]
    assert found, [(p.code, p.message) for p in problems]
    problem = found[0]
    assert problem.line == line and problem.subject == subject
    assert problem.message.startswith(french)
    original = next(str(e.message) for e in errors if str(e.message).strip() in problem.message)
    assert problem.message.endswith(f" — Beancount : {original.strip()}")  # the English text kept, after


def test_other_beancount_errors_keep_their_message_with_a_generic_code() -> None:
    class PluginError(NamedTuple):  # an error class the translations do not know
        source: dict[str, object]
        message: str
        entry: None

    problem = translate(PluginError({"filename": "x.beancount", "lineno": 7}, "Something unusual happened", None))
    assert (problem.file, problem.line, problem.code, problem.message) == (
        "x.beancount", 7, BEANCOUNT_ERROR, "Something unusual happened")


def test_books_that_load_but_cannot_be_read_are_left_out_too(tmp_path: Path) -> None:
    """A `prevision` on day 32 loads in Beancount but cannot be forecast: same treatment as a typo."""
    beta = BETA.replace('"mensuel" 10', '"mensuel" 32')
    ledgers, rules = _group(tmp_path, beta)
    line = next(i for i, text in enumerate((ledgers / "beta" / "main.beancount").read_text(encoding="utf-8")
                                           .splitlines(), 1) if '"mensuel" 32' in text)
    for command in (["forecast", "--member", "alpha"], ["capacity"], ["plan"]):
        result = _run(banquasso, ledgers, rules, *command, "--as-of", AS_OF, "--json")
        assert result.exit_code == 0, (command, result.output)
        [excluded] = json.loads(result.stdout)["excluded"]
        assert excluded["id"] == "beta" and f"main.beancount:{line}:" in excluded["problems"][0]
        assert f"main.beancount:{line}: avertissement : membre « beta »" in result.stderr
    asked = _run(banquasso, ledgers, rules, "forecast", "--member", "beta", "--as-of", AS_OF)
    assert asked.exit_code == 1 and f"main.beancount:{line}:" in asked.stderr


def test_the_forecast_reads_each_member_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`readable` reads the members; `read_group` reuses those reads for the same entries and day."""
    from banquasso.forecast import daily, flows

    ledgers, rules = _group(tmp_path, BETA)
    books, _ = open_books(ledgers, rules, cache_dir=False)
    assert books is not None
    calls: list[tuple[str, str]] = []
    real = flows.read_member

    def counting(member_id: str, entries: Sequence[Directive],
                 as_of: dt.date) -> tuple[flows.MemberBooks, list[Problem]]:
        calls.append((member_id, as_of.isoformat()))
        return real(member_id, entries, as_of)

    monkeypatch.setattr(daily, "read_member", counting)
    day = dt.date(2025, 6, 30)
    outlook, _ = daily.read_group(daily.readable(books, day), day, 10)
    assert outlook is not None and calls == [("alpha", "2025-06-30"), ("beta", "2025-06-30")]
    daily.read_group(books, day + dt.timedelta(days=1), 10)  # another day: read again
    assert calls[2:] == [("alpha", "2025-07-01"), ("beta", "2025-07-01")]
