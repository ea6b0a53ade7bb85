"""`comptasso serve`: Fava over every member ledger and the consolidated group view, checked first.

The books are checked with the group's safety rules before Fava sees a single file, and again
whenever a file changes while Fava runs: a member ledger that loads a plugin or a Fava extension
that is not on `rules/plugins.toml`, sets a Fava option that is not on `rules/fava.toml`, sets
`option "documents"`, or names a file outside its folder (include, document) is refused before Fava
reloads it. Every request that names a file is confined to the member's folder, the engine's file
is never written through Fava, and Fava's writes hold the member's lock (SafetyGuard).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from http import HTTPStatus
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
from beancount.core import data
from beancount.parser import parser
from flask import Flask, Response, g, jsonify, request
from flask_babel import Babel  # type: ignore[import-untyped]  # flask-babel ships no type hints
from werkzeug.middleware.proxy_fix import ProxyFix

from comptasso.atomic import locked
from comptasso.books.facade import default_cache_dir, load_one, open_books
from comptasso.books.fava_rules import DOCUMENTS_FOLDER, FavaRules, load_fava_rules
from comptasso.books.group import load_group
from comptasso.books.loading import MemberLedger, digest, gc_paused, load_group_view, unsafe_problems
from comptasso.books.safety import check_file, fava_entry_problems, inside
from comptasso.cli.util import ISO_DATE, books_options, fail, progress
from comptasso.model.checks import ENGINE_FILE
from comptasso.plugins.consolidation import GROUP_LEDGER, PLUGIN, group_ledger_text, parse_config, to_error
from comptasso.problems import Problem, errors_only
from comptasso.web import fava_adapter as fava
from comptasso.web.access import PUBLIC_PATHS, SAFE_METHODS, USERS_FILE, Users, current_user, load_users
from comptasso.web.access import install as install_access
from comptasso.web.controls import head_html

DEFAULT_LANGUAGE = "fr"
#: Addresses that only this computer reaches.
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
#: How long a Fava write waits for the member's lock (held by the importer or the advance writer).
WRITE_LOCK_SECONDS = 10.0
#: Fava options comptasso writes into the group view it generates (comptasso.plugins.consolidation).
GROUP_VIEW_OPTIONS = frozenset({"language", "locale"})
#: Fava options every served view gets unless its ledger sets them (never written into the books):
#: French number formatting (`12 090,54`) and French pages. Only the options `rules/fava.toml`
#: allows are given (a group that removes `locale` from the list keeps Fava's default).
SERVED_OPTIONS: Mapping[str, str] = {"locale": "fr_FR", "language": DEFAULT_LANGUAGE}
#: Flask config key: the rules folder of `comptasso serve --rules` (read by the BanquAsso extension).
RULES_CONFIG = "COMPTASSO_RULES"

#: Set to 1 to make Fava poll the files' modification times instead of using file notifications.
POLL_WATCHER_ENV = "COMPTASSO_POLL_WATCHER"
#: Flask config key: the day the BanquAsso pages show by default (`comptasso serve --as-of`).
AS_OF_CONFIG = "COMPTASSO_AS_OF"


@dataclass(frozen=True)
class ServedLedger:
    """One Beancount file handed to Fava, and the rules its files must keep."""

    path: Path
    folder: Path
    allowed: frozenset[str]
    member_id: str | None
    fava_rules: FavaRules = field(default_factory=FavaRules)
    #: The group's ledgers folder (for the member locks); None: no lock is taken.
    ledgers_dir: Path | None = None
    #: The rules folder of `--rules`, for the BanquAsso extension.
    rules_dir: Path | None = None

    @property
    def label(self) -> str:
        return self.member_id or "vue consolidée"

    @property
    def documents(self) -> Path:
        """Where uploads land, when `rules/fava.toml` enables them: `documents/` in the member's folder."""
        return self.folder / DOCUMENTS_FOLDER


def fava_problems(entries: Iterable[data.Directive], served: ServedLedger) -> list[Problem]:
    """What a served file asks of Fava against the group's rules (comptasso.books.safety)."""
    return fava_entry_problems(entries, served.folder, served.allowed, served.fava_rules)


def ledger_problems(served: ServedLedger) -> list[Problem]:
    """Re-read a served file and its includes from disk, running nothing: what makes it unsafe."""
    entries, unsafe = unsafe_problems(served.path, served.folder, served.allowed)
    return unsafe + fava_problems(entries, served)


def text_problems(filename: str, text: str, served: ServedLedger) -> list[Problem]:
    """What makes a text about to be written to `filename` unsafe (its includes read from disk)."""
    entries, _errors, options = parser.parse_string(text, filename)
    includes, problems = check_file(filename, text, options, served.folder, served.allowed)
    problems += fava_problems(entries, served)
    for match in includes:
        for included in match.matches:
            if Path(included).resolve() != Path(filename).resolve():
                more_entries, more = unsafe_problems(Path(included), served.folder, served.allowed)
                problems += more + fava_problems(more_entries, served)
    return problems


def group_rules_problems(group_file: Path, rules_dir: Path) -> list[Problem]:
    """The group view's consolidation plugin must read the rules of `--rules`: never overridden silently."""
    try:
        text = group_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    _entries, _errors, options = parser.parse_string(text, str(group_file))
    problems = []
    for module, config in options.get("plugin", []):
        if module != PLUGIN:
            continue
        parsed, _error = parse_config(config, group_file.parent)
        if parsed is not None and parsed.rules_dir != Path(rules_dir).resolve():
            line = next((n for n, row in enumerate(text.splitlines(), 1) if PLUGIN in row), 0)
            problems.append(Problem(
                str(group_file), line,
                f"la vue consolidée lit les règles de {parsed.rules_dir}, pas celles de --rules "
                f"{Path(rules_dir).resolve()} : écrivez le dossier dans la ligne du greffon "
                f'(plugin "{PLUGIN}" "group.toml;rules=…")', code="group-rules-mismatch"))
    return problems


def prepare(ledgers_dir: Path, rules_dir: Path, workdir: Path) -> tuple[list[ServedLedger], list[Problem]]:
    """Check every ledger; on success, the files to serve (members first, then the group view).

    Without `ledgers/group.beancount`, a group view is written in `workdir` (never in the books).
    """
    books, problems = open_books(ledgers_dir, rules_dir, progress=progress)
    if books is None:
        return [], problems
    errors = errors_only(problems)
    rules, more = load_fava_rules(Path(rules_dir))
    errors += more
    allowed = books.reference.allowed_plugins
    group_dir = books.group.ledgers_dir.resolve()
    rules_path = Path(rules_dir).resolve()
    served = [ServedLedger(m.ledger, m.folder, allowed, m.id, rules, group_dir, rules_path) for m in books.members]
    for member, item in zip(books.members, served, strict=True):
        entries = books.ledgers[member.id].entries
        if not entries:  # refused before booking: read its directives without running anything
            entries, _unsafe = unsafe_problems(member.ledger, member.folder, allowed)
        errors += fava_problems(entries, item)
    group_file = books.group.ledgers_dir / GROUP_LEDGER
    if group_file.is_file():
        errors += group_rules_problems(group_file, rules_path)
    else:
        group_file = workdir / GROUP_LEDGER
        config = f"{books.group.file.resolve()};rules={rules_path}"
        group_file.write_text(group_ledger_text(books.group.name, config), encoding="utf-8")
        progress(f"{books.group.ledgers_dir / GROUP_LEDGER} absent : vue consolidée provisoire {group_file}")
    group_rules = replace(rules, allowed_options=rules.allowed_options | GROUP_VIEW_OPTIONS)
    group = ServedLedger(group_file.resolve(), group_dir, allowed | {PLUGIN}, None, group_rules, group_dir, rules_path)
    errors += errors_only(ledger_problems(group))
    if errors:
        return [], errors
    return [*served, group], []


def fava_loader(member_id: str, path: Path, allowed: frozenset[str],
                cache_dir: Path) -> Callable[[], tuple[list[Any], list[Any], dict[str, Any]]]:
    """How Fava loads a member ledger: through the books' own loading and cache, not Beancount's loader.

    The member's directives are then the very objects `open_books` hands the consolidated group view
    and the BanquAsso pages in this process (comptasso.books.cache keeps them in memory): the group of
    200 members is parsed or unpickled once, not once for Fava, once for the group view and once per
    page. The loading is the same pipeline as Beancount's (parse, book, plugins, validate), safety
    checked before any plugin; Fava gets its own list and options (the directives are shared).
    """

    return lambda: _for_fava(load_one(member_id, path, allowed, cache_dir))


def group_view_loader(path: Path, folder: Path, allowed: frozenset[str]) -> Callable[[], tuple[list[Any], list[Any],
                                                                                            dict[str, Any]]]:
    """How Fava loads the group view: `load_group_view` (what the members' loads checked is not checked twice)."""
    return lambda: _for_fava(load_group_view(path, folder, allowed))


def _for_fava(ledger: MemberLedger) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """What Fava's loader returns: entries, Beancount-style errors (file and line) and options."""
    errors = [to_error(p) for p in ledger.problems if p.is_error]
    return list(ledger.entries), errors, dict(ledger.options)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _problem_list(problems: Sequence[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


class SafetyGuard:
    """Runs before Fava on every request: re-checks changed files, vets what Fava would read or write.

    Every file a request names (a document to read, delete or move, an upload, a source to write)
    must lie inside the member's folder, resolved with its symlinks; the engine's own file
    (`banquasso.beancount`) is never written through Fava; every write holds the member's lock,
    the one the importer and the advance writer take.
    """

    def __init__(self, served: Sequence[ServedLedger]):
        self._by_path = {str(s.path): s for s in served}
        self._members = [s for s in served if s.member_id is not None]
        self._checked: dict[str, dict[str, str]] = {}
        self._blocked: dict[str, list[Problem]] = {}
        self._lock = threading.Lock()

    def served(self, filename: str) -> ServedLedger | None:
        return self._by_path.get(filename)

    def owner(self, filename: str, served: ServedLedger) -> ServedLedger:
        """The member whose folder holds a file (the group view edits members' files too)."""
        for member in self._members:
            if inside(filename, member.folder):
                return member
        return served

    def problems(self, served: ServedLedger, files: Iterable[str]) -> list[Problem]:
        """The unsafe problems of a served file, re-checked only when a file's content changed."""
        current = {}
        for filename in sorted({str(served.path), *files}):
            try:
                current[filename] = digest(filename)
            except OSError:
                current[filename] = ""
        key = str(served.path)
        with self._lock:
            if self._checked.get(key) != current:
                self._blocked[key] = errors_only(ledger_problems(served))
                self._checked[key] = current
            return self._blocked[key]

    def write_problems(self, served: ServedLedger) -> list[Problem]:
        """What is wrong with the text a write request would put into the books."""
        body = request.get_json(silent=True)
        if request.endpoint in fava.NO_WRITE:
            return []
        if request.endpoint in fava.SOURCE_WRITES and isinstance(body, dict) and isinstance(body.get("source"), str):
            filename = str(body.get("file_path") or served.path)
            return errors_only(text_problems(filename, body["source"], self.owner(filename, served)))
        texts = [*_strings(body), *_strings(request.form.to_dict())]
        if any("\n" in t or "\r" in t for t in texts):
            return [Problem(str(served.path), 0, "saisie refusée : un retour à la ligne n'est permis "
                                                 "que dans l'éditeur", code="write-line-break")]
        return []

    def written_files(self, ledger: Any, served: ServedLedger) -> list[str]:
        """The source files a write request would change (best known before Fava runs)."""
        endpoint = request.endpoint or ""
        args = fava.api_arguments()
        files = []
        if endpoint == "json_api.put_source":
            files.append(str(args.get("file_path") or served.path))
        if endpoint in fava.ENTRY_WRITES or (endpoint == fava.ADD_DOCUMENT and request.form.get("hash")):
            entry_hash = str(args.get("entry_hash") or request.form.get("hash") or "")
            found = fava.entry_file(ledger, entry_hash)
            if found:
                files.append(found)
        return files

    def path_refusal(self, ledger: Any, served: ServedLedger) -> str | None:
        """Why a request's files are refused (None: they are all inside the member's folder)."""
        endpoint = request.endpoint or ""
        names = fava.requested_files()
        if endpoint == "statement":
            found = fava.statement_file(ledger)
            names = [found] if found else []
        for name in names:
            if not name or not inside(name, served.folder):
                return f"fichier « {name} » refusé : hors du dossier {served.folder}"
        if endpoint == fava.DELETE_DOCUMENT:
            for name in names:
                if Path(name).suffix.lower().lstrip(".") not in served.fava_rules.upload_extensions:
                    return f"suppression de « {name} » refusée : ce n'est pas un justificatif"
        if endpoint in fava.UPLOADS:
            return self.upload_refusal(endpoint, served)
        if request.method not in SAFE_METHODS:
            for name in self.written_files(ledger, served):
                if Path(name).name == ENGINE_FILE:
                    return (f"écriture refusée : {ENGINE_FILE} est le fichier du moteur BanquAsso, "
                            "il ne se modifie pas dans Fava")
                if not inside(name, served.folder):
                    return f"écriture refusée : « {name} » est hors du dossier {served.folder}"
        return None

    def upload_refusal(self, endpoint: str, served: ServedLedger) -> str | None:
        """Uploads: off unless `rules/fava.toml` enables them, then only into the member's documents folder."""
        rules = served.fava_rules
        if not rules.uploads_enabled or served.member_id is None:
            return "dépôt de fichiers refusé : il n'est pas activé (rules/fava.toml, [uploads])"
        if endpoint != fava.ADD_DOCUMENT:
            return "dépôt refusé : seuls les justificatifs se déposent, dans le dossier documents du membre"
        folder = fava.upload_folder()
        if folder and Path(folder).resolve() != served.documents.resolve():
            return f"dépôt refusé : le dossier « {folder} » n'est pas {served.documents}"
        for name in fava.uploaded_names():
            extension = Path(name).suffix.lower().lstrip(".")
            if extension not in rules.upload_extensions or Path(name).name != name or name.startswith("."):
                return (f"dépôt de « {name} » refusé : extensions permises "
                        f"{', '.join(sorted(rules.upload_extensions))}")
        return None

    def take_lock(self, ledger: Any, served: ServedLedger) -> Response | None:
        """Hold the member's write lock until the request ends (released in `release`)."""
        targets = [*self.written_files(ledger, served), str(served.path)]
        target = next((t for t in targets if served.ledgers_dir and inside(t, served.ledgers_dir)), None)
        if target is None or served.ledgers_dir is None:
            return None
        context = locked(Path(target), served.ledgers_dir, WRITE_LOCK_SECONDS)
        try:
            context.__enter__()
        except TimeoutError:
            return _refusal([Problem(str(served.path), 0, "livre occupé par une autre écriture (import, avance) : "
                                                          "réessayez dans un instant", code="write-locked")],
                            HTTPStatus.SERVICE_UNAVAILABLE)
        g.comptasso_write_lock = context
        return None

    @staticmethod
    def release(_error: BaseException | None = None) -> None:
        """Flask teardown: release the write lock of the request, if any."""
        context = getattr(g, "comptasso_write_lock", None)
        if context is not None:
            delattr(g, "comptasso_write_lock")
            context.__exit__(None, None, None)

    def before_request(self) -> Response | None:
        """Flask hook: None lets Fava go on; a response stops the request."""
        ledger = fava.request_ledger()
        served = self._by_path.get(fava.ledger_file(ledger)) if ledger is not None else None
        if ledger is None or served is None:
            return None
        if request.method != "GET":
            refused = self.write_problems(served)
            if refused:
                return _refusal(refused, HTTPStatus.BAD_REQUEST)
        blocked = self.problems(served, fava.ledger_files(ledger))
        if blocked:
            return _refusal(blocked, HTTPStatus.SERVICE_UNAVAILABLE, served)
        reason = self.path_refusal(ledger, served)
        if reason:
            return _refusal([Problem(str(served.path), 0, reason, code="fava-path-refused")], HTTPStatus.FORBIDDEN)
        if request.method not in SAFE_METHODS and request.endpoint not in fava.NO_WRITE:
            return self.take_lock(ledger, served)
        return None


def read_only_hook() -> Response | None:
    """`--read-only`: no write reaches Fava, but the log-in and log-out forms still work."""
    if request.method in SAFE_METHODS or request.path in PUBLIC_PATHS:
        return None
    response = jsonify({"error": "Fava est ouvert en lecture seule (--read-only)"})
    response.status_code = HTTPStatus.UNAUTHORIZED
    return response


def _refusal(problems: Sequence[Problem], status: HTTPStatus, served: ServedLedger | None = None) -> Response:
    text = _problem_list(problems)
    if request.blueprint == "json_api":
        response = jsonify({"error": text})
    else:
        title = f"Livre refusé ({served.label})" if served else "Saisie refusée"
        response = Response(
            f"<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"</head><body><h1>{escape(title)}</h1><p>Corrigez le fichier puis rechargez la page.</p>"
            f"<pre>{escape(text)}</pre></body></html>",
            mimetype="text/html",
        )
    response.status_code = status
    return response


def _locale() -> str:
    """The ledger's `fava-option "language"`, else French (Fava itself would follow the browser)."""
    ledger = fava.request_ledger()
    return (fava.ledger_language(ledger) if ledger is not None else None) or DEFAULT_LANGUAGE


def served_options(served: ServedLedger | None) -> dict[str, str]:
    """The French defaults a served view gets, cut to the options `rules/fava.toml` allows."""
    allowed = served.fava_rules.allowed_options if served is not None else FavaRules().allowed_options
    return {key: value for key, value in SERVED_OPTIONS.items() if key in allowed}


def _user_reads_only() -> bool:
    user = current_user()
    return user is not None and user.read_only


def group_name(served: Sequence[ServedLedger]) -> str:
    """The group's name from `group.toml` (for the log-in page); '' when it cannot be read."""
    folder = next((s.ledgers_dir for s in served if s.ledgers_dir is not None), None)
    group, _problems = load_group(folder) if folder is not None else (None, [])
    return group.name if group is not None else ""


def build_app(served: Sequence[ServedLedger], *, read_only: bool = False, load: bool = True,
              users: Users | None = None, poll_watcher: bool | None = None, trusted_proxies: int = 0) -> Flask:
    """Fava's app over the served files, in French by default, guarded by the safety rules.

    With `users`, a log-in is required and each role sees its scope (comptasso.web.access).
    `poll_watcher` (default: `$COMPTASSO_POLL_WATCHER` = 1) makes Fava look for changed files by
    their modification time instead of the system's file notifications, which network folders
    (NFS, SMB) do not send and which a machine may run out of. `trusted_proxies` is the number of
    reverse proxies in front of the server whose `X-Forwarded-*` headers are believed (0: none).
    """
    if poll_watcher is None:
        poll_watcher = os.environ.get(POLL_WATCHER_ENV) == "1"
    for item in served:
        if item.member_id is not None and item.ledgers_dir is not None:
            fava.load_with(item.path, fava_loader(item.member_id, item.path, item.allowed,
                                                  default_cache_dir(item.ledgers_dir)))
        elif item.member_id is None and PLUGIN in item.allowed:
            fava.load_with(item.path, group_view_loader(item.path, item.folder, item.allowed))
    app = fava.create([s.path for s in served], load=load, poll_watcher=poll_watcher)
    Babel(app, locale_selector=_locale, default_locale=DEFAULT_LANGUAGE)
    app.config[RULES_CONFIG] = next((s.rules_dir for s in served if s.rules_dir is not None), None)
    guard = SafetyGuard(served)
    fava.with_default_options(app, lambda ledger: served_options(guard.served(fava.ledger_file(ledger))))
    fava.inject_into_head(app, lambda: head_html(read_only=read_only or _user_reads_only()))
    fava.defer_reloads(app)  # a page that reads the files itself does not wait for Fava's reload of the group view
    fava.hook_first(app, guard.before_request)
    app.teardown_request(guard.release)
    if any(s.fava_rules.uploads_enabled for s in served):
        fava.with_documents_folder(app, lambda path: s.documents if (s := guard.served(path)) else None)
    if read_only:
        fava.hook_first(app, read_only_hook)
    if users is not None:  # --- access (log-in and roles): runs before the safety guard
        by_path = {str(s.path): s.member_id for s in served}
        scopes = {slug: by_path.get(fava.ledger_file(ledger)) for slug, ledger in fava.ledgers(app)}
        install_access(app, users, scopes, group_name=group_name(served))
    if trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies,  # type: ignore[method-assign]
                                x_host=trusted_proxies, x_port=trusted_proxies, x_prefix=trusted_proxies)
    return app


@contextlib.contextmanager
def lasting_heap() -> Iterator[None]:
    """The server's start: the collector paused while the books and Fava's structures are built, then settled.

    The books of 200 members are about 600 MiB of small objects that live as long as the server.
    Built with the collector running, each would be scanned three times or more as it moved through
    the collector's generations (a third of the start at 200 members), and again by every later
    full collection. So the start runs with the collector paused, then collects once and freezes
    what is alive (`settle_heap`).
    """
    with gc_paused():
        yield
        settle_heap()  # before the collector runs again: it would scan the new heap once more first


def settle_heap() -> int:
    """Collect the garbage once, then freeze what is alive (`gc.freeze`): never scanned again.

    Reference counting still frees a frozen object when nothing refers to it any more (a save
    replaces a ledger: directives hold no cycles). The collection first is what makes this safe: a
    garbage cycle holding a resource (a database connection, a file) is freed now, not frozen for
    the server's life. Only the server's start calls it; returns the number of objects frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def users_or_exit(users_file: Path | None, rules_dir: Path, served: Sequence[ServedLedger],
                  host: str) -> Users | None:
    """The users of --users (default rules/users.toml); without any, only 127.0.0.1 is served."""
    path = users_file or Path(rules_dir) / USERS_FILE
    if users_file is None and not path.is_file():
        if host not in LOOPBACK:
            raise click.UsageError(f"sans fichier d'utilisateurs ({path}), Fava n'a pas de connexion : "
                                   "il n'écoute que sur 127.0.0.1 (retirez --host ou créez le fichier)")
        progress(f"{path} absent : pas de connexion, Fava n'est ouvert que sur cet ordinateur (127.0.0.1)")
        return None
    users, problems = load_users(path, [s.member_id for s in served if s.member_id])
    if users is None:
        fail(problems)
    progress(f"Connexion requise : {len(users.users)} utilisateur(s) dans {path}")
    return users


def run_server(app: Flask, host: str, port: int) -> None:
    """Serve with cheroot, as Fava's own command does."""
    from cheroot.wsgi import Server

    server = Server((host, port), app)
    try:
        server.start()
    except KeyboardInterrupt:
        click.echo("Arrêt de Fava.", err=True)
        server.stop()
    except OSError as error:
        raise click.UsageError(f"impossible d'écouter sur {host}:{port} ({error}) : "
                               "choisissez un autre port avec --port") from error


@click.command("serve")
@books_options
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="Port d'écoute.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Adresse d'écoute (127.0.0.1 : cet ordinateur seulement).")
@click.option("--read-only", is_flag=True, help="Lecture seule : aucune modification par Fava.")
@click.option("--users", "users_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Fichier des utilisateurs (défaut : users.toml du dossier des règles, s'il existe).")
@click.option("--as-of", "as_of", type=ISO_DATE, default=None,
              help="Jour affiché par défaut dans les pages BanquAsso (défaut : aujourd'hui).")
@click.option("--poll-watcher", is_flag=True,
              help="Surveiller les fichiers par leur date de modification (dossiers réseau NFS, SMB).")
@click.option("--trusted-proxies", type=click.IntRange(0, 5), default=0, show_default=True,
              help="Nombre de proxys inverses devant le serveur dont on croit les en-têtes X-Forwarded-*.")
@click.option("--scheduler", "with_scheduler", is_flag=True,
              help="Faire tourner aussi le planificateur (travaux du matin et relevé mensuel) dans ce processus.")
def serve_command(ledgers_dir: Path, rules_dir: Path, port: int, host: str, read_only: bool,
                  users_file: Path | None, as_of: dt.date | None = None, poll_watcher: bool = False,
                  with_scheduler: bool = False, trusted_proxies: int = 0) -> None:
    """Ouvrir Fava sur les livres de chaque membre et sur la vue consolidée du groupe."""
    with tempfile.TemporaryDirectory(prefix="comptasso-serve-") as workdir:
        with lasting_heap():
            served, problems = prepare(ledgers_dir, rules_dir, Path(workdir))
            if not served:
                fail(problems)
            host = "127.0.0.1" if host == "localhost" else host
            users = users_or_exit(users_file, rules_dir, served, host)
            progress(f"Chargement de {len(served)} livre(s) dans Fava…")
            app = build_app(served, read_only=read_only, users=users, poll_watcher=poll_watcher or None,
                            trusted_proxies=trusted_proxies)
        app.config[AS_OF_CONFIG] = as_of
        slugs = fava.slugs_by_file(app)
        for item in served:
            progress(f"  {item.label} : http://{host}:{port}/{slugs.get(str(item.path), '')}/")
        progress(f"Fava est ouvert sur http://{host}:{port}/ (Ctrl+C pour arrêter)")
        stop = start_side_service("scheduler", ledgers_dir, rules_dir) if with_scheduler else None
        try:
            run_server(app, host, port)
        finally:
            if stop is not None:
                stop()


SIDE_SERVICES = "comptasso.serve"


def start_side_service(name: str, ledgers_dir: Path, rules_dir: Path) -> Callable[[], None]:
    """Start a service registered under the `comptasso.serve` entry points (BanquAsso's scheduler).

    Comptasso does not import BanquAsso: the scheduler is found by name among the installed entry
    points. Returns the function that stops the service.
    """
    found = [ep for ep in entry_points(group=SIDE_SERVICES) if ep.name == name]
    if not found:
        raise click.UsageError(f"aucun service « {name} » installé (point d'entrée {SIDE_SERVICES})")
    try:
        stop: Callable[[], None] = found[0].load()(Path(ledgers_dir), Path(rules_dir))
    except RuntimeError as error:
        fail([str(error)])
    progress(f"Service « {name} » démarré à côté de Fava.")
    return stop
