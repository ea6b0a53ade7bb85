"""Helpers of the web tests: log in through the real form (with its CSRF token), read a page's token;
for the browser tests, the headless Chromium, the demo served with log-in on a free port, the log-in form."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from comptasso.web.access import hash_password, load_users
from comptasso.web.serve import ServedLedger, build_app, prepare
from tests.conftest import in_ci

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')
CSRF_META = re.compile(r'<meta name="comptasso-csrf" content="([^"]*)">')
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def csrf_in(html: str) -> str:
    """The CSRF token of a page (the log-in form's field, or the meta tag of a page under a session)."""
    found = CSRF_META.search(html) or CSRF_INPUT.search(html)
    assert found, "pas de jeton CSRF dans la page"
    return found.group(1)


def log_in(app: Flask, login: str, password: str, client: FlaskClient | None = None,
           **environ: Any) -> tuple[FlaskClient, Any]:
    """Open the log-in page, then post the form with its token."""
    client = client or app.test_client()
    token = csrf_in(client.get("/login", environ_base=dict(environ)).get_data(as_text=True))
    response = client.post("/login", data={"login": login, "password": password, "next": "/",
                                           "csrf_token": token}, environ_base=dict(environ))
    return client, response


def session_token(client: FlaskClient, page: str) -> str:
    """The session's CSRF token, read from a page of the site."""
    return csrf_in(client.get(page).get_data(as_text=True))


def need(what: str, ok: bool) -> None:
    """Skip the test with the reason when `what` is missing (a failure under CI=true)."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{what} manque sous CI=true (.ci/run doit l'installer)")
    pytest.skip(f"{what} manque : test du navigateur sauté")


def chromium_browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright, for a fixture to `yield from` (closed afterwards)."""
    need(f"Chromium ({CHROMIUM})", CHROMIUM.exists())
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("le paquet Python playwright", False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield browser
        browser.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_treasurer(rules: Path, password: str) -> None:
    """`rules/users.toml` with one user: `tresorier-velo`, the treasurer of velo-gap."""
    (rules / "users.toml").write_text(
        f'[[users]]\nlogin = "tresorier-velo"\nrole = "treasurer"\nmember = "velo-gap"\n'
        f'password_hash = "{hash_password(password)}"\n', encoding="utf-8")


def served_app(ledgers: Path, rules: Path, workdir: Path) -> tuple[Flask, list[ServedLedger]]:
    """The checked ledgers served with log-in by the users of `rules/users.toml`, and what is served."""
    served, problems = prepare(ledgers, rules, workdir)
    assert problems == []
    users, problems = load_users(rules / "users.toml", [s.member_id for s in served if s.member_id])
    assert users is not None, problems
    return build_app(served, users=users), served


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app served by cheroot on a free port of 127.0.0.1 in a thread; yields its URL, stops it after."""
    from cheroot.wsgi import Server

    port = free_port()
    wsgi = Server(("127.0.0.1", port), app)
    wsgi.prepare()
    thread = threading.Thread(target=wsgi.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        wsgi.stop()
        thread.join(timeout=10)


def fill_log_in(page: Any, login: str, password: str) -> None:
    """Fill the log-in form of the page shown in the browser and send it."""
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button[type=submit]")
