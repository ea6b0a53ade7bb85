"""Seeded generator of the demo group's ledgers and of large synthetic groups for benchmarks."""

from comptasso.synthetic.cli import generate_command
from comptasso.synthetic.group import generate_group

__all__ = ["generate_command", "generate_group"]
