"""The BanquAsso Fava extension: member and pool pages, their JSON, the tranche form, the treasurer's view."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from banquasso.commands.main import main as banquasso
from banquasso.fava_ext.chart import Series, chart_svg, nice_step
from banquasso.fava_ext.tranche_form import check_form, insert_after_grant, parse_amount
from comptasso.model.grants import extract_grants
from comptasso.web.access import hash_password, load_users
from comptasso.web.serve import build_app, prepare
from tests.conftest import write_group
from tests.web_helpers import csrf_in, log_in

AS_OF = "2026-11-30"
EXT = "extension/BanquAssoExtension"
PASSWORD = "mot-de-passe-de-test"
PLUGINS = 'allowed = ["banquasso.fava_ext", "comptasso.consolidation"]\n'

VELO = """
option "title" "Vélo"
option "operating_currency" "EUR"
2026-01-01 custom "fava-extension" "banquasso.fava_ext"
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Equity:102-Fonds EUR
2026-01-01 open Assets:441-Subventions:Region EUR
2026-01-01 open Income:741-Subventions:Region EUR
2026-01-01 open Expenses:641-Salaires EUR

2026-01-02 * "Apport"
  Assets:512-Banque  10000.00 EUR
  Equity:102-Fonds  -10000.00 EUR

2026-02-10 * "Région Sud" "Convention R-1"
  convention: "R-1"
  funder: "region-sud"
  Assets:441-Subventions:Region  9000.00 EUR
  Income:741-Subventions:Region  -9000.00 EUR

2026-02-10 custom "subvention-echeance" "R-1" 2026-12-10 6000.00 EUR

2026-01-01 custom "prevision" Expenses:641-Salaires "Salaires" -4000.00 EUR "mensuel" 28
"""

RESSOURCERIE = """
option "title" "Ressourcerie"
option "operating_currency" "EUR"
2025-01-01 custom "fava-extension" "banquasso.fava_ext"
2025-01-01 open Assets:512-Banque EUR
2025-01-01 open Equity:102-Fonds EUR

2025-12-15 * "Apport"
  Assets:512-Banque  50000.00 EUR
  Equity:102-Fonds  -50000.00 EUR
"""

GROUP_VIEW = """option "title" "Groupe de test — vue consolidée"
option "operating_currency" "EUR"
plugin "comptasso.consolidation" "group.toml"
2026-01-01 custom "fava-extension" "banquasso.fava_ext"
"""


def users_toml(**extra: str) -> str:
    digest = hash_password(PASSWORD)
    return (f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{digest}"\n\n'
            f'[[users]]\nlogin = "velo"\nrole = "treasurer"\nmember = "velo-gap"\npassword_hash = "{digest}"\n\n'
            f'[[users]]\nlogin = "conseil"\nrole = "board"\npassword_hash = "{digest}"\n')


class Site:
    """An inline group served through `comptasso serve`'s app, with log-in."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.ledgers, self.rules = write_group(root, {"velo-gap": VELO, "ressourcerie": RESSOURCERIE},
                                               plugins=PLUGINS)
        (self.ledgers / "group.beancount").write_text(GROUP_VIEW, encoding="utf-8")
        (self.rules / "users.toml").write_text(users_toml(), encoding="utf-8")
        served, problems = prepare(self.ledgers, self.rules, root)
        assert problems == []
        users, problems = load_users(self.rules / "users.toml", ["velo-gap", "ressourcerie"])
        assert users is not None, problems
        self.app: Flask = build_app(served, users=users)
        by_path = {ledger.beancount_file_path: slug for slug, ledger in self.app.config["LEDGERS"].items()}
        self.velo = by_path[str((self.ledgers / "velo-gap" / "main.beancount").resolve())]
        self.ressourcerie = by_path[str((self.ledgers / "ressourcerie" / "main.beancount").resolve())]
        self.group = by_path[str((self.ledgers / "group.beancount").resolve())]

    def client(self, login: str = "compta") -> FlaskClient:
        client, response = log_in(self.app, login, PASSWORD)
        assert response.status_code == 303, response.get_data(as_text=True)
        return client

    def cli_json(self, *args: str) -> dict[str, Any]:
        result = CliRunner().invoke(banquasso, [*args, "--ledgers", str(self.ledgers), "--rules", str(self.rules),
                                                "--as-of", AS_OF, "--json"])
        assert result.exit_code == 0, result.output
        answer: dict[str, Any] = json.loads(result.stdout)
        return answer


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site(tmp_path, monkeypatch)


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


# --- the member page -----------------------------------------------------------------------------

def test_member_page_shows_the_hand_computed_forecast(site: Site) -> None:
    page = site.client().get(f"/{site.velo}/{EXT}/?as_of={AS_OF}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    text = text_of(html)
    # 10 000 € opening; salaries of 4 000 € on the 28th: 6 000 (28/12), 2 000 (28/01), -2 000 (28/02).
    assert 'id="opening-balance" data-amount="10000.00"' in html
    assert 'id="min-balance" data-amount="-2000.00" data-date="2027-02-28"' in html
    assert 'id="floor" data-amount="5000.00"' in html  # default floor.fixed, no payroll booked
    # under 5 000 € from 28/01 to 01/03: 4 + 28 + 1 days
    assert re.search(r'id="days-below-floor">33<', html)
    assert "-2 000,00 €" in text and "le 28/02/2027" in text
    # the Région's tranche of 10/12/2026: no history, default delay 90 days → expected 10/03/2027
    assert "R-1 Région Provence-Alpes-Côte d'Azur 10/12/2026 6 000,00 € 90 j (par défaut) 10/03/2027" in text
    assert "Trésorerie prévue sous le plancher (5 000,00 €) dès le 28/01/2027, 33 jour(s)" in text
    assert '<svg id="forecast-chart"' in html and 'data-days="91"' in html


def test_member_json_is_the_cli_forecast(site: Site) -> None:
    doc = site.client().get(f"/{site.velo}/{EXT}/forecast_data?as_of={AS_OF}").get_json()
    cli = site.cli_json("forecast", "--member", "velo-gap", "--risk")
    assert doc["members"] == cli["members"]
    assert doc["members"][0]["min_balance"] == "-2000.00"
    assert doc["tranches"] == [{"convention": "R-1", "funder": "region-sud", "date": "2026-12-10",
                                "open_amount": "6000.00", "delay_days": 90, "delay_source": "default",
                                "expected_on": "2027-03-10"}]
    assert doc["advances"] == []


def test_the_page_follows_the_as_of_date(site: Site) -> None:
    client = site.client()
    early = client.get(f"/{site.velo}/{EXT}/forecast_data?as_of=2026-01-05").get_json()
    assert early["as_of"] == "2026-01-05" and early["members"][0]["opening_balance"] == "10000.00"
    assert early["tranches"] == []  # the grant was notified on 10/02/2026
    wrong = client.get(f"/{site.velo}/{EXT}/?as_of=30-11-2026").get_data(as_text=True)
    assert "date invalide « 30-11-2026 »" in wrong


def test_serve_as_of_sets_the_default_day(site: Site) -> None:
    """`comptasso serve --as-of` sets the day a page shows when the address names none."""
    from comptasso.web.serve import AS_OF_CONFIG

    site.app.config[AS_OF_CONFIG] = dt.date(2026, 1, 5)
    doc = site.client().get(f"/{site.velo}/{EXT}/forecast_data").get_json()
    assert doc["as_of"] == "2026-01-05"


# --- the pool page ---------------------------------------------------------------------------------

def test_pool_page_matches_capacity_and_plan(site: Site) -> None:
    client = site.client()
    doc = client.get(f"/{site.group}/{EXT}/pool_data?as_of={AS_OF}").get_json()
    capacity = site.cli_json("capacity")
    plan = site.cli_json("plan")
    assert doc["capacity"]["pool"] == capacity["pool"]
    assert {m["id"]: m["lendable"] for m in doc["capacity"]["members"]} == \
        {m["id"]: m["lendable"] for m in capacity["members"]}
    assert [(a["lender"], a["borrower"], a["amount"]) for a in doc["plan"]["advances"]] == \
        [(a["lender"], a["borrower"], a["amount"]) for a in plan["advances"]]
    assert doc["plan"]["total_need"] == plan["total_need"]
    lows = {m["id"]: (m["min_balance"], m["min_date"]) for m in doc["members"]}
    assert lows == {"velo-gap": ("-2000.00", "2027-02-28"), "ressourcerie": ("50000.00", "2026-12-01")}
    html = client.get(f"/{site.group}/{EXT}/?as_of={AS_OF}").get_data(as_text=True)
    assert "Capacité de prêt par durée" in html and "Ressourcerie" in html
    # ressourcerie: (50 000 − 5 000 floor) × 0.8 = 36 000, capped by half its cash on 31/12/2025 (25 000)
    assert capacity["pool"]["30"] == "25000.00" and "25 000,00 €" in html


def test_a_treasurer_sees_the_pool_without_other_members(site: Site) -> None:
    client = site.client("velo")
    report = client.get(f"/{site.group}/{EXT}/?as_of={AS_OF}")
    assert report.status_code == 302 and unquote(report.location).endswith(f"/{site.group}/{EXT}/pool")
    html = client.get(f"/{site.group}/{EXT}/pool?as_of={AS_OF}").get_data(as_text=True)
    assert "Vue trésorier·e" in html and 'data-member="velo-gap"' in html
    assert 'data-member="ressourcerie"' not in html
    doc = client.get(f"/{site.group}/{EXT}/pool_data?as_of={AS_OF}").get_json()
    assert doc["redacted"] is True
    assert [m["id"] for m in doc["members"]] == ["velo-gap"]
    assert [m["id"] for m in doc["capacity"]["members"]] == ["velo-gap"]
    assert doc["capacity"]["pool"]["30"] == "25000.00"  # the pool's total stays visible
    full = site.client().get(f"/{site.group}/{EXT}/pool_data?as_of={AS_OF}").get_json()
    assert full["redacted"] is False and len(full["members"]) == 2


def test_member_endpoints_only_on_their_ledger(site: Site) -> None:
    client = site.client()
    assert client.get(f"/{site.group}/{EXT}/forecast_data").status_code == 404
    assert client.get(f"/{site.velo}/{EXT}/pool_data").status_code == 404


# --- the tranche form -------------------------------------------------------------------------------

def _sha(page: str) -> str:
    found = re.search(r'name="sha256" value="([0-9a-f]{64})"', page)
    assert found is not None, "pas d'empreinte sha256 sur la page"
    return found.group(1)


def post_form(site: Site, client: FlaskClient, **fields: str) -> TestResponse:
    page = client.get(f"/{site.velo}/{EXT}/?as_of={AS_OF}").get_data(as_text=True)
    sha = _sha(page)
    data = {"sha256": sha, "convention": "R-1", "csrf_token": csrf_in(page), **fields}
    return client.post(f"/{site.velo}/{EXT}/tranches?as_of={AS_OF}", data=data)


def test_the_form_writes_the_tranche_after_the_grant_and_the_forecast_updates(site: Site) -> None:
    client = site.client()
    main = site.ledgers / "velo-gap" / "main.beancount"
    response = post_form(site, client, **{"due-0": "2027-01-15", "amount-0": "2 500,00"})
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[:2000]
    assert "ajout=1%3AR-1" in response.location or "ajout=1:R-1" in response.location
    text = main.read_text(encoding="utf-8")
    assert ('2026-02-10 custom "subvention-echeance" "R-1" 2026-12-10 6000.00 EUR\n'
            '2026-11-30 custom "subvention-echeance" "R-1" 2027-01-15 2500.00 EUR\n') in text
    page = client.get(response.location).get_data(as_text=True)
    assert "1 échéance(s) ajoutée(s) à la convention R-1" in text_of(page)
    doc = client.get(f"/{site.velo}/{EXT}/forecast_data?as_of={AS_OF}").get_json()
    assert {"convention": "R-1", "funder": "region-sud", "date": "2027-01-15", "open_amount": "2500.00",
            "delay_days": 90, "delay_source": "default", "expected_on": "2027-04-15"} in doc["tranches"]
    assert doc == {**doc, "members": site.cli_json("forecast", "--member", "velo-gap", "--risk")["members"]}


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"convention": "X-9", "due-0": "2027-01-15", "amount-0": "100"}, "convention", "convention inconnue « X-9 »"),
    ({"due-0": "2027-01-15", "amount-0": "3000.01"}, "amount-0",
     "dépasse la subvention notifiée : 9 000,00 € notifiés, 6 000,00 € déjà échelonnés, il reste 3 000,00 €"),
    ({"due-0": "2026-02-09", "amount-0": "100"}, "due-0", "précède la notification de la convention (le 10/02/2026)"),
    ({"due-0": "2026-12-10", "amount-0": "100"}, "due-0", "une échéance existe déjà le 10/12/2026"),
    ({"due-0": "demain", "amount-0": "100"}, "due-0", "date invalide « demain »"),
    ({"due-0": "2027-01-15", "amount-0": "12,345"}, "amount-0", "montant invalide « 12,345 »"),
    ({"due-0": "2027-01-15", "amount-0": "-5"}, "amount-0", "le montant doit être positif"),
    ({}, "due-0", "indiquez au moins une échéance"),
])
def test_bad_input_is_refused_beside_its_field_and_changes_nothing(site: Site, fields: dict[str, str], field: str,
                                                                   message: str) -> None:
    main = site.ledgers / "velo-gap" / "main.beancount"
    before = main.read_bytes()
    response = post_form(site, site.client(), **fields)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    match = re.search(rf'id="error-{field}">([^<]*)<', html)
    assert match and message in unescape(match.group(1)), text_of(html)[-1500:]
    assert main.read_bytes() == before


def test_a_file_changed_since_the_page_was_shown_is_not_overwritten(site: Site) -> None:
    client = site.client()
    main = site.ledgers / "velo-gap" / "main.beancount"
    page = client.get(f"/{site.velo}/{EXT}/?as_of={AS_OF}").get_data(as_text=True)
    sha = _sha(page)
    main.write_text(main.read_text(encoding="utf-8") + "\n; modifié ailleurs\n", encoding="utf-8")
    before = main.read_bytes()
    response = client.post(f"/{site.velo}/{EXT}/tranches?as_of={AS_OF}",
                           data={"sha256": sha, "convention": "R-1", "due-0": "2027-01-15", "amount-0": "100",
                                 "csrf_token": csrf_in(page)})
    assert response.status_code == 400
    assert "le livre a été modifié depuis l'affichage de cette page" in text_of(response.get_data(as_text=True))
    assert main.read_bytes() == before


def test_the_board_cannot_submit_the_form(site: Site) -> None:
    main = site.ledgers / "velo-gap" / "main.beancount"
    before = main.read_bytes()
    response = site.client("conseil").post(f"/{site.velo}/{EXT}/tranches?as_of={AS_OF}",
                                           data={"convention": "R-1", "due-0": "2027-01-15", "amount-0": "100"})
    assert response.status_code == 403 and main.read_bytes() == before


# --- pure parts -------------------------------------------------------------------------------------

def test_amounts_are_read_the_french_way() -> None:
    assert parse_amount("12 000,50") == Decimal("12000.50")
    assert parse_amount("12\u202f000,5") == Decimal("12000.50")
    assert parse_amount("1234.56") == Decimal("1234.56")
    assert parse_amount("1,234.56") is None and parse_amount("1e3") is None and parse_amount("") is None


def test_several_rows_are_checked_together(tmp_path: Path) -> None:
    from beancount import loader
    entries, _, _ = loader.load_string(VELO.replace('2026-01-01 custom "fava-extension" "banquasso.fava_ext"\n', ""))
    book, _ = extract_grants(entries)
    ok = check_form({"convention": "R-1", "due-0": "2027-03-01", "amount-0": "1000",
                     "due-1": "15/01/2027", "amount-1": "2000"}, book)
    assert ok.ok and [(str(t.due), t.amount) for t in ok.tranches] == [("2027-03-01", Decimal("1000.00")),
                                                                       ("2027-01-15", Decimal("2000.00"))]
    over = check_form({"convention": "R-1", "due-0": "2027-03-01", "amount-0": "1000",
                       "due-1": "2027-04-01", "amount-1": "2000.01"}, book)
    assert not over.ok and set(over.errors) == {"amount-1"}


def test_insertion_keeps_the_file_around_it() -> None:
    source = 'a\n2026-02-10 * "x"\n  k: "v"\n  A  1 EUR\n  B  -1 EUR\n\nz\n'
    assert insert_after_grant(source, 2, [], ["NEW"]) == (
        'a\n2026-02-10 * "x"\n  k: "v"\n  A  1 EUR\n  B  -1 EUR\n\nNEW\n\nz\n')
    with_tranche = source.replace("\nz", '\nT1\nz')
    assert insert_after_grant(with_tranche, 2, [7], ["NEW"]).split("\n")[6:9] == ["T1", "NEW", "z"]


def test_chart_draws_balance_floor_band_and_low_point() -> None:
    import datetime as dt
    days = [(dt.date(2026, 12, 1) + dt.timedelta(days=i), Decimal(1000 - 100 * i)) for i in range(5)]
    band = [(d, b - 50, b + 50) for d, b in days]
    svg = chart_svg(Series(days, Decimal("700"), band, "Essai"))
    assert svg.count("<polyline") == 1 and 'class="floor"' in svg and 'class="band"' in svg
    assert 'data-amount="600.00" data-date="2026-12-05"' in svg
    assert nice_step(Decimal("1000")) == Decimal("200") and nice_step(Decimal("7")) == Decimal("2")

