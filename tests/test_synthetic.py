"""The seeded generator of the demo group and of synthetic groups, and the story the demo tells."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from beancount import loader
from beancount.core import data
from click.testing import CliRunner

from comptasso.synthetic import generate_command, generate_group
from comptasso.synthetic.funders import funders_toml
from comptasso.synthetic.previsions import SALARY_LABEL

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "ledgers"
RULES = ROOT / "rules"
BEAN_CHECK = Path(sys.executable).parent / "bean-check"
AS_OF = date(2026, 11, 30)
HORIZON = 91
BORROWERS = ("velo-gap", "grange-ecrins", "mjc-embrun")
LENDERS = ("ressourcerie-durance", "ge-alpes-sud")


# --- A small, independent approximation of the forecast of SPEC section 7 -------------------------

@dataclass(frozen=True)
class Projection:
    """What the story needs from a member's forecast."""

    opening: Decimal
    floor: Decimal
    payroll: Decimal
    min_balance: Decimal
    min_date: date
    days_below: int
    balances: tuple[Decimal, ...]


def pcg(account: str) -> str:
    """Leading digits of the deepest digit-leading component (`…:641-Salaires` → `641`)."""
    for part in reversed(account.split(":")[1:]):
        match = re.match(r"\d+", part)
        if match:
            return match.group(0)
    return ""


def is_treasury(account: str) -> bool:
    return account.startswith("Assets:") and pcg(account).startswith(("51", "53"))


def units(posting: data.Posting) -> Decimal:
    """The number of a posting of loaded books (beancount interpolates every one)."""
    assert posting.units is not None and posting.units.number is not None
    return posting.units.number


@cache
def load_entries(path: Path) -> list[data.Directive]:
    """The entries of a ledger (parsed once per test session; never mutated)."""
    entries, errors, _ = loader.load_file(str(path))
    assert not errors, errors
    return entries


def median_half_up(values: list[int]) -> int:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return int((Decimal(ordered[middle - 1] + ordered[middle]) / 2).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass
class GrantState:
    funder: dict[str, str]
    tranches: dict[str, list[list[Any]]]  # convention -> [[due, amount, paid, completed]]


def grant_state(entries: list[data.Directive], as_of: date) -> GrantState:
    """Conventions, tranches and FIFO-matched receipts known on `as_of`."""
    state = GrantState({}, defaultdict(list))
    receipts: list[tuple[date, str, Decimal]] = []
    for entry in entries:
        if entry.date > as_of:
            continue
        if isinstance(entry, data.Custom) and entry.type == "subvention-echeance":
            ref, due, amount = (v.value for v in entry.values)
            state.tranches[ref].append([due, amount.number, Decimal(0), None])
        elif isinstance(entry, data.Transaction) and "convention" in entry.meta:
            amount = sum((units(p) for p in entry.postings if pcg(p.account).startswith("441")), Decimal(0))
            if amount > 0:
                state.funder[entry.meta["convention"]] = entry.meta["funder"]
            else:
                receipts.append((entry.date, entry.meta["convention"], -amount))
    for items in state.tranches.values():
        items.sort(key=lambda t: t[0])
    for day, ref, received in sorted(receipts, key=lambda r: r[0]):
        left = received
        for tranche in state.tranches[ref]:
            take = min(left, tranche[1] - tranche[2])
            if take <= 0:
                continue
            tranche[2] += take
            left -= take
            if tranche[2] == tranche[1]:
                tranche[3] = day
            if left == 0:
                break
    return state


def funder_delays(states: list[GrantState], as_of: date, defaults: dict[str, int]) -> dict[str, int]:
    """Median delay per funder over every member's matched tranches dated on or before `as_of`."""
    observed: dict[str, list[int]] = defaultdict(list)
    for state in states:
        for ref, items in state.tranches.items():
            for due, _, _, completed in items:
                if completed is not None and due <= as_of:
                    observed[state.funder[ref]].append((completed - due).days)
    delays = dict(defaults)
    delays.update({fid: median_half_up(values) for fid, values in observed.items()})
    return delays


def last_day(year: int, month: int) -> int:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return (nxt - timedelta(days=1)).day


def occurrence_dates(declared: date, freq: str, arg: Any, until: date | None, lo: date, hi: date) -> list[date]:
    """Occurrences of a prevision within lo..hi, per SPEC section 4."""
    hi = min(hi, until) if until else hi
    lo = max(lo, declared)
    if freq == "unique":
        return [arg] if lo <= arg <= hi else []
    day = int(arg)
    if freq == "hebdomadaire":
        first = lo + timedelta(days=(day - lo.isoweekday()) % 7)
        return [first + timedelta(weeks=k) for k in range(max(0, (hi - first).days // 7 + 1))]
    step = {"mensuel": 1, "trimestriel": 3, "annuel": 12}[freq]
    out: list[date] = []
    index = declared.year * 12 + declared.month - 1
    while True:
        year, month = divmod(index, 12)
        candidate = date(year, month + 1, min(day, last_day(year, month + 1)))
        if candidate > hi:
            return out
        if candidate >= lo:
            out.append(candidate)
        index += step


def planned_flows(entries: list[data.Directive], as_of: date, horizon_end: date) -> dict[date, Decimal]:
    """Prevision occurrences after `as_of`, a later prevision replacing an earlier one of its label."""
    items = [e for e in entries if isinstance(e, data.Custom) and e.type == "prevision" and e.date <= as_of]
    starts: dict[str, list[date]] = defaultdict(list)
    for item in items:
        starts[item.values[1].value].append(item.date)
    flows: dict[date, Decimal] = defaultdict(Decimal)
    for item in items:
        values = [v.value for v in item.values]
        label, amount, freq, arg = values[1], values[2].number, values[3], values[4]
        until = values[5] if len(values) > 5 else None
        later = [d for d in starts[label] if d > item.date]
        stop = min(later) if later else None
        for day in occurrence_dates(item.date, freq, arg, until, as_of + timedelta(days=1), horizon_end):
            if stop is None or day < stop:
                flows[day] += amount
    return flows


def invoice_flows(entries: list[data.Directive], as_of: date) -> dict[date, Decimal]:
    """Open 411/401 amounts by link, expected on max(as_of + 1, echeance)."""
    balance: dict[str, Decimal] = defaultdict(Decimal)
    due: dict[str, date] = {}
    for entry in entries:
        if not isinstance(entry, data.Transaction) or entry.date > as_of or not entry.links:
            continue
        for link in entry.links:
            if "echeance" in entry.meta:
                due[link] = entry.meta["echeance"]
            balance[link] += sum((units(p) for p in entry.postings if pcg(p.account)[:3] in ("401", "411")), Decimal(0))
    flows: dict[date, Decimal] = defaultdict(Decimal)
    for link, amount in balance.items():
        if amount:
            flows[max(as_of + timedelta(days=1), due[link])] += amount
    return flows


def project_group(ledgers: Path, rules: Path, as_of: date, horizon: int = HORIZON) -> dict[str, Projection]:
    """Approximate forecast of every member (opening, floor, lowest projected balance, days under floor)."""
    group = tomllib.loads((ledgers / "group.toml").read_text(encoding="utf-8"))
    defaults = {f["id"]: f.get("default_delay_days", 0)
                for f in tomllib.loads((rules / "funders.toml").read_text(encoding="utf-8"))["funders"]}
    books = {m["id"]: load_entries(ledgers / m["ledger"]) for m in group["members"]}
    states = {mid: grant_state(entries, as_of) for mid, entries in books.items()}
    delays = funder_delays(list(states.values()), as_of, defaults)
    end = as_of + timedelta(days=horizon)
    return {mid: project_member(entries, states[mid], delays, as_of, end) for mid, entries in books.items()}


def project_member(entries: list[data.Directive], state: GrantState, delays: dict[str, int],
                   as_of: date, end: date) -> Projection:
    txns = [e for e in entries if isinstance(e, data.Transaction) and e.date <= as_of]
    opening = sum((units(p) for t in txns for p in t.postings if is_treasury(p.account)), Decimal(0))
    since = as_of - timedelta(days=364)
    payroll = sum((units(p) for t in txns if t.date >= since for p in t.postings
                   if p.account.startswith("Expenses:") and pcg(p.account).startswith("64")), Decimal(0))
    monthly = (payroll / 12).quantize(Decimal("0.01"), ROUND_HALF_UP)
    floor = max(Decimal(5000), monthly)
    flows = planned_flows(entries, as_of, end)
    for day, amount in invoice_flows(entries, as_of).items():
        flows[day] += amount
    for ref, items in state.tranches.items():
        for due, amount, paid, _ in items:
            if paid < amount:
                flows[max(as_of + timedelta(days=1), due + timedelta(days=delays[state.funder[ref]]))] += amount - paid
    balances, running, day = [], opening, as_of
    while day < end:
        day += timedelta(days=1)
        running += flows.get(day, Decimal(0))
        balances.append(running)
    lowest = min(balances)
    return Projection(opening, floor, monthly, lowest, as_of + timedelta(days=balances.index(lowest) + 1),
                      sum(1 for b in balances if b < floor), tuple(balances))


# --- Fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fresh_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "ledgers"
    generate_group(out, seed=2026)
    return out


@pytest.fixture(scope="module")
def small_group(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small") / "ledgers"
    generate_group(out, members=8, start=date(2026, 1, 1), seed=7)
    return out


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below a folder and its bytes (hidden caches such as `.x.picklecache` left out)."""
    files = (p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith("."))
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def member_ledgers(folder: Path) -> list[Path]:
    group = tomllib.loads((folder / "group.toml").read_text(encoding="utf-8"))
    return [folder / m["ledger"] for m in group["members"]]


# --- Determinism and the committed demo ------------------------------------------------------------

def test_same_seed_same_bytes(fresh_demo: Path, tmp_path: Path) -> None:
    generate_group(tmp_path / "again", seed=2026)
    assert tree(tmp_path / "again") == tree(fresh_demo)


def test_other_seed_other_books(fresh_demo: Path, tmp_path: Path) -> None:
    generate_group(tmp_path / "other", seed=2027)
    assert tree(tmp_path / "other") != tree(fresh_demo)


def test_committed_demo_is_the_generator_output(fresh_demo: Path) -> None:
    """ledgers/ is exactly `generate_group(…, seed=2026)`: regenerate it rather than edit it."""
    assert tree(DEMO) == tree(fresh_demo)


def test_committed_funders_match_the_generator() -> None:
    assert (RULES / "funders.toml").read_text(encoding="utf-8") == funders_toml()


def test_plugins_allow_list_is_a_list_of_modules() -> None:
    allowed = tomllib.loads((RULES / "plugins.toml").read_text(encoding="utf-8"))["allowed"]
    assert "comptasso.consolidation" in allowed
    assert all(isinstance(name, str) and name for name in allowed)


# --- Validity ----------------------------------------------------------------------------------------

def run_bean_check(paths: list[Path]) -> None:
    for path in paths:
        result = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0 and result.stdout == "" and result.stderr == "", (path, result)


@pytest.mark.slow
def test_bean_check_demo(fresh_demo: Path) -> None:
    run_bean_check(member_ledgers(fresh_demo))


@pytest.mark.slow
def test_bean_check_small_synthetic_group(small_group: Path) -> None:
    run_bean_check(member_ledgers(small_group))


@pytest.mark.parametrize("folder_name", ["demo", "small"])
def test_group_file(folder_name: str, fresh_demo: Path, small_group: Path) -> None:
    folder = fresh_demo if folder_name == "demo" else small_group
    group = tomllib.loads((folder / "group.toml").read_text(encoding="utf-8"))
    assert group["group"] == {"name": group["group"]["name"], "currency": "EUR"}
    ids = [m["id"] for m in group["members"]]
    assert len(ids) == len(set(ids))
    folders = sorted(p.name for p in folder.iterdir() if p.is_dir())
    assert folders == sorted(ids)
    for member in group["members"]:
        assert set(member) == {"id", "name", "siren", "ledger", "bank_account"}
        assert member["ledger"] == f"{member['id']}/main.beancount"
        assert len(member["siren"]) == 9 and member["siren"].isdigit()
        text = (folder / member["ledger"]).read_text(encoding="utf-8")
        assert text.startswith(f'option "title" "{member["name"]}"\n')
        assert f"open {member['bank_account']} EUR" in text
        assert (folder / member["id"] / "banquasso.beancount").read_text(encoding="utf-8").startswith(
            "; Fichier écrit par BanquAsso")


def test_synthetic_ids_cycle_through_archetypes(small_group: Path) -> None:
    group = tomllib.loads((small_group / "group.toml").read_text(encoding="utf-8"))
    ids = [m["id"] for m in group["members"]]
    assert ids[:2] == ["velo-gap-001", "grange-ecrins-002"] and ids[6] == "velo-gap-007"


def test_group_beancount(fresh_demo: Path) -> None:
    text = (fresh_demo / "group.beancount").read_text(encoding="utf-8")
    assert 'plugin "comptasso.consolidation" "group.toml"' in text
    assert '2024-01-01 custom "fava-option" "language" "fr"' in text


def test_accounts_follow_the_chart(fresh_demo: Path) -> None:
    roots = {"1": ("Equity", "Liabilities"), "2": ("Assets",), "3": ("Assets",), "4": ("Assets", "Liabilities"),
             "5": ("Assets",), "6": ("Expenses",), "7": ("Income",)}
    for path in member_ledgers(fresh_demo):
        for entry in load_entries(path):
            if isinstance(entry, data.Open):
                number = pcg(entry.account)
                assert number and entry.account.split(":")[0] in roots[number[0]], entry.account
                assert entry.date == date(2024, 1, 1)


def test_tranches_sum_to_the_notified_amount(fresh_demo: Path, small_group: Path) -> None:
    """Each convention is notified once; its tranches, dated the notification day, sum to the grant."""
    for path in member_ledgers(fresh_demo) + member_ledgers(small_group):
        notified: dict[str, tuple[date, Decimal]] = {}
        tranches: dict[str, Decimal] = defaultdict(Decimal)
        for entry in load_entries(path):
            if isinstance(entry, data.Transaction) and "funder" in entry.meta:
                ref = entry.meta["convention"]
                assert ref not in notified, ref
                notified[ref] = (entry.date, sum((units(p) for p in entry.postings if units(p) > 0), Decimal(0)))
            elif isinstance(entry, data.Custom) and entry.type == "subvention-echeance":
                ref = entry.values[0].value
                assert entry.date == notified[ref][0], ref
                tranches[ref] += entry.values[2].value.number
        assert notified and tranches == {ref: amount for ref, (_, amount) in notified.items()}


@pytest.mark.parametrize("folder_name", ["demo", "small"])
def test_every_entry_is_within_the_period(folder_name: str, fresh_demo: Path, small_group: Path) -> None:
    folder, start = (fresh_demo, date(2024, 1, 1)) if folder_name == "demo" else (small_group, date(2026, 1, 1))
    for path in member_ledgers(folder):
        for entry in load_entries(path):
            assert start <= entry.date <= AS_OF, entry


# --- The story of the demo ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def story(fresh_demo: Path) -> dict[str, Projection]:
    return project_group(fresh_demo, RULES, AS_OF)


@pytest.mark.parametrize("member", BORROWERS)
def test_borrowers_dip_under_their_floor(story: dict[str, Projection], member: str) -> None:
    p = story[member]
    assert Decimal("0.5") * p.payroll <= p.opening <= Decimal("1.2") * p.payroll
    assert p.floor - Decimal(25000) <= p.min_balance <= p.floor - Decimal(2000)
    assert p.days_below >= 21


@pytest.mark.parametrize("member", LENDERS)
def test_lenders_hold_idle_cash(story: dict[str, Projection], member: str) -> None:
    p = story[member]
    assert p.min_balance >= 3 * p.floor
    assert p.days_below == 0


def test_creche_keeps_a_moderate_surplus(story: dict[str, Projection]) -> None:
    p = story["creche-marmottes"]
    assert p.min_balance >= Decimal("1.3") * p.floor


def test_open_invoices_and_tranches_at_the_end(fresh_demo: Path) -> None:
    overdue = later = 0
    for path in member_ledgers(fresh_demo):
        entries = load_entries(path)
        for day in invoice_flows(entries, AS_OF):
            overdue += day == AS_OF + timedelta(days=1)
            later += day > AS_OF + timedelta(days=1)
    assert overdue >= 2 and later >= 2


def test_fondation_has_no_receipt_and_open_tranches(fresh_demo: Path) -> None:
    states = [grant_state(load_entries(p), AS_OF) for p in member_ledgers(fresh_demo)]
    fdf = [items for s in states for ref, items in s.tranches.items() if s.funder[ref] == "fondation-de-france"]
    assert fdf and all(t[2] == 0 and t[0].year == 2027 for items in fdf for t in items)
    delays = funder_delays(states, AS_OF, {"fondation-de-france": 45})
    assert delays["fondation-de-france"] == 45
    assert {"caf-05", "ville-gap", "ccsp", "departement-05", "etat-fdva", "region-sud", "fse-plus",
            "leader-alpes"} <= {fid for fid in delays if fid != "fondation-de-france"}


def test_a_prevision_is_replaced_by_label(fresh_demo: Path) -> None:
    text = (fresh_demo / "mjc-embrun" / "main.beancount").read_text(encoding="utf-8")
    dated = [line[:10] for line in text.splitlines() if f'"{SALARY_LABEL}"' in line]
    assert "2026-09-01" in dated and "2026-01-01" in dated


def test_earmarked_actions_carry_their_charges(fresh_demo: Path) -> None:
    """Each FDVA action's charges: tagged operations of its year, within 80 % of its grant, so part stays unused."""
    from comptasso.model.budgets import budget_report
    from comptasso.model.fonds_dedies import fonds_dedies_rows
    from comptasso.synthetic.actions import ACTION_CHARGES

    for member, action in (("velo-gap", "formation-benevoles"), ("mjc-embrun", "fonctionnement-innovation")):
        entries = load_entries(fresh_demo / member / "main.beancount")
        tagged = [e for e in entries if isinstance(e, data.Transaction) and e.meta.get("action") == action
                  and "convention" not in e.meta]
        assert len(tagged) >= 5
        # Only metadata was added: each tagged operation is an ordinary charge on the action's kind of accounts.
        assert all(any(p.account.startswith(ACTION_CHARGES) for p in e.postings) for e in tagged)
        for year in (2024, 2025):
            [row] = fonds_dedies_rows(entries, date(year, 1, 1), date(year, 12, 31))
            assert row.action == action and 0 < row.charges <= row.granted * Decimal("0.80")
            assert row.dotation == row.granted - row.charges > 0
        [line] = [s for s in budget_report(entries, (), AS_OF)[0] if s.line.action == action]
        assert line.line.prefix == "6" and 0 < line.actual <= line.line.amount


# --- The command ---------------------------------------------------------------------------------------

def test_generate_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(generate_command, [str(tmp_path / "g"), "--members", "7", "--years", "1",
                                                   "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "7 dossiers de membre" in result.output
    assert (tmp_path / "g" / "ge-alpes-sud-006" / "main.beancount").is_file()
