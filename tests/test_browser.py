"""A real headless Chromium logs in to `comptasso serve`, reads the member page and records a tranche.

Uses Debian's /usr/bin/chromium through Playwright (never `playwright install`). Skipped with the
reason when Chromium or Playwright is missing; under CI=true that is a failure. Screenshots go to
var/screenshots/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main as banquasso
from comptasso.money import fr_money
from tests.conftest import DEMO_AS_OF, ROOT
from tests.web_helpers import chromium_browser, fill_log_in, served_app, serving, write_treasurer

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "var" / "screenshots"
PASSWORD = "essai-navigateur-2026"
NEW_GRANT = """
2026-11-20 * "Région Provence-Alpes-Côte d'Azur" "Convention REG-2026-0999 - nouvel emploi associatif"
  convention: "REG-2026-0999"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir:Region-Sud                  6000.00 EUR
  Income:74-Subventions:741-Region-Sud                         -6000.00 EUR
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from chromium_browser()


def income_account(main: Path) -> str:
    """The Région's 741 account of the demo member (the generator names it)."""
    for line in main.read_text(encoding="utf-8").splitlines():
        if " open Income:" in line and "741" in line and "Region-Sud" in line:
            return line.split()[2]
    raise AssertionError("pas de compte 741 Région dans le livre de démonstration")


@pytest.fixture
def server(demo_copy: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The demo group with one new grant (no tranche yet) for velo-gap, served with log-in on a free port."""
    ledgers, rules = demo_copy
    main = ledgers / "velo-gap" / "main.beancount"
    grant = NEW_GRANT.replace("Income:74-Subventions:741-Region-Sud", income_account(main))
    main.write_text(main.read_text(encoding="utf-8") + grant, encoding="utf-8")
    write_treasurer(rules, PASSWORD)
    app, _ = served_app(ledgers, rules, tmp_path)
    with serving(app) as url:
        yield {"url": url, "ledgers": ledgers, "rules": rules, "main": main}


def cli_forecast(ledgers: Path, rules: Path) -> dict[str, Any]:
    result = CliRunner().invoke(banquasso, ["forecast", "--ledgers", str(ledgers), "--rules", str(rules),
                                            "--as-of", DEMO_AS_OF, "--member", "velo-gap", "--json"])
    assert result.exit_code == 0, result.output
    member: dict[str, Any] = json.loads(result.stdout)["members"][0]
    return member


def shot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


@pytest.mark.slow
def test_log_in_read_the_forecast_and_record_a_tranche(browser: object, server: dict[str, Any]) -> None:
    expected = cli_forecast(server["ledgers"], server["rules"])
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")  # type: ignore[attr-defined]
    url = server["url"]

    page.goto(f"{url}/")
    assert page.locator("h1").inner_text() == "Connexion"
    fill_log_in(page, "tresorier-velo", "pas-le-bon")
    assert "Identifiant ou mot de passe incorrect" in page.locator("[role=alert]").inner_text()
    shot(page, "01-connexion-refusee.png")
    page.wait_for_timeout(1100)  # one failure: the next try must wait 1 s
    fill_log_in(page, "tresorier-velo", PASSWORD)
    page.wait_for_selector("#banquasso")  # a treasurer lands on their association's page

    page.goto(page.url.split("?")[0] + f"?as_of={DEMO_AS_OF}")
    page.wait_for_selector("#forecast-chart")
    balance = page.locator("#forecast-chart polyline.balance")
    box = balance.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 20  # the curve is really drawn
    assert len(balance.get_attribute("points").split()) == 91
    assert page.locator("#forecast-chart polygon.band").count() == 1
    assert page.locator("#forecast-chart line.floor").bounding_box()["width"] > 400
    low = page.locator("#min-balance")
    assert low.get_attribute("data-amount") == expected["min_balance"]
    assert low.get_attribute("data-date") == expected["min_date"]
    assert low.inner_text().replace("\u202f", " ").replace("\xa0", " ") == \
        fr_money(Decimal(expected["min_balance"]))
    shot(page, "02-page-membre.png")

    page.select_option("#bqa-convention", "REG-2026-0999")
    page.fill("#bqa-due-0", "2027-01-15")
    page.fill("#bqa-amount-0", "7 000,00")
    page.click("#bqa-submit")
    page.wait_for_selector("#error-amount-0")
    assert "dépasse la subvention notifiée" in page.locator("#error-amount-0").inner_text()
    page.locator("#bqa-tranche-form").scroll_into_view_if_needed()
    shot(page, "03-formulaire-refuse.png")

    page.fill("#bqa-amount-0", "3 500,00")
    page.fill("#bqa-due-1", "2027-06-30")
    page.fill("#bqa-amount-1", "2500")
    page.click("#bqa-submit")
    page.wait_for_selector("#bqa-added")
    assert "2 échéance(s) ajoutée(s) à la convention REG-2026-0999" in page.locator("#bqa-added").inner_text()
    rows = page.locator("#bqa-tranches tbody tr", has_text="REG-2026-0999")
    assert rows.count() == 2
    assert "15/01/2027" in rows.nth(0).inner_text() and "3 500,00" in rows.nth(0).inner_text().replace("\u202f", " ")
    shot(page, "04-echeances-ajoutees.png")
    assert '"REG-2026-0999" 2027-01-15 3500.00 EUR' in server["main"].read_text(encoding="utf-8")

    # Fava's own frontend writes through fetch(): the page sends the session's CSRF token with it
    slug = page.url.removeprefix(url).split("/")[1]
    status = page.evaluate("async (u) => (await fetch(u, {method: 'PUT', headers: {'Content-Type': "
                           "'application/json'}, body: JSON.stringify({source: 'x'})})).status",
                           f"{url}/{slug}/api/format_source")
    assert status == 200

    page.click("text=Trésorerie du groupement →")
    page.wait_for_selector("#bqa-redacted")
    assert page.locator("#bqa-lows tbody tr").count() == 1  # only their own association
    shot(page, "05-groupement-vue-tresorier.png")
    page.close()

