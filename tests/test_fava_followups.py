"""The edges of issues 13 and 17 in Fava and `capacity`: widened band, menu by role, decisions and dependence,
earmarked cash.

One inline group, hand-computed: `preteur` holds 50 000 € and 4 000 € of fonds dédiés (194);
`emprunteur` holds 2 000 €, a 24 000 € Région grant and a CAF history whose forecast erred by 0, +10 and
−15 days (± 8 days of widening at 1–30 days), with an open CAF tranche of 1 000 € due 2026-11-25; an
advance of 10 000 € from `preteur`, decided by the board on 2026-11-28 (CA-2026-11).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from banquasso.commands.main import main
from banquasso.fava_ext import MENU, menu_links
from banquasso.fava_ext.views import Place, _outlook, member_page, pool_page, read_inputs
from banquasso.forecast.risk import outlook_accuracy, simulate, widened_risk
from banquasso.registry.db import DB_URL_ENV
from comptasso.web.access import User, hash_password, load_users
from comptasso.web.serve import build_app, prepare
from tests.conftest import write_group
from tests.test_registry import OPENS as REGISTRY_OPENS
from tests.test_registry import cash
from tests.web_helpers import log_in

AS_OF = "2026-11-30"
DAY = dt.date(2026, 11, 30)
EXT = "extension/BanquAssoExtension"
PASSWORD = "mot-de-passe-de-test"
PLUGINS = 'allowed = ["banquasso.fava_ext", "comptasso.consolidation"]\n'
HEAD = 'option "operating_currency" "EUR"\n2026-01-01 custom "fava-extension" "banquasso.fava_ext"\n'
OPENS = REGISTRY_OPENS + """2026-01-01 open Assets:441-Subventions-A-Recevoir:Caf EUR
2026-01-01 open Income:741-Subventions-Exploitation:Caf EUR
2026-01-01 open Expenses:6894-Reports-Fonds-Dedies EUR
2026-01-01 open Liabilities:194-Fonds-Dedies-Subventions EUR
"""


LENDER = HEAD + OPENS + cash("50000.00") + """
2026-06-30 * "Fonds dédiés de la subvention Culture"
  Expenses:6894-Reports-Fonds-Dedies  4000.00 EUR
  Liabilities:194-Fonds-Dedies-Subventions  -4000.00 EUR
"""

CAF_RECEIPTS = "".join(f"""
{day} * "CAF" "Versement CAF-A"
  convention: "CAF-A"
  Assets:512-Banque  100.00 EUR
  Assets:441-Subventions-A-Recevoir:Caf  -100.00 EUR
""" for day in ("2026-02-20", "2026-03-30", "2026-04-10"))

BORROWER = HEAD + OPENS + cash("2000.00") + """
2026-01-10 * "CAF" "Convention CAF-A"
  convention: "CAF-A"
  funder: "caf-05"
  Assets:441-Subventions-A-Recevoir:Caf  1300.00 EUR
  Income:741-Subventions-Exploitation:Caf  -1300.00 EUR
2026-01-10 custom "subvention-echeance" "CAF-A" 2026-01-31 100.00 EUR
2026-01-10 custom "subvention-echeance" "CAF-A" 2026-02-28 100.00 EUR
2026-01-10 custom "subvention-echeance" "CAF-A" 2026-03-31 100.00 EUR
2026-01-10 custom "subvention-echeance" "CAF-A" 2026-11-25 1000.00 EUR
2026-02-10 * "Région Sud" "Convention ESS-2026-042"
  convention: "ESS-2026-042"
  funder: "region-sud"
  Assets:441-Subventions-A-Recevoir:Region-Sud    24000.00 EUR
  Income:741-Subventions-Exploitation:Region-Sud  -24000.00 EUR
2026-02-10 custom "subvention-echeance" "ESS-2026-042" 2026-12-31 24000.00 EUR
""" + CAF_RECEIPTS

GROUP_VIEW = """option "title" "Groupe de test — vue consolidée"
option "operating_currency" "EUR"
plugin "comptasso.consolidation" "group.toml"
2026-01-01 custom "fava-extension" "banquasso.fava_ext"
"""

POOL = """
[floor]
fixed = 1000
months_of_payroll = 0
[limits]
max_days = 365
max_lender_share = 1
max_advance_per_borrower = 40000
max_dependence_share = {share}
[terms]
grace_days = 10
"""

# Resources of `emprunteur` over 365 days ending 2026-11-30: 1 300 € (CAF) + 24 000 € (Région) = 25 300 €;
# 10 000 € owed to `preteur` → 10 000 / 25 300 = 0,3953, i.e. 39,53 %.
SHARE = "39,53 %"


def users_toml() -> str:
    digest = hash_password(PASSWORD)
    return (f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{digest}"\n\n'
            f'[[users]]\nlogin = "tresorier"\nrole = "treasurer"\nmember = "emprunteur"\npassword_hash = "{digest}"\n\n'
            f'[[users]]\nlogin = "conseil"\nrole = "board"\npassword_hash = "{digest}"\n')


def run(args: list[str], ledgers: Path, rules: Path, as_of: str = AS_OF) -> str:
    result = CliRunner().invoke(main, [*args, "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", as_of],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


class Site:
    """The group served through `comptasso serve`'s app, with log-in, and its advance approved."""

    def __init__(self, root: Path, share: str) -> None:
        self.ledgers, self.rules = write_group(root, {"preteur": LENDER, "emprunteur": BORROWER}, plugins=PLUGINS,
                                               pool=POOL.format(share=share))
        (self.ledgers / "group.beancount").write_text(GROUP_VIEW, encoding="utf-8")
        (self.rules / "users.toml").write_text(users_toml(), encoding="utf-8")
        run(["advance", "propose", "--lender", "preteur", "--borrower", "emprunteur", "--amount", "10000.00",
             "--disburse-on", "2026-12-01", "--repay-on", "2027-01-25", "--convention", "ESS-2026-042",
             "--tranche-date", "2026-12-31"], self.ledgers, self.rules, "2026-11-25")
        run(["advance", "approve", "BQA-2026-0001", "--by", "Présidente", "--decision", "CA-2026-11",
             "--decision-date", "2026-11-28", "--body", "conseil d'administration"], self.ledgers, self.rules,
            "2026-11-28")
        served, problems = prepare(self.ledgers, self.rules, root)
        assert problems == []
        users, problems = load_users(self.rules / "users.toml", ["preteur", "emprunteur"])
        assert users is not None, problems
        self.app: Flask = build_app(served, users=users)
        by_path = {led.beancount_file_path: slug for slug, led in self.app.config["LEDGERS"].items()}
        self.slugs = {m: by_path[str((self.ledgers / m / "main.beancount").resolve())]
                      for m in ("preteur", "emprunteur")}
        self.slugs["group"] = by_path[str((self.ledgers / "group.beancount").resolve())]

    def get(self, login: str, where: str, path: str = "") -> tuple[int, str]:
        client, response = log_in(self.app, login, PASSWORD)
        assert response.status_code == 303
        page = client.get(f"/{self.slugs[where]}/{EXT}/{path}?as_of={AS_OF}")
        return page.status_code, page.get_data(as_text=True)

    def place(self, member: str | None) -> Place:
        return Place(self.ledgers, self.rules, member)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(DB_URL_ENV, raising=False)
        patch.setenv("COMPTASSO_POLL_WATCHER", "1")
        yield Site(tmp_path_factory.mktemp("suivis"), "0.3")


def text_of(page: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", page)))


# --- 1. the widened band -------------------------------------------------------------------------------------


def test_the_fava_pages_draw_the_band_widened_by_the_models_past_error(site: Site) -> None:
    inputs, problems = read_inputs(site.place("emprunteur"))
    assert inputs is not None, problems
    page = member_page(inputs, "emprunteur", DAY, scenarios=300)
    # 31/01 expected 20/02, paid 20/02 (0); 28/02 expected 20/03, paid 30/03 (+10); 31/03 expected 25/04,
    # paid 10/04 (−15): mean |error| 8,3 days over 3 tranches → ± 8 days at 1–30 days for the CAF.
    assert page.risk.widening == {("caf", "1-30"): 8}
    books_outlook = _outlook(inputs, DAY)  # the same draws as `widened_risk` with the same seed, not `simulate`'s
    assert [a.widening_days for a in outlook_accuracy(books_outlook, inputs.books.reference.funders)] == [8]
    same = widened_risk(books_outlook, inputs.books.reference.funders, 300)
    plain = simulate(books_outlook, 300)
    assert page.risk.members["emprunteur"].band == same.members["emprunteur"].band
    assert same.members["emprunteur"].band != plain.members["emprunteur"].band
    # The open CAF tranche (1 000 €, due 25/11) draws 10, 20 or 30 days (1/3 each): without widening it lands on
    # 05/12, 15/12 or 25/12 and the band is open from 05/12 to 24/12. Expected on 15/12 (median 20 days, 15 days
    # ahead: 1–30), it moves by −8 … +8 more days: it lands on 01/12 (A + 1) in 1/3 × 5/17 ≈ 10 % of the
    # draws, and after 28/12 in 1/3 × 5/17 of them, so the band opens on 01/12 and closes after 28/12.
    plain_open = [d for d, lo, hi in plain.members["emprunteur"].band if lo != hi]
    assert (plain_open[0], plain_open[-1]) == (dt.date(2026, 12, 5), dt.date(2026, 12, 24))
    opened = [d for d, lo, hi in same.members["emprunteur"].band if lo != hi]
    assert opened[0] == dt.date(2026, 12, 1) and opened[-1] >= dt.date(2026, 12, 28)
    pool = pool_page(inputs, DAY, scenarios=300)
    assert pool.risk.group.band == same.group.band


def test_the_legend_says_the_band_is_widened(site: Site) -> None:
    status, member = site.get("compta", "emprunteur")
    assert status == 200
    assert "élargie par l'erreur passée du modèle de délais (caf à 1-30 j : ± 8 j)" in text_of(member)
    status, pool = site.get("conseil", "group")
    assert status == 200 and 'id="pool-chart"' in pool and "± 8 j" in text_of(pool)


# --- 2. the menu by role -------------------------------------------------------------------------------------


def _links(page: str) -> set[str]:
    return set(re.findall(r'id="(bqa-(?:scenarios|indicators|annual)-link)"', page))


ALL = {"bqa-scenarios-link", "bqa-indicators-link", "bqa-annual-link"}


@pytest.mark.parametrize(("login", "where", "path", "shown"), [
    ("tresorier", "emprunteur", "", ALL),  # its own member: Scénarios and Indicateurs of that member
    ("tresorier", "group", "pool", set()),  # the group's pool page: no group page is open to a treasurer
    ("conseil", "group", "", ALL),
    ("conseil", "emprunteur", "", ALL),
    ("compta", "group", "pool", ALL),
])
def test_the_menu_links_follow_the_role(site: Site, login: str, where: str, path: str, shown: set[str]) -> None:
    status, page = site.get(login, where, path)
    assert status == 200
    assert _links(page) == shown


def test_every_link_shown_opens_and_the_hidden_ones_are_refused(site: Site) -> None:
    client, _ = log_in(site.app, "tresorier", PASSWORD)
    _, page = site.get("tresorier", "emprunteur")
    for href in re.findall(r'href="([^"]+)" id="bqa-(?:scenarios|indicators)-link"', page):
        assert client.get(unescape(href)).status_code == 200, href
    for endpoint in ("indicateurs", "scenarios"):
        assert client.get(f"/{site.slugs['group']}/{EXT}/{endpoint}").status_code == 403
    board, _ = log_in(site.app, "conseil", PASSWORD)
    _, group_page = site.get("conseil", "group")
    links = re.findall(r'href="([^"]+)" id="bqa-(?:scenarios|indicators|annual)-link"', group_page)
    assert len(links) == 3
    for href in links:
        assert board.get(unescape(href)).status_code == 200, href


def test_menu_links_by_kind_and_role() -> None:
    treasurer = User("t", "T", "treasurer", "emprunteur", "x")
    board = User("c", "C", "board", None, "x")
    assert menu_links("member", treasurer) == MENU and menu_links("group", treasurer) == ()
    assert menu_links("group", board) == MENU and menu_links("group", None) == MENU
    assert menu_links("problem", board) == ()


# --- 3. decisions and dependence -------------------------------------------------------------------------------


def test_the_advances_show_the_decision_and_the_dependence_marked_past_the_limit(site: Site) -> None:
    status, member = site.get("tresorier", "emprunteur")
    assert status == 200
    text = text_of(member)
    assert "CA-2026-11 (conseil d'administration) du 28 novembre 2026" in text
    assert f"{SHARE} ⚠ au-delà de 30,00 %" in text
    assert 'data-dependence="0.3953" data-over="oui"' in member
    status, pool = site.get("conseil", "group")
    assert status == 200
    assert "CA-2026-11 (conseil d'administration) du 28 novembre 2026" in text_of(pool)
    assert f"{SHARE} ⚠ au-delà de 30,00 %" in text_of(pool)


def test_the_json_carries_the_decision_and_the_dependence(site: Site) -> None:
    client, _ = log_in(site.app, "conseil", PASSWORD)
    doc = client.get(f"/{site.slugs['group']}/{EXT}/pool_data?as_of={AS_OF}").get_json()
    assert doc["risk"]["widened"] is True and doc["risk"]["draws"] == 2000
    [row] = doc["outstanding"]
    assert row["decision"] == "CA-2026-11 (conseil d'administration) du 28 novembre 2026"
    assert row["dependence"]["lender_share"] == "0.3953" and row["dependence"]["resources"] == "25300.00"
    assert row["dependence"]["owed_to_lender"] == "10000.00" and row["dependence"]["over_limit"] is True


def test_under_the_limit_there_is_no_mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DB_URL_ENV, raising=False)
    calm = Site(tmp_path, "0.5")
    status, page = calm.get("compta", "emprunteur")
    assert status == 200 and SHARE in text_of(page) and "⚠ au-delà" not in text_of(page)
    assert 'data-over="non"' in page


# --- 5. earmarked cash -----------------------------------------------------------------------------------------


def test_capacity_table_shows_the_earmarked_cash(site: Site) -> None:
    out = run(["capacity"], site.ledgers, site.rules)
    header = next(line for line in out.splitlines() if line.startswith("Membre"))
    assert header.split()[:3] == ["Membre", "Plancher", "Affecté"]
    lender = next(line for line in out.splitlines() if "(preteur)" in line)
    # 4 000 € booked on 194 on 2026-06-30: earmarked. Each window: 50 000 − 10 000 (the approved advance, paid
    # 01/12) − 1 000 (floor) − 4 000 = 35 000 €, capped at 50 % × 50 000 € (the net cash of 01/01) = 25 000 €.
    assert re.search(r"1 000,00 €\s+4 000,00 €\s+25 000,00 €", lender), lender
    assert re.search(r"\(emprunteur\)\s+1 000,00 €\s+0,00 €", out), out
    assert re.search(r"^Groupement\s+4 000,00 €", out, re.MULTILINE), out
    document = json.loads(run(["capacity", "--json"], site.ledgers, site.rules))
    assert {m["id"]: m["earmarked"] for m in document["members"]}["preteur"] == "4000.00"


def test_the_pool_page_shows_the_earmarked_cash(site: Site) -> None:
    status, page = site.get("conseil", "group")
    assert status == 200 and "Affecté" in page
    assert re.search(r'data-earmarked="preteur">4\s?000,00\s?€', unescape(page).replace("\u202f", " ")
                     .replace("\xa0", " ")), page
