"""Fava in French in a real headless Chromium: French amounts, the log-in page, hidden controls, Comptes annuels.

Same browser as tests/test_browser.py (Debian's /usr/bin/chromium through Playwright; skipped with
the reason when missing, a failure under CI=true).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from comptasso.cli.main import main as comptasso
from comptasso.money import fr_money
from comptasso.web.access import hash_password
from tests.conftest import DEMO_AS_OF
from tests.test_browser import shot
from tests.web_helpers import chromium_browser, fill_log_in, served_app, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a real Chromium over the demo: 5 to 13 s a test

PASSWORD = "essai-navigateur-2026"
USERS = (("compta", "bookkeeper", None), ("tresorier-velo", "treasurer", "velo-gap"), ("conseil", "board", None))
GROUP_NAME = "Groupement d'employeurs Alpes Sud"


def spaces(text: str) -> str:
    """Fava and babel group thousands with narrow or plain no-break spaces: compare with plain ones."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    yield from chromium_browser()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo group (a private copy), with a bookkeeper, velo-gap's treasurer and a board member."""
    import shutil

    from tests.conftest import DEMO_LEDGERS, DEMO_RULES

    root = tmp_path_factory.mktemp("fr")
    ledgers, rules = root / "ledgers", root / "rules"
    shutil.copytree(DEMO_LEDGERS, ledgers)
    shutil.copytree(DEMO_RULES, rules)
    digest = hash_password(PASSWORD)
    (rules / "users.toml").write_text("".join(
        f'[[users]]\nlogin = "{login}"\nrole = "{role}"\n' + (f'member = "{member}"\n' if member else "")
        + f'password_hash = "{digest}"\n' for login, role, member in USERS), encoding="utf-8")
    app, served = served_app(ledgers, rules, root)
    app.config["COMPTASSO_AS_OF"] = None
    slugs = {s.member_id: slug for slug, ledger in app.config["LEDGERS"].items() for s in served
             if str(ledger.beancount_file_path) == str(s.path)}
    with serving(app) as url:
        yield {"url": url, "slugs": slugs, "ledgers": ledgers, "rules": rules}


def logged_in(chromium: Any, site: dict[str, Any], login: str) -> Any:
    page = chromium.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")  # French whatever it asks
    page.goto(f"{site['url']}/login")
    fill_log_in(page, login, PASSWORD)
    page.wait_for_load_state("networkidle")
    return page


def test_the_log_in_page_is_french_and_names_the_group(chromium: Any, site: dict[str, Any]) -> None:
    page = chromium.new_page(viewport={"width": 1000, "height": 800})
    page.goto(f"{site['url']}/")
    assert page.locator("h1").inner_text() == "Connexion"
    assert page.locator("header .group").inner_text() == GROUP_NAME
    assert page.locator("label[for=login]").inner_text() == "Identifiant"
    assert page.locator("button[type=submit]").inner_text() == "Se connecter"
    assert page.evaluate("document.documentElement.lang") == "fr"
    shot(page, "fr-01-connexion.png")
    page.close()


def test_a_member_journal_shows_french_amounts(chromium: Any, site: dict[str, Any]) -> None:
    page = logged_in(chromium, site, "tresorier-velo")
    page.goto(f"{site['url']}/{site['slugs']['velo-gap']}/journal/?time=2026-11")
    page.wait_for_selector("article a[href*='512-CreditCoop']", state="attached")
    text = spaces(page.locator("article").inner_text())
    # the demo's « 2026-11-01 balance Assets:512-CreditCoop 12090.54 EUR », as Fava shows it in fr_FR
    assert "12 090,54" in text
    assert "12090.54" not in text and "12,090.54" not in text
    assert re.search(r"\d,\d\d", text) and not re.search(r"\d\.\d\d\b", text)
    shot(page, "fr-02-journal.png")
    page.close()


def test_the_board_sees_no_save_button_and_the_bookkeeper_does(chromium: Any, site: dict[str, Any]) -> None:
    editor = f"{site['url']}/{site['slugs']['velo-gap']}/editor/"
    board = logged_in(chromium, site, "conseil")
    board.goto(editor)
    board.wait_for_selector(".cm-editor")
    assert board.locator("button", has_text="Sauvegarder").count() == 1  # Fava renders it ...
    assert not board.locator("button", has_text="Sauvegarder").is_visible()  # ... hidden for the board
    assert not board.locator('a[href="#add-transaction"]').first.is_visible()
    shot(board, "fr-03-editeur-conseil.png")
    board.close()

    bookkeeper = logged_in(chromium, site, "compta")
    bookkeeper.goto(editor)
    bookkeeper.wait_for_selector(".cm-editor")
    assert bookkeeper.locator("button", has_text="Sauvegarder").is_visible()
    engine = site["ledgers"] / "velo-gap" / "banquasso.beancount"
    bookkeeper.goto(f"{editor}?file_path={engine}")
    bookkeeper.wait_for_selector(".cm-editor")
    assert not bookkeeper.locator("button", has_text="Sauvegarder").is_visible()  # the engine's file: nobody
    assert bookkeeper.evaluate("document.documentElement.classList.contains('comptasso-engine-file')")
    bookkeeper.close()


def report_json(site: dict[str, Any], member: str, year: str) -> dict[str, Any]:
    result = CliRunner().invoke(comptasso, ["report", member, "--year", year, "--ledgers", str(site["ledgers"]),
                                            "--rules", str(site["rules"]), "--as-of", DEMO_AS_OF, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_comptes_annuels_show_the_report_figures_for_the_treasurer_s_member_only(
        chromium: Any, site: dict[str, Any]) -> None:
    from decimal import Decimal

    expected = report_json(site, "velo-gap", "2025")
    page = logged_in(chromium, site, "tresorier-velo")
    base = f"{site['url']}/{site['slugs']['velo-gap']}/extension/BanquAssoExtension"
    page.goto(f"{base}/?as_of={DEMO_AS_OF}")
    page.click("#bqa-annual-link")
    page.wait_for_selector("#banquasso-comptes")
    page.select_option("#bqa-year", "2025")
    page.click("#bqa-annual-form button[type=submit]")
    page.wait_for_selector("#bqa-actif")
    assert page.locator("#banquasso-comptes h2").inner_text() == "Comptes annuels de Vélo Club Gapençais"
    result = Decimal(expected["compte_de_resultat"]["resultat"]["n"])
    figure = spaces(page.locator("#bqa-result").inner_text())
    assert figure.startswith("Excédent" if result >= 0 else "Déficit")
    assert figure.endswith(spaces(fr_money(abs(result))))
    total = spaces(page.locator("#bqa-actif tr.total").last.inner_text())
    assert total.startswith("Total de l'actif")
    assert spaces(fr_money(Decimal(expected["bilan"]["total_actif"]["n"]))) in total
    assert page.locator("#bqa-member").count() == 0  # a member's ledger: no choice of association
    shot(page, "fr-04-comptes-annuels.png")
    other = page.goto(f"{site['url']}/{site['slugs']['grange-ecrins']}/extension/BanquAssoExtension/comptes")
    assert other is not None and other.status == 403  # another member's accounts: refused
    group = page.goto(f"{site['url']}/{site['slugs'][None]}/extension/BanquAssoExtension/comptes")
    assert group is not None and group.status == 403
    page.close()


def test_the_bookkeeper_chooses_the_member_on_the_group_view(chromium: Any, site: dict[str, Any]) -> None:
    from decimal import Decimal

    expected = report_json(site, "grange-ecrins", "2026")
    page = logged_in(chromium, site, "compta")
    page.goto(f"{site['url']}/{site['slugs'][None]}/extension/BanquAssoExtension/comptes?as_of={DEMO_AS_OF}")
    page.select_option("#bqa-member", "grange-ecrins")
    page.select_option("#bqa-year", "2026")
    page.click("#bqa-annual-form button[type=submit]")
    page.wait_for_selector("#bqa-passif")
    assert "La Grange des Écrins" in page.locator("#banquasso-comptes h2").inner_text()
    total = spaces(page.locator("#bqa-passif tr.total").last.inner_text())
    assert spaces(fr_money(Decimal(expected["bilan"]["total_passif"]["n"]))) in total
    page.close()
