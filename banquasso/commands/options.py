"""Click option blocks shared by several `banquasso` commands (one decorator each)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from banquasso.forecast.daily import DEFAULT_HORIZON

F = TypeVar("F", bound=Callable[..., Any])

MEMBER_FILTER_HELP = "N'afficher que ce membre (identifiant de group.toml)."


def pool_horizon_option(help_text: str) -> Callable[[F], F]:
    """`--horizon` of the pool commands: days after --as-of, 1 to 365, the forecast's default horizon."""
    return click.option("--horizon", type=click.IntRange(1, 365), default=DEFAULT_HORIZON, show_default=True,
                        help=help_text)


def member_filter_option(func: F) -> F:
    """`--member`: show only this member (its group.toml id); None shows every member."""
    return click.option("--member", default=None, help=MEMBER_FILTER_HELP)(func)


def check_member(member: str | None, known: Sequence[str], hint: str = "'--member'") -> None:
    """A usage error naming the known ids when `member` is given and is not one of them."""
    if member is not None and member not in known:
        raise click.BadParameter(f"membre inconnu « {member} » (membres : {', '.join(known)})", param_hint=hint)
