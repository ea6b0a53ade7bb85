"""Every command, option and policy key is documented (a test fails when one is not)."""

from __future__ import annotations

from pathlib import Path

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


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_policy_key_documented() -> None:
    from banquasso.terms.policy import Policy

    pool_doc = (ROOT / "docs" / "pool.md").read_text(encoding="utf-8")
    keys = _keys(Policy)
    assert len(keys) > 10
    missing = [k for k in keys if f"`{k}`" not in pool_doc and f"`{k.split('.')[-1]}`" not in pool_doc]
    assert not missing, f"clés de rules/pool.toml non documentées dans docs/pool.md : {missing}"


def test_every_command_is_listed() -> None:
    names = {p for p, _ in COMMANDS}
    for expected in ("comptasso check", "comptasso serve", "comptasso fec", "banquasso forecast", "banquasso plan",
                     "banquasso advance approve", "banquasso reconcile", "banquasso statement", "banquasso scheduler"):
        assert expected in names


def test_readme_starts_with_what_and_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    head = readme[:3000]
    assert "make demo" in head and "make test" in head
