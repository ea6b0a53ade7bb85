"""Attacks on `comptasso serve` through lines a treasurer may write in its own ledger, over real HTTP.

One cheroot server on 127.0.0.1 (a free port) serves two members and the group view with log-in.
Every attack must be refused, with nothing read, written or deleted outside the member's folder:
each test checks the answer (status, no secret in the body) and the files on disk afterwards.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from comptasso.books.safety import inside
from comptasso.cli.main import main as comptasso
from comptasso.web.access import hash_password, load_users
from comptasso.web.serve import build_app, prepare
from tests.conftest import write_group
from tests.test_consolidation import BORROWER, LENDER

PASSWORD = "mot-de-passe-des-attaques"
TIMEOUT = 10.0
SECRET = "SECRET-DE-LA-RESSOURCERIE-" + uuid.uuid4().hex
OUTSIDE = "FICHIER-HORS-DES-LIVRES-" + uuid.uuid4().hex


def free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self.body)
        return answer


@dataclass
class Browser:
    """A tiny HTTP client with one cookie jar; every request has a timeout."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    address: str | None = None  # an X-Forwarded-For to send

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.address:
            sent["X-Forwarded-For"] = self.address
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    cookie_value = rest.split(";", 1)[0]
                    if cookie_value and "Max-Age=0" not in value and "expires=Thu, 01 Jan 1970" not in value:
                        self.cookies[key] = cookie_value
                    else:
                        self.cookies.pop(key, None)
            return Answer(response.status, dict(response.getheaders()), text)
        finally:
            connection.close()

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def form(self, path: str, fields: dict[str, str]) -> Answer:
        from urllib.parse import urlencode
        return self.request("POST", path, body=urlencode(fields).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def log_in(self, login: str, password: str = PASSWORD) -> Answer:
        page = self.get("/login").body
        token = re.search(r'name="csrf_token" value="([^"]*)"', page)
        assert token is not None
        return self.form("/login", {"login": login, "password": password, "next": "/", "csrf_token": token.group(1)})

    def csrf(self, slug: str) -> str:
        page = self.get(f"/{quote(slug)}/income_statement/").body
        found = re.search(r'<meta name="comptasso-csrf" content="([^"]*)">', page)
        assert found is not None, "pas de jeton sur la page"
        return found.group(1)

    def api(self, method: str, path: str, payload: dict[str, Any] | None = None, *, token: str | None = None) -> Answer:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-CSRF-Token"] = token
        return self.request(method, path, body=json.dumps(payload).encode() if payload is not None else None,
                            headers=headers)

    def upload(self, path: str, filename: str, content: bytes, fields: dict[str, str], token: str) -> Answer:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("PUT", path, body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-CSRF-Token": token})


@dataclass
class Site:
    root: Path
    ledgers: Path
    port: int
    slugs: dict[str, str]
    logged_in: dict[str, Browser] = field(default_factory=dict)

    @property
    def velo(self) -> Path:
        return self.ledgers / "velo-gap" / "main.beancount"

    @property
    def other(self) -> Path:
        return self.ledgers / "ressourcerie" / "main.beancount"

    def browser(self) -> Browser:
        return Browser(self.port)

    def session(self, login: str, *, fresh: bool = False) -> Browser:
        """A browser logged in as `login` (one per log-in for the module, unless `fresh`)."""
        if fresh or login not in self.logged_in:
            browser = self.browser()
            assert browser.log_in(login).status == 303
            if fresh:
                return browser
            self.logged_in[login] = browser
        return self.logged_in[login]

    def treasurer(self) -> Browser:
        return self.session("velo")

    def bookkeeper(self) -> Browser:
        return self.session("compta")

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the test's folder (books, rules, secrets), to compare after an attack."""
        return {str(p): p.read_bytes() for p in sorted(self.root.rglob("*"))
                if p.is_file() and not p.is_symlink() and "locks" not in p.parts}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from cheroot.wsgi import Server

    root = tmp_path_factory.mktemp("attaques")
    ledgers, rules = write_group(root, {"ressourcerie": LENDER, "velo-gap": BORROWER})
    (ledgers / "ressourcerie" / "main.beancount").write_text(
        (ledgers / "ressourcerie" / "main.beancount").read_text(encoding="utf-8") + f"\n; {SECRET}\n",
        encoding="utf-8")
    (ledgers / "ressourcerie" / "facture.pdf").write_text(SECRET, encoding="utf-8")
    (root / "dehors.txt").write_text(OUTSIDE, encoding="utf-8")
    (ledgers / "velo-gap" / "lien.pdf").symlink_to(root / "dehors.txt")
    digest = hash_password(PASSWORD)
    (rules / "users.toml").write_text(
        f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{digest}"\n\n'
        f'[[users]]\nlogin = "velo"\nrole = "treasurer"\nmember = "velo-gap"\npassword_hash = "{digest}"\n',
        encoding="utf-8")
    (root / "work").mkdir()
    served, problems = prepare(ledgers, rules, root / "work")
    assert problems == []
    users, problems = load_users(rules / "users.toml", ["velo-gap", "ressourcerie"])
    assert users is not None, problems
    app = build_app(served, users=users)
    slugs = {("groupe" if s.member_id is None else s.member_id): slug
             for s in served for slug, led in app.config["LEDGERS"].items() if led.beancount_file_path == str(s.path)}
    port = free_port()
    server = Server(("127.0.0.1", port), app)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield Site(root, ledgers, port, slugs)
    finally:
        server.stop()
        thread.join(timeout=10)




@contextlib.contextmanager
def on_disk(path: Path, text: str) -> Iterator[None]:
    """Write an unsafe line into a ledger on disk (as a treasurer with a file share would), then restore it."""
    before = path.read_text(encoding="utf-8")
    path.write_text(text + before, encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(before, encoding="utf-8")


def quoted(slug: str) -> str:
    return quote(slug)


def assert_nothing_leaked(answer: Answer) -> None:
    assert SECRET not in answer.body and OUTSIDE not in answer.body


def document_url(site: Site, slug: str, filename: Path | str) -> str:
    return f"/{quoted(slug)}/document/?filename={quote(str(filename))}"


# --- lines a ledger may not write -----------------------------------------------------------------

UNSAFE_LINES = {
    "import-dirs": '2024-01-01 custom "fava-option" "import-dirs" "/"\n',
    "import-config": '2024-01-01 custom "fava-option" "import-config" "/tmp/x.py"\n',
    "look-alike": '2024-01-01 custom "fava-option" "imp\u043ert-dirs" "/"\n',
    "documents": 'option "documents" "/"\n',
    "document-absolute": '2026-01-05 document Assets:512-Banque "{other}"\n',
    "document-dotdot": '2026-01-05 document Assets:512-Banque "../ressourcerie/facture.pdf"\n',
    "document-symlink": '2026-01-05 document Assets:512-Banque "lien.pdf"\n',
}


def unsafe(name: str, site: Site) -> str:
    return UNSAFE_LINES[name].format(other=site.other)


@pytest.mark.parametrize("name", sorted(UNSAFE_LINES))
def test_an_unsafe_save_in_fava_s_editor_is_refused(site: Site, name: str) -> None:
    browser = site.treasurer()
    slug = quoted(site.slugs["velo-gap"])
    token = browser.csrf(site.slugs["velo-gap"])
    source = browser.api("GET", f"/{slug}/api/source?filename={quote(str(site.velo))}").json()["data"]
    before = site.snapshot()
    answer = browser.api("PUT", f"/{slug}/api/source", {
        "file_path": str(site.velo), "source": unsafe(name, site) + source["source"],
        "sha256sum": source["sha256sum"]}, token=token)
    assert answer.status == 400, answer.body
    assert "refusé" in answer.json()["error"]
    assert site.snapshot() == before


@pytest.mark.parametrize("name", sorted(UNSAFE_LINES))
def test_an_unsafe_line_on_disk_closes_the_ledger_at_once(site: Site, name: str) -> None:
    browser = site.treasurer()
    slug = site.slugs["velo-gap"]
    with on_disk(site.velo, unsafe(name, site)):
        before = site.snapshot()
        started = time.monotonic()
        for url in (document_url(site, slug, site.other), document_url(site, slug, site.root / "dehors.txt"),
                    f"/{quoted(slug)}/income_statement/", f"/{quoted(slug)}/api/documents"):
            answer = browser.get(url)
            assert answer.status == 503, (url, answer.status)
            assert_nothing_leaked(answer)
        assert time.monotonic() - started < 5  # `option "documents" "/"` answers with a refusal, not a walk
        assert site.snapshot() == before
    assert browser.get(f"/{quoted(slug)}/income_statement/").status == 200


def test_an_unsafe_fava_option_in_an_included_file_is_refused(site: Site) -> None:
    browser = site.treasurer()
    slug = site.slugs["velo-gap"]
    extra = site.velo.parent / "extra.beancount"
    extra.write_text(UNSAFE_LINES["import-dirs"], encoding="utf-8")
    try:
        with on_disk(site.velo, 'include "extra.beancount"\n'):
            answer = browser.get(f"/{quoted(slug)}/income_statement/")
            assert answer.status == 503 and "import-dirs" in answer.body
    finally:
        extra.unlink()


def test_import_dirs_through_the_group_view_is_refused(site: Site) -> None:
    browser = site.bookkeeper()
    group = quoted(site.slugs["groupe"])
    token = browser.csrf(site.slugs["groupe"])
    group_file = site.root / "work" / "group.beancount"
    source = browser.api("GET", f"/{group}/api/source?filename={quote(str(group_file))}").json()["data"]
    answer = browser.api("PUT", f"/{group}/api/source", {
        "file_path": str(group_file), "source": source["source"] + UNSAFE_LINES["import-dirs"],
        "sha256sum": source["sha256sum"]}, token=token)
    assert answer.status == 400 and "import-dirs" in answer.json()["error"]
    assert group_file.read_text(encoding="utf-8") == source["source"]


# --- files named by a request ---------------------------------------------------------------------

def test_no_document_outside_the_member_folder_is_served(site: Site) -> None:
    browser = site.treasurer()
    slug = site.slugs["velo-gap"]
    for target in (site.other, site.ledgers / "ressourcerie" / "facture.pdf", site.root / "dehors.txt",
                   site.velo.parent / "lien.pdf", site.velo.parent / ".." / "ressourcerie" / "facture.pdf",
                   site.root / "rules" / "users.toml", Path("/etc/passwd")):
        answer = browser.get(document_url(site, slug, target))
        assert answer.status in {403, 404}, (target, answer.status)
        assert_nothing_leaked(answer)
        assert "argon2" not in answer.body and "root:" not in answer.body


def test_no_importer_runs_on_a_file_outside_the_member_folder(site: Site) -> None:
    browser = site.treasurer()
    answer = browser.get(f"/{quoted(site.slugs['velo-gap'])}/api/extract?filename={quote(str(site.other))}"
                         "&importer=x")
    assert answer.status == 403
    assert_nothing_leaked(answer)


def test_another_member_s_document_cannot_be_deleted(site: Site) -> None:
    invoice = site.ledgers / "ressourcerie" / "facture.pdf"
    for browser in (site.treasurer(), site.bookkeeper()):  # even the bookkeeper, through velo's ledger
        token = browser.csrf(site.slugs["velo-gap"])
        for target in (invoice, site.other, site.root / "dehors.txt", site.velo):
            answer = browser.api("DELETE", f"/{quoted(site.slugs['velo-gap'])}/api/document"
                                           f"?filename={quote(str(target))}", token=token)
            assert answer.status == 403, (target, answer.status, answer.body)
            assert target.exists()
    # the treasurer cannot reach the other member's ledger at all
    browser = site.treasurer()
    answer = browser.api("DELETE", f"/{quoted(site.slugs['ressourcerie'])}/api/document"
                                   f"?filename={quote(str(invoice))}", token=browser.csrf(site.slugs["velo-gap"]))
    assert answer.status == 403 and invoice.exists()


@pytest.mark.parametrize("filename", ["sitecustomize.pth", "evil.py", "main.beancount", "facture.pdf"])
def test_uploads_are_refused_by_default(site: Site, filename: str) -> None:
    browser = site.treasurer()
    slug = quoted(site.slugs["velo-gap"])
    token = browser.csrf(site.slugs["velo-gap"])
    before = site.snapshot()
    for endpoint, fields in (("upload_import_file", {}),
                             ("add_document", {"folder": str(site.velo.parent), "account": "Assets:512-Banque"})):
        answer = browser.upload(f"/{slug}/api/{endpoint}", filename, b"import os\n", fields, token)
        assert answer.status == 403, (endpoint, answer.status, answer.body)
        assert "dépôt" in answer.json()["error"]
    assert site.snapshot() == before


def test_the_engine_file_is_read_only_in_fava(site: Site) -> None:
    engine = site.velo.parent / "banquasso.beancount"
    for browser in (site.treasurer(), site.bookkeeper()):
        slug = quoted(site.slugs["velo-gap"])
        token = browser.csrf(site.slugs["velo-gap"])
        source = browser.api("GET", f"/{slug}/api/source?filename={quote(str(engine))}").json()["data"]
        before = engine.read_bytes()
        answer = browser.api("PUT", f"/{slug}/api/source", {
            "file_path": str(engine), "source": source["source"] + "; retouché\n",
            "sha256sum": source["sha256sum"]}, token=token)
        assert answer.status == 403 and "banquasso.beancount" in answer.json()["error"]
        assert engine.read_bytes() == before


# --- sessions and log-ins -------------------------------------------------------------------------

def test_a_cookie_replayed_after_logout_is_refused(site: Site) -> None:
    browser = site.session("velo", fresh=True)
    page = f"/{quoted(site.slugs['velo-gap'])}/income_statement/"
    copy = Browser(site.port, dict(browser.cookies))
    assert copy.get(page).status == 200
    assert browser.get("/logout").status == 200
    assert copy.get(page).status == 401
    assert browser.get(page).status == 401


def test_a_write_without_its_csrf_token_is_refused(site: Site) -> None:
    browser = site.treasurer()
    slug = quoted(site.slugs["velo-gap"])
    before = site.velo.read_bytes()
    note = {"entries": [{"t": "Note", "date": "2026-07-01", "account": "Assets:512-Banque", "comment": "x",
                         "meta": {}}]}
    assert browser.api("PUT", f"/{slug}/api/add_entries", note).status == 403
    assert browser.api("PUT", f"/{slug}/api/add_entries", note, token="faux").status == 403
    assert browser.form(f"/{slug}/api/add_entries", {"entries": "[]"}).status == 403
    assert site.velo.read_bytes() == before
    # the log-in form without its token
    assert site.browser().form("/login", {"login": "velo", "password": PASSWORD}).status == 403
    # with the token, the same write goes through
    assert browser.api("PUT", f"/{slug}/api/add_entries", note, token=browser.csrf(site.slugs["velo-gap"])).status \
        == 200
    site.velo.write_bytes(before)


def test_parallel_wrong_passwords_get_one_real_check(site: Site) -> None:
    """16 wrong passwords at once: each try counts before its check, so the others wait (1 s after the first
    failure, then 2 s…: at most two real checks while the 16 arrive); a forged X-Forwarded-For changes nothing."""
    def attempt(i: int) -> int:
        browser = site.browser()
        browser.address = f"198.51.100.{i}"  # not believed: no trusted proxy
        return browser.log_in("compta", "faux").status

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(attempt, range(16)))
    assert 1 <= statuses.count(401) <= 2 and statuses.count(429) >= 14, statuses


def test_time_bound() -> None:
    """The module's budget is kept by its fixtures' timeouts; this pins the per-request timeout."""
    assert TIMEOUT <= 10


# --- comptasso check names each unsafe line ---------------------------------------------------------

def test_comptasso_check_reports_each_unsafe_line(tmp_path: Path) -> None:
    lines = "".join(UNSAFE_LINES[n] for n in ("import-dirs", "import-config", "look-alike"))
    lines += '2026-01-05 document Assets:512-Banque "../ressourcerie/main.beancount"\n'
    ledgers_dir, rules_dir = write_group(tmp_path, {"ressourcerie": LENDER, "velo-gap": lines + BORROWER})
    result = CliRunner().invoke(comptasso, ["check", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir),
                                            "--as-of", "2026-12-31"])
    assert result.exit_code == 1
    main = "velo-gap/main.beancount"
    assert f"{main}:2: option Fava « import-dirs » refusée" in result.output
    assert f"{main}:3: option Fava « import-config » refusée" in result.output
    assert f"{main}:4: option Fava « impоrt-dirs (caractères non ASCII : 'imp\\u043ert-dirs') » refusée" \
        in result.output
    assert f"{main}:5: justificatif « " in result.output and "hors du dossier du membre" in result.output


def test_comptasso_check_refuses_the_documents_option_before_loading(tmp_path: Path) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": 'option "documents" "/"\n' + BORROWER})
    started = time.monotonic()
    result = CliRunner().invoke(comptasso, ["check", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir),
                                            "--as-of", "2026-12-31"])
    assert time.monotonic() - started < 20
    assert result.exit_code == 1
    assert "velo-gap/main.beancount:2: option « documents » refusée" in result.output


# --- the confinement rule itself ----------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["..", ".", "a", "b", "velo-gap", "lien"]), min_size=1, max_size=6))
def test_inside_agrees_with_the_resolved_path(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    """A path is inside the member folder exactly when, `..` and symlinks resolved, it lies below it."""
    root = tmp_path_factory.mktemp("dedans")
    folder = root / "ledgers" / "velo-gap"
    folder.mkdir(parents=True)
    (folder / "lien").symlink_to(root)  # a symlink in the member folder pointing outside
    candidate = folder.joinpath(*parts)
    real, base = os.path.realpath(candidate), os.path.realpath(folder)  # an independent oracle
    assert inside(candidate, folder) == (os.path.commonpath([real, base]) == base)
    assert not inside(folder / "lien" / "dehors.txt", folder)  # a symlink out of the folder stays out
