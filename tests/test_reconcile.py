"""`banquasso reconcile`: registry, lender's receivable and borrower's debt agree; every hand edit is reported."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banquasso.registry.db import DB_URL_ENV
from tests.test_registry import make_group, propose_args, run, snapshot_files

ID = "BQA-2026-0001"


@pytest.fixture(autouse=True)
def _sqlite_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)


def run_lifecycle(ledgers: Path, rules: Path, approved_by: str) -> None:
    """Through the CLI: 10 000 € proposed and approved on 2026-11-30, lent on 2026-12-01, confirmed,
    4 000 € repaid on 2026-12-10 (still `!`)."""
    steps = [
        (propose_args(), "2026-11-30"),
        (["advance", "approve", ID, "--by", approved_by, "--decision", "CA-2026-11"], "2026-11-30"),
        (["advance", "disburse", ID, "--on", "2026-12-01"], "2026-12-01"),
        (["advance", "confirm", ID], "2026-12-01"),
        (["advance", "repay", ID, "--amount", "4000", "--on", "2026-12-10"], "2026-12-10"),
    ]
    for args, as_of in steps:
        result = run(args, ledgers, rules, as_of)
        assert result.exit_code == 0, result.output


def running_advance(root: Path, pool: str | None = None) -> tuple[Path, Path]:
    """10 000 € lent on 2026-12-01, confirmed, 4 000 € repaid on 2026-12-10 (still `!`)."""
    ledgers, rules = make_group(root, pool=pool)
    run_lifecycle(ledgers, rules, "Marie")
    return ledgers, rules


def test_agreeing_books_exit_0_with_the_three_balances(tmp_path: Path) -> None:
    ledgers, rules = running_advance(tmp_path)
    result = run(["reconcile", "--json"], ledgers, rules, "2026-12-10")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document == {"as_of": "2026-12-10", "ok": True, "mismatches": [], "advances": [{
        "id": ID, "lender": "preteur", "borrower": "emprunteur", "registry_outstanding": "6000.00",
        "lender_receivable": "6000.00", "borrower_debt": "6000.00", "ok": True}]}
    text = run(["reconcile"], ledgers, rules, "2026-12-10").output
    head, rule, row = text.splitlines()[:3]
    assert head.split()[:3] == ["Avance", "Prêteur", "Emprunteur"] and set(rule) == {"-", " "}
    assert row.startswith(ID) and row.split().count("6") == 3 and row.endswith("ok")
    assert row.index(ID) == 0 and len(row) <= len(rule)  # the row holds in the ruled columns
    assert head.index("Registre") + len("Registre") == row.index("6 000,00 €") + len("6 000,00 €")  # right-aligned
    assert "Registre et livres concordent." in text


def test_reconcile_reads_the_books_as_of_the_date(tmp_path: Path) -> None:
    ledgers, rules = running_advance(tmp_path)
    before = json.loads(run(["reconcile", "--json"], ledgers, rules, "2026-12-05").output)
    assert before["advances"][0]["registry_outstanding"] == "10000.00"
    assert before["advances"][0]["borrower_debt"] == "10000.00"


def edit(path: Path, change: Callable[[str], str]) -> None:
    text = path.read_text(encoding="utf-8")
    changed = change(text)
    assert changed != text
    path.write_text(changed, encoding="utf-8")


def _amount(text: str) -> str:
    return text.replace("4000.00 EUR", "4400.00 EUR").replace("-4000.00 EUR", "-4400.00 EUR")


def _drop_repayment(text: str) -> str:
    return re.sub(r'\n2026-12-10 ! "BanquAsso".*?\n\n', "\n", text, flags=re.DOTALL)


def _flag(text: str) -> str:
    return text.replace("2026-12-01 * ", "2026-12-01 ! ")


def _date(text: str) -> str:
    return text.replace("2026-12-10 ! ", "2026-12-11 ! ")


HAND_ENTRY = """
2026-12-05 * "Correction" "Avance rendue en espèces"
  Assets:512-Banque  500.00 EUR
  Assets:2748-Avances-BanquAsso:Emprunteur  -500.00 EUR
"""

STRANGER = """
2026-12-05 * "BanquAsso" "Avance fantôme"
  advance: "BQA-2026-0099"
  event: "BQA-2026-0099/disburse"
  Liabilities:1687-Avances-BanquAsso:Preteur  -100.00 EUR
  Assets:512-Banque  100.00 EUR
"""


@pytest.mark.parametrize(("where", "change", "expected"), [
    ("emprunteur/banquasso.beancount", _amount,
     (r"emprunteur/banquasso\.beancount:\d+: avance BQA-2026-0001, BQA-2026-0001/repay/2026-12-10-4000\.00 : "
      r"montants différents")),
    ("preteur/banquasso.beancount", _drop_repayment,
     (r"preteur/banquasso\.beancount: avance BQA-2026-0001, BQA-2026-0001/repay/2026-12-10-4000\.00 : "
      r"écriture absente du livre du prêteur preteur")),
    ("emprunteur/banquasso.beancount", _flag,
     (r"emprunteur/banquasso\.beancount:\d+: .*marque « ! » dans le livre de l'emprunteur, mais l'écriture est "
      r"confirmée au registre")),
    ("preteur/banquasso.beancount", _date,
     r"preteur/banquasso\.beancount:\d+: .*datée du 11/12/2026 dans le livre du prêteur, du 10/12/2026 au registre"),
    ("preteur/main.beancount", lambda text: text + HAND_ENTRY,
     (r"preteur/main\.beancount:\d+: écriture hors BanquAsso sur le compte des avances "
      r"Assets:2748-Avances-BanquAsso:Emprunteur")),
    ("emprunteur/main.beancount", lambda text: text + STRANGER,
     r"emprunteur/main\.beancount:\d+: avance inconnue du registre « BQA-2026-0099 »"),
])
def test_a_hand_edit_is_reported_and_blocks_every_write(tmp_path: Path, where: str, change: Callable[[str], str],
                                                        expected: str) -> None:
    ledgers, rules = running_advance(tmp_path)
    edit(ledgers / where, change)
    result = run(["reconcile"], ledgers, rules, "2026-12-31")
    assert result.exit_code == 1
    assert re.search(expected, result.output), result.output
    assert "écart(s) entre le registre et les livres" in result.output
    as_json = _json_part(run(["reconcile", "--json"], ledgers, rules, "2026-12-31").output)
    assert not as_json["ok"] and as_json["mismatches"]
    files = snapshot_files(ledgers)
    for args in (["advance", "repay", ID, "--amount", "1000", "--on", "2026-12-20"],
                 ["advance", "confirm", ID]):
        refused = run(args, ledgers, rules, "2026-12-20")
        assert refused.exit_code == 1
        assert "le registre et les livres ne concordent pas ; rien n'est écrit" in refused.output
    assert snapshot_files(ledgers) == files


def _json_part(output: str) -> dict[str, Any]:
    """The JSON document printed on stdout (CliRunner mixes stderr in after it)."""
    document: dict[str, Any] = json.JSONDecoder().raw_decode(output)[0]
    return document


def test_the_accounts_of_pool_toml_are_followed(tmp_path: Path) -> None:
    pool = """
[accounts]
lender_principal = "Assets:467-Avances-Groupe"
borrower_principal = "Liabilities:467-Avances-Groupe"
"""
    ledgers, rules = running_advance(tmp_path, pool=pool)
    lender = (ledgers / "preteur" / "banquasso.beancount").read_text(encoding="utf-8")
    borrower = (ledgers / "emprunteur" / "banquasso.beancount").read_text(encoding="utf-8")
    assert "Assets:467-Avances-Groupe:Emprunteur" in lender and "2748" not in lender
    assert "Liabilities:467-Avances-Groupe:Preteur" in borrower and "1687" not in borrower
    assert run(["reconcile"], ledgers, rules, "2026-12-10").exit_code == 0


def test_an_empty_registry_and_untouched_books_agree(tmp_path: Path) -> None:
    ledgers, rules = make_group(tmp_path)
    result = run(["reconcile"], ledgers, rules)
    assert result.exit_code == 0 and "0 avance(s) rapprochée(s)" in result.output


def test_an_unconfirmed_movement_can_be_cancelled_and_written_again(tmp_path: Path) -> None:
    ledgers, rules = running_advance(tmp_path)
    cancel = ["advance", "cancel", ID, "--event", f"{ID}/repay/2026-12-10-4000.00", "--by", "Marie",
              "--reason", "montant erroné"]
    wrong_event = run([*cancel[:4], f"{ID}/disburse", *cancel[5:]], ledgers, rules, "2026-12-10")
    assert wrong_event.exit_code == 1 and "seul le dernier mouvement peut être annulé" in wrong_event.output
    result = run(cancel, ledgers, rules, "2026-12-10")
    assert result.exit_code == 0, result.output
    for member in ("preteur", "emprunteur"):
        text = (ledgers / member / "banquasso.beancount").read_text(encoding="utf-8")
        assert "repay/" not in text and f'event: "{ID}/disburse"' in text
    shown = json.loads(run(["advance", "show", ID, "--json"], ledgers, rules, "2026-12-10").stdout)
    assert shown["advance"]["state"] == "confirmed" and shown["advance"]["outstanding"] == "10000.00"
    assert run(["reconcile"], ledgers, rules, "2026-12-10").exit_code == 0
    again = run(["advance", "repay", ID, "--amount", "4500", "--on", "2026-12-10"], ledgers, rules, "2026-12-10")
    assert again.exit_code == 0 and "reste dû 5 500,00 €" in again.output
    assert run(["reconcile"], ledgers, rules, "2026-12-10").exit_code == 0
    # A movement the bank confirmed stays: only a real movement in the other direction undoes it.
    assert run(["advance", "confirm", ID], ledgers, rules, "2026-12-10").exit_code == 0
    refused = run([*cancel[:4], f"{ID}/repay/2026-12-10-4500.00", *cancel[5:]], ledgers, rules, "2026-12-10")
    assert refused.exit_code == 1 and "est confirmé par la banque" in refused.output


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.just(Decimal("6000.00")),
                         st.decimals(min_value=Decimal("0.01"), max_value=Decimal("6000.01"), places=2)),
                min_size=1, max_size=3))
def test_whatever_is_repaid_registry_and_both_ledgers_agree(payments: list[Decimal]) -> None:
    """Invariant: after any accepted repayments, reconcile agrees and the ledgers hold exactly what is owed."""
    with tempfile.TemporaryDirectory() as folder:
        ledgers, rules = running_advance(Path(folder))
        owed = Decimal("6000.00")
        for day, amount in enumerate(payments, start=11):
            result = run(["advance", "repay", ID, "--amount", str(amount), "--on", f"2026-12-{day}"], ledgers, rules,
                         f"2026-12-{day}")
            if amount <= owed:
                assert result.exit_code == 0, result.output
                owed -= amount
            else:
                reason = "supérieur à ce qui reste dû" if owed else "elle est déjà entièrement remboursée"
                assert result.exit_code == 1 and reason in result.output
        document = _json_part(run(["reconcile", "--json"], ledgers, rules, "2026-12-31").output)
        assert document["ok"], document["mismatches"]
        assert document["advances"][0]["lender_receivable"] == str(owed)
        assert document["advances"][0]["borrower_debt"] == str(owed)
        state = json.loads(run(["advance", "show", ID, "--json"], ledgers, rules, "2026-12-31").stdout)["advance"]
        assert state["state"] == ("repaid" if owed == 0 else "partly_repaid")
