"""A click group whose commands are imported only when used, so `--help` and each command start fast."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from comptasso.cli.french import speak_french

SUBCOMMAND_METAVAR = "COMMANDE [ARGUMENTS]..."


class LazyGroup(click.Group):
    """Commands named in a table `name → "module:attribute"`, imported on first use."""

    def __init__(self, *args: object, lazy_commands: Mapping[str, str] | None = None, **kwargs: object) -> None:
        kwargs.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = dict(lazy_commands or {})

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line, click's own messages in French (comptasso.cli.french)."""
        speak_french()
        return super().main(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module_name, attribute = self.lazy_commands[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            if isinstance(command, click.Group) and command.subcommand_metavar == "COMMAND [ARGS]...":
                command.subcommand_metavar = SUBCOMMAND_METAVAR
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    @property
    def all_commands(self) -> dict[str, click.Command]:
        """Every command, imported (for documentation checks and introspection)."""
        ctx = click.Context(self)
        return {name: cmd for name in self.list_commands(ctx) if (cmd := self.get_command(ctx, name))}
