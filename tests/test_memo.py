"""The memo of plan and capacity: used when nothing changed, a new key for every changed input, never stale."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from banquasso.commands.main import main
from banquasso.pool import memo
from banquasso.pool import plan as plan_module
from banquasso.pool.capacity import Capacity
from banquasso.pool.plan import memoised_capacity, memoised_plan, plan_group
from banquasso.registry.db import DB_URL_ENV
from banquasso.terms.policy import Policy, load_policy
from comptasso.books import facade
from comptasso.books.facade import GroupBooks, open_books
from comptasso.books.loading import MemberLedger, load_member_ledger
from tests.conftest import write_group
from tests.test_plan import BORROWER, LENDER, POOL
from tests.test_registry import db_url, make_group, propose_args, run  # noqa: F401 - fixture

AS_OF = dt.date(2026, 11, 30)


def _books(ledgers: Path, rules: Path) -> tuple[GroupBooks, Policy]:
    books, problems = open_books(ledgers, rules)
    assert books is not None, problems
    policy, problems = load_policy(rules)
    assert policy is not None, problems
    return books, policy


class Counter:
    """Counts the solver's runs (plan_group and group_capacity as the memo calls them)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plans = 0
        self.capacities = 0
        real_plan, real_capacity = plan_module.plan_group, plan_module.group_capacity

        def plan(*args: object, **kwargs: object) -> plan_module.Plan:
            self.plans += 1
            return real_plan(*args, **kwargs)  # type: ignore[arg-type]

        def capacity(*args: object) -> Capacity:
            self.capacities += 1
            return real_capacity(*args)  # type: ignore[arg-type]

        monkeypatch.setattr(plan_module, "plan_group", plan)
        monkeypatch.setattr(plan_module, "group_capacity", capacity)


@pytest.fixture
def group(tmp_path: Path) -> tuple[Path, Path]:
    return write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER}, pool=POOL)


def test_unchanged_inputs_answer_from_the_memo(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Counter(monkeypatch)
    books, policy = _books(*group)
    first = memoised_plan(books, policy, AS_OF)
    again = memoised_plan(*_books(*group), AS_OF)  # books read again: same content, same key
    assert counter.plans == 1
    assert again == first and again.total_covered == first.total_covered > 0
    memoised_capacity(books, policy, AS_OF)
    memoised_capacity(books, policy, AS_OF)
    assert counter.capacities == 1
    # the plan, the capacity and the plan's solving step (keyed on its program, `plan.program_key`)
    assert len([p for p in memo.memo_dir(books).glob("*.pickle") if not p.name.startswith(memo.QUICK_PREFIX)]) == 3


def test_the_cli_plan_reads_the_memo(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    counter = Counter(monkeypatch)
    args = ["plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat(), "--json"]
    outs = [CliRunner().invoke(main, args) for _ in range(2)]
    assert [o.exit_code for o in outs] == [0, 0]
    assert json.loads(outs[0].stdout) == json.loads(outs[1].stdout)
    assert counter.plans == 1


def test_each_input_kind_changes_the_key(group: tuple[Path, Path]) -> None:
    ledgers, rules = group
    books, policy = _books(ledgers, rules)
    base = memo.memo_key("plan", books, policy, AS_OF, horizon=91)
    assert memo.memo_key("plan", books, policy, AS_OF, horizon=91) == base
    assert memo.memo_key("plan", books, policy, AS_OF + dt.timedelta(days=1), horizon=91) != base
    assert memo.memo_key("plan", books, policy, AS_OF, horizon=60) != base
    assert memo.memo_key("capacity", books, policy, AS_OF, horizon=91) != base
    (rules / "pool.toml").write_text(POOL.replace("min_advance = 1000", "min_advance = 500"), encoding="utf-8")
    assert memo.memo_key("plan", *_books(ledgers, rules), AS_OF, horizon=91) != base
    (rules / "pool.toml").write_text(POOL, encoding="utf-8")
    assert memo.memo_key("plan", *_books(ledgers, rules), AS_OF, horizon=91) == base
    main_file = ledgers / "emprunte" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + "\n; une note\n", encoding="utf-8")
    assert memo.memo_key("plan", *_books(ledgers, rules), AS_OF, horizon=91) != base


def test_a_ledger_edit_recomputes_the_plan(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    counter = Counter(monkeypatch)
    before = memoised_plan(*_books(ledgers, rules), AS_OF)
    main_file = ledgers / "emprunte" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8").replace("-4000.00 EUR", "-4500.00 EUR"),
                         encoding="utf-8")
    after = memoised_plan(*_books(ledgers, rules), AS_OF)
    assert counter.plans == 2
    assert after.total_need == before.total_need + 500


class Solves:
    """Counts the plan's solving step (`solve_plan`) and what it was given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inputs: list[plan_module.PlanInputs] = []
        real = plan_module.solve_plan

        def solve(inputs: plan_module.PlanInputs, *args: Any, **kwargs: Any) -> plan_module.Plan:
            self.inputs.append(inputs)
            return real(inputs, *args, **kwargs)

        monkeypatch.setattr(plan_module, "solve_plan", solve)


def test_an_edit_that_leaves_the_program_as_it_was_solves_nothing(group: tuple[Path, Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    counter, solves = Counter(monkeypatch), Solves(monkeypatch)
    before = memoised_plan(*_books(ledgers, rules), AS_OF)
    main_file = ledgers / "emprunte" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + "\n; une note\n", encoding="utf-8")
    after = memoised_plan(*_books(ledgers, rules), AS_OF)
    assert counter.plans == 2  # another plan key: the books are read and the program built again...
    assert len(solves.inputs) == 1  # ...but it is the program already solved: its plan is the memo's
    assert after == before and after.total_covered > 0


def test_an_edit_that_changes_the_program_solves_it(group: tuple[Path, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    solves = Solves(monkeypatch)
    before = memoised_plan(*_books(ledgers, rules), AS_OF)
    main_file = ledgers / "emprunte" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8").replace("-4000.00 EUR", "-4500.00 EUR"),
                         encoding="utf-8")
    after = memoised_plan(*_books(ledgers, rules), AS_OF)
    assert len(solves.inputs) == 2 and solves.inputs[0] != solves.inputs[1]
    assert after.total_need == before.total_need + 500
    # the memoised solve is the plain one: `plan_group` without a memo gives the same plan
    assert plan_group(*_books(ledgers, rules), AS_OF) == after


def test_an_unchanged_program_is_answered_without_the_solver(group: tuple[Path, Path]) -> None:
    """A new process after a comment edit builds the program again but imports no solver (scipy) to answer it."""
    ledgers, rules = group
    args = ["plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat(), "--json"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    main_file = ledgers / "emprunte" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + "\n; une note\n", encoding="utf-8")
    script = (
        "import json, sys\n"
        "from banquasso.commands.main import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'"
        " or m in ('banquasso.pool.allocation', 'banquasso.pool.solver'))), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(first.stdout)
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_the_program_key_follows_what_solving_reads(group: tuple[Path, Path]) -> None:
    ledgers, rules = group
    books, policy = _books(ledgers, rules)
    inputs = plan_module.plan_inputs(books, policy, AS_OF, 91)
    key = plan_module.program_key(inputs, policy, AS_OF, 91)
    assert plan_module.program_key(plan_module.plan_inputs(*_books(ledgers, rules), AS_OF, 91),
                                   policy, AS_OF, 91) == key  # built again from the same books: the same key
    assert plan_module.program_key(inputs, policy, AS_OF, 60) != key
    assert plan_module.program_key(inputs, policy, AS_OF + dt.timedelta(days=1), 91) != key
    other = policy.model_copy(update={"terms": policy.terms.model_copy(update={"default_method": "autre"})})
    assert plan_module.program_key(inputs, other, AS_OF, 91) != key
    lender = inputs.problem.lenders[0]
    nudged = type(inputs)(
        type(inputs.problem)(inputs.problem.horizon,
                             (type(lender)(lender.id, (lender.surplus[0] - Decimal("0.01"), *lender.surplus[1:]),
                                           lender.fiscal_years), *inputs.problem.lenders[1:]),
                             inputs.problem.borrowers, inputs.problem.securities, inputs.problem.needs,
                             inputs.problem.limits),
        inputs.needs, inputs.securities, inputs.first_day)
    assert plan_module.program_key(nudged, policy, AS_OF, 91) != key  # a cent on one day of one lender


@pytest.mark.usefixtures("db_url")
def test_a_registry_event_changes_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = make_group(tmp_path)
    counter = Counter(monkeypatch)
    books, policy = _books(ledgers, rules)
    empty = memoised_plan(books, policy, AS_OF)
    assert run(propose_args(), ledgers, rules).exit_code == 0
    assert run(["advance", "approve", "BQA-2026-0001", "--by", "M", "--decision", "CA"], ledgers, rules).exit_code == 0
    books, policy = _books(ledgers, rules)
    approved = memoised_plan(books, policy, AS_OF)
    assert counter.plans == 2
    assert approved == plan_group(books, policy, AS_OF)
    assert approved.total_need != empty.total_need or approved.advances != empty.advances


def test_a_foreign_or_broken_file_is_never_read_as_a_memo(tmp_path: Path) -> None:
    memo.remember(tmp_path, "a" * 64, {"x": 1})
    (tmp_path / f"{'a' * 64}.pickle").rename(tmp_path / f"{'b' * 64}.pickle")
    assert memo.recall(tmp_path, "b" * 64) is None  # stored under another key
    (tmp_path / f"{'c' * 64}.pickle").write_bytes(b"\x80\x05tronqu")
    assert memo.recall(tmp_path, "c" * 64) is None
    memo.remember(tmp_path, "d" * 64, {"x": 2})
    assert memo.recall(tmp_path, "d" * 64) == {"x": 2}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.sampled_from(["4000.00", "4500.00", "3000.00", "5200.00"]), min_size=1, max_size=4),
       days=st.lists(st.sampled_from([0, 1, 5]), min_size=1, max_size=4))
def test_the_memo_never_returns_a_stale_plan(tmp_path_factory: pytest.TempPathFactory, edits: list[str],
                                             days: list[int]) -> None:
    """Whatever sequence of edits and days, the memoised plan equals the plan computed afresh."""
    ledgers, rules = write_group(tmp_path_factory.mktemp("g"), {"prete": LENDER, "emprunte": BORROWER}, pool=POOL)
    main_file = ledgers / "emprunte" / "main.beancount"
    original = main_file.read_text(encoding="utf-8")
    for amount, shift in zip(edits, days, strict=False):
        main_file.write_text(original.replace("-4000.00 EUR", f"-{amount} EUR"), encoding="utf-8")
        books, policy = _books(ledgers, rules)
        day = AS_OF + dt.timedelta(days=shift)
        assert memoised_plan(books, policy, day) == plan_group(books, policy, day)


# ---------------------------------------------------------------- the quick path: file stamps before any ledger


class Loads:
    """Counts the books' reads (`open_books` → `load_ledgers`) and the member ledgers parsed (not from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.parsed: list[str] = []
        real_read, real_parse = facade.load_ledgers, load_member_ledger

        def read(*args: Any, **kwargs: Any) -> dict[str, MemberLedger]:
            self.reads += 1
            return real_read(*args, **kwargs)

        def parse(member_id: str, main: Path, allowed: frozenset[str]) -> MemberLedger:
            self.parsed.append(member_id)
            return real_parse(member_id, main, allowed)

        monkeypatch.setattr(facade, "load_ledgers", read)
        monkeypatch.setattr(facade, "load_member_ledger", parse)


def _plan_json(ledgers: Path, rules: Path) -> dict[str, Any]:
    args = ["plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat(), "--json"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    document: dict[str, Any] = json.loads(out.stdout)
    return document


def test_an_unchanged_group_answers_before_reading_any_ledger(group: tuple[Path, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    first = _plan_json(ledgers, rules)
    loads, counter = Loads(monkeypatch), Counter(monkeypatch)
    assert _plan_json(ledgers, rules) == first
    assert (loads.reads, loads.parsed, counter.plans) == (0, [], 0)
    assert first["advances"]  # a real plan, not an empty answer


def test_a_touch_without_change_still_answers_from_the_stamps(group: tuple[Path, Path],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    first = _plan_json(ledgers, rules)
    main_file = ledgers / "emprunte" / "main.beancount"
    stat = main_file.stat()
    os.utime(main_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    main_file.write_bytes(main_file.read_bytes())  # rewritten with the same bytes: a save without change
    loads, counter = Loads(monkeypatch), Counter(monkeypatch)
    hashed: list[str] = []
    real_sha = memo._sha

    def sha(path: str) -> str:
        hashed.append(path)
        return real_sha(path)

    monkeypatch.setattr(memo, "_sha", sha)
    assert _plan_json(ledgers, rules) == first
    assert (loads.reads, counter.plans) == (0, 0)
    assert hashed == [str(main_file)]  # only the touched file is hashed…
    hashed.clear()
    assert _plan_json(ledgers, rules) == first
    assert hashed == []  # …and stamped anew: the next call hashes nothing


def test_a_byte_change_of_the_same_size_is_a_miss(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    first = _plan_json(ledgers, rules)
    main_file = ledgers / "emprunte" / "main.beancount"
    text = main_file.read_text(encoding="utf-8")
    assert "-4000.00 EUR" in text
    main_file.write_text(text.replace("-4000.00 EUR", "-4500.00 EUR"), encoding="utf-8")  # same size
    loads, counter = Loads(monkeypatch), Counter(monkeypatch)
    changed = _plan_json(ledgers, rules)
    assert (loads.reads, loads.parsed, counter.plans) == (1, ["emprunte"], 1)  # only the edited member re-read
    assert Decimal(changed["total_need"]) == Decimal(first["total_need"]) + 500


def test_a_new_file_or_a_rules_edit_is_a_miss(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    _plan_json(ledgers, rules)
    loads = Loads(monkeypatch)
    (ledgers / "prete" / "notes.txt").write_text("une note\n", encoding="utf-8")
    _plan_json(ledgers, rules)
    assert loads.reads == 1
    _plan_json(ledgers, rules)
    assert loads.reads == 1  # stored again: the next call answers from the stamps
    (rules / "pool.toml").write_text(POOL.replace("min_advance = 1000", "min_advance = 500"), encoding="utf-8")
    _plan_json(ledgers, rules)
    assert loads.reads == 2


def test_no_quick_entry_when_an_input_changed_while_computing(group: tuple[Path, Path]) -> None:
    """A ledger saved after the books were read leaves no quick entry: it would pair new stamps with old results."""
    ledgers, rules = group
    books, policy = _books(ledgers, rules)
    main_file = ledgers / "emprunte" / "main.beancount"
    main_file.write_text(main_file.read_text(encoding="utf-8") + "\n; enregistré pendant le calcul\n",
                         encoding="utf-8")
    memoised_plan(books, policy, AS_OF)
    assert memo.recall_quick("plan", ledgers, rules, AS_OF, horizon=91) is None
    memoised_plan(*_books(ledgers, rules), AS_OF)
    assert memo.recall_quick("plan", ledgers, rules, AS_OF, horizon=91) is not None


def test_a_server_registry_has_no_quick_path(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, _rules = group
    monkeypatch.setenv(DB_URL_ENV, "postgresql://registre.example/banquasso")
    assert memo.input_files(ledgers, _rules) is None


def test_the_quick_path_reports_the_excluded_members_as_the_books_did(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = write_group(tmp_path, {"prete": LENDER, "emprunte": BORROWER,
                                            "casse": "2026-01-01 open Assets:512-Banque EUR\n2026-13-45 ???\n"},
                                 pool=POOL)
    args = ["plan", "--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF.isoformat(), "--json"]
    first = CliRunner().invoke(main, args)
    loads = Loads(monkeypatch)
    again = CliRunner().invoke(main, args)
    assert (first.exit_code, again.exit_code, loads.reads) == (0, 0, 0)
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert [e["id"] for e in json.loads(again.stdout)["excluded"]] == ["casse"]
    warnings = [line for line in first.stderr.splitlines() if "avertissement" in line]
    assert len(warnings) == 1 and "« casse »" in warnings[0]
    assert again.stderr.splitlines() == warnings  # the same warning, and no progress: nothing was read


def test_a_cache_folder_inside_the_books_is_no_input(group: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    ledgers, rules = group
    monkeypatch.setenv("COMPTASSO_CACHE_DIR", str(ledgers / "cache"))
    _plan_json(ledgers, rules)
    loads = Loads(monkeypatch)
    _plan_json(ledgers, rules)
    assert loads.reads == 0  # the memo's own files, written under the ledgers folder, change no stamp
