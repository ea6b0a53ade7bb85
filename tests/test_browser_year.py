"""A real headless Chromium: the treasurer of one member opens Budget, Subventions and Indicateurs in Fava.

The demo group is served with log-in (tests/test_browser.py's server and Chromium); the treasurer of
Vélo Club Gapençais sees its budget by action with réalisé, its grant files, its indicators, and
nothing of any other member: no other convention, action or name, and a 403 on another member's page.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from comptasso.books.loading import load_member_ledger
from comptasso.model.budgets import budget_report
from comptasso.money import fr_money
from tests.conftest import DEMO_AS_OF
from tests.test_browser import browser, shot
from tests.web_helpers import fill_log_in, served_app, serving, write_treasurer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["browser"]  # the Chromium fixture, shared with tests/test_browser.py

PASSWORD = "essai-navigateur-2026"
OTHERS = ("mjc-embrun", "grange-ecrins", "ressourcerie-durance", "creche-marmottes", "ge-alpes-sud")
CONVENTION = re.compile(r'convention: "([^"]+)"')


@pytest.fixture
def server(demo_copy: tuple[Path, Path], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The demo group served with log-in on a free port; one user, the treasurer of velo-gap."""
    ledgers, rules = demo_copy
    write_treasurer(rules, PASSWORD)
    app, _ = served_app(ledgers, rules, tmp_path)
    by_path = {led.beancount_file_path: slug for slug, led in app.config["LEDGERS"].items()}
    slugs = {m: by_path[str((ledgers / m / "main.beancount").resolve())] for m in ("velo-gap", *OTHERS)}
    with serving(app) as url:
        yield {"url": url, "ledgers": ledgers, "slugs": slugs}


def _text(page: Any, selector: str) -> str:
    return str(page.locator(selector).inner_text()).replace("\u202f", " ").replace("\xa0", " ")


def test_a_treasurer_sees_only_its_member_in_budget_and_grant_files(browser: Any, server: dict[str, Any]) -> None:
    ledgers: Path = server["ledgers"]
    others = {ref for m in OTHERS for ref in CONVENTION.findall((ledgers / m / "main.beancount").read_text("utf-8"))}
    mine = set(CONVENTION.findall((ledgers / "velo-gap" / "main.beancount").read_text("utf-8")))
    assert others and mine and not others & mine
    entries = load_member_ledger("velo-gap", ledgers / "velo-gap" / "main.beancount", frozenset()).entries
    [action] = [s for s in budget_report(entries, (), dt.date.fromisoformat(DEMO_AS_OF))[0]
                if s.line.action == "formation-benevoles"]
    assert action.actual > 0

    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    url, slugs = server["url"], server["slugs"]
    page.goto(f"{url}/")
    fill_log_in(page, "tresorier-velo", PASSWORD)
    page.wait_for_selector("#banquasso")
    base = f"{url}/{slugs['velo-gap']}/extension/BanquAssoExtension"

    page.goto(f"{base}/budget?as_of={DEMO_AS_OF}")
    page.wait_for_selector("#banquasso-budget")
    budget = _text(page, "#banquasso-budget")
    row = _text(page, "tr.bqa-budget-line:has-text('formation-benevoles')")
    assert fr_money(action.line.amount) in row and fr_money(action.actual) in row
    assert "fonctionnement-innovation" not in budget  # the MJC's action
    shot(page, "year-01-budget-tresorier.png")

    page.goto(f"{base}/subventions?as_of={DEMO_AS_OF}")
    page.wait_for_selector("#banquasso-grants, .bqa")
    html = str(page.content())
    assert any(ref in html for ref in mine if ref.startswith("FDVA-"))
    assert [ref for ref in others if ref in html] == []
    shot(page, "year-02-subventions-tresorier.png")

    page.goto(f"{base}/indicateurs?as_of={DEMO_AS_OF}")
    page.wait_for_selector("#banquasso-indicateurs")
    html = str(page.locator("#banquasso-indicateurs").inner_html())  # Fava's menu names the group's own view
    assert "Vélo Club Gapençais" in html and "répartition anonyme" in html
    for name in ("MJC de l'Embrunais", "MJC de l&#39;Embrunais", "La Grange des Écrins", "Ressourcerie de la Durance",
                 "Crèche parentale Les Marmottes", "Groupement d'employeurs Alpes Sud"):
        assert name not in html
    shot(page, "year-03-indicateurs-tresorier.png")

    response = page.goto(f"{url}/{slugs['mjc-embrun']}/extension/BanquAssoExtension/budget")
    assert response is not None and response.status == 403
    page.close()
