"""The `banquasso` command: forecast, capacity, plan, advances, schedules, statements, scheduler."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="comptasso")
def main() -> None:
    """BanquAsso : la trésorerie mutualisée des associations du groupement."""


# Each command lives in the module of the concept it serves; register it here, one line each.
