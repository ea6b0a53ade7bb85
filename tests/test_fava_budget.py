"""The « Budget » and « Subventions » pages in Fava: one member's books, seen only by its treasurer."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from comptasso.web.access import load_users
from comptasso.web.serve import build_app, prepare
from tests.conftest import write_group
from tests.forecast_helpers import OPEN, opening
from tests.test_fava_ext import GROUP_VIEW, PASSWORD, PLUGINS, users_toml
from tests.test_grant_files import LEDGER as VELO_BOOKS
from tests.web_helpers import log_in

EXTENSION = '2025-01-01 custom "fava-extension" "banquasso.fava_ext"\n'
OTHER = OPEN + opening("9000.00") + """
2026-01-01 custom "budget" "62" 2026-01-01 2026-12-31 777.00 EUR
2026-02-01 * "Commune" "Convention RES-9"
  convention: "RES-9"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir  1000.00 EUR
  Income:741-Subventions  -1000.00 EUR
2026-02-01 custom "subvention-echeance" "RES-9" 2026-03-01 1000.00 EUR
"""


@pytest.fixture
def site(tmp_path: Path) -> tuple[Flask, dict[str, str]]:
    ledgers, rules = write_group(tmp_path, {"velo-gap": EXTENSION + VELO_BOOKS, "ressourcerie": EXTENSION + OTHER},
                                 plugins=PLUGINS)
    (ledgers / "group.beancount").write_text(GROUP_VIEW, encoding="utf-8")
    (rules / "users.toml").write_text(users_toml(), encoding="utf-8")
    served, problems = prepare(ledgers, rules, tmp_path)
    assert problems == []
    users, problems = load_users(rules / "users.toml", ["velo-gap", "ressourcerie"])
    assert users is not None, problems
    app = build_app(served, users=users)
    by_path = {led.beancount_file_path: slug for slug, led in app.config["LEDGERS"].items()}
    slugs = {m: by_path[str((ledgers / m / "main.beancount").resolve())] for m in ("velo-gap", "ressourcerie")}
    return app, slugs


def _client(app: Flask, login: str) -> FlaskClient:
    client, response = log_in(app, login, PASSWORD)
    assert response.status_code == 303
    return client


def test_treasurer_sees_their_budget_page_only(site: tuple[Flask, dict[str, str]]) -> None:
    app, slugs = site
    client = _client(app, "velo")
    page = client.get(f"/{slugs['velo-gap']}/extension/BanquAssoExtension/budget?as_of=2026-12-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Budget et réalisé au 31/12/2026" in html
    assert "festival" in html and "90 000,00 €" in html and "5 000,00 €" in html
    assert "777,00 €" not in html
    other = client.get(f"/{slugs['ressourcerie']}/extension/BanquAssoExtension/budget")
    assert other.status_code == 403


def test_treasurer_sees_their_grant_files_only(site: tuple[Flask, dict[str, str]]) -> None:
    app, slugs = site
    client = _client(app, "velo")
    page = client.get(f"/{slugs['velo-gap']}/extension/BanquAssoExtension/subventions?as_of=2027-05-15")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "CR-1" in html and "compte rendu à rendre" in html and "OLD-1" in html
    assert "compte rendu en retard" in html and "convention-CR-1.pdf" in html and "02/04/2026" in html
    assert "RES-9" not in html
    assert client.get(f"/{slugs['ressourcerie']}/extension/BanquAssoExtension/subventions").status_code == 403


def test_bookkeeper_opens_the_other_members_pages(site: tuple[Flask, dict[str, str]]) -> None:
    app, slugs = site
    client = _client(app, "compta")
    page = client.get(f"/{slugs['ressourcerie']}/extension/BanquAssoExtension/budget?as_of=2026-06-30")
    assert page.status_code == 200 and "777,00 €" in page.get_data(as_text=True)
