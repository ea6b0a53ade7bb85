"""What comptasso relies on in Fava's internals (comptasso.web.fava_adapter): a Fava upgrade that changes it fails here.

These tests use Fava bare — without comptasso's guards — to pin Fava's own behaviour.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask

from comptasso.web import fava_adapter as fava

LEDGER = """option "title" "Essai"
2026-01-01 open Assets:512-Banque EUR
2026-01-01 open Equity:102-Fonds EUR
2026-01-02 * "Apport"
  Assets:512-Banque   10.00 EUR
  Equity:102-Fonds
2026-01-03 document Assets:512-Banque "{outside}"
"""


@pytest.fixture
def bare(tmp_path: Path) -> tuple[Flask, Path, Path]:
    outside = tmp_path / "dehors" / "secret.pdf"
    outside.parent.mkdir()
    outside.write_text("secret", encoding="utf-8")
    main = tmp_path / "livre" / "main.beancount"
    main.parent.mkdir()
    main.write_text(LEDGER.format(outside=outside), encoding="utf-8")
    return fava.create([main], load=True, poll_watcher=True), main, outside


def test_the_endpoints_comptasso_guards_exist(bare: tuple[Flask, Path, Path]) -> None:
    app, _main, _outside = bare
    names = {*fava.DOCUMENT_READS, *fava.UPLOADS, *fava.SOURCE_WRITES, *fava.ENTRY_WRITES, *fava.NO_WRITE,
             fava.DELETE_DOCUMENT, fava.EXTRACT, fava.LEDGER_DATA_ENDPOINT, fava.STATIC_ENDPOINT, "index"}
    assert names <= set(app.view_functions), names - set(app.view_functions)
    assert fava.LEDGER_DATA_GLOBAL in app.jinja_env.globals
    assert app.blueprints[fava.JSON_API].name == fava.JSON_API


def test_ledgers_slugs_and_files(bare: tuple[Flask, Path, Path]) -> None:
    app, main, _outside = bare
    [(slug, ledger)] = fava.ledgers(app)
    assert slug == "essai" and fava.ledger_file(ledger) == str(main)
    assert fava.slugs_by_file(app) == {str(main): "essai"}
    assert fava.ledger_files(ledger) == [str(main)]
    assert not fava.has_extension(ledger, "BanquAssoExtension")


def test_fava_alone_serves_any_file_a_document_entry_names(bare: tuple[Flask, Path, Path]) -> None:
    """Why comptasso confines documents: Fava sends whatever a `document` directive points to."""
    app, _main, outside = bare
    answer = app.test_client().get(f"/essai/document/?filename={outside}")
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "secret"


def test_fava_s_read_only_mode_refuses_every_post(tmp_path: Path) -> None:
    """Why `comptasso serve --read-only` does not use it: it would refuse the log-in form too."""
    from fava.application import create_app

    main = tmp_path / "main.beancount"
    main.write_text('option "title" "Essai"\n', encoding="utf-8")
    app = create_app([str(main)], load=True, read_only=True)
    app.add_url_rule("/login", "login", lambda: "ok", methods=["POST"])
    assert app.test_client().post("/login").status_code == 401


def test_the_request_s_ledger_is_known_to_the_first_hook(bare: tuple[Flask, Path, Path]) -> None:
    app, main, _outside = bare
    seen: list[tuple[str | None, str | None]] = []

    def hook() -> None:
        ledger = fava.request_ledger()
        seen.append((fava.request_slug(), fava.ledger_file(ledger) if ledger is not None else None))

    fava.hook_first(app, hook)
    assert app.before_request_funcs[None][0] is hook
    app.test_client().get("/essai/income_statement/")
    app.test_client().get("/")
    assert seen[0] == ("essai", str(main)) and seen[1] == (None, None)


def test_api_arguments_and_entry_files(bare: tuple[Flask, Path, Path]) -> None:
    app, main, outside = bare
    [(_slug, ledger)] = fava.ledgers(app)
    entry = next(e for e in ledger.all_entries if type(e).__name__ == "Transaction")
    from fava.beans.funcs import hash_entry

    assert fava.entry_file(ledger, hash_entry(entry)) == str(main)
    assert fava.entry_file(ledger, "inconnu") is None
    with app.test_request_context(f"/essai/api/document?filename={outside}", method="DELETE"):
        assert fava.api_arguments() == {"filename": str(outside)}
    with app.test_request_context("/essai/api/move", method="PUT", json={"filename": "a", "account": "b"}):
        assert fava.api_arguments() == {"filename": "a", "account": "b"}


def test_add_document_saves_only_into_a_folder_of_the_documents_option(bare: tuple[Flask, Path, Path]) -> None:
    """Fava's upload needs its folder in the ledger's `documents` option; `with_documents_folder` sets it."""
    app, main, _outside = bare
    folder = main.parent / "documents"

    def upload(target: Path) -> int:
        data = {"file": (io.BytesIO(b"%PDF"), "recu.pdf"), "folder": str(target), "account": "Assets:512-Banque"}
        return app.test_client().put("/essai/api/add_document", data=data,
                                     content_type="multipart/form-data").status_code

    assert upload(folder) != 200  # no documents option: Fava refuses
    fava.with_documents_folder(app, lambda _path: folder)
    assert upload(main.parent / "ailleurs") != 200
    assert upload(folder) == 200
    assert (folder / "Assets" / "512-Banque" / "recu.pdf").read_bytes() == b"%PDF"


def test_the_ledger_list_filter_reaches_page_and_api(tmp_path: Path) -> None:
    files = []
    for title in ("Un", "Deux"):
        path = tmp_path / f"{title}.beancount"
        path.write_text(f'option "title" "{title}"\n', encoding="utf-8")
        files.append(path)
    app = fava.create(files, load=True, poll_watcher=True)
    fava.filter_ledger_list(app, lambda entries: [])
    api = app.test_client().get("/un/api/ledger_data").get_json()
    assert api["data"]["other_ledgers"] == []
    assert "Deux" not in app.test_client().get("/un/income_statement/").get_data(as_text=True)


def _append(main: Path, text: str) -> None:
    import os

    main.write_text(main.read_text(encoding="utf-8") + text, encoding="utf-8")
    stamp = main.stat().st_mtime_ns + 5_000_000_000  # a later stamp, whatever the file system's resolution
    os.utime(main, ns=(stamp, stamp))


def test_a_deferring_request_leaves_the_reload_to_the_next_one(bare: tuple[Flask, Path, Path]) -> None:
    """Fava reloads a changed ledger in the request; a deferring one answers first, the next one reloads."""
    from flask import request

    app, main, _outside = bare
    deferred = fava.defer_reloads(app, lambda: request.args.get("defer") == "1")
    assert app.before_request_funcs[None][0] == deferred.before_request
    [(slug, ledger)] = fava.ledgers(app)
    client = app.test_client()
    loaded = ledger.all_entries
    _append(main, '2026-01-04 * "Deuxième apport"\n  Assets:512-Banque   5.00 EUR\n  Equity:102-Fonds\n')
    assert client.get(f"/{slug}/income_statement/?defer=1").status_code == 200
    assert ledger.all_entries is loaded and deferred.pending(ledger)  # not reloaded, the change kept
    assert client.get(f"/{slug}/income_statement/?defer=1").status_code == 200
    assert ledger.all_entries is loaded
    assert client.get(f"/{slug}/income_statement/").status_code == 200  # Fava's page: reloaded now
    assert ledger.all_entries is not loaded and len(ledger.all_entries) == len(loaded) + 1
    assert not deferred.pending(ledger)


def test_fava_s_change_poll_still_learns_of_a_deferred_change(bare: tuple[Flask, Path, Path]) -> None:
    from flask import request

    app, main, _outside = bare
    deferred = fava.defer_reloads(app, lambda: request.args.get("defer") == "1")
    [(slug, ledger)] = fava.ledgers(app)
    client = app.test_client()
    loaded = ledger.all_entries
    _append(main, "; une ligne de plus\n")
    client.get(f"/{slug}/income_statement/?defer=1")
    assert deferred.pending(ledger)
    changed = client.get(f"/{slug}/api/changed").get_json()
    assert changed["data"] is True and ledger.all_entries is not loaded  # the poll reloads and says so
    assert client.get(f"/{slug}/api/changed").get_json()["data"] is False


def test_without_a_change_a_deferring_request_keeps_nothing(bare: tuple[Flask, Path, Path]) -> None:
    from flask import request

    app, _main, _outside = bare
    deferred = fava.defer_reloads(app, lambda: request.args.get("defer") == "1")
    [(slug, ledger)] = fava.ledgers(app)
    app.test_client().get(f"/{slug}/income_statement/?defer=1")
    assert not deferred.pending(ledger)
