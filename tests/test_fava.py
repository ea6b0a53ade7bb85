"""`comptasso serve`: every Fava page of every ledger answers, in French, behind the safety checks."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import pytest
from beancount import loader
from click.testing import CliRunner
from fava.application import CLIENT_SIDE_REPORTS
from fava.help import HELP_PAGES
from flask import Flask

from comptasso.books.facade import open_books
from comptasso.cli.main import main
from comptasso.model.chart import is_treasury
from comptasso.plugins.consolidation import GROUP_LEDGER
from comptasso.web.serve import ServedLedger, build_app, prepare
from tests.conftest import DEMO_LEDGERS, DEMO_RULES, in_ci, write_group
from tests.test_consolidation import BORROWER, LENDER, balances

HOLDINGS = ("account", "currency", "cost_currency")
API = ("income_statement", "balance_sheet", "trial_balance", "commodities", "documents", "events",
       "statistics", "errors", "imports", "options", "ledger_data", "changed", "source")


def slugs(app: Flask) -> dict[str, str]:
    """Fava's slug of each served file."""
    return {ledger.beancount_file_path: slug for slug, ledger in app.config["LEDGERS"].items()}


def pages(slug: str, bank_account: str) -> list[str]:
    """Every page Fava offers for one ledger (its reports are rendered client-side)."""
    out = [f"/{slug}/{report}/" for report in CLIENT_SIDE_REPORTS]
    out += [f"/{slug}/holdings/by_{key}/" for key in HOLDINGS]
    out += [f"/{slug}/help/{page}" for page in HELP_PAGES if page != "_index"] + [f"/{slug}/help/"]
    out += [f"/{slug}/account/{bank_account}/", f"/{slug}/account/{bank_account}/?r=changes",
            f"/{slug}/account/{bank_account}/?r=balances", f"/{slug}/download-journal/",
            f"/{slug}/income_statement/?time=2026&interval=month"]
    out += [f"/{slug}/api/{name}" for name in API]
    out += [f"/{slug}/api/journal_page?page=1&order=desc", f"/{slug}/api/account_report?a={bank_account}",
            f"/{slug}/api/query?query_string=SELECT%20account%2C%20sum(position)%20GROUP%20BY%20account"]
    return out


def assert_every_page_answers(app: Flask, bank_accounts: dict[str, str]) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 302
    for path, slug in slugs(app).items():
        index = client.get(f"/{slug}/")
        assert index.status_code == 302 and unquote(index.location).endswith(f"/{slug}/income_statement/")
        for url in pages(slug, bank_accounts[path]):
            response = client.get(url, headers={"Accept-Language": "en"})
            assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])


# --- inline ledgers --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Flask, list[ServedLedger]]:
    root = tmp_path_factory.mktemp("inline")
    ledgers_dir, rules_dir = write_group(root, {"ressourcerie": LENDER, "velo-gap": BORROWER})
    served, problems = prepare(ledgers_dir, rules_dir, root)
    assert problems == []
    return build_app(served), served


def test_every_page_of_every_inline_ledger_answers(inline: tuple[Flask, list[ServedLedger]]) -> None:
    app, served = inline
    banks = {str(s.path): ("Assets:Velo-Gap:512-Banque" if s.member_id is None else "Assets:512-Banque")
             for s in served}
    assert len(slugs(app)) == 3
    assert_every_page_answers(app, banks)


def test_the_group_view_is_written_beside_when_missing(inline: tuple[Flask, list[ServedLedger]]) -> None:
    _app, served = inline
    group = served[-1]
    assert group.member_id is None and group.path.name == GROUP_LEDGER
    assert not (served[0].path.parent.parent / GROUP_LEDGER).exists()  # never written into the books


def test_french_by_default_even_for_an_english_browser(inline: tuple[Flask, list[ServedLedger]]) -> None:
    app, _served = inline
    client = app.test_client()
    for slug in slugs(app).values():
        page = client.get(f"/{slug}/balance_sheet/", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Bilan" in page, slug  # Fava's French for "Balance Sheet"


def test_group_view_balance_sheet_through_fava(inline: tuple[Flask, list[ServedLedger]]) -> None:
    app, served = inline
    ledger = app.config["LEDGERS"][slugs(app)[str(served[-1].path)]]
    assert ledger.errors == []
    accounts = set(ledger.accounts)
    assert "Assets:Eliminations:2748-Avances-Intra-Groupe:Ressourcerie:Velo-Gap" in accounts
    totals = balances(list(ledger.all_entries))
    assert totals["Assets:Eliminations:2748-Avances-Intra-Groupe:Ressourcerie:Velo-Gap"] == 0
    assert ledger.fava_options.language == "fr"


# --- the guard: unsafe files are refused before Fava loads or writes them ----------------------

@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Flask, Path, Path, str]:
    marker = tmp_path / "marker.txt"
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "comptasso_evil_fava.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('x')\n__plugins__ = ()\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(modules))
    ledgers_dir, rules_dir = write_group(tmp_path, {"ressourcerie": LENDER, "velo-gap": BORROWER})
    served, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert problems == []
    app = build_app(served)
    slug = slugs(app)[str(served[1].path)]
    return app, served[1].path, marker, slug


def test_an_unsafe_edit_on_disk_blocks_the_ledger_until_fixed(guarded: tuple[Flask, Path, Path, str]) -> None:
    app, main_file, marker, slug = guarded
    client = app.test_client()
    assert client.get(f"/{slug}/journal/").status_code == 200
    original = main_file.read_text(encoding="utf-8")
    main_file.write_text('plugin "comptasso_evil_fava"\n' + original, encoding="utf-8")
    page = client.get(f"/{slug}/journal/")
    assert page.status_code == 503
    assert "greffon « comptasso_evil_fava » refusé" in page.get_data(as_text=True)
    api = client.get(f"/{slug}/api/changed")
    assert api.status_code == 503 and "comptasso_evil_fava" in api.get_json()["error"]
    assert not marker.exists()
    main_file.write_text(original, encoding="utf-8")
    assert client.get(f"/{slug}/journal/").status_code == 200


def test_an_unsafe_save_in_the_editor_is_refused_and_not_written(guarded: tuple[Flask, Path, Path, str]) -> None:
    app, main_file, marker, slug = guarded
    client = app.test_client()
    source = client.get(f"/{slug}/api/source?filename={main_file}").get_json()["data"]
    for evil in ('plugin "comptasso_evil_fava"\n', '2026-01-01 custom "fava-extension" "comptasso_evil_fava"\n',
                 'include "../ressourcerie/main.beancount"\n'):
        response = client.put(f"/{slug}/api/source", json={
            "file_path": str(main_file), "source": evil + source["source"], "sha256sum": source["sha256sum"]})
        assert response.status_code == 400, evil
        assert "refusé" in response.get_json()["error"]
    assert main_file.read_text(encoding="utf-8") == source["source"]
    assert not marker.exists()
    # A safe save goes through Fava as usual.
    ok = client.put(f"/{slug}/api/source", json={
        "file_path": str(main_file), "source": source["source"] + "\n; vérifié\n", "sha256sum": source["sha256sum"]})
    assert ok.status_code == 200
    assert main_file.read_text(encoding="utf-8").endswith("; vérifié\n")


def test_a_line_break_smuggled_into_a_write_is_refused(guarded: tuple[Flask, Path, Path, str]) -> None:
    app, main_file, _marker, slug = guarded
    client = app.test_client()
    before = main_file.read_text(encoding="utf-8")
    response = client.put(f"/{slug}/api/add_entries", json={"entries": [
        {"t": "Note", "date": "2026-07-01", "account": "Assets:512-Banque",
         "comment": 'x"\nplugin "comptasso_evil_fava"\n', "meta": {}}]})
    assert response.status_code == 400
    assert "retour à la ligne" in response.get_json()["error"]
    assert main_file.read_text(encoding="utf-8") == before


def test_read_only_refuses_every_write(tmp_path: Path) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    served, _ = prepare(ledgers_dir, rules_dir, tmp_path)
    app = build_app(served, read_only=True)
    slug = slugs(app)[str(served[0].path)]
    assert app.test_client().put(f"/{slug}/api/source", json={}).status_code == 401


def test_read_only_still_lets_users_log_in(tmp_path: Path) -> None:
    from comptasso.web.access import hash_password, load_users
    from tests.web_helpers import log_in, session_token

    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    (rules_dir / "users.toml").write_text(
        f'[[users]]\nlogin = "compta"\nrole = "bookkeeper"\npassword_hash = "{hash_password("mot-de-passe-1")}"\n',
        encoding="utf-8")
    served, _ = prepare(ledgers_dir, rules_dir, tmp_path)
    users, _ = load_users(rules_dir / "users.toml", ["velo-gap"])
    app = build_app(served, read_only=True, users=users)
    slug = slugs(app)[str(served[0].path)]
    client, response = log_in(app, "compta", "mot-de-passe-1")
    assert response.status_code == 303
    token = session_token(client, f"/{slug}/income_statement/")
    before = served[0].path.read_bytes()
    refused = client.put(f"/{slug}/api/add_entries", json={"entries": []}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 401 and "lecture seule" in refused.get_json()["error"]
    assert served[0].path.read_bytes() == before
    assert client.post("/logout").status_code == 200


# --- rules/fava.toml ----------------------------------------------------------------------------

def uploads_app(tmp_path: Path) -> tuple[Flask, ServedLedger, str]:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER, "ressourcerie": LENDER})
    (rules_dir / "fava.toml").write_text('allowed_options = ["language"]\n[uploads]\nenabled = true\n'
                                         'extensions = ["pdf", "csv"]\n', encoding="utf-8")
    served, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert problems == []
    app = build_app(served)
    velo = next(s for s in served if s.member_id == "velo-gap")
    return app, velo, slugs(app)[str(velo.path)]


def put_file(app: Flask, slug: str, name: str, folder: Path) -> tuple[int, str]:
    import io
    response = app.test_client().put(f"/{slug}/api/add_document", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"%PDF-1.4"), name), "folder": str(folder), "account": "Assets:512-Banque"})
    body = response.get_json(silent=True)
    return response.status_code, body["error"] if isinstance(body, dict) and "error" in body else str(body)


def test_enabled_uploads_land_only_in_the_member_s_documents_folder(tmp_path: Path) -> None:
    app, velo, slug = uploads_app(tmp_path)
    status, body = put_file(app, slug, "recu.pdf", velo.documents)
    assert status == 200, body
    saved = velo.documents / "Assets" / "512-Banque" / "recu.pdf"
    assert saved.read_bytes() == b"%PDF-1.4"
    for name in ("evil.pth", "evil.py", "main.beancount", "recu.png", ".cache.pdf"):
        status, body = put_file(app, slug, name, velo.documents)
        assert status == 403 and "extensions permises csv, pdf" in body, name
    for folder in (velo.folder, velo.folder.parent / "ressourcerie", Path("/tmp")):
        status, body = put_file(app, slug, "autre.pdf", folder)
        assert status == 403 and "dépôt refusé" in body, folder
    upload_import = app.test_client().put(f"/{slug}/api/upload_import_file", content_type="multipart/form-data",
                                          data={"file": (__import__("io").BytesIO(b"x"), "a.csv")})
    assert upload_import.status_code == 403
    assert sorted(p.name for p in tmp_path.rglob("*.p*") if p.is_file()) == ["recu.pdf"]
    # a document of the member's own folder can be deleted; the ledger files cannot
    client = app.test_client()
    assert client.delete(f"/{slug}/api/document?filename={velo.path}").status_code == 403
    velo.path.with_name("autre.pdf").write_bytes(b"%PDF")
    assert client.delete(f"/{slug}/api/document?filename={velo.path.with_name('autre.pdf')}").status_code in {400, 500}
    assert velo.path.with_name("autre.pdf").exists()  # not a document Fava knows: Fava itself refuses
    assert client.delete(f"/{slug}/api/document?filename={saved}").status_code in {400, 500}
    assert velo.path.exists() and saved.exists()


def test_a_ledger_may_only_set_the_fava_options_of_rules_fava_toml(tmp_path: Path) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": '2024-01-01 custom "fava-option" "locale" "fr_FR"\n'
                                                                 + BORROWER})
    assert prepare(ledgers_dir, rules_dir, tmp_path)[1] == []  # the default list has "locale"
    (rules_dir / "fava.toml").write_text('allowed_options = ["language"]\n', encoding="utf-8")
    served, problems = prepare(ledgers_dir, rules_dir, tmp_path)
    assert served == []
    assert [(Path(p.file).name, p.line, p.code) for p in problems] == [("main.beancount", 2, "fava-option-refused")]
    assert "option Fava « locale » refusée" in problems[0].message


@pytest.mark.parametrize(("text", "line", "message"), [
    ('allowed_options = ["language", "import-dirs"]\n', 1, "« import-dirs » ne peut pas être autorisée"),
    ('allowed_options = ["language"]\n[uploads]\nenabled = true\nextensions = ["pdf", "pth"]\n', 4,
     "l'extension « pth » ne peut pas être autorisée"),
    ('allowed_options = ["language"]\nuploads_dir = "/"\n', 2, "uploads_dir : clé inconnue"),
    ("allowed_options = [\n", 0, "syntaxe TOML invalide"),
])
def test_a_bad_fava_toml_is_refused_with_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    (rules_dir / "fava.toml").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir)])
    assert result.exit_code == 1
    where = f"fava.toml:{line}: " if line else "fava.toml: "
    assert where in result.output and message in result.output, result.output
    check = CliRunner().invoke(main, ["check", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir),
                                      "--as-of", "2026-12-31"])
    assert check.exit_code == 1 and message in check.output


def test_serve_refuses_a_group_file_whose_plugin_names_other_rules(tmp_path: Path) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    (ledgers_dir / GROUP_LEDGER).write_text('plugin "comptasso.consolidation" "group.toml"\n', encoding="utf-8")
    other = tmp_path / "regles"
    shutil.copytree(rules_dir, other)
    result = CliRunner().invoke(main, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(other)])
    assert result.exit_code == 1
    assert f"{ledgers_dir / GROUP_LEDGER}:1: la vue consolidée lit les règles de {rules_dir.resolve()}" in result.output
    (ledgers_dir / GROUP_LEDGER).write_text('plugin "comptasso.consolidation" "group.toml;rules=../regles"\n',
                                            encoding="utf-8")
    served, problems = prepare(ledgers_dir, other, tmp_path)
    assert problems == [] and served


# --- the command -----------------------------------------------------------------------------

def test_serve_refuses_to_start_on_an_unsafe_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    evil = '2026-01-01 custom "fava-option" "import-config" "importers.py"\n' + BORROWER
    ledgers_dir, rules_dir = write_group(tmp_path, {"ressourcerie": 'plugin "beancount.plugins.auto"\n' + LENDER,
                                                    "velo-gap": evil})
    result = CliRunner().invoke(main, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir)])
    assert result.exit_code == 1
    assert "ressourcerie/main.beancount:2: greffon « beancount.plugins.auto » refusé" in result.output
    assert "velo-gap/main.beancount:2: option Fava « import-config » refusée" in result.output


def test_serve_refuses_an_unsafe_group_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers_dir, rules_dir = write_group(tmp_path, {"velo-gap": BORROWER})
    (ledgers_dir / GROUP_LEDGER).write_text('plugin "comptasso.consolidation" "group.toml"\n'
                                            'plugin "comptasso_evil_fava"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--ledgers", str(ledgers_dir), "--rules", str(rules_dir)])
    assert result.exit_code == 1
    assert f"{ledgers_dir / GROUP_LEDGER}:2: greffon « comptasso_evil_fava » refusé" in result.output


def test_serve_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["serve", "--port", "70000"]).exit_code == 2
    missing = runner.invoke(main, ["serve", "--ledgers", str(tmp_path / "nulle-part")])
    assert missing.exit_code == 1 and "group.toml: fichier introuvable" in missing.output


# --- the demo group ----------------------------------------------------------------------------

def _need_demo() -> None:
    if not (DEMO_LEDGERS / "group.toml").is_file():
        if in_ci():
            pytest.fail("the demo group ledgers/ is missing")
        pytest.skip("the demo group ledgers/ is not generated yet")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Flask, list[ServedLedger]]:
    _need_demo()
    root = tmp_path_factory.mktemp("demo")
    ledgers, rules = root / "ledgers", root / "rules"
    shutil.copytree(DEMO_LEDGERS, ledgers)
    shutil.copytree(DEMO_RULES, rules)
    served, problems = prepare(ledgers, rules, root)
    assert problems == [], [str(p) for p in problems]
    return ledgers, rules, build_app(served, load=True), served


@pytest.mark.slow
def test_demo_group_treasury_is_the_sum_of_the_members_to_the_cent(
        demo: tuple[Path, Path, Flask, list[ServedLedger]]) -> None:
    ledgers, rules, _app, _served = demo
    books, _ = open_books(ledgers, rules)
    assert books is not None
    members = Decimal(0)
    for member in books.members:
        members += sum((v for k, v in balances(books.ledgers[member.id].entries).items() if is_treasury(k)),
                       Decimal(0))
    entries, errors, _ = loader.load_file(str(ledgers / GROUP_LEDGER))
    assert [e for e in errors if "Eliminations" in e.message] == []
    group = sum((v for k, v in balances(entries).items() if is_treasury(k)), Decimal(0))
    assert group == members and group == group.quantize(Decimal("0.01"))
    eliminations = {k: v for k, v in balances(entries).items() if ":Eliminations:" in k}
    assert all(v == 0 for v in eliminations.values()), eliminations


@pytest.mark.slow
def test_every_page_of_every_demo_ledger_answers(demo: tuple[Path, Path, Flask, list[ServedLedger]]) -> None:
    ledgers, rules, app, served = demo
    books, _ = open_books(ledgers, rules)
    assert books is not None
    banks = {str(m.ledger): m.bank_account for m in books.members}
    first = books.members[0]
    banks[str(served[-1].path)] = first.bank_account.replace(":", f":{first.component}:", 1)
    assert len(slugs(app)) == len(books.members) + 1
    assert_every_page_answers(app, banks)
    errors = app.test_client().get(f"/{slugs(app)[str(served[-1].path)]}/api/errors").get_json()["data"]
    assert errors == [], json.dumps(errors, ensure_ascii=False)[:2000]


def test_a_fava_write_waits_for_the_member_s_lock(guarded: tuple[Flask, Path, Path, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Fava's writes take the lock of the importer and the advance writer (comptasso.atomic.locked)."""
    import threading

    from comptasso.atomic import locked
    app, main_file, _marker, slug = guarded
    monkeypatch.setattr("comptasso.web.serve.WRITE_LOCK_SECONDS", 0.2)
    client = app.test_client()
    source = client.get(f"/{slug}/api/source?filename={main_file}").get_json()["data"]
    body = {"file_path": str(main_file), "source": source["source"] + "; ajout\n", "sha256sum": source["sha256sum"]}
    held, release = threading.Event(), threading.Event()

    def engine() -> None:
        with locked(main_file, main_file.parent.parent):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=engine)
    thread.start()
    held.wait(10)
    try:
        busy = client.put(f"/{slug}/api/source", json=body)
        assert busy.status_code == 503 and "occupé" in busy.get_json()["error"]
        assert main_file.read_text(encoding="utf-8") == source["source"]
    finally:
        release.set()
        thread.join(10)
    assert client.put(f"/{slug}/api/source", json=body).status_code == 200
