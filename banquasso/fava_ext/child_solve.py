"""The pool page's plan solved in a child process, so that Fava's process never holds the program.

Solving the plan of a large group needs a few hundred MiB (the candidates and HiGHS's model) on top
of the books Fava already holds. For a group of `CHILD_MEMBERS` members or more, the pool page first
runs `fill_memo` of this module in a child process:
it reads the books once, as `banquasso plan` and `banquasso capacity` do, and stores the day's plan
and capacity in the plan's memo (`banquasso.pool.memo`, the same key in every process); the page then
reads them from the memo. The memory is the child's, and is given back when it ends.
When the child fails (or is not wanted), the page computes in its own process, as before: the
answer is the same either way, only where it is computed changes.

`BANQUASSO_PLAN_IN_CHILD=1` forces the child, `=0` forbids it (tests, one-process servers).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

#: From this many members on, the pool page's plan is solved in a child process.
CHILD_MEMBERS = 20
#: Environment variable that forces (`1`) or forbids (`0`) the child.
CHILD_ENV = "BANQUASSO_PLAN_IN_CHILD"
#: The longest a child may take (seconds) before the page computes in its own process.
CHILD_TIMEOUT = 600
#: What the child runs: `fill_memo(LEDGERS, RULES, DAY)` (not `python -m`: the package imports this module).
_SCRIPT = ("import datetime, pathlib, sys\n"
           "from banquasso.fava_ext.child_solve import fill_memo\n"
           "ledgers, rules, day = sys.argv[1:4]\n"
           "fill_memo(pathlib.Path(ledgers), pathlib.Path(rules), datetime.date.fromisoformat(day))\n")


def wanted(members: int) -> bool:
    """Whether a group of `members` members has its plan solved in a child process."""
    forced = os.environ.get(CHILD_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    return members >= CHILD_MEMBERS


def command(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> list[str]:
    """The child's command line."""
    return [sys.executable, "-c", _SCRIPT, str(ledgers_dir), str(rules_dir), as_of.isoformat()]


def solve_in_child(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> bool:
    """Fill the memo with the plan and the capacity of `as_of`, in a child process; True when it succeeded."""
    try:
        done = subprocess.run(command(ledgers_dir, rules_dir, as_of), capture_output=True, check=False,
                              timeout=CHILD_TIMEOUT, env={**os.environ, CHILD_ENV: "0"})
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def fill_memo(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> None:
    """The child's work: the books read once, as the commands read them, then the memoised capacity and plan
    (`memoised_capacity`, `memoised_plan`: the keys `banquasso capacity` and `banquasso plan` use)."""
    from banquasso.commands.pool import open_with_policy
    from banquasso.forecast.daily import DEFAULT_HORIZON
    from banquasso.pool.plan import memoised_capacity, memoised_plan

    policy, books, day = open_with_policy(ledgers_dir, rules_dir, as_of, quiet=True)
    memoised_capacity(books, policy, day)
    memoised_plan(books, policy, day, DEFAULT_HORIZON)
