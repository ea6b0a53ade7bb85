"""group.toml: every bad input names the file, the line and the key, and nothing is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from comptasso.books.group import account_component, load_group
from comptasso.cli.main import main
from tests.conftest import write_group

LEDGER = """
option "operating_currency" "EUR"
2024-01-01 open Assets:512-Banque
2024-01-01 open Equity:102-Fonds-Associatifs
2024-01-02 * "Apport" "Fonds associatifs"
  Assets:512-Banque  100.00 EUR
  Equity:102-Fonds-Associatifs
"""


def _group(tmp_path: Path) -> tuple[Path, Path]:
    return write_group(tmp_path, {"asso-a": LEDGER, "asso-b": LEDGER})


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_valid_group_loads(tmp_path: Path) -> None:
    ledgers, _ = _group(tmp_path)
    group, problems = load_group(ledgers)
    assert problems == []
    assert group is not None and group.ids == ("asso-a", "asso-b")
    assert group.member("asso-b").ledger == (ledgers / "asso-b" / "main.beancount").resolve()
    with pytest.raises(KeyError, match="membre inconnu"):
        group.member("nope")


def test_account_component() -> None:
    assert account_component("velo-gap") == "Velo-Gap"
    assert account_component("ge-alpes-sud") == "Ge-Alpes-Sud"


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        (lambda t: t.replace('id = "asso-b"', 'id = "asso-a"'), 12, "members[1].id : identifiant en double « asso-a »"),
        (lambda t: t.replace('ledger = "asso-b/main.beancount"', 'ledger = "../../etc/passwd"'), 14,
         "members[1].ledger : « ../../etc/passwd » sort du dossier des livres"),
        (lambda t: t.replace('ledger = "asso-b/main.beancount"', 'ledger = "/etc/passwd"'), 14,
         "members[1].ledger : chemin absolu interdit"),
        (lambda t: t.replace('name = "Asso-B"', 'name = "Asso-B"\ncolour = "bleu"'), 14,
         "members[1].colour : clé inconnue"),
        (lambda t: t.replace('id = "asso-b"', 'id = "Asso B"'), 12, "members[1].id : valeur au mauvais format"),
        (lambda t: t.replace('currency = "EUR"', 'currency = "EUR"\nfoo = 1'), 4, "group.foo : clé inconnue"),
        (lambda t: t.replace('[group]', '[group'), 1, "syntaxe TOML invalide"),
        (lambda t: t.replace('ledger = "asso-b/main.beancount"', 'ledger = "asso-c/main.beancount"'), 14,
         "members[1].ledger : fichier introuvable"),
    ],
    ids=["duplicate-id", "outside", "absolute", "unknown-key", "bad-id", "unknown-group-key", "syntax", "missing"],
)
def test_bad_group_file(
    tmp_path: Path, edit: Callable[[str], str], line: int, needle: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledgers, _ = _group(tmp_path)
    path = ledgers / "group.toml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    before = _snapshot(tmp_path)
    group, problems = load_group(ledgers)
    assert group is None
    assert any(needle in p.message for p in problems), problems
    assert any(p.line == line and needle in p.message for p in problems), [(p.line, p.message) for p in problems]
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--ledgers", "ledgers", "--rules", "rules"])
    assert result.exit_code == 1
    assert f"ledgers/group.toml:{line}: " in result.output
    assert needle in result.output
    assert _snapshot(tmp_path) == before
