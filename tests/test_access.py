"""Log-in and roles of `comptasso serve`: users file, sessions, throttling, 401 and 403 per role."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from comptasso.cli.main import main as comptasso
from comptasso.plugins.consolidation import group_ledger_text
from comptasso.problems import Problem
from comptasso.web.access import (
    Users,
    authorize,
    hash_password,
    ledger_link,
    load_users,
    safe_next,
    verify_password,
)
from comptasso.web.serve import build_app, prepare
from comptasso.web.throttle import Throttle
from tests.conftest import DEMO_LEDGERS, DEMO_RULES, write_group
from tests.test_consolidation import BORROWER, LENDER
from tests.web_helpers import log_in as web_log_in
from tests.web_helpers import session_token

PASSWORD = "mot-de-passe-de-test"
DIGEST = hash_password(PASSWORD)
SCOPES = {"velo": "velo-gap", "ressourcerie": "ressourcerie", "groupe": None}
POOL = "/groupe/extension/BanquAssoExtension/pool"


def users_text(session: str = "") -> str:
    return (f"{session}\n"
            f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{DIGEST}"\n\n'
            f'[[users]]\nlogin = "velo"\nname = "Trésorier Vélo"\nrole = "treasurer"\nmember = "velo-gap"\n'
            f'password_hash = "{DIGEST}"\n\n'
            f'[[users]]\nlogin = "conseil"\nrole = "board"\npassword_hash = "{DIGEST}"\n')


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> tuple[Flask, Clock, dict[str, str]]:
    ledgers_dir, rules_dir = write_group(tmp_path, {"ressourcerie": LENDER, "velo-gap": BORROWER})
    (rules_dir / "users.toml").write_text(users_text("[session]\nidle_minutes = 30\nmax_hours = 2\n"),
                                          encoding="utf-8")
    items, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert problems == []
    users, problems = load_users(rules_dir / "users.toml", ["velo-gap", "ressourcerie"])
    assert users is not None, problems
    clock = Clock()
    app = build_app(items, users=None)
    from comptasso.web.access import install
    by_path = {str(s.path): s.member_id for s in items}
    scopes = {slug: by_path[led.beancount_file_path] for slug, led in app.config["LEDGERS"].items()}
    install(app, users, scopes, clock=clock, throttle=Throttle(clock=clock))
    slugs = {("groupe" if member is None else member): slug for slug, member in scopes.items()}
    return app, clock, slugs


def log_in(app: Flask, login: str, password: str = PASSWORD, client: FlaskClient | None = None,
           **environ: str) -> tuple[FlaskClient, Any]:
    return web_log_in(app, login, password, client, **environ)


def token(client: FlaskClient, slugs: dict[str, str], member: str = "velo-gap") -> dict[str, str]:
    """The CSRF header of the client's session."""
    return {"X-CSRF-Token": session_token(client, f"/{slugs[member]}/income_statement/")}


# --- without a session ------------------------------------------------------------------------------

def test_every_page_needs_a_session(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client = app.test_client()
    page = client.get(f"/{slugs['velo-gap']}/balance_sheet/")
    assert page.status_code == 401 and "Mot de passe" in page.get_data(as_text=True)
    assert 'name="next" value="/' in page.get_data(as_text=True)
    api = client.get(f"/{slugs['velo-gap']}/api/ledger_data")
    assert api.status_code == 401 and api.get_json() == {"error": "connexion requise"}
    assert client.get(f"/{slugs['velo-gap']}/extension/BanquAssoExtension/forecast_data").status_code == 401
    assert client.put(f"/{slugs['velo-gap']}/api/source", json={}).status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/login").status_code == 200


def test_a_wrong_password_or_unknown_login_is_refused(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, clock, _slugs = served
    _client, response = log_in(app, "compta", "faux")
    assert response.status_code == 401 and "Identifiant ou mot de passe incorrect" in response.get_data(as_text=True)
    clock.now += 2
    _client, response = log_in(app, "personne")
    assert response.status_code == 401


# --- roles ------------------------------------------------------------------------------------------

def test_bookkeeper_opens_every_ledger(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, response = log_in(app, "compta")
    assert response.status_code == 303 and response.location == "/"
    for slug in slugs.values():
        assert client.get(f"/{slug}/balance_sheet/").status_code == 200
        assert client.get(f"/{slug}/api/ledger_data").status_code == 200


def test_treasurer_only_opens_their_own_ledger(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, _ = log_in(app, "velo")
    own, other, group = slugs["velo-gap"], slugs["ressourcerie"], slugs["groupe"]
    assert client.get(f"/{own}/balance_sheet/").status_code == 200
    assert client.get(f"/{own}/api/ledger_data").status_code == 200
    for url in (f"/{other}/balance_sheet/", f"/{other}/journal/", f"/{other}/api/ledger_data",
                f"/{other}/api/journal_page?page=1", f"/{other}/extension/BanquAssoExtension/",
                f"/{other}/extension/BanquAssoExtension/forecast_data", f"/{group}/balance_sheet/",
                f"/{group}/api/ledger_data", f"/{group}/extension/BanquAssoExtension/forecast_data"):
        response = client.get(url)
        assert response.status_code == 403, url
    assert client.get(f"/{other}/api/ledger_data").get_json()["error"].startswith("accès refusé")
    assert "Accès refusé" in client.get(f"/{other}/balance_sheet/").get_data(as_text=True)
    assert client.put(f"/{other}/api/source", json={"file_path": "x", "source": "", "sha256sum": ""}).status_code == 403
    home = client.get("/")
    assert home.status_code == 302 and home.location.endswith(f"/{own}/extension/BanquAssoExtension/")


def test_board_reads_everything_and_writes_nothing(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, _ = log_in(app, "conseil")
    for slug in slugs.values():
        assert client.get(f"/{slug}/income_statement/").status_code == 200
    response = client.put(f"/{slugs['velo-gap']}/api/source", json={"file_path": "x", "source": "", "sha256sum": ""})
    assert response.status_code == 403 and "lecture seule" in response.get_json()["error"]
    assert client.delete(f"/{slugs['velo-gap']}/api/document?filename=x").status_code == 403


def test_authorize_rules() -> None:
    users, _ = load_users_from_text(users_text())
    assert users is not None
    velo, compta, board = users.users["velo"], users.users["compta"], users.users["conseil"]
    assert authorize(velo, "GET", POOL, SCOPES, "groupe").status == 200
    assert authorize(velo, "GET", "/groupe/extension/BanquAssoExtension/pool_data", SCOPES, "groupe").status == 200
    assert authorize(velo, "GET", "/groupe/extension/BanquAssoExtension/forecast_data", SCOPES, "groupe").status == 403
    assert authorize(velo, "POST", POOL, SCOPES, "groupe").status == 403
    assert authorize(velo, "GET", "/groupe/extension/BanquAssoExtension/", SCOPES, "groupe").location == POOL
    assert authorize(velo, "PUT", "/velo/api/source", SCOPES, "groupe").status == 200
    assert authorize(velo, "GET", "/static/app.js", SCOPES, "groupe").status == 200
    assert authorize(compta, "PUT", "/ressourcerie/api/source", SCOPES, "groupe").status == 200
    assert authorize(board, "GET", "/ressourcerie/journal/", SCOPES, "groupe").status == 200
    assert authorize(board, "POST", "/ressourcerie/api/add_entries", SCOPES, "groupe").status == 403


# --- the ledger switcher ----------------------------------------------------------------------------

def titled(tmp_path: Path, *, group_pool: bool) -> Flask:
    """Two titled member ledgers (the switcher shows titles) and a group view, with or without its pool page."""
    ledgers_dir, rules_dir = write_group(
        tmp_path, {"ressourcerie": 'option "title" "Ressourcerie Durance"\n' + LENDER,
                   "velo-gap": 'option "title" "Vélo Gap"\n' + BORROWER},
        plugins='allowed = ["banquasso.fava_ext", "comptasso.consolidation"]\n')
    if group_pool:
        (ledgers_dir / "group.beancount").write_text(
            group_ledger_text("Groupe de test") + '2024-01-01 custom "fava-extension" "banquasso.fava_ext"\n',
            encoding="utf-8")
    (rules_dir / "users.toml").write_text(users_text(), encoding="utf-8")
    items, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert problems == []
    users, problems = load_users(rules_dir / "users.toml", ["velo-gap", "ressourcerie"])
    assert users is not None, problems
    return build_app(items, users=users)


def switcher(client: FlaskClient, slug: str) -> tuple[list[list[str]], list[list[str]]]:
    """`other_ledgers` of the page's embedded ledger-data and of the JSON API."""
    import json
    import re
    page = client.get(f"/{slug}/income_statement/")
    assert page.status_code == 200
    embedded = re.search(r'<script type="application/json" id="ledger-data">(.*?)</script>',
                         page.get_data(as_text=True), re.DOTALL)
    assert embedded is not None
    api = client.get(f"/{slug}/api/ledger_data")
    assert api.status_code == 200
    return json.loads(embedded.group(1))["other_ledgers"], api.get_json()["data"]["other_ledgers"]


def slugs_of(app: Flask) -> dict[str, str]:
    return {led.options["title"]: slug for slug, led in app.config["LEDGERS"].items()}


def test_a_treasurer_switcher_lists_only_what_they_may_open(tmp_path: Path) -> None:
    app = titled(tmp_path, group_pool=True)
    slugs = slugs_of(app)
    velo, group = slugs["Vélo Gap"], quote(slugs["Groupe de test — vue consolidée"])
    client, _ = log_in(app, "velo")
    page, api = switcher(client, velo)
    pool = f"/{group}/extension/BanquAssoExtension/pool"
    # the other member is gone; the group view is listed, but by its pool page (all a treasurer may open there)
    assert page == api == [["Groupe de test — vue consolidée", pool]]
    assert "Ressourcerie Durance" not in client.get(f"/{velo}/income_statement/").get_data(as_text=True)
    assert client.get(pool).status_code == 200
    # the bookkeeper and the board still see every other ledger, by its home page
    for login in ("compta", "conseil"):
        client, _ = log_in(app, login)
        page, api = switcher(client, velo)
        assert page == api == [["Ressourcerie Durance", f"/{slugs['Ressourcerie Durance']}/"],
                               ["Groupe de test — vue consolidée", f"/{group}/"]], login


def test_a_group_view_without_pool_page_is_not_listed_for_a_treasurer(tmp_path: Path) -> None:
    app = titled(tmp_path, group_pool=False)
    client, _ = log_in(app, "velo")
    page, api = switcher(client, slugs_of(app)["Vélo Gap"])
    assert page == api == []


def test_without_users_the_switcher_is_fava_s(tmp_path: Path) -> None:
    ledgers_dir, rules_dir = write_group(
        tmp_path, {"ressourcerie": 'option "title" "Ressourcerie Durance"\n' + LENDER,
                   "velo-gap": 'option "title" "Vélo Gap"\n' + BORROWER})
    items, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert problems == []
    app = build_app(items)
    slugs = slugs_of(app)
    page, api = switcher(app.test_client(), slugs["Vélo Gap"])
    assert [title for title, _url in page] == [title for title, _url in api] == \
        ["Ressourcerie Durance", "Groupe de test — vue consolidée"]


def test_ledger_link_rules() -> None:
    users, _ = load_users_from_text(users_text())
    assert users is not None
    velo, compta = users.users["velo"], users.users["compta"]
    assert ledger_link(velo, "velo", SCOPES, "groupe", has_pool=True) == "/velo/"
    assert ledger_link(velo, "ressourcerie", SCOPES, "groupe", has_pool=True) is None
    assert ledger_link(velo, "groupe", SCOPES, "groupe", has_pool=True) == POOL
    assert ledger_link(velo, "groupe", SCOPES, "groupe", has_pool=False) is None
    assert ledger_link(compta, "groupe", SCOPES, "groupe", has_pool=True) == "/groupe/"


def load_users_from_text(text: str, tmp: Path | None = None) -> tuple[Users | None, list[Problem]]:
    import tempfile
    folder = Path(tempfile.mkdtemp()) if tmp is None else tmp
    path = folder / "users.toml"
    path.write_text(text, encoding="utf-8")
    return load_users(path, ["velo-gap", "ressourcerie"])


# --- sessions ---------------------------------------------------------------------------------------

def test_a_session_expires_when_idle_and_after_its_lifetime(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, clock, slugs = served
    page = f"/{slugs['velo-gap']}/income_statement/"
    client, _ = log_in(app, "compta")
    clock.now += 29 * 60
    assert client.get(page).status_code == 200
    clock.now += 31 * 60  # 31 idle minutes since the last request
    assert client.get(page).status_code == 401
    client, _ = log_in(app, "compta")
    for _ in range(4):  # active every 25 minutes (100 minutes), but a session lasts at most 2 hours
        clock.now += 25 * 60
        assert client.get(page).status_code == 200
    clock.now += 25 * 60
    assert client.get(page).status_code == 401


def test_logout_ends_the_session(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, response = log_in(app, "compta")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    copy = app.test_client()
    session_cookie = client.get_cookie("comptasso_session")
    assert session_cookie is not None
    copy.set_cookie("comptasso_session", session_cookie.value)
    page = f"/{slugs['velo-gap']}/income_statement/"
    assert copy.get(page).status_code == 200
    assert client.post("/logout").status_code == 200
    assert client.get(page).status_code == 401
    assert copy.get(page).status_code == 401  # the copied cookie is revoked on the server


def test_the_cookie_is_secure_over_https(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, _slugs = served
    client = app.test_client()
    token = session_token_of_login(client, base_url="https://localhost")
    response = client.post("/login", base_url="https://localhost",
                           data={"login": "compta", "password": PASSWORD, "next": "/", "csrf_token": token})
    assert response.status_code == 303 and "Secure" in response.headers["Set-Cookie"]


def session_token_of_login(client: FlaskClient, **kwargs: str) -> str:
    from tests.web_helpers import csrf_in
    return csrf_in(client.get("/login", **kwargs).get_data(as_text=True))


def test_a_write_needs_the_session_s_csrf_token(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, _ = log_in(app, "compta")
    url = f"/{slugs['velo-gap']}/api/format_source"
    refused = client.put(url, json={"source": "x"})
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    assert client.put(url, json={"source": "x"}, headers={"X-CSRF-Token": "faux"}).status_code == 403
    assert client.put(url, json={"source": "x"}, headers=token(client, slugs)).status_code == 200
    # the log-in form has its own token
    assert client.post("/login", data={"login": "compta", "password": PASSWORD}).status_code == 403


@pytest.mark.slow
def test_failed_log_ins_are_slowed_down(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, clock, _slugs = served
    client = app.test_client()
    for _ in range(3):
        assert log_in(app, "compta", "faux")[1].status_code == 401
        clock.now += 10
    # 3 failures: the next try must wait 1·2² = 4 s after the last failure (10 s ago → allowed)
    assert log_in(app, "compta", "faux")[1].status_code == 401
    # 4 failures → 8 s; even the right password is refused until then
    clock.now += 3
    _client, refused = log_in(app, "compta", PASSWORD, client)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "6"
    assert "réessayez dans 6 s" in refused.get_data(as_text=True)
    clock.now += 5
    assert log_in(app, "compta", PASSWORD)[1].status_code == 303
    # other users are not slowed down by compta's failures
    assert log_in(app, "velo", PASSWORD)[1].status_code == 303


def test_nobody_outside_can_lock_the_bookkeeper_out(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, clock, _slugs = served
    # WSGI environ entries for the test client (typed Any: they go through **environ, beside `client`).
    attacker: dict[str, Any] = {"REMOTE_ADDR": "203.0.113.9"}
    office: dict[str, Any] = {"REMOTE_ADDR": "192.0.2.10"}
    statuses = [log_in(app, "compta", "faux", **attacker)[1].status_code for _ in range(6)]
    assert statuses[0] == 401 and set(statuses[1:]) == {429}  # one real check, then waits
    # the account is locked for the attacker's address, never for an address that has not failed
    assert log_in(app, "compta", PASSWORD, **attacker)[1].status_code == 429
    assert log_in(app, "compta", PASSWORD, **office)[1].status_code == 303
    clock.now += 1


def test_throttle_delays_double_and_are_capped() -> None:
    clock = Clock()
    throttle = Throttle(clock=clock, base_seconds=1, max_seconds=30)
    waits = []
    for i in range(7):
        assert throttle.begin("compta", "10.0.0.1") == 0  # counted as a failure until it succeeds
        waits.append(throttle.wait("compta", "10.0.0.1"))
        clock.now += waits[-1] if i < 6 else 0
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert throttle.wait("compta", "10.0.0.2") == 0  # an address that never failed
    assert throttle.wait("velo", "10.0.0.1") == 30  # the failed address waits for any account
    throttle.succeeded("compta", "10.0.0.1")
    assert throttle.wait("compta", "10.0.0.1") == 0


def test_parallel_tries_get_one_real_check() -> None:
    """A try counts as a failure before its password is checked, so tries in flight cannot all pass."""
    throttle = Throttle(clock=Clock())
    assert [throttle.begin("compta", "10.0.0.1") == 0 for _ in range(16)].count(True) == 1


def test_a_changed_password_ends_open_sessions(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, _ = log_in(app, "compta")
    guard_users = app.extensions["comptasso_access"].users
    from dataclasses import replace
    user = guard_users.users["compta"]
    guard_users.users["compta"] = replace(user, password_hash=hash_password("un-autre-mot-de-passe"))
    assert client.get(f"/{slugs['velo-gap']}/income_statement/").status_code == 401


def test_a_password_changed_in_the_users_file_ends_open_sessions(
        served: tuple[Flask, Clock, dict[str, str]], tmp_path: Path) -> None:
    import os
    app, _clock, slugs = served
    client, _ = log_in(app, "velo")
    page = f"/{slugs['velo-gap']}/income_statement/"
    assert client.get(page).status_code == 200
    path = tmp_path / "rules" / "users.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(DIGEST, hash_password("nouveau-mot-de-passe"), 2),
                    encoding="utf-8")
    os.utime(path, (1, 1))
    assert client.get(page).status_code == 401
    assert log_in(app, "velo", "nouveau-mot-de-passe")[1].status_code == 303


def test_writes_from_another_site_are_refused(served: tuple[Flask, Clock, dict[str, str]]) -> None:
    app, _clock, slugs = served
    client, _ = log_in(app, "compta")
    response = client.put(f"/{slugs['velo-gap']}/api/source", json={},
                          headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


def test_next_never_leaves_the_site() -> None:
    assert safe_next("/velo/journal/?time=2026") == "/velo/journal/?time=2026"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", None, "javascript:alert(1)"):
        assert safe_next(bad) == "/"


# --- the users file ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ('[[users]]\nlogin = "a1"\nrole = "chef"\npassword_hash = "$argon2id$x"\n', "users[0].role"),
    ('[[users]]\nlogin = "a1"\nrole = "treasurer"\npassword_hash = "$argon2id$x"\n', "doit avoir « member »"),
    ('[[users]]\nlogin = "a1"\nrole = "board"\nmember = "velo-gap"\npassword_hash = "$argon2id$x"\n',
     "« member » ne s'applique qu'au rôle treasurer"),
    ('[[users]]\nlogin = "a1"\nrole = "treasurer"\nmember = "inconnu"\npassword_hash = "$argon2id$x"\n',
     "users[0].member : membre inconnu « inconnu »"),
    ('[[users]]\nlogin = "a1"\nrole = "board"\npassword_hash = "secret"\n', "empreinte argon2 attendue"),
    (('[[users]]\nlogin = "a1"\nrole = "board"\npassword_hash = "$argon2id$x"\n\n'
      '[[users]]\nlogin = "a1"\nrole = "board"\npassword_hash = "$argon2id$x"\n'), "identifiant en double « a1 »"),
    ('[[users]]\nlogin = "a1"\nrole = "board"\npassword_hash = "$argon2id$x"\nmotdepasse = "x"\n', "clé inconnue"),
    ('[session]\nidle_minutes = 0\n[[users]]\nlogin = "a1"\nrole = "board"\npassword_hash = "$argon2id$x"\n',
     "session.idle_minutes : valeur trop petite"),
    ("users = [\n", "syntaxe TOML invalide"),
])
def test_a_bad_users_file_is_refused_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    users, problems = load_users_from_text(text, tmp_path)
    assert users is None
    assert any(message in str(p) for p in problems), [str(p) for p in problems]
    assert all(str(p).startswith(str(tmp_path / "users.toml") + ":") for p in problems)


def test_the_demo_users_file_is_valid_and_its_passwords_match() -> None:
    import tomllib
    ids = [m["id"] for m in tomllib.loads((DEMO_LEDGERS / "group.toml").read_text(encoding="utf-8"))["members"]]
    users, problems = load_users(DEMO_RULES / "users.toml", ids)
    assert users is not None, problems
    assert {u.role for u in users.users.values()} == {"bookkeeper", "treasurer", "board"}
    assert verify_password(users.users["tresorier-velo"].password_hash, "demo-velo-2026")
    assert not verify_password(users.users["tresorier-velo"].password_hash, "demo-velo-2027")


# --- comptasso serve and comptasso password-hash ------------------------------------------------------

def test_serve_refuses_a_network_host_without_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"ressourcerie": LENDER})
    monkeypatch.setattr("comptasso.web.serve.run_server", lambda app, host, port: None)
    result = CliRunner().invoke(comptasso, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir),
                                            "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "il n'écoute que sur 127.0.0.1" in result.output
    result = CliRunner().invoke(comptasso, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir)])
    assert result.exit_code == 0 and "pas de connexion" in result.output


def test_serve_with_a_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"ressourcerie": LENDER})
    seen: list[Flask] = []
    monkeypatch.setattr("comptasso.web.serve.run_server", lambda app, host, port: seen.append(app))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[users]]\nlogin = "a1"\nrole = "treasurer"\nmember = "velo-gap"\n'
                   f'password_hash = "{DIGEST}"\n', encoding="utf-8")
    result = CliRunner().invoke(comptasso, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir),
                                            "--users", str(bad)])
    assert result.exit_code == 1 and f"{bad}:4: users[0].member : membre inconnu « velo-gap »" in result.output
    assert seen == []
    good = tmp_path / "good.toml"
    good.write_text(f'[[users]]\nlogin = "a1"\nrole = "board"\npassword_hash = "{DIGEST}"\n', encoding="utf-8")
    result = CliRunner().invoke(comptasso, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir),
                                            "--users", str(good), "--host", "0.0.0.0"])
    assert result.exit_code == 0 and "Connexion requise : 1 utilisateur(s)" in result.output
    assert seen and seen[0].test_client().get("/").status_code == 401


def test_password_hash_command() -> None:
    result = CliRunner().invoke(comptasso, ["password-hash", "--password-stdin"], input="un-long-mot-de-passe\n")
    assert result.exit_code == 0 and verify_password(result.stdout.strip(), "un-long-mot-de-passe")
    short = CliRunner().invoke(comptasso, ["password-hash", "--password-stdin"], input="court\n")
    assert short.exit_code == 2 and "10 caractères au moins" in short.output


def test_a_ledger_renamed_while_serving_stays_closed_to_other_treasurers(tmp_path: Path) -> None:
    """Fava renames a ledger's address when its title changes; the scopes follow the file, not the address."""
    app = titled(tmp_path, group_pool=True)
    slugs = slugs_of(app)
    main_file = tmp_path / "ledgers" / "ressourcerie" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8").replace(
        'option "title" "Ressourcerie Durance"', 'option "title" "Ressourcerie Renommee"'), encoding="utf-8")
    app.config["LEDGERS"][slugs["Ressourcerie Durance"]].load_file()
    renamed = slugs_of(app)["Ressourcerie Renommee"]
    assert renamed != slugs["Ressourcerie Durance"]
    client, _ = log_in(app, "velo")
    assert client.get(f"/{quote(renamed)}/income_statement/").status_code == 403
    assert client.get(f"/{quote(renamed)}/api/ledger_data").status_code == 403
    client, _ = log_in(app, "compta")
    assert client.get(f"/{quote(renamed)}/income_statement/").status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_address_and_scheme_count(tmp_path: Path) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    (rules_dir / "users.toml").write_text(users_text().split("\n\n[[users]]\nlogin = \"velo\"")[0] + "\n",
                                          encoding="utf-8")
    items, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert problems == []
    users, problems = load_users(rules_dir / "users.toml", ["velo-gap"])
    assert users is not None, problems
    app = build_app(items, users=users, trusted_proxies=1)
    # The throttle's clock stands still: on a busy machine the 1 s wait after a failure could pass between two tries.
    app.extensions["comptasso_access"].throttle.clock = lambda: 1000.0
    attacker: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "REMOTE_ADDR": "127.0.0.1"}
    office: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": "192.0.2.10", "REMOTE_ADDR": "127.0.0.1",
                              "HTTP_X_FORWARDED_PROTO": "https"}
    assert log_in(app, "compta", "faux", **attacker)[1].status_code == 401
    assert log_in(app, "compta", PASSWORD, **attacker)[1].status_code == 429
    _client, response = log_in(app, "compta", PASSWORD, **office)
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]  # the proxy said https


# --- the second factor (TOTP) ------------------------------------------------------------------------

def test_a_bookkeeper_with_a_totp_secret_needs_the_code_once(tmp_path: Path) -> None:
    import pyotp

    from comptasso.web.access import install
    secret = pyotp.random_base32()
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    (rules_dir / "users.toml").write_text(
        f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{DIGEST}"\n'
        f'totp_secret = "{secret}"\n', encoding="utf-8")
    items, _ = prepare(ledgers_dir, rules_dir, tmp_path)
    users, problems = load_users(rules_dir / "users.toml", ["velo-gap"])
    assert users is not None, problems
    clock = Clock()
    app = build_app(items)
    install(app, users, dict.fromkeys(app.config["LEDGERS"].ledgers_by_slug), clock=clock,
            throttle=Throttle(clock=clock))

    def attempt(code: str) -> int:
        from tests.web_helpers import csrf_in
        client = app.test_client()
        token = csrf_in(client.get("/login").get_data(as_text=True))
        clock.now += 400  # past the throttle's waits: only the code decides
        return client.post("/login", data={"login": "compta", "password": PASSWORD, "code": code,
                                           "csrf_token": token}).status_code

    code = pyotp.TOTP(secret).at(clock.now + 400 * 3)
    assert attempt("") == 401
    assert attempt("000000" if code != "000000" else "111111") == 401
    assert attempt(code) == 303  # within one 30 s step of the clock
    assert attempt(pyotp.TOTP(secret).at(clock.now + 400)) == 303
    clock.now -= 400
    assert attempt(pyotp.TOTP(secret).at(clock.now + 400)) == 401  # the same code, replayed


@pytest.mark.parametrize(("extra", "role", "message"), [
    ('totp_secret = "court"\n', "board", "secret TOTP attendu en base32"),
    ('totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DP"\nmember = "velo-gap"\n', "treasurer",
     "réservé au comptable et au conseil"),
])
def test_a_bad_totp_secret_is_refused(tmp_path: Path, extra: str, role: str, message: str) -> None:
    users, problems = load_users_from_text(
        f'[[users]]\nlogin = "a1"\nrole = "{role}"\npassword_hash = "$argon2id$x"\n{extra}', tmp_path)
    assert users is None and any(message in str(p) for p in problems), [str(p) for p in problems]


def test_totp_secret_command() -> None:
    import re
    result = CliRunner().invoke(comptasso, ["totp-secret", "--login", "compta"])
    assert result.exit_code == 0
    assert re.match(r'^totp_secret = "[A-Z2-7]{32}"\notpauth://totp/Comptasso:compta\?secret=', result.output)


# --- invariants -------------------------------------------------------------------------------------

@given(st.lists(st.tuples(st.sampled_from(["compta", "velo", "x"]), st.integers(0, 20), st.floats(0, 50)),
                max_size=60))
def test_no_sequence_of_failures_locks_out_an_address_that_never_failed(
        tries: list[tuple[str, int, float]]) -> None:
    clock = Clock()
    throttle = Throttle(clock=clock)
    for login, address, pause in tries:
        clock.now += pause
        throttle.begin(login, f"203.0.113.{address}")  # every try of the attackers fails
    assert throttle.wait("compta", "192.0.2.1") == 0
    assert throttle.begin("compta", "192.0.2.1") == 0


@given(st.integers(1, 50), st.floats(0, 100_000))
def test_sessions_end_at_logout_and_never_outlive_their_lifetime(count: int, later: float) -> None:
    from comptasso.web.sessions import SessionStore
    clock = Clock()
    store = SessionStore(idle_seconds=1800, max_seconds=7200, clock=clock)
    ids = [store.open(f"u{i}", "s")[0] for i in range(count)]
    store.revoke(ids[0])
    clock.now += later
    alive = [store.get(i, lambda _login: "s") is not None for i in ids]
    assert not alive[0]
    assert all(a == (later <= 1800) for a in alive[1:])
