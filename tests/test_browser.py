"""A real headless Chromium logs in to `comptasso serve`, reads the member page and records a tranche.

Uses Debian's /usr/bin/chromium through Playwright (never `playwright install`). Skipped with the
reason when Chromium or Playwright is missing; under CI=true that is a failure. Screenshots go to
var/screenshots/.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from banquasso.commands.main import main as banquasso
from comptasso.money import fr_money
from comptasso.web.access import hash_password, load_users
from comptasso.web.serve import build_app, prepare
from tests.conftest import DEMO_AS_OF, ROOT, in_ci

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = ROOT / "var" / "screenshots"
PASSWORD = "essai-navigateur-2026"
NEW_GRANT = """
2026-11-20 * "Région Provence-Alpes-Côte d'Azur" "Convention REG-2026-0999 - nouvel emploi associatif"
  convention: "REG-2026-0999"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir:Region-Sud                  6000.00 EUR
  Income:74-Subventions:741-Region-Sud                         -6000.00 EUR
"""


def _need(what: str, ok: bool) -> None:
    if ok:
        return
    if in_ci():
        pytest.fail(f"{what} manque sous CI=true (.ci/run doit l'installer)")
    pytest.skip(f"{what} manque : test du navigateur sauté")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need(f"Chromium ({CHROMIUM})", CHROMIUM.exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("le paquet Python playwright", False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def income_account(main: Path) -> str:
    """The Région's 741 account of the demo member (the generator names it)."""
    for line in main.read_text(encoding="utf-8").splitlines():
        if " open Income:" in line and "741" in line and "Region-Sud" in line:
            return line.split()[2]
    raise AssertionError("pas de compte 741 Région dans le livre de démonstration")


@pytest.fixture
def server(demo_copy: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The demo group with one new grant (no tranche yet) for velo-gap, served with log-in on a free port."""
    from cheroot.wsgi import Server

    ledgers, rules = demo_copy
    main = ledgers / "velo-gap" / "main.beancount"
    grant = NEW_GRANT.replace("Income:74-Subventions:741-Region-Sud", income_account(main))
    main.write_text(main.read_text(encoding="utf-8") + grant, encoding="utf-8")
    (rules / "users.toml").write_text(
        f'[[users]]\nlogin = "tresorier-velo"\nrole = "treasurer"\nmember = "velo-gap"\n'
        f'password_hash = "{hash_password(PASSWORD)}"\n', encoding="utf-8")
    served, problems = prepare(ledgers, rules, tmp_path)
    assert problems == []
    users, problems = load_users(rules / "users.toml", [s.member_id for s in served if s.member_id])
    assert users is not None, problems
    app = build_app(served, users=users)
    port = free_port()
    wsgi = Server(("127.0.0.1", port), app)
    wsgi.prepare()
    thread = threading.Thread(target=wsgi.serve, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{port}", "ledgers": ledgers, "rules": rules, "main": main}
    finally:
        wsgi.stop()
        thread.join(timeout=10)


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
    page.fill("#login", "tresorier-velo")
    page.fill("#password", "pas-le-bon")
    page.click("button[type=submit]")
    assert "Identifiant ou mot de passe incorrect" in page.locator("[role=alert]").inner_text()
    shot(page, "01-connexion-refusee.png")
    page.fill("#login", "tresorier-velo")
    page.fill("#password", PASSWORD)
    page.wait_for_timeout(1100)  # one failure: the next try must wait 1 s
    page.click("button[type=submit]")
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

