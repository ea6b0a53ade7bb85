"""Every command, option and settings key (rules/*.toml, group.toml) is documented (a test fails when one is not)."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import BaseModel

from banquasso.commands.main import main as banquasso_main
from comptasso.cli.lazy import LazyGroup
from comptasso.cli.main import main as comptasso_main

ROOT = Path(__file__).resolve().parent.parent
DOCS = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))) + (
    ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    commands = group.all_commands if isinstance(group, LazyGroup) else group.commands
    for name, command in sorted(commands.items()):
        path = f"{prefix} {name}"
        out.append((path, command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, path))
    return out


COMMANDS = _commands(comptasso_main, "comptasso") + _commands(banquasso_main, "banquasso")


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_command_documented(path: str, command: click.Command) -> None:
    assert f"`{path}" in DOCS, f"la commande « {path} » n'est décrite dans aucun fichier de docs/"
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--") and opt not in ("--help", "--version"):
                    assert opt in DOCS, f"l'option {opt} de « {path} » n'est pas documentée"


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models a field's annotation holds (itself, or inside list[...], X | None, dict[str, ...])."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models(arg)]


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key a file read by `model` may hold, dotted (`limits.min_advance`, `members.exercice_debut`);
    a table (`[smtp]`, `[[members]]`) is a key too."""
    keys = []
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        keys.append(key)
        for sub in _models(field.annotation):
            keys.extend(_keys(sub, f"{key}."))
    return keys


def documented(key: str, page: str) -> bool:
    """A key is documented on a page that names it in backticks (whole, its last part, or `[table]`) or shows it in a
    TOML sample (`key = …` at the start of a line, or its table header)."""
    leaf = key.rsplit(".", 1)[-1]
    if any(f"`{form}`" in page for form in (key, leaf, f"[{key}]", f"[[{key}]]")):
        return True
    sample = rf"^\s*{re.escape(leaf)}\s*=|^\s*\[\[?{re.escape(key)}\]\]?\s*(#.*)?$"
    return re.search(sample, page, re.MULTILINE) is not None


def _rules_files() -> list[tuple[str, list[str], tuple[str, ...]]]:
    """Each settings file: its name, its keys (from the pydantic model that reads it) and its reference pages."""
    from banquasso.delivery.settings import _MailFile
    from banquasso.forecast.scenarios import _ScenarioFile
    from banquasso.terms.policy import Policy
    from banquasso.terms.tmop import TMOP_FILE
    from comptasso.books.fava_rules import _FavaFile
    from comptasso.books.group import _GroupFile

    return [
        ("rules/pool.toml", _keys(Policy), ("pool.md",)),
        ("rules/mail.toml", _keys(_MailFile), ("board.md",)),
        ("rules/fava.toml", _keys(_FavaFile), ("deployment.md",)),
        ("rules/scenarios/NOM.toml", _keys(_ScenarioFile), ("scenarios.md",)),
        (f"rules/{TMOP_FILE}", ["tmop"], ("legal.md",)),  # one table of half-years, read without a model
        ("ledgers/group.toml", _keys(_GroupFile), ("ledgers.md",)),
    ]


RULES_FILES = _rules_files()


@pytest.mark.parametrize(("name", "keys", "pages"), RULES_FILES, ids=[n for n, _, _ in RULES_FILES])
def test_every_settings_key_documented(name: str, keys: list[str], pages: tuple[str, ...]) -> None:
    text = "\n".join((ROOT / "docs" / page).read_text(encoding="utf-8") for page in pages)
    assert f"{name.rsplit('/', 1)[-1]}" in text, f"{name} n'est pas nommé dans docs/{', docs/'.join(pages)}"
    missing = [k for k in keys if not documented(k, text)]
    assert not missing, f"clés de {name} non documentées dans docs/{', docs/'.join(pages)} : {missing}"


def test_the_settings_keys_are_read_from_the_models() -> None:
    counts = {name: len(keys) for name, keys, _ in RULES_FILES}
    assert counts["rules/pool.toml"] > 30 and counts["rules/mail.toml"] == 8 and counts["ledgers/group.toml"] > 10
    assert "members.exercice_debut" in {n: k for n, k, _ in RULES_FILES}["ledgers/group.toml"]
    assert "delay.days" in {n: k for n, k, _ in RULES_FILES}["rules/scenarios/NOM.toml"]


def test_an_undocumented_key_is_found() -> None:
    page = "La clé `limits.min_advance`, la table `[floor]`, puis\n[smtp]\nhost = \"smtp.example.org\"\n"
    assert documented("limits.min_advance", page) and documented("smtp", page) and documented("smtp.host", page)
    assert documented("floor", page) and not documented("terms", page)
    assert not documented("smtp.port", page) and not documented("limits.max_days", page)
    assert not documented("members", "les membres (members) du groupement")


def test_every_command_is_listed() -> None:
    names = {p for p, _ in COMMANDS}
    for expected in ("comptasso check", "comptasso serve", "comptasso fec", "banquasso forecast", "banquasso plan",
                     "banquasso advance approve", "banquasso reconcile", "banquasso statement", "banquasso scheduler"):
        assert expected in names


def test_readme_starts_with_what_and_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:3000]
    assert "make demo" in head and "make test" in head
