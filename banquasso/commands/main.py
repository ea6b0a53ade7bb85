"""The `banquasso` command: forecast, capacity, plan, advances, schedules, statements, scheduler."""

from __future__ import annotations

import click

from comptasso.cli.lazy import LazyGroup

#: Each command lives in the module of the concept it serves.
COMMANDS = {
    "forecast": "banquasso.commands.forecast:forecast_command",
    "funders": "banquasso.commands.forecast:funders_command",
    "backtest": "banquasso.commands.forecast:backtest_command",
    "capacity": "banquasso.commands.pool:capacity_command",
    "plan": "banquasso.commands.pool:plan_command",
    "stress": "banquasso.commands.stress:stress_command",
    "schedule": "banquasso.commands.schedule:schedule_command",
    "advance": "banquasso.commands.advance:advance_command",
    "attestation": "banquasso.commands.attestation:attestation_command",
    "reconcile": "banquasso.commands.reconcile:reconcile_command",
    "statement": "banquasso.commands.statement:statement_command",
    "scheduler": "banquasso.commands.board:scheduler_command",
    "jobs": "banquasso.commands.board:jobs_command",
    "accuracy": "banquasso.commands.board:accuracy_command",
    "budget": "banquasso.commands.budget:budget_command",
    "subventions": "banquasso.commands.grants:subventions_command",
    "compte-rendu": "banquasso.commands.grants:compte_rendu_command",
    "fonds-dedies": "banquasso.commands.fonds_dedies:fonds_dedies_command",
    "indicateurs": "banquasso.commands.indicators:indicators_command",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="comptasso", help="Afficher la version et quitter.")
def main() -> None:
    """BanquAsso : la trésorerie mutualisée des associations du groupement."""
    from comptasso.cli.util import check_timezone

    check_timezone()
