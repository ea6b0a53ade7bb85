"""Log-in and roles for `comptasso serve`: users in `rules/users.toml`, argon2 hashes, sessions, scopes.

Fava has no log-in. When a users file exists, every request to `comptasso serve` needs a session
opened on the French log-in page, and each role sees only its scope:

- `bookkeeper` (*comptable*): every ledger, read and write;
- `treasurer` (*trésorier·e*) of one member: that member's ledger (read and write) and, on the
  group view, only the pool page of the BanquAsso extension (which then hides other members);
- `board` (*conseil d'administration*): every ledger, read only.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import click
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, current_app, g, has_app_context, jsonify, redirect, request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from werkzeug.wrappers import Response as BaseResponse

from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.problems import Problem
from comptasso.web import fava_adapter as fava
from comptasso.web.sessions import COOKIE, Session, SessionStore, same_token
from comptasso.web.throttle import Throttle
from comptasso.web.totp import SECRET, SecondFactor, new_secret, provisioning_uri

USERS_FILE = "users.toml"
Role = Literal["bookkeeper", "treasurer", "board"]
ROLE_LABELS: Mapping[str, str] = {"bookkeeper": "comptable", "treasurer": "trésorier·e", "board": "conseil"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths answered without a session (the log-in page itself and Fava's static files).
PUBLIC_PATHS = frozenset({"/login", "/logout"})
#: The BanquAsso extension's pool pages: on the group view, all a treasurer may open.
POOL_EXTENSION = "BanquAssoExtension"
TREASURER_GROUP_ENDPOINTS = frozenset({"pool", "pool_data"})
USER_KEY = "comptasso_user"
SESSION_KEY = "comptasso_session"
LOGIN = r"^[a-z0-9][a-z0-9._-]{1,31}$"

Clock = Callable[[], float]


# ----------------------------------------------------------------------------------------- the file

class _SessionTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    idle_minutes: int = Field(default=30, ge=1, le=1440)
    max_hours: int = Field(default=10, ge=1, le=168)
    secure_cookie: bool = False


class _UserTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = Field(pattern=LOGIN)
    name: str = ""
    role: Role
    member: str | None = None
    password_hash: str
    totp_secret: str | None = None

    @field_validator("totp_secret")
    @classmethod
    def _base32(cls, value: str | None) -> str | None:
        if value is not None and not SECRET.match(value):
            raise ValueError("secret TOTP attendu en base32 (16 à 64 caractères A-Z et 2-7) : "
                             "tirez-le avec « comptasso totp-secret »")
        return value

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        if not value.startswith("$argon2"):
            raise ValueError("empreinte argon2 attendue (« $argon2id$… ») : "
                             "calculez-la avec « comptasso password-hash »")
        return value

    @model_validator(mode="after")
    def _member_only_for_treasurers(self) -> _UserTable:
        if self.role == "treasurer" and not self.member:
            raise ValueError("un·e trésorier·e doit avoir « member » (l'identifiant de son association)")
        if self.role != "treasurer" and self.member:
            raise ValueError(f"« member » ne s'applique qu'au rôle treasurer, pas à {self.role}")
        if self.totp_secret and self.role == "treasurer":
            raise ValueError("« totp_secret » (second facteur) est réservé au comptable et au conseil")
        return self


class _UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session: _SessionTable = _SessionTable()
    users: list[_UserTable] = Field(min_length=1)


@dataclass(frozen=True)
class User:
    """Someone who may log in, and what the role lets them see."""

    login: str
    name: str
    role: Role
    member: str | None
    password_hash: str
    totp_secret: str | None = None

    @property
    def label(self) -> str:
        who = self.name or self.login
        scope = f" de {self.member}" if self.member else ""
        return f"{who} ({ROLE_LABELS[self.role]}{scope})"

    @property
    def read_only(self) -> bool:
        return self.role == "board"

    def may_see_member(self, member_id: str) -> bool:
        """Whether this user may read the details of one member."""
        return self.role != "treasurer" or self.member == member_id

    @property
    def stamp(self) -> str:
        """Changes when the password or role changes, so open sessions end."""
        text = f"{self.role}|{self.member}|{self.password_hash}|{self.totp_secret or ''}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Users:
    """The users file: session lifetimes and the users by log-in."""

    path: Path
    users: Mapping[str, User]
    idle_seconds: int
    max_seconds: int
    secure_cookie: bool


def load_users(path: Path, member_ids: Collection[str]) -> tuple[Users | None, list[Problem]]:
    """Read and check a users file: keys, roles, argon2 hashes, unique log-ins, known members."""
    raw, problems = read_toml(path)
    if problems:
        return None, problems
    parsed, problems = validate(path, _UsersFile, raw)
    if parsed is None:
        return None, problems
    text = path.read_text(encoding="utf-8")
    users: dict[str, User] = {}
    for index, table in enumerate(parsed.users):
        if table.login in users:
            problems.append(Problem(str(path), locate(text, ("users", index, "login")),
                                    f"users[{index}].login : identifiant en double « {table.login} »"))
        elif table.member is not None and table.member not in member_ids:
            problems.append(Problem(str(path), locate(text, ("users", index, "member")),
                                    f"users[{index}].member : membre inconnu « {table.member} » "
                                    f"(membres : {', '.join(sorted(member_ids))})"))
        users[table.login] = User(table.login, table.name, table.role, table.member, table.password_hash,
                                  table.totp_secret)
    if problems:
        return None, problems
    s = parsed.session
    return Users(path, users, s.idle_minutes * 60, s.max_hours * 3600, s.secure_cookie), []


_HASHER = PasswordHasher()
#: Verified when the log-in is unknown, so that an unknown log-in takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("comptasso-dummy-password")


def hash_password(password: str) -> str:
    """An argon2id hash for users.toml."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the hash (argon2 compares in constant time)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------------------------------- the guard

@dataclass(frozen=True)
class Decision:
    """What the guard does with a request: let it through, redirect it, or refuse it."""

    status: int = HTTPStatus.OK
    location: str | None = None
    reason: str = ""


def authorize(user: User, method: str, path: str, scopes: Mapping[str, str | None], group_slug: str | None) -> Decision:
    """Whether `user` may make this request. `scopes` maps a Fava ledger slug to its member id (None: group)."""
    parts = [p for p in path.split("/") if p]
    if user.read_only and method not in SAFE_METHODS:
        return Decision(HTTPStatus.FORBIDDEN, reason="accès en lecture seule : le conseil ne modifie pas les livres")
    if user.role != "treasurer":
        return Decision()
    return _treasurer_may(user, method, parts, scopes, group_slug)


def _treasurer_may(user: User, method: str, parts: list[str], scopes: Mapping[str, str | None],
                   group_slug: str | None) -> Decision:
    """A treasurer's request: their own books, and of the group only its pool pages (read-only)."""
    own = next((slug for slug, member in scopes.items() if member == user.member), None)
    if not parts:
        return Decision(HTTPStatus.FOUND, location=f"/{own}/extension/{POOL_EXTENSION}/") if own else Decision()
    slug = parts[0]
    if slug not in scopes:
        return Decision()  # static files, /jump, or an unknown ledger (Fava answers 404)
    member = scopes[slug]
    if member == user.member:
        return Decision()
    if member is None and slug == group_slug and len(parts) >= 3 and parts[1] == "extension" \
            and parts[2] == POOL_EXTENSION:
        if len(parts) == 3:
            return Decision(HTTPStatus.FOUND, location=f"/{slug}/extension/{POOL_EXTENSION}/pool")
        if len(parts) == 4 and parts[3] in TREASURER_GROUP_ENDPOINTS and method in SAFE_METHODS:
            return Decision()
    what = "la vue consolidée du groupe" if member is None else f"les livres de « {member} »"
    return Decision(HTTPStatus.FORBIDDEN, reason=f"accès refusé : {user.label} ne peut pas ouvrir {what}")


def current_user() -> User | None:
    """The logged-in user of this request (None when `comptasso serve` runs without a users file)."""
    return getattr(g, USER_KEY, None)


def safe_next(target: str | None) -> str:
    """A local path to go to after log-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def _wants_json(path: str) -> bool:
    parts = [p for p in path.split("/") if p]
    return (len(parts) >= 2 and parts[1] == "api") or path.endswith("_data") or \
        "application/json" in request.headers.get("Accept", "")


CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: The cookie of the log-in form's own CSRF token (before any session exists).
LOGIN_CSRF_COOKIE = "comptasso_login_csrf"
#: Injected into Fava's HTML pages: the session's CSRF token, sent back by every form and every
#: state-changing `fetch` of Fava's frontend.
CSRF_SCRIPT = (
    '<meta name="comptasso-csrf" content="{token}">'
    "<script>(function(){{var t=document.querySelector('meta[name=\"comptasso-csrf\"]').content;"
    "var f=window.fetch;window.fetch=function(u,o){{o=o||{{}};var m=(o.method||'GET').toUpperCase();"
    "if(m!=='GET'&&m!=='HEAD'){{var h=new Headers(o.headers||{{}});h.set('" + CSRF_HEADER + "',t);o.headers=h;}}"
    "return f.call(this,u,o);}};document.addEventListener('submit',function(e){{var x=e.target;"
    "if(x.method&&x.method.toLowerCase()==='post'&&!x.querySelector('input[name=\"" + CSRF_FIELD + "\"]')){{"
    "var i=document.createElement('input');i.type='hidden';i.name='" + CSRF_FIELD + "';i.value=t;x.appendChild(i);}}"
    "}},true);}})();</script>"
)


def csrf_token() -> str:
    """The CSRF token of the request's session ('' without one): for forms rendered by the server."""
    record = getattr(g, SESSION_KEY, None)
    return record.csrf if isinstance(record, Session) else ""


class AccessGuard:
    """The log-in pages and the before-request check of every request."""

    def __init__(self, users: Users, scopes: Mapping[str, str | None], *, clock: Clock = time.time,
                 throttle: Throttle | None = None):
        self.users = users
        self.initial_scopes = dict(scopes)
        #: ledger file → member id (None: the group view), set by `install` from Fava's ledgers.
        self.members_by_file: dict[str, str | None] = {}
        self.clock = clock
        self.throttle = throttle or Throttle(clock=clock)
        self.sessions = SessionStore(users.idle_seconds, users.max_seconds, clock)
        self.second_factor = SecondFactor(clock)
        self._users_mtime = _mtime(users.path)
        self._member_ids = sorted({m for m in scopes.values() if m})
        #: Shown on the log-in page (`group.toml`'s name), set by `install`.
        self.group_name = ""

    # --- scopes

    @property
    def scopes(self) -> dict[str, str | None]:
        """Fava slug → member id, as Fava names the ledgers now (a title edited while serving renames its slug)."""
        if not self.members_by_file or not has_app_context():
            return self.initial_scopes
        return {slug: self.members_by_file[fava.ledger_file(ledger)] for slug, ledger in fava.ledgers(current_app)
                if fava.ledger_file(ledger) in self.members_by_file}

    @property
    def group_slug(self) -> str | None:
        return next((slug for slug, member in self.scopes.items() if member is None), None)

    # --- the users file: a password changed in it ends that user's sessions at the next request

    def refresh_users(self) -> None:
        """Re-read the users file when it changed on disk (a bad file keeps the users in force)."""
        mtime = _mtime(self.users.path)
        if mtime == self._users_mtime:
            return
        self._users_mtime = mtime
        users, _problems = load_users(self.users.path, self._member_ids)
        if users is not None:
            self.users = users

    def stamp_of(self, login: str) -> str | None:
        user = self.users.users.get(login)
        return user.stamp if user else None

    # --- sessions

    def user_of_session(self) -> User | None:
        """The session's user while the session is open and fresh (server-side: log-out ends it at once)."""
        record = self.sessions.get(request.cookies.get(COOKIE), self.stamp_of)
        if record is None:
            return None
        setattr(g, SESSION_KEY, record)
        return self.users.users.get(record.login)

    def secure(self) -> bool:
        """Whether cookies get the Secure flag: set in users.toml, or the request came over https."""
        return self.users.secure_cookie or request.is_secure

    # --- requests

    def before_request(self) -> BaseResponse | None:
        """Flask hook: None lets the request go on."""
        self.refresh_users()
        if request.path in PUBLIC_PATHS or request.endpoint == fava.STATIC_ENDPOINT:
            return None
        user = self.user_of_session()
        if user is None:
            return self.unauthorized()
        setattr(g, USER_KEY, user)
        decision = self.decide(user)
        if decision.location:
            return redirect(decision.location, code=int(decision.status))
        return self.refuse(decision) if decision.status != HTTPStatus.OK else None

    def decide(self, user: User) -> Decision:
        """Origin, role and scope, then the CSRF token of a write."""
        writes = request.method not in SAFE_METHODS
        if writes and not self.same_origin():
            return Decision(HTTPStatus.FORBIDDEN, reason="requête refusée : elle ne vient pas de cette page")
        scopes = self.scopes
        group_slug = next((slug for slug, member in scopes.items() if member is None), None)
        decision = authorize(user, request.method, request.path, scopes, group_slug)
        if decision.status == HTTPStatus.OK and writes and not self.csrf_ok():
            return Decision(HTTPStatus.FORBIDDEN,
                            reason="requête refusée : jeton de sécurité (CSRF) absent ou faux, rechargez la page")
        return decision

    def csrf_ok(self) -> bool:
        """A state-changing request sends back its session's CSRF token (form field or header)."""
        given = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
        return same_token(csrf_token(), given)

    def after_request(self, response: Response) -> Response:
        """Flask hook: Fava's HTML pages get the session's CSRF token (and the script that sends it back)."""
        token = csrf_token()
        if token and response.mimetype == "text/html" and not response.direct_passthrough:
            body = response.get_data(as_text=True)
            if "<head>" in body:
                response.set_data(body.replace("<head>", "<head>" + CSRF_SCRIPT.format(token=escape(token)), 1))
        return response

    def same_origin(self) -> bool:
        """A write must come from a page of this server (Origin or Referer on the same host)."""
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if not origin:
            return True  # not a browser (a script on the machine): the CSRF token still applies
        return urlsplit(origin).netloc == request.host

    def unauthorized(self) -> Response:
        if _wants_json(request.path) or request.method not in SAFE_METHODS:
            response = jsonify({"error": "connexion requise"})
            response.status_code = HTTPStatus.UNAUTHORIZED
            return response
        return self.login_response(request.full_path.rstrip("?"), status=HTTPStatus.UNAUTHORIZED)

    def refuse(self, decision: Decision) -> Response:
        if _wants_json(request.path) or request.method not in SAFE_METHODS:
            response = jsonify({"error": decision.reason})
        else:
            response = Response(_page("Accès refusé", f"<p>{escape(decision.reason)}</p>"
                                      "<p><a href=\"/\">Retour</a> — <a href=\"/logout\">Se déconnecter</a></p>",
                                      self.group_name), mimetype="text/html")
        response.status_code = decision.status
        return response

    # --- the log-in pages

    def login_response(self, target: str, message: str = "", status: int = HTTPStatus.OK) -> Response:
        """The log-in page, with a fresh log-in CSRF token (cookie and hidden field)."""
        # One token per browser: a second log-in page (another tab, a favicon answered with this page)
        # must not invalidate the form already shown.
        token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if len(token) < 32 or len(token) > 64:
            token = secrets.token_urlsafe(32)
        response = Response(login_page(target, message, token, self.group_name), mimetype="text/html",
                            status=status)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=self.secure(),
                            max_age=3600)
        return response

    def login(self) -> BaseResponse:
        if request.method == "GET":
            return self.login_response(safe_next(request.args.get("next")))
        login = request.form.get("login", "").strip().lower()
        password = request.form.get("password", "")
        target = safe_next(request.form.get("next"))
        if not self.same_origin() or not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""),
                                                    request.form.get(CSRF_FIELD)):
            return self.login_response(target, "Formulaire expiré : recommencez.", HTTPStatus.FORBIDDEN)
        address = request.remote_addr or ""
        wait = self.throttle.begin(login, address)
        if wait > 0:
            response = self.login_response(target, f"Trop d'essais manqués : réessayez dans {int(wait) + 1} s.",
                                           HTTPStatus.TOO_MANY_REQUESTS)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        user = self.users.users.get(login)
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        if not ok or user is None:
            return self.login_response(target, "Identifiant ou mot de passe incorrect.", HTTPStatus.UNAUTHORIZED)
        if user.totp_secret and not self.second_factor.check(user.login, user.totp_secret,
                                                             request.form.get("code", "")):
            return self.login_response(target, "Code à usage unique absent, faux ou déjà utilisé.",
                                       HTTPStatus.UNAUTHORIZED)
        self.throttle.succeeded(login, address)
        self.sessions.revoke(request.cookies.get(COOKIE))
        session_id, _record = self.sessions.open(user.login, user.stamp)
        done = redirect(target, code=HTTPStatus.SEE_OTHER)
        done.set_cookie(COOKIE, session_id, httponly=True, samesite="Strict", secure=self.secure(), path="/")
        done.delete_cookie(LOGIN_CSRF_COOKIE)
        return done

    def logout(self) -> Response:
        self.sessions.revoke(request.cookies.get(COOKIE))
        response = self.login_response("/", "Vous êtes déconnecté·e.")
        response.delete_cookie(COOKIE, path="/")
        return response


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


#: The product's look (the colours of the « Trésorerie mutualisée » pages), shared by the log-in and refusal pages.
_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f6f8;color:#1f2933}"
    "header{background:#1f4e79;color:#fff;padding:.9rem 1.2rem}header .brand{font-weight:700;letter-spacing:.02em}"
    "header .group{display:block;font-size:.95rem;opacity:.9;margin-top:.15rem}"
    "main{max-width:26rem;margin:2.5rem auto;padding:1.4rem 1.6rem;background:#fff;border:1px solid #d9e0e7;"
    "border-radius:6px}h1{font-size:1.4rem;margin:0 0 .6rem}"
    "label{display:block;margin-top:1rem;font-weight:600}input{width:100%;padding:.5rem;font-size:1rem;"
    "box-sizing:border-box;border:1px solid #b8c4cf;border-radius:4px}"
    "button{margin-top:1.3rem;padding:.55rem 1.3rem;font-size:1rem;background:#1f4e79;color:#fff;border:0;"
    "border-radius:4px;cursor:pointer}.hint{color:#52606d;font-size:.9rem}"
    ".error{background:#fdecea;border-left:4px solid #c0392b;padding:.4rem .8rem;color:#7b1d14}"
    "footer{text-align:center;color:#7b8794;font-size:.85rem;margin-bottom:2rem}"
)


def _page(title: str, body: str, group_name: str = "") -> str:
    group = f"<span class=\"group\">{escape(group_name)}</span>" if group_name else ""
    return (f"<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><header><span class=\"brand\">BanquAsso · Comptasso</span>{group}"
            f"</header><main><h1>{escape(title)}</h1>{body}</main>"
            "<footer>Comptabilité partagée et trésorerie mutualisée du groupement</footer></body></html>")


def login_page(target: str, message: str = "", csrf: str = "", group_name: str = "") -> str:
    """The French log-in form, under the group's name."""
    note = f"<p class=\"error\" role=\"alert\">{escape(message)}</p>" if message else ""
    return _page("Connexion", (
        f"{note}<p class=\"hint\">Comptes, trésorerie et relevés des associations du groupement.</p>"
        f"<form method=\"post\" action=\"/login\">"
        f"<input type=\"hidden\" name=\"next\" value=\"{escape(safe_next(target))}\">"
        f"<input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{escape(csrf)}\">"
        "<label for=\"login\">Identifiant</label><input id=\"login\" name=\"login\" autocomplete=\"username\" required>"
        "<label for=\"password\">Mot de passe</label>"
        "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
        "<label for=\"code\">Code à usage unique (si votre compte en a un)</label>"
        "<input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9 ]*\">"
        "<button type=\"submit\">Se connecter</button></form>"), group_name)


def install(app: Flask, users: Users, scopes: Mapping[str, str | None], *, clock: Clock = time.time,
            throttle: Throttle | None = None, group_name: str = "") -> AccessGuard:
    """Require a log-in on every request of `app`; the guard runs before every other hook."""
    guard = AccessGuard(users, scopes, clock=clock, throttle=throttle)
    guard.group_name = group_name
    guard.members_by_file = {fava.ledger_file(ledger): scopes[slug]
                             for slug, ledger in fava.ledgers(app) if slug in scopes}
    app.add_url_rule("/login", "comptasso_login", guard.login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "comptasso_logout", guard.logout, methods=["GET", "POST"])
    fava.hook_first(app, guard.before_request)
    app.after_request(guard.after_request)
    app.add_template_global(csrf_token, "csrf_token")
    app.extensions["comptasso_access"] = guard
    fava.filter_ledger_list(app, lambda entries: visible_ledgers(entries, guard))
    return guard


# ----------------------------------------------------------------------------- the ledger switcher

def ledger_link(user: User, slug: str, scopes: Mapping[str, str | None], group_slug: str | None, *,
                has_pool: bool) -> str | None:
    """The path `user` may follow to ledger `slug`: its home, else its pool page (if it has one), else None."""
    home, pool = f"/{slug}/", f"/{slug}/extension/{POOL_EXTENSION}/pool"
    if authorize(user, "GET", home, scopes, group_slug).status == HTTPStatus.OK:
        return home
    if has_pool and authorize(user, "GET", pool, scopes, group_slug).status == HTTPStatus.OK:
        return pool
    return None


def visible_ledgers(entries: Sequence[Sequence[str]], guard: AccessGuard) -> list[tuple[str, str]]:
    """Fava's `other_ledgers` (title, url) cut to what the request's user may open (in a request context)."""
    user = current_user()
    if user is None:
        return [(title, url) for title, url in entries]
    ledgers = dict(fava.ledgers(current_app))
    scopes = guard.scopes
    group_slug = next((slug for slug, member in scopes.items() if member is None), None)
    slug_of_url = {fava.ledger_url(slug): slug for slug in scopes}
    kept: list[tuple[str, str]] = []
    for title, url in entries:
        slug = slug_of_url.get(url)
        if slug is None:
            continue  # a ledger renamed since the start: its scope is unknown, so it is not listed
        has_pool = fava.has_extension(ledgers.get(slug), POOL_EXTENSION)
        path = ledger_link(user, slug, scopes, group_slug, has_pool=has_pool)
        if path is not None:
            kept.append((title, url + path.removeprefix(f"/{slug}/")))  # Fava's url: script root, quoting
    return kept


@click.command("password-hash")
@click.option("--password-stdin", is_flag=True, help="Lire le mot de passe sur l'entrée standard (scripts).")
def password_hash_command(password_stdin: bool) -> None:
    """Calculer l'empreinte argon2 d'un mot de passe, à copier dans rules/users.toml."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmez")
    if len(password) < 10:
        raise click.BadParameter("10 caractères au moins", param_hint="mot de passe")
    click.echo(hash_password(password))


@click.command("totp-secret")
@click.option("--login", "login", required=True, help="Identifiant du compte (comptable ou conseil).")
def totp_secret_command(login: str) -> None:
    """Tirer un secret de second facteur (TOTP) pour rules/users.toml et l'application d'authentification."""
    secret = new_secret()
    click.echo(f'totp_secret = "{secret}"')
    click.echo(provisioning_uri(secret, login))
