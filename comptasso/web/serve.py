"""`comptasso serve`: Fava over every member ledger and the consolidated group view, checked first.

The books are checked with the group's safety rules before Fava sees a single file, and again
whenever a file changes while Fava runs: a member ledger that loads a plugin or a Fava extension
that is not on `rules/plugins.toml`, includes a file outside its folder, or names an import
configuration (Python code) is refused before Fava reloads it.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from http import HTTPStatus
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
from beancount.core import data
from beancount.parser import parser
from flask import Flask, Response, g, jsonify, request
from flask_babel import Babel

from comptasso.web.access import USERS_FILE, Users, load_users
from comptasso.web.access import install as install_access
from comptasso.books.facade import open_books
from comptasso.cli.util import ISO_DATE, books_options, fail, progress
from comptasso.plugins.consolidation import GROUP_LEDGER, PLUGIN, RULES_ENV, group_ledger_text
from comptasso.books.loading import digest, unsafe_problems
from comptasso.problems import Problem, at, errors_only
from comptasso.books.safety import check_file

DEFAULT_LANGUAGE = "fr"
#: Fava options that make Fava run Python code named by the ledger.
CODE_OPTIONS = frozenset({"import-config"})
#: Fava API writes whose text is a whole file or an entry's source, checked by parsing it.
SOURCE_WRITES = frozenset({"json_api.put_source", "json_api.put_source_slice"})
#: Fava API calls that send text but write nothing.
NO_WRITE = frozenset({"json_api.put_format_source"})
#: Addresses that only this computer reaches.
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

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

    @property
    def label(self) -> str:
        return self.member_id or "vue consolidée"


def fava_problems(entries: Iterable[data.Directive], allowed: frozenset[str]) -> list[Problem]:
    """Fava extensions off the allow-list and Fava options that run Python code."""
    problems = []
    for entry in entries:
        if not isinstance(entry, data.Custom) or not entry.values:
            continue
        first = entry.values[0].value
        if entry.type == "fava-extension" and first not in allowed:
            problems.append(at(entry.meta, f"extension Fava « {first} » refusée : elle n'est pas dans "
                                           "la liste autorisée (rules/plugins.toml)"))
        elif entry.type == "fava-option" and first in CODE_OPTIONS:
            problems.append(at(entry.meta, f"option Fava « {first} » refusée : un livre ne peut pas "
                                           "faire exécuter de code Python"))
    return problems


def ledger_problems(served: ServedLedger) -> list[Problem]:
    """Re-read a served file and its includes from disk, running nothing: what makes it unsafe."""
    entries, unsafe = unsafe_problems(served.path, served.folder, served.allowed)
    return unsafe + fava_problems(entries, served.allowed)


def text_problems(filename: str, text: str, served: ServedLedger) -> list[Problem]:
    """What makes a text about to be written to `filename` unsafe (its includes read from disk)."""
    entries, _errors, options = parser.parse_string(text, filename)
    includes, problems = check_file(filename, text, options, served.folder, served.allowed)
    problems += fava_problems(entries, served.allowed)
    for match in includes:
        for included in match.matches:
            if Path(included).resolve() != Path(filename).resolve():
                more_entries, more = unsafe_problems(Path(included), served.folder, served.allowed)
                problems += more + fava_problems(more_entries, served.allowed)
    return problems


def prepare(ledgers_dir: Path, rules_dir: Path, workdir: Path) -> tuple[list[ServedLedger], list[Problem]]:
    """Check every ledger; on success, the files to serve (members first, then the group view).

    Without `ledgers/group.beancount`, a group view is written in `workdir` (never in the books).
    """
    books, problems = open_books(ledgers_dir, rules_dir, progress=progress)
    if books is None:
        return [], problems
    errors = errors_only(problems)
    allowed = books.reference.allowed_plugins
    for member in books.members:
        entries = books.ledgers[member.id].entries
        if not entries:  # refused before booking: read its directives without running anything
            entries, _unsafe = unsafe_problems(member.ledger, member.folder, allowed)
        errors += fava_problems(entries, allowed)
    group_file = books.group.ledgers_dir / GROUP_LEDGER
    if not group_file.is_file():
        group_file = workdir / GROUP_LEDGER
        group_file.write_text(group_ledger_text(books.group.name, str(books.group.file)), encoding="utf-8")
        progress(f"{books.group.ledgers_dir / GROUP_LEDGER} absent : vue consolidée provisoire {group_file}")
    group = ServedLedger(group_file.resolve(), group_file.resolve().parent, allowed | {PLUGIN}, None)
    errors += errors_only(ledger_problems(group))
    if errors:
        return [], errors
    served = [ServedLedger(m.ledger, m.folder, allowed, m.id) for m in books.members]
    return [*served, group], []


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
    """Runs before Fava on every request: re-checks changed files, vets what Fava would write."""

    def __init__(self, served: Sequence[ServedLedger]):
        self._by_path = {str(s.path): s for s in served}
        self._members = [s for s in served if s.member_id is not None]
        self._checked: dict[str, dict[str, str]] = {}
        self._blocked: dict[str, list[Problem]] = {}
        self._lock = threading.Lock()

    def owner(self, filename: str, served: ServedLedger) -> ServedLedger:
        """The member whose folder holds a file (the group view edits members' files too)."""
        path = Path(filename).resolve()
        for member in self._members:
            if path.is_relative_to(member.folder):
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
        if request.endpoint in NO_WRITE:
            return []
        if request.endpoint in SOURCE_WRITES and isinstance(body, dict) and isinstance(body.get("source"), str):
            filename = str(body.get("file_path") or served.path)
            return errors_only(text_problems(filename, body["source"], self.owner(filename, served)))
        texts = [*_strings(body), *_strings(request.form.to_dict())]
        if any("\n" in t or "\r" in t for t in texts):
            return [Problem(str(served.path), 0, "saisie refusée : un retour à la ligne n'est permis "
                                                 "que dans l'éditeur")]
        return []

    def before_request(self) -> Response | None:
        """Flask hook: None lets Fava go on; a response stops the request."""
        ledger = getattr(g, "ledger", None)
        served = self._by_path.get(str(getattr(ledger, "beancount_file_path", "")))
        if ledger is None or served is None:
            return None
        if request.method != "GET":
            refused = self.write_problems(served)
            if refused:
                return _refusal(refused, HTTPStatus.BAD_REQUEST)
        blocked = self.problems(served, ledger.options.get("include", []))
        if blocked:
            return _refusal(blocked, HTTPStatus.SERVICE_UNAVAILABLE, served)
        return None


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
    ledger = getattr(g, "ledger", None)
    language = getattr(getattr(ledger, "fava_options", None), "language", None)
    return language or DEFAULT_LANGUAGE


def build_app(served: Sequence[ServedLedger], *, read_only: bool = False, load: bool = True,
              users: Users | None = None, poll_watcher: bool | None = None) -> Flask:
    """Fava's app over the served files, in French by default, guarded by the safety rules.

    With `users`, a log-in is required and each role sees its scope (comptasso.web.access).
    `poll_watcher` (default: `$COMPTASSO_POLL_WATCHER` = 1) makes Fava look for changed files by
    their modification time instead of the system's file notifications, which network folders
    (NFS, SMB) do not send and which a machine may run out of.
    """
    from fava.application import create_app

    if poll_watcher is None:
        poll_watcher = os.environ.get(POLL_WATCHER_ENV) == "1"
    app = create_app([str(s.path) for s in served], load=load, read_only=read_only, poll_watcher=poll_watcher)
    Babel(app, locale_selector=_locale, default_locale=DEFAULT_LANGUAGE)
    guard = SafetyGuard(served)
    app.before_request_funcs.setdefault(None, []).insert(0, guard.before_request)
    if users is not None:  # --- access (log-in and roles): runs before the safety guard
        by_path = {str(s.path): s.member_id for s in served}
        scopes = {slug: by_path.get(ledger.beancount_file_path) for slug, ledger in app.config["LEDGERS"].items()}
        install_access(app, users, scopes)
    return app


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
@click.option("--scheduler", "with_scheduler", is_flag=True,
              help="Faire tourner aussi le planificateur (travaux du matin et relevé mensuel) dans ce processus.")
def serve_command(ledgers_dir: Path, rules_dir: Path, port: int, host: str, read_only: bool,
                  users_file: Path | None, as_of: dt.date | None = None, poll_watcher: bool = False,
                  with_scheduler: bool = False) -> None:
    """Ouvrir Fava sur les livres de chaque membre et sur la vue consolidée du groupe."""
    os.environ[RULES_ENV] = str(Path(rules_dir).resolve())
    with tempfile.TemporaryDirectory(prefix="comptasso-serve-") as workdir:
        served, problems = prepare(ledgers_dir, rules_dir, Path(workdir))
        if not served:
            fail(problems)
        host = "127.0.0.1" if host == "localhost" else host
        users = users_or_exit(users_file, rules_dir, served, host)
        progress(f"Chargement de {len(served)} livre(s) dans Fava…")
        app = build_app(served, read_only=read_only, users=users, poll_watcher=poll_watcher or None)
        app.config[AS_OF_CONFIG] = as_of
        slugs = {ledger.beancount_file_path: slug for slug, ledger in app.config["LEDGERS"].items()}
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
        stop = found[0].load()(Path(ledgers_dir), Path(rules_dir))
    except RuntimeError as error:
        fail([str(error)])
    progress(f"Service « {name} » démarré à côté de Fava.")
    return stop
