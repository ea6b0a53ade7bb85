"""Fava in French without a browser: the served options, hidden controls by role, the log-in page's group name."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from flask import Flask

from comptasso.books.fava_rules import FavaRules
from comptasso.web import fava_adapter as fava
from comptasso.web.access import hash_password, load_users
from comptasso.web.controls import READ_ONLY_CLASS, head_html
from comptasso.web.serve import ServedLedger, build_app, prepare, served_options
from tests.conftest import write_group
from tests.web_helpers import log_in

PASSWORD = "mot-de-passe-essai-2026"
ALPHA = """
2026-01-01 open Assets:512-Banque
2026-01-01 open Equity:102-Fonds-Associatifs
2026-01-02 * "Apport"
  Assets:512-Banque                      12090.54 EUR
  Equity:102-Fonds-Associatifs          -12090.54 EUR
"""
# A member that chose its own number format keeps it.
BETA = ALPHA + '2026-01-01 custom "fava-option" "locale" "en_US"\n'


def served_app(tmp_path: Path, *, users: bool = False,
               read_only: bool = False) -> tuple[Flask, dict[str | None, str], list[ServedLedger]]:
    ledgers, rules = write_group(tmp_path, {"alpha": ALPHA, "beta": BETA})
    if users:
        digest = hash_password(PASSWORD)
        (rules / "users.toml").write_text(
            f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{digest}"\n'
            f'[[users]]\nlogin = "conseil"\nrole = "board"\npassword_hash = "{digest}"\n', encoding="utf-8")
    served, problems = prepare(ledgers, rules, tmp_path)
    assert [p for p in problems if p.is_error] == []
    found = load_users(rules / "users.toml", ["alpha", "beta"])[0] if users else None
    app = build_app(served, users=found, read_only=read_only)
    by_file = {str(s.path): s.member_id for s in served}
    slugs = {by_file[fava.ledger_file(ledger)]: slug for slug, ledger in fava.ledgers(app)}
    return app, slugs, served


def options(app: Flask, slug: str) -> dict[str, object]:
    response = app.test_client().get(f"/{slug}/api/ledger_data")
    assert response.status_code == 200
    data: dict[str, object] = response.get_json()["data"]["fava_options"]
    return data


def test_served_views_get_french_numbers_unless_the_ledger_chose(tmp_path: Path) -> None:
    app, slugs, served = served_app(tmp_path)
    alpha = options(app, slugs["alpha"])
    assert (alpha["locale"], alpha["language"]) == ("fr_FR", "fr")
    assert options(app, slugs["beta"])["locale"] == "en_US"  # its own choice stays
    ledger = dict(fava.ledgers(app))[slugs["alpha"]]
    shown = ledger.format_decimal(Decimal("12090.54"), "EUR")
    assert shown.replace("\u202f", " ").replace("\xa0", " ") == "12 090,54"
    main = next(s.path for s in served if s.member_id == "alpha")
    assert "fava-option" not in main.read_text(encoding="utf-8")  # nothing written into the books
    ledger.load_file()  # a reload parses new options: the next request gives them the defaults again
    assert ledger.fava_options.locale is None
    assert options(app, slugs["alpha"])["locale"] == "fr_FR"


def test_only_options_the_group_allows_are_given() -> None:
    assert served_options(None) == {"locale": "fr_FR", "language": "fr"}
    narrow = ServedLedger(Path("m.beancount"), Path(), frozenset(), "m",
                          FavaRules(allowed_options=frozenset({"language"})))
    assert served_options(narrow) == {"language": "fr"}


def test_the_board_gets_the_read_only_mark_and_the_bookkeeper_not(tmp_path: Path) -> None:
    app, slugs, _served = served_app(tmp_path, users=True)
    login = app.test_client().get("/login").get_data(as_text=True)
    assert '<span class="group">Groupe de test</span>' in login and "<h1>Connexion</h1>" in login
    board, _ = log_in(app, "conseil", PASSWORD)
    page = board.get(f"/{slugs['alpha']}/editor/").get_data(as_text=True)
    assert f"classList.add('{READ_ONLY_CLASS}')" in page
    bookkeeper, _ = log_in(app, "compta", PASSWORD)
    page = bookkeeper.get(f"/{slugs['alpha']}/editor/").get_data(as_text=True)
    assert "comptasso-controls" in page and f"classList.add('{READ_ONLY_CLASS}')" not in page
    assert head_html(read_only=True).endswith(f"classList.add('{READ_ONLY_CLASS}');</script>")


def test_read_only_serving_hides_the_write_controls_for_everyone(tmp_path: Path) -> None:
    app, slugs, _served = served_app(tmp_path, read_only=True)
    page = app.test_client().get(f"/{slugs['alpha']}/editor/").get_data(as_text=True)
    assert f"classList.add('{READ_ONLY_CLASS}')" in page
    writable, slugs, _served = served_app(tmp_path / "rw")
    page = writable.test_client().get(f"/{slugs['alpha']}/editor/").get_data(as_text=True)
    assert "comptasso-controls" in page and f"classList.add('{READ_ONLY_CLASS}')" not in page
