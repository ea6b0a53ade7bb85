"""Under a convention de trésorerie the annex and the attestation describe treasury operations with the pivot.

The group of tests/test_pivot_mode.py: the pivot `ge-alpes`, `preteur` and `emprunteur`; 10 000 € paid out on
2026-12-01 through the pivot (CA-2026-11), 4 000 € repaid on 2026-12-10, so 6 000 € outstanding on each hop
at the end of 2026. Financial years are calendar years: every position opens at 0,00 €.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from banquasso.registry.db import DB_URL_ENV, open_registry
from banquasso.registry.service import load_views
from banquasso.statement.data import Month, prepare
from banquasso.statement.legal_table import BORROWED, LENT, statement_annex
from banquasso.statement.pdf import render_statement
from banquasso.terms.policy import load_policy
from banquasso.terms.tmop import load_tmop
from comptasso.books.facade import open_books
from tests.test_law import pdf_text
from tests.test_pivot_mode import LOANS_POOL, _lifecycle, trio
from tests.test_registry import run

AS_OF = "2026-12-31"


@pytest.fixture(autouse=True)
def _sqlite_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)


@pytest.fixture
def group(tmp_path: Path) -> tuple[Path, Path]:
    ledgers, rules_dir = trio(tmp_path)
    _lifecycle(ledgers, rules_dir)
    return ledgers, rules_dir


def _pack(ledgers: Path, rules_dir: Path, member: str, out: Path) -> tuple[dict[str, object], str]:
    result = run(["attestation", "--member", member, "--year", "2026", "--output", str(out), "--json"],
                 ledgers, rules_dir, AS_OF)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return document, pdf_text(out / f"attestation-{member}-2026-01-01.pdf")


def test_the_lenders_pack_gives_its_position_with_the_pivot(group: tuple[Path, Path], tmp_path: Path) -> None:
    document, text = _pack(*group, "preteur", tmp_path / "pack")
    table = document["table"]
    assert document["mode"] == table["mode"] == "convention-de-tresorerie"  # type: ignore[index]
    treasury = table["treasury"]  # type: ignore[index]
    assert treasury["pivot"] == "ge-alpes" and treasury["is_pivot"] is False
    assert treasury["five_years_applies"] is False and treasury["fifty_percent_applies"] is False
    # Lent 10 000 € to the pivot, repaid 4 000 €: 0 + 10 000 − 4 000 = 6 000 € at the end of the year.
    assert treasury["positions"] == [{
        "counterpart": "ge-alpes", "counterpart_name": "Ge-Alpes", "side": LENT,
        "account": "Assets:4511-Groupe-Comptes-Courants:Ge-Alpes", "opening": "0.00", "increase": "10000.00",
        "decrease": "4000.00", "closing": "6000.00"}]
    assert document["management_report"] == treasury["positions"]
    assert [a["id"] for a in table["advances"]] == ["BQA-2026-0001"]  # type: ignore[index]
    for words in ("Attestation des opérations de trésorerie — Preteur",
                  "Ge-Alpes (ge-alpes) prêté à 0,00 € 10 000,00 € 4 000,00 € 6 000,00 €", "D511-2-1-5",
                  "la durée de cinq ans et le plafond de 50 % de la trésorerie nette disponible ne s'appliquent pas",
                  "55 j, sans objet", "opération par opération", "CA-2026-11"):
        assert words in text, words
    assert "Test des 50 %" not in text and "> 5 ans" not in text and "/ 1826 j" not in text
    # The registry agrees: 6 000 € outstanding at the end of the year.
    [view] = load_views(open_registry(group[0]), dt.date(2026, 12, 31))
    assert str(view.outstanding_on(dt.date(2026, 12, 31))) == treasury["positions"][0]["closing"]


def test_the_pivots_pack_lists_every_members_position(group: tuple[Path, Path], tmp_path: Path) -> None:
    document, text = _pack(*group, "ge-alpes", tmp_path / "pack")
    treasury = document["table"]["treasury"]  # type: ignore[index]
    assert treasury["is_pivot"] is True
    by_member = {(p["counterpart"], p["side"]): (p["opening"], p["increase"], p["decrease"], p["closing"])
                 for p in treasury["positions"]}
    # The pivot owes the lender what it lent, and the borrower owes the pivot what it borrowed: 6 000 € each.
    assert by_member == {("preteur", BORROWED): ("0.00", "10000.00", "4000.00", "6000.00"),
                         ("emprunteur", LENT): ("0.00", "10000.00", "4000.00", "6000.00")}
    assert (treasury["closing_lent"], treasury["closing_borrowed"]) == ("6000.00", "6000.00")
    assert "Organisme pivot : position de chaque membre" in text
    assert "Preteur (preteur) emprunté à 0,00 € 10 000,00 € 4 000,00 € 6 000,00 €" in text
    assert "Emprunteur (emprunteur) prêté à 0,00 € 10 000,00 € 4 000,00 € 6 000,00 €" in text
    assert "L'organisme pivot y mentionne la position de chaque membre" in text


def test_the_statement_annex_puts_the_pivot_first_and_agrees_with_the_packs(group: tuple[Path, Path]) -> None:
    ledgers, rules_dir = group
    books, _ = open_books(ledgers, rules_dir)
    policy, _ = load_policy(rules_dir)
    tmop, _ = load_tmop(rules_dir)
    assert books is not None and policy is not None and tmop is not None
    day = dt.date(2026, 12, 31)
    annex = statement_annex(books, policy, tmop, load_views(open_registry(ledgers), day), day)
    assert [t.lender for t in annex] == ["ge-alpes", "emprunteur", "preteur"]
    pivot, borrower, lender = (t.treasury for t in annex)
    assert pivot is not None and borrower is not None and lender is not None
    assert [(p.counterpart, p.side, p.closing) for p in borrower.positions] == [
        ("ge-alpes", BORROWED, annex[0].rows[0].outstanding)]
    # Both sides of each current account agree: what the pivot owes the lender is what the lender lent it,
    # what the borrower owes the pivot is what the pivot lent it.
    sides = {(p.counterpart, p.side): (p.opening, p.increase, p.decrease) for p in pivot.positions}
    assert sides[("preteur", BORROWED)] == next((p.opening, p.increase, p.decrease) for p in lender.positions)
    assert sides[("emprunteur", LENT)] == next((p.opening, p.increase, p.decrease) for p in borrower.positions)
    data, problems = prepare(ledgers, rules_dir, Month(2026, 12), dt.date(2027, 1, 5))
    assert data is not None, problems
    assert [t.to_json() for t in data.annex] == [t.to_json() for t in annex]
    path = ledgers.parent / "releve.pdf"
    path.write_bytes(render_statement(data))
    text = pdf_text(path)
    assert "Ge-Alpes — exercice du 1er janvier 2026 au 31 décembre 2026 — organisme pivot : position de chaque membre" \
        in text
    assert "Preteur (preteur) emprunté à 0,00 € 10 000,00 € 4 000,00 € 6 000,00 €" in text
    assert "opérations de trésorerie avec l'organisme pivot Ge-Alpes" in text and "D511-2-1-5" in text


def test_in_loans_mode_the_pack_keeps_the_bilateral_tests(tmp_path: Path) -> None:
    ledgers, rules_dir = trio(tmp_path, LOANS_POOL)
    _lifecycle(ledgers, rules_dir)
    document, text = _pack(ledgers, rules_dir, "preteur", tmp_path / "pack")
    assert document["mode"] == "prets" and document["table"]["treasury"] is None  # type: ignore[index]
    assert "Test des 50 %" in text and "/ 1826 j" in text and "D511-2-1-5" not in text
