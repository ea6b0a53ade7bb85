"""Log-in and roles for `comptasso serve`: users in `rules/users.toml`, argon2 hashes, sessions, scopes.

Fava has no log-in. When a users file exists, every request to `comptasso serve` needs a session
opened on the French log-in page, and each role sees only its scope:

- `bookkeeper` (*comptable*): every ledger, read and write;
- `treasurer` (*trésorier·e*) of one member: that member's ledger (read and write) and, on the
  group view, only the pool page of the BanquAsso extension (which then hides other members);
- `board` (*conseil d'administration*): every ledger, read only.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import click
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, current_app, g, has_app_context, jsonify, redirect, request, session, url_for
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from comptasso.problems import Problem
from comptasso.books.tomlfile import locate, read_toml, validate

if TYPE_CHECKING:
    from fava.internal_api import LedgerData

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
        return hashlib.sha256(f"{self.role}|{self.member}|{self.password_hash}".encode()).hexdigest()[:16]


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
        users[table.login] = User(table.login, table.name, table.role, table.member, table.password_hash)
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


# ------------------------------------------------------------------------------------- throttling

@dataclass
class Throttle:
    """Failed log-ins per (log-in, address): after n failures, the next try waits base·2^(n-1) s (capped)."""

    clock: Clock = time.monotonic
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    forget_after: float = 3600.0
    _failures: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, key: tuple[str, str]) -> float:
        """Seconds to wait before this key may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
            now = self.clock()
            if count == 0 or now - last > self.forget_after:
                return 0.0
            delay = min(self.max_seconds, self.base_seconds * 2 ** (count - 1))
            return max(0.0, last + delay - now)

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            now = self.clock()
            count, last = self._failures.get(key, (0, 0.0))
            if now - last > self.forget_after:
                count = 0
            self._failures[key] = (count + 1, now)
            for old in [k for k, (_, t) in self._failures.items() if now - t > self.forget_after]:
                del self._failures[old]

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


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

    # --- scopes

    @property
    def scopes(self) -> dict[str, str | None]:
        """Fava slug → member id, as Fava names the ledgers now (a title edited while serving renames its slug)."""
        if not self.members_by_file or not has_app_context():
            return self.initial_scopes
        ledgers = current_app.config["LEDGERS"].items()
        return {slug: self.members_by_file[ledger.beancount_file_path] for slug, ledger in ledgers
                if ledger.beancount_file_path in self.members_by_file}

    @property
    def group_slug(self) -> str | None:
        return next((slug for slug, member in self.scopes.items() if member is None), None)

    # --- sessions

    def user_of_session(self) -> User | None:
        """The session's user while the session is fresh; an expired or stale session is cleared."""
        login = session.get("login")
        user = self.users.users.get(login) if isinstance(login, str) else None
        now = self.clock()
        started, seen = session.get("started", 0), session.get("seen", 0)
        if user is None or session.get("stamp") != user.stamp or not isinstance(started, (int, float)) \
                or not isinstance(seen, (int, float)) or now - started > self.users.max_seconds \
                or now - seen > self.users.idle_seconds:
            session.clear()
            return None
        session["seen"] = now
        return user

    def open_session(self, user: User) -> None:
        session.clear()
        now = self.clock()
        session.update({"login": user.login, "stamp": user.stamp, "started": now, "seen": now})
        session.permanent = False

    # --- requests

    def before_request(self) -> Response | None:
        """Flask hook: None lets the request go on."""
        if request.path in PUBLIC_PATHS or request.endpoint == "static":
            return None
        user = self.user_of_session()
        if user is None:
            return self.unauthorized()
        setattr(g, USER_KEY, user)
        if request.method not in SAFE_METHODS and not self.same_origin():
            return self.refuse(Decision(HTTPStatus.FORBIDDEN, reason="requête refusée : elle ne vient pas de cette page"))
        scopes = self.scopes
        group_slug = next((slug for slug, member in scopes.items() if member is None), None)
        decision = authorize(user, request.method, request.path, scopes, group_slug)
        if decision.location:
            return redirect(decision.location, code=int(decision.status))
        if decision.status != HTTPStatus.OK:
            return self.refuse(decision)
        return None

    def same_origin(self) -> bool:
        """A write must come from a page of this server (Origin or Referer on the same host)."""
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if not origin:
            return True  # not a browser (the test client, a script on the machine)
        return urlsplit(origin).netloc == request.host

    def unauthorized(self) -> Response:
        if _wants_json(request.path) or request.method not in SAFE_METHODS:
            response = jsonify({"error": "connexion requise"})
        else:
            response = Response(login_page(request.full_path.rstrip("?")), mimetype="text/html")
        response.status_code = HTTPStatus.UNAUTHORIZED
        return response

    def refuse(self, decision: Decision) -> Response:
        if _wants_json(request.path):
            response = jsonify({"error": decision.reason})
        else:
            response = Response(_page("Accès refusé", f"<p>{escape(decision.reason)}</p>"
                                      "<p><a href=\"/\">Retour</a> — <a href=\"/logout\">Se déconnecter</a></p>"),
                                mimetype="text/html")
        response.status_code = decision.status
        return response

    # --- the log-in pages

    def login(self) -> Response:
        if request.method == "GET":
            return Response(login_page(safe_next(request.args.get("next"))), mimetype="text/html")
        login = request.form.get("login", "").strip().lower()
        password = request.form.get("password", "")
        target = safe_next(request.form.get("next"))
        key = (login, request.remote_addr or "")
        wait = self.throttle.wait(key)
        if wait > 0:
            response = Response(login_page(target, f"Trop d'essais manqués : réessayez dans {int(wait) + 1} s."),
                                mimetype="text/html", status=HTTPStatus.TOO_MANY_REQUESTS)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        user = self.users.users.get(login)
        ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        if not ok or user is None:
            self.throttle.failed(key)
            return Response(login_page(target, "Identifiant ou mot de passe incorrect."), mimetype="text/html",
                            status=HTTPStatus.UNAUTHORIZED)
        self.throttle.succeeded(key)
        self.open_session(user)
        return redirect(target, code=HTTPStatus.SEE_OTHER)

    def logout(self) -> Response:
        session.clear()
        return Response(login_page("/", "Vous êtes déconnecté·e."), mimetype="text/html")


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(title)}</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#222}"
            "label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;font-size:1rem;box-sizing:border-box}"
            "button{margin-top:1.2rem;padding:.5rem 1.2rem;font-size:1rem}.error{color:#a40000}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}</body></html>")


def login_page(target: str, message: str = "") -> str:
    """The French log-in form."""
    note = f"<p class=\"error\" role=\"alert\">{escape(message)}</p>" if message else ""
    return _page("Comptasso — connexion", (
        f"{note}<form method=\"post\" action=\"/login\">"
        f"<input type=\"hidden\" name=\"next\" value=\"{escape(safe_next(target))}\">"
        "<label for=\"login\">Identifiant</label><input id=\"login\" name=\"login\" autocomplete=\"username\" required>"
        "<label for=\"password\">Mot de passe</label>"
        "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
        "<button type=\"submit\">Se connecter</button></form>"))


def install(app: Flask, users: Users, scopes: Mapping[str, str | None], *, clock: Clock = time.time,
            throttle: Throttle | None = None) -> AccessGuard:
    """Require a log-in on every request of `app`; the guard runs before every other hook."""
    guard = AccessGuard(users, scopes, clock=clock, throttle=throttle)
    guard.members_by_file = {ledger.beancount_file_path: scopes[slug]
                             for slug, ledger in app.config["LEDGERS"].items() if slug in scopes}
    app.secret_key = secrets.token_bytes(32)
    app.config.update(SESSION_COOKIE_NAME="comptasso_session", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=users.secure_cookie)
    app.add_url_rule("/login", "comptasso_login", guard.login, methods=["GET", "POST"])
    app.add_url_rule("/logout", "comptasso_logout", guard.logout, methods=["GET", "POST"])
    app.before_request_funcs.setdefault(None, []).insert(0, guard.before_request)
    app.extensions["comptasso_access"] = guard
    restrict_ledger_list(app)
    return guard


# ----------------------------------------------------------------------------- the ledger switcher

#: Fava's JSON endpoint of the report-independent ledger data (`/<bfile>/api/ledger_data`).
LEDGER_DATA_ENDPOINT = "json_api.get_ledger_data"


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
    ledgers = dict(current_app.config["LEDGERS"].items())
    scopes = guard.scopes
    group_slug = next((slug for slug, member in scopes.items() if member is None), None)
    slug_of_url = {url_for("index", bfile=slug): slug for slug in scopes}
    kept: list[tuple[str, str]] = []
    for title, url in entries:
        slug = slug_of_url.get(url)
        if slug is None:
            continue  # a ledger renamed since the start: its scope is unknown, so it is not listed
        ledger = ledgers.get(slug)
        has_pool = ledger is not None and ledger.extensions.get_extension(POOL_EXTENSION) is not None
        path = ledger_link(user, slug, scopes, group_slug, has_pool=has_pool)
        if path is not None:
            kept.append((title, url + path.removeprefix(f"/{slug}/")))  # Fava's url: script root, quoting
    return kept


def restrict_ledger_list(app: Flask) -> None:
    """Fava's ledger switcher (page and `api/ledger_data`) lists only the ledgers the user may open."""
    guard: AccessGuard = app.extensions["comptasso_access"]
    fava_ledger_data = app.jinja_env.globals["get_ledger_data"]

    def ledger_data() -> LedgerData:
        data = fava_ledger_data()
        return replace(data, other_ledgers=visible_ledgers(data.other_ledgers, guard))

    app.add_template_global(ledger_data, "get_ledger_data")
    fava_view = app.view_functions[LEDGER_DATA_ENDPOINT]

    @functools.wraps(fava_view)
    def ledger_data_view(*args: object, **kwargs: object) -> Response:
        response = app.make_response(fava_view(*args, **kwargs))
        payload = response.get_json(silent=True) if response.status_code == HTTPStatus.OK else None
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            payload["data"]["other_ledgers"] = visible_ledgers(payload["data"].get("other_ledgers", []), guard)
            response.set_data(app.json.dumps(payload))
        return response

    app.view_functions[LEDGER_DATA_ENDPOINT] = ledger_data_view


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
