"""Helpers of the web tests: log in through the real form (with its CSRF token), read a page's token."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')
CSRF_META = re.compile(r'<meta name="comptasso-csrf" content="([^"]*)">')


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
