"""The pool page's plan solved in a child process, so that Fava's process never holds the program.

Solving the plan of a large group needs a few hundred MiB (the candidates and HiGHS's model) on top
of the books Fava already holds. For a group of `CHILD_MEMBERS` members or more, the pool page first
runs `banquasso plan --json` and `banquasso capacity --json` for the day in a child process: they
store their results in the plan's memo (`banquasso.pool.memo`, the same key in every process), and
the page then reads them from the memo. The memory is the child's, and is given back when it ends.
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

_SCRIPT = "import sys\nfrom banquasso.commands.main import main\nmain(sys.argv[1:], prog_name='banquasso')\n"


def wanted(members: int) -> bool:
    """Whether a group of `members` members has its plan solved in a child process."""
    forced = os.environ.get(CHILD_ENV)
    if forced in ("0", "1"):
        return forced == "1"
    return members >= CHILD_MEMBERS


def commands(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> list[list[str]]:
    """The two child command lines: the plan and the capacity of the day, as JSON (their output is not read)."""
    common = ["--ledgers", str(ledgers_dir), "--rules", str(rules_dir), "--as-of", as_of.isoformat(), "--json"]
    return [[sys.executable, "-c", _SCRIPT, name, *common] for name in ("plan", "capacity")]


def solve_in_child(ledgers_dir: Path, rules_dir: Path, as_of: dt.date) -> bool:
    """Run the plan and the capacity of `as_of` in child processes (they fill the memo); True when both succeeded."""
    for command in commands(ledgers_dir, rules_dir, as_of):
        try:
            done = subprocess.run(command, capture_output=True, check=False, timeout=CHILD_TIMEOUT,
                                  env={**os.environ, CHILD_ENV: "0"})
        except (OSError, subprocess.TimeoutExpired):
            return False
        if done.returncode != 0:
            return False
    return True
