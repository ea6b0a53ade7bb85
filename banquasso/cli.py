"""The `banquasso` command: forecast, capacity, plan, advances, schedules, statements, scheduler."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="comptasso")
def main() -> None:
    """BanquAsso : la trésorerie mutualisée des associations du groupement."""


# Each command lives in the module of the concept it serves; register it here, one line each.
from banquasso.commands.schedule import schedule_command  # noqa: E402
main.add_command(schedule_command)
from banquasso.commands.forecast import backtest_command, forecast_command, funders_command  # noqa: E402
for _command in (forecast_command, funders_command, backtest_command): main.add_command(_command)
from banquasso.commands.advance import advance_command; main.add_command(advance_command)  # noqa: E402,E702
from banquasso.commands.reconcile import reconcile_command; main.add_command(reconcile_command)  # noqa: E402,E702
from banquasso.commands.board import accuracy_command, jobs_command, scheduler_command, statement_command  # noqa: E402
for _command in (statement_command, scheduler_command, jobs_command, accuracy_command): main.add_command(_command)
from banquasso.commands.pool import capacity_command, plan_command  # noqa: E402
for _command in (capacity_command, plan_command): main.add_command(_command)
