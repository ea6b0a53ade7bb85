"""The one place that touches Fava's internals: its app factory, ledgers, endpoint names and hooks.

`comptasso serve`, the log-in guard and the BanquAsso extension use Fava only through these
functions; `tests/test_fava_adapter.py` pins the behaviour of Fava each one relies on, so a Fava
upgrade that changes it fails that test file, not the server.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.wrappers import Response as BaseResponse

#: Fava's endpoints that read a file named by the request (`?filename=`), or one a document entry names.
DOCUMENT_READS = frozenset({"document", "statement"})
#: Fava's JSON API endpoints, by what they do to the files.
DELETE_DOCUMENT = "json_api.delete_document"
MOVE_DOCUMENT = "json_api.put_move"
ADD_DOCUMENT = "json_api.put_add_document"
UPLOAD_IMPORT = "json_api.put_upload_import_file"
UPLOADS = frozenset({ADD_DOCUMENT, UPLOAD_IMPORT, MOVE_DOCUMENT})
#: Runs the importers on a file named by the request.
EXTRACT = "json_api.get_extract"
#: Writes whose text is a whole file or an entry's source, checked by parsing it.
SOURCE_WRITES = frozenset({"json_api.put_source", "json_api.put_source_slice"})
#: Writes that change the file of the entry named by `entry_hash`.
ENTRY_WRITES = frozenset({"json_api.put_source_slice", "json_api.delete_source_slice",
                          "json_api.put_attach_document"})
#: API calls that send text but write nothing.
NO_WRITE = frozenset({"json_api.put_format_source"})
#: Fava's JSON endpoint of the report-independent ledger data (`/<bfile>/api/ledger_data`).
LEDGER_DATA_ENDPOINT = "json_api.get_ledger_data"
#: The template helper Fava's pages call for the same data.
LEDGER_DATA_GLOBAL = "get_ledger_data"
#: Fava's blueprint of the JSON API.
JSON_API = "json_api"
#: Fava's endpoint of its static files.
STATIC_ENDPOINT = "static"


def create(files: Sequence[Path], *, load: bool, poll_watcher: bool) -> Flask:
    """Fava's Flask app over `files`. Fava's own read-only mode is never used: it refuses the log-in POST too."""
    from fava.application import create_app

    return create_app([str(f) for f in files], load=load, read_only=False, poll_watcher=poll_watcher)


def ledgers(app: Flask) -> list[tuple[str, Any]]:
    """(slug, Fava ledger) of every served file, as Fava names them now (an edited title renames a slug)."""
    return list(app.config["LEDGERS"].items())


def ledger_file(ledger: Any) -> str:
    """The Beancount file a Fava ledger was opened on."""
    return str(ledger.beancount_file_path)


def slugs_by_file(app: Flask) -> dict[str, str]:
    """Served Beancount file → its slug."""
    return {ledger_file(ledger): slug for slug, ledger in ledgers(app)}


def request_ledger() -> Any | None:
    """The Fava ledger the current request is about (None: `/`, `/login`, static files)."""
    return getattr(g, "ledger", None)


def request_slug() -> str | None:
    """The slug of the current request's ledger."""
    slug = getattr(g, "beancount_file_slug", None)
    return slug if isinstance(slug, str) else None


def ledger_files(ledger: Any) -> list[str]:
    """Every file Fava read for a ledger (the main file and its includes)."""
    return [str(f) for f in ledger.options.get("include", [])]


def ledger_language(ledger: Any) -> str | None:
    """The ledger's `fava-option "language"`, if any."""
    language = getattr(getattr(ledger, "fava_options", None), "language", None)
    return language if isinstance(language, str) else None


def has_extension(ledger: Any, name: str) -> bool:
    """Whether a ledger loaded the Fava extension of this class name."""
    return ledger is not None and ledger.extensions.get_extension(name) is not None


def entry_file(ledger: Any, entry_hash: str) -> str | None:
    """The file holding the entry of this hash (None when Fava knows no such entry)."""
    try:
        entry = ledger.get_entry(entry_hash)
    except Exception:  # noqa: BLE001 - Fava raises its own EntryNotFoundForHashError
        return None
    filename = (getattr(entry, "meta", None) or {}).get("filename")
    return str(filename) if filename else None


def api_arguments() -> dict[str, Any]:
    """The arguments of a Fava JSON API call: the query for GET and DELETE, the JSON body for PUT."""
    if request.method in {"GET", "DELETE"}:
        return dict(request.args)
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def requested_files() -> list[str]:
    """The files a request asks Fava to read, delete or move (by name; an entry's document is Fava's to find)."""
    endpoint = request.endpoint or ""
    if endpoint == "document":
        return [request.args.get("filename", "")]
    if endpoint in {DELETE_DOCUMENT, MOVE_DOCUMENT, EXTRACT}:
        name = api_arguments().get("filename", "")
        return [name if isinstance(name, str) else ""]
    return []


def statement_file(ledger: Any) -> str | None:
    """The document Fava's `statement` endpoint would send (None when it would send none)."""
    try:
        return str(ledger.statement_path(request.args.get("entry_hash", ""), request.args.get("key", "")))
    except Exception:  # noqa: BLE001 - Fava raises its own errors when nothing matches
        return None


def uploaded_names() -> list[str]:
    """The file names of a multipart upload."""
    return [f.filename or "" for f in request.files.values()]


def upload_folder() -> str:
    """The folder an `add_document` upload names."""
    return request.form.get("folder", "")


def hook_first(app: Flask, hook: Callable[[], BaseResponse | None]) -> None:
    """Run `hook` before every other before-request hook, Fava's included (so before Fava reloads a file)."""
    app.before_request_funcs.setdefault(None, []).insert(0, hook)


def with_documents_folder(app: Flask, folder_of: Callable[[str], Path | None]) -> None:
    """Make Fava's `add_document` upload into the folder the group sets for the ledger, never one a ledger names.

    Fava saves an upload only into a folder of the ledger's `documents` option; a ledger may not set
    that option (comptasso.books.safety), so the folder is set here, just before Fava's view runs.
    """
    view = app.view_functions[ADD_DOCUMENT]

    @functools.wraps(view)
    def add_document(*args: object, **kwargs: object) -> Any:
        ledger = request_ledger()
        folder = folder_of(ledger_file(ledger)) if ledger is not None else None
        if ledger is not None and folder is not None:
            ledger.options["documents"] = [str(folder)]
        return view(*args, **kwargs)

    app.view_functions[ADD_DOCUMENT] = add_document


def filter_ledger_list(app: Flask, keep: Callable[[Sequence[Sequence[str]]], list[tuple[str, str]]]) -> None:
    """Pass Fava's ledger switcher (`other_ledgers`: the page helper and `api/ledger_data`) through `keep`."""
    fava_ledger_data = app.jinja_env.globals[LEDGER_DATA_GLOBAL]

    def ledger_data() -> Any:
        data = fava_ledger_data()  # type: ignore[operator]
        return replace(data, other_ledgers=keep(data.other_ledgers))

    app.add_template_global(ledger_data, LEDGER_DATA_GLOBAL)
    fava_view = app.view_functions[LEDGER_DATA_ENDPOINT]

    @functools.wraps(fava_view)
    def ledger_data_view(*args: object, **kwargs: object) -> Response:
        answer: Any = fava_view(*args, **kwargs)
        response = app.make_response(answer)
        payload = response.get_json(silent=True) if response.status_code == HTTPStatus.OK else None
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            payload["data"]["other_ledgers"] = keep(payload["data"].get("other_ledgers", []))
            response.set_data(app.json.dumps(payload))
        return response

    app.view_functions[LEDGER_DATA_ENDPOINT] = ledger_data_view


def ledger_url(slug: str) -> str:
    """Fava's URL of a ledger's home (in a request context: script root and quoting)."""
    from flask import url_for

    return url_for("index", bfile=slug)


#: Marks a ledger's Fava options object once the served defaults are applied (a reload parses a new one).
_DEFAULTED = "_comptasso_defaulted_options"


def apply_default_options(ledger: Any, defaults: Mapping[str, str]) -> bool:
    """Give a loaded ledger the Fava options of `defaults` it does not set itself (`locale`, `language`).

    Goes through Fava's own option setters (so an unknown locale is refused the way Fava refuses it)
    and rebuilds Fava's number formatter; the ledger's files are not touched. Returns True when
    something changed. Idempotent: the options object Fava parsed is marked once done.
    """
    options = ledger.fava_options
    if getattr(options, _DEFAULTED, False):
        return False
    changed = False
    for key, value in defaults.items():
        attribute = key.replace("-", "_")
        if getattr(options, attribute, None) is not None:
            continue  # the ledger chose its own
        setter = getattr(options, f"set_{attribute}", None)
        if callable(setter):
            setter(value)
        else:
            setattr(options, attribute, value)
        changed = True
    if changed:
        ledger.format_decimal.load_file()
    setattr(options, _DEFAULTED, True)  # FavaLedger has slots; its options object is Fava's plain dataclass
    return changed


def with_default_options(app: Flask, defaults_of: Callable[[Any], Mapping[str, str]]) -> None:
    """Before each request (after Fava's own reload check), give its ledger the served default options."""

    def hook() -> None:
        ledger = request_ledger()
        if ledger is not None:
            apply_default_options(ledger, defaults_of(ledger))

    app.before_request(hook)  # appended: runs after Fava's `_perform_global_filters`, which reloads


def inject_into_head(app: Flask, html_of: Callable[[], str]) -> None:
    """Insert `html_of()` at the start of `<head>` of every HTML page (Fava's pages, the extension's)."""

    def after(response: Response) -> Response:
        if response.mimetype != "text/html" or response.direct_passthrough:
            return response
        html = html_of()
        if html:
            body = response.get_data(as_text=True)
            if "<head>" in body:
                response.set_data(body.replace("<head>", "<head>" + html, 1))
        return response

    app.after_request(after)


#: Loaders comptasso gives Fava for some files (resolved path → (entries, errors, options)).
_LOADERS: dict[str, Callable[[], tuple[list[Any], list[Any], dict[str, Any]]]] = {}


def load_with(path: Path, load: Callable[[], tuple[list[Any], list[Any], dict[str, Any]]]) -> None:
    """Make Fava load `path` (on start and on every reload) through `load` instead of Beancount's loader.

    Fava's `FavaLedger.load_file` calls `fava.core.load_uncached(path, is_encrypted=…)`; that name is
    wrapped once per process, and a file without a loader of its own is loaded by Fava's as before.
    """
    from fava import core

    _LOADERS[str(Path(path).resolve())] = load
    original: Any = getattr(core, "load_uncached")  # noqa: B009 - not in fava.core's exported names
    if getattr(original, "comptasso_loader", False):
        return

    def load_uncached(beancount_file_path: str, *, is_encrypted: bool) -> Any:
        custom = _LOADERS.get(str(Path(beancount_file_path).resolve()))
        if custom is None or is_encrypted:
            return original(beancount_file_path, is_encrypted=is_encrypted)
        return custom()

    load_uncached.comptasso_loader = True  # type: ignore[attr-defined]
    setattr(core, "load_uncached", load_uncached)  # noqa: B010


#: Fava's endpoints of an extension's pages: its report (`/<bfile>/extension/<name>/`) and its endpoints.
EXTENSION_REPORT = "extension_report"
EXTENSION_ENDPOINT = "extension_endpoint"
#: The method by which a Fava extension says that a page of it reads the files itself (see `defer_reloads`).
DEFERS_RELOAD = "defers_reload"


def request_extension_page() -> tuple[Any, str] | None:
    """(extension, endpoint) when the request is an extension's page ('' for its report), else None."""
    ledger = request_ledger()
    if ledger is None or request.endpoint not in {EXTENSION_REPORT, EXTENSION_ENDPOINT}:
        return None
    args = request.view_args or {}
    extension = ledger.extensions.get_extension(str(args.get("extension_name", "")))
    if extension is None:
        return None
    return extension, str(args.get("endpoint", "")) if request.endpoint == EXTENSION_ENDPOINT else ""


def extension_defers_reload() -> bool:
    """Whether the request's extension page says it reads the files itself (`defers_reload(endpoint)` → True)."""
    page = request_extension_page()
    if page is None:
        return False
    extension, endpoint = page
    defers = getattr(extension, DEFERS_RELOAD, None)
    return bool(defers(endpoint)) if callable(defers) else False


class DeferredReloads:
    """Let a page that reads the files itself answer without waiting for Fava to reload its ledger.

    Before each request Fava checks its ledger's files and, when one changed, reloads the whole
    ledger in that request (`FavaLedger.changed`): for the group view of 200 members that is 13 s.
    A page that does not read Fava's loaded entries (the pool page computes from the files, through
    its own caches) need not wait for it. For such a request (`defers()` is true) the change the
    watcher noticed is taken and kept here; the first later request on that ledger that does not
    defer gives it back to the watcher, so Fava's own check in that request reloads, as it would
    have (Fava's pages and its `changed` poll are never deferred, so Fava's views are never stale
    without Fava knowing it).
    """

    def __init__(self, defers: Callable[[], bool]) -> None:
        self._defers = defers
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}  # ledger file → the watcher's mark before the change was taken

    def pending(self, ledger: Any) -> bool:
        """Whether a change of this ledger's files was noticed and its reload deferred."""
        with self._lock:
            return ledger_file(ledger) in self._pending

    def before_request(self) -> None:
        """Flask hook, before Fava's own reload check (see `hook_first`)."""
        ledger = request_ledger()
        if ledger is None:
            return
        key, watcher = ledger_file(ledger), ledger.watcher
        deferred = self._defers()
        with self._lock:
            if deferred:
                mark = watcher.last_checked
                if watcher.check():  # Fava's check in this request now sees nothing new
                    self._pending.setdefault(key, mark)
            elif key in self._pending:
                watcher.last_checked = min(watcher.last_checked, self._pending.pop(key))


def defer_reloads(app: Flask, defers: Callable[[], bool] = extension_defers_reload) -> DeferredReloads:
    """Install `DeferredReloads` on the app, before Fava's reload check; returns it."""
    deferred = DeferredReloads(defers)
    hook_first(app, deferred.before_request)
    return deferred
