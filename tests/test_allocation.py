"""The allocation program on plain inputs: hand cases, policy limits, floors and optimality (Hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from banquasso.pool import allocation as allocation_module
from banquasso.pool.allocation import (
    Advance,
    Allocation,
    TimeLimits,
    allocate,
    candidates,
    settle,
)
from banquasso.pool.program import (
    AllocationInput,
    BorrowerInput,
    FiscalYear,
    LenderInput,
    Limits,
    NeedInput,
    SecurityInput,
)

D = Decimal
ZERO = D("0.00")


def flat(value: int, horizon: int) -> tuple[Decimal, ...]:
    return tuple(D(value) for _ in range(horizon))


def series(values: list[int]) -> tuple[Decimal, ...]:
    return tuple(D(v) for v in values)


def one_borrower(lenders: tuple[LenderInput, ...], shortfall: list[int], securities: tuple[SecurityInput, ...],
                 needs: tuple[NeedInput, ...], limits: Limits) -> AllocationInput:
    return AllocationInput(len(shortfall), lenders, (BorrowerInput("b", series(shortfall)),), securities, needs, limits)


# --- independent checks -------------------------------------------------------------------------

def outstanding(advances: Sequence[Advance], who: str, day: int, side: str) -> Decimal:
    return sum((a.amount for a in advances if getattr(a, side) == who and a.start <= day < a.repay), ZERO)


def check_plan(problem: AllocationInput, allocation: Allocation) -> None:
    """Every rule the plan must keep, recomputed from the inputs without the module's helpers."""
    limits = problem.limits
    for adv in allocation.advances:
        need = problem.needs[adv.need]
        security = problem.securities[adv.security]
        assert adv.amount >= limits.min_advance and adv.amount > 0
        assert adv.amount == adv.amount.quantize(D("0.01"))
        assert adv.borrower == need.borrower == security.borrower
        assert adv.security in need.securities
        assert adv.start == need.start and adv.repay == security.repay
        assert 0 < adv.repay - adv.start <= limits.max_days
    for lender in problem.lenders:
        for day in range(problem.horizon):
            out = outstanding(allocation.advances, lender.id, day, "lender")
            assert lender.surplus[day] - out >= 0 or out == 0, "lender under its floor"
            assert out <= lender.surplus[day] * limits.max_lender_share or out == 0
        for fy in lender.fiscal_years:
            paid = sum((a.amount for a in allocation.advances
                        if a.lender == lender.id and fy.first <= a.start <= fy.last), ZERO)
            at_eve = outstanding(allocation.advances, lender.id, fy.eve, "lender") if fy.eve is not None else ZERO
            assert paid <= limits.legal_share * (fy.opening_cash - at_eve) - fy.already_lent or paid == 0
    for s, security in enumerate(problem.securities):
        assert sum((a.amount for a in allocation.advances if a.security == s), ZERO) <= security.cap
    for borrower in problem.borrowers:
        for day in range(problem.horizon):
            assert outstanding(allocation.advances, borrower.id, day, "borrower") <= limits.max_per_borrower
    for l_id, b_id, room in limits.pair_rooms:
        assert sum((a.amount for a in allocation.advances if (a.lender, a.borrower) == (l_id, b_id)), ZERO) <= room
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    for need, unmet in zip(problem.needs, allocation.unmet, strict=True):
        left = max(shortfall[need.borrower][d] - outstanding(allocation.advances, need.borrower, d, "borrower")
                   for d in range(need.start, need.end + 1))
        assert unmet == max(ZERO, left)


def empty_unmet(problem: AllocationInput) -> Decimal:
    shortfall = {b.id: b.shortfall for b in problem.borrowers}
    return sum((max(shortfall[n.borrower][n.start:n.end + 1]) for n in problem.needs), ZERO)


# --- hand cases ---------------------------------------------------------------------------------

def test_one_lender_covers_a_secured_need() -> None:
    # b is 4 000 € under its floor on days 1-3; its tranche is repaid on day 6; a has 10 000 € spare.
    problem = one_borrower(
        (LenderInput("a", flat(10000, 8), (FiscalYear(0, 7, D(40000)),)),),
        [-1, 3000, 4000, 2500, -1, -1, -1, -1],
        (SecurityInput("b", "T", 6, D(8000)),),
        (NeedInput("b", 1, 3, (0,)),),
        Limits(max_lender_share=D("1"), min_advance=D(1000)),
    )
    allocation = allocate(problem)
    assert [(a.lender, a.amount, a.start, a.repay) for a in allocation.advances] == [("a", D("4000.00"), 1, 6)]
    assert allocation.unmet == (ZERO,)


def test_security_cap_leaves_the_rest_unmet() -> None:
    problem = one_borrower(
        (LenderInput("a", flat(50000, 5), (FiscalYear(0, 4, D(200000)),)),),
        [5000, 5000, -1, -1, -1],
        (SecurityInput("b", "T", 3, D(3200)),),  # 80 % of a 4 000 € tranche
        (NeedInput("b", 0, 1, (0,)),),
        Limits(min_advance=D(500)),
    )
    allocation = allocate(problem)
    assert [a.amount for a in allocation.advances] == [D("3200.00")]
    assert allocation.unmet == (D("1800.00"),)


def test_lender_floor_binds_on_its_lowest_day() -> None:
    # a's surplus dips to 1 500 € on day 2, while the advance is out (days 0-3).
    problem = one_borrower(
        (LenderInput("a", series([6000, 4000, 1500, 6000, 6000]), (FiscalYear(0, 4, D(100000)),)),),
        [3000, 3000, 3000, 3000, -1],
        (SecurityInput("b", "T", 4, D(9000)),),
        (NeedInput("b", 0, 3, (0,)),),
        Limits(min_advance=D(1000)),
    )
    allocation = allocate(problem)
    assert [a.amount for a in allocation.advances] == [D("1500.00")]
    assert allocation.unmet == (D("1500.00"),)


def test_legal_cap_of_half_the_net_cash() -> None:
    problem = one_borrower(
        (LenderInput("a", flat(50000, 4), (FiscalYear(0, 3, D(6000), already_lent=D(1000)),)),),
        [5000, -1, -1, -1],
        (SecurityInput("b", "T", 2, D(9000)),),
        (NeedInput("b", 0, 0, (0,)),),
        Limits(min_advance=D(100)),
    )
    allocation = allocate(problem)
    assert [a.amount for a in allocation.advances] == [D("2000.00")]  # 0.5 × 6 000 − 1 000


def test_minimum_advance_refuses_small_amounts() -> None:
    problem = one_borrower(
        (LenderInput("a", flat(800, 3)),),
        [500, -1, -1],
        (SecurityInput("b", "T", 2, D(9000)),),
        (NeedInput("b", 0, 0, (0,)),),
        Limits(min_advance=D(1000)),
    )
    allocation = allocate(problem)
    assert allocation.advances == () and allocation.unmet == (D("500"),)


def test_need_with_a_larger_minimum_takes_the_minimum() -> None:
    # 600 € short, minimum advance 1 000 €: the advance is 1 000 €, above the need.
    problem = one_borrower(
        (LenderInput("a", flat(5000, 3)),), [600, -1, -1],
        (SecurityInput("b", "T", 2, D(9000)),), (NeedInput("b", 0, 0, (0,)),), Limits(min_advance=D(1000)),
    )
    allocation = allocate(problem)
    assert [a.amount for a in allocation.advances] == [D("1000.00")] and allocation.total_unmet == 0


def test_repayment_beyond_max_days_is_not_a_candidate() -> None:
    problem = one_borrower(
        (LenderInput("a", flat(50000, 10)),), [1000] * 10,
        (SecurityInput("b", "T", 40, D(9000)),), (NeedInput("b", 0, 9, (0,)),), Limits(max_days=30),
    )
    assert candidates(problem) == []
    assert allocate(problem).unmet == (D("1000"),)


def test_one_lender_rather_than_two_then_spread_by_surplus() -> None:
    # two borrowers of 3 000 €; lenders with 10 000 € and 5 000 € spare: no split, one advance each,
    # the larger need-free lender takes... each lender one advance (max share 30 % and 60 %, vs 60 % and 0 %).
    lenders = (LenderInput("a", flat(10000, 4)), LenderInput("c", flat(5000, 4)))
    problem = AllocationInput(
        4, lenders,
        (BorrowerInput("b1", series([3000, -1, -1, -1])), BorrowerInput("b2", series([3000, -1, -1, -1]))),
        (SecurityInput("b1", "T1", 3, D(9000)), SecurityInput("b2", "T2", 3, D(9000))),
        (NeedInput("b1", 0, 0, (0,)), NeedInput("b2", 0, 0, (1,))),
        Limits(min_advance=D(1000)),
    )
    allocation = allocate(problem)
    assert len(allocation.advances) == 2
    assert sorted(a.lender for a in allocation.advances) == ["a", "c"]
    assert all(a.amount == D("3000.00") for a in allocation.advances)


def test_need_split_only_when_no_lender_can_carry_it_alone() -> None:
    lenders = (LenderInput("a", flat(4000, 3)), LenderInput("c", flat(4000, 3)), LenderInput("d", flat(4000, 3)))
    problem = one_borrower(lenders, [7000, -1, -1], (SecurityInput("b", "T", 2, D(9000)),),
                           (NeedInput("b", 0, 0, (0,)),), Limits(min_advance=D(1000)))
    allocation = allocate(problem)
    assert len(allocation.advances) == 2 and allocation.total_unmet == 0


# --- Hypothesis ---------------------------------------------------------------------------------

@st.composite
def problems(draw: st.DrawFn, grid: int = 1, small: bool = False) -> AllocationInput:
    """Random small groups; with `grid` > 1 every amount is a multiple of it, and so is every optimal plan's.

    That is why, on a grid, a financial year that opens inside the horizon has no eve: the advances
    outstanding on the eve count for half (`legal_share`) against its cap, which puts the optimum on
    half the grid (1 000 € outstanding leave 1 500 € of a 2 000 € cap), where `_grid_optimum` does
    not look.
    """
    horizon = draw(st.integers(4, 10))
    unit = (st.integers(0, 8).map(lambda v: D(v * grid)) if grid > 1
            else st.integers(0, 800000).map(lambda c: D(c) / 100))
    lenders = []
    for index in range(draw(st.integers(1, 2 if small else 3))):
        surplus = tuple(draw(unit) for _ in range(horizon))
        years: tuple[FiscalYear, ...] = ()
        if draw(st.booleans()):
            cut = draw(st.integers(1, horizon - 1))
            years = (FiscalYear(0, cut - 1, draw(unit) * 4),
                     FiscalYear(cut, horizon - 1, draw(unit) * 4, eve=cut - 1 if grid == 1 else None))
        lenders.append(LenderInput(f"l{index}", surplus, years))
    borrowers: list[BorrowerInput] = []
    securities: list[SecurityInput] = []
    needs: list[NeedInput] = []
    for index in range(1 if small else draw(st.integers(1, 2))):
        bid = f"b{index}"
        short = [draw(unit) if draw(st.booleans()) else D(-1) for _ in range(horizon)]
        borrowers.append(BorrowerInput(bid, tuple(short)))
        mine = []
        for _ in range(draw(st.integers(1, 2))):
            mine.append(len(securities))
            securities.append(SecurityInput(bid, f"T{len(securities)}", draw(st.integers(1, horizon + 3)), draw(unit)))
        day = 0
        while day < horizon:
            if short[day] > 0:
                end = day
                while end + 1 < horizon and short[end + 1] > 0:
                    end += 1
                secs = tuple(s for s in mine if securities[s].repay > day)
                needs.append(NeedInput(bid, day, end, secs))
                day = end + 1
            else:
                day += 1
    assume(needs)
    share = D(1) if grid > 1 else draw(st.sampled_from([D("0.5"), D("0.8"), D("1")]))
    pairs = () if grid > 1 or not draw(st.booleans()) else tuple(  # the dependence test's rooms, half a cent apart
        (lender.id, borrower.id, draw(unit) + D("0.005")) for lender in lenders for borrower in borrowers
        if draw(st.booleans()))
    limits = Limits(
        max_lender_share=share,
        max_days=draw(st.integers(2, 14)),
        min_advance=D(grid) * draw(st.integers(0, 2)) if grid > 1 else draw(st.sampled_from([ZERO, D(1000), D(2500)])),
        max_per_borrower=draw(unit) * 2 if draw(st.booleans()) else D("1e9"),
        legal_share=D("0.5"),
        pair_rooms=pairs,
    )
    return AllocationInput(horizon, tuple(lenders), tuple(borrowers), tuple(securities), tuple(needs), limits)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems())
def test_random_plans_keep_every_rule(problem: AllocationInput) -> None:
    allocation = allocate(problem)
    check_plan(problem, allocation)
    assert allocation.total_unmet <= empty_unmet(problem)
    assert allocate(problem) == allocation  # same input, same plan


def _grid_optimum(problem: AllocationInput, grid: int) -> Decimal:
    """The least total unmet over every plan whose amounts are multiples of the grid (brute force)."""
    cands = candidates(problem)
    limits = problem.limits
    choices = [[ZERO] + [D(v) for v in range(grid, int(c.upper) + 1, grid) if D(v) >= limits.min_advance]
               for c in cands]
    best = empty_unmet(problem)
    from banquasso.pool.allocation import unmet_after

    for amounts in itertools.product(*choices):
        advances = tuple(
            Advance(problem.lenders[c.lender].id, problem.needs[c.need].borrower, c.need, c.security,
                    c.start, c.repay, a)
            for c, a in zip(cands, amounts, strict=True) if a > 0)
        plan = Allocation(advances, unmet_after(problem, advances), tuple(cands), "enumerated")
        try:
            check_plan(problem, plan)
        except AssertionError:
            continue
        best = min(best, plan.total_unmet)
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems(grid=1000, small=True))
def test_total_unmet_is_the_optimum_on_enumerable_cases(problem: AllocationInput) -> None:
    cands = candidates(problem)
    assume(0 < len(cands) <= 4)
    allocation = allocate(problem)
    check_plan(problem, allocation)
    assert allocation.total_unmet == _grid_optimum(problem, 1000)


# --- status, proven gap and time limits ------------------------------------------------------------

def _split_need() -> AllocationInput:
    # 1 500 € short; two lenders of 1 000 € each; minimum advance 1 000 €; at most 1 500 € per borrower:
    # the relaxation covers it all (1 000 € + 500 €), so its bound is 0, but only one advance fits.
    return one_borrower(
        (LenderInput("a", flat(1000, 3)), LenderInput("c", flat(1000, 3))),
        [1500, -1, -1], (SecurityInput("b", "T", 2, D(9000)),), (NeedInput("b", 0, 0, (0,)),),
        Limits(min_advance=D(1000), max_per_borrower=D(1500)),
    )


def test_exact_plan_proves_its_optimum_beyond_the_relaxation() -> None:
    allocation = allocate(_split_need())
    assert (allocation.status, allocation.total_unmet, allocation.bound, allocation.gap) == (
        "optimal", D("500"), D("500"), ZERO)
    assert [a.amount for a in allocation.advances] == [D("1000.00")]


def test_no_time_for_the_integer_search_keeps_the_rounded_plan_and_its_gap() -> None:
    problem = _split_need()
    allocation = allocate(problem, TimeLimits(unmet=0.0))
    check_plan(problem, allocation)
    # the rounded relaxation drops the 500 € advance: the same plan, but its optimum is not proven
    assert (allocation.status, allocation.total_unmet, allocation.bound, allocation.gap) == (
        "gap", D("500"), ZERO, D("500"))


def test_no_candidate_is_optimal_and_its_bound_is_the_whole_need() -> None:
    problem = one_borrower((LenderInput("a", flat(800, 3)),), [500, -1, -1],
                           (SecurityInput("b", "T", 2, D(9000)),), (NeedInput("b", 0, 0, (0,)),),
                           Limits(min_advance=D(1000)))
    allocation = allocate(problem)
    assert (allocation.status, allocation.bound, allocation.gap) == ("no-candidate", D("500"), ZERO)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems())
def test_time_limited_plans_keep_every_rule_and_bound_the_optimum(problem: AllocationInput) -> None:
    """With no time for any integer search, the plan keeps every rule and its bound is a true lower bound."""
    exact = allocate(problem)
    assert exact.status in ("optimal", "no-candidate") and exact.gap == 0
    hurried = allocate(problem, TimeLimits(unmet=0.0, count=0.0, spread=0.0))
    check_plan(problem, hurried)
    cents = D("0.01") * len(problem.needs)  # rounding to the cent, at most a cent per need
    assert hurried.bound <= exact.total_unmet + cents
    assert hurried.total_unmet >= exact.total_unmet - cents
    assert hurried.total_unmet <= empty_unmet(problem)
    assert hurried.gap == max(ZERO, hurried.total_unmet - hurried.bound)
    assert (hurried.status == "gap") == (hurried.gap > 0) or hurried.status == "no-candidate"


def test_phases_say_what_each_solve_proved() -> None:
    allocation = allocate(_split_need())
    names = [p.name for p in allocation.phases]
    assert names[0] == "unmet-relaxed" and "unmet-support" in names
    assert all(p.bound <= p.objective + 1e-6 for p in allocation.phases if p.status == "optimal")


def test_large_groups_keep_every_candidate() -> None:
    lenders = tuple(LenderInput(f"l{i}", flat(1000 * (i + 1), 3)) for i in range(7))
    problem = one_borrower(lenders, [2500, -1, -1], (SecurityInput("b", "T", 2, D(9000)),),
                           (NeedInput("b", 0, 0, (0,)),), Limits(min_advance=D(1000)))
    allocation = allocate(problem)
    assert not allocation.pruned and allocation.possible == len(allocation.candidates) == 7
    assert not hasattr(allocation_module, "CANDIDATE_LIMIT")
    check_plan(problem, allocation)


def test_settle_gives_back_the_cent_rounding_took() -> None:
    # the solver's 299 999.4 cents round to 2 999,99 €: one cent short of the need, with room to spare
    problem = one_borrower((LenderInput("a", flat(10000, 3)),), [3000, -1, -1],
                           (SecurityInput("b", "T", 2, D(9000)),), (NeedInput("b", 0, 0, (0,)),), Limits())
    assert [a.amount for a in settle(problem, candidates(problem), [299999.4])] == [D("3000.00")]
    # but never past a rule: a lender with exactly 2 999,99 € to spare keeps its floor
    tight = one_borrower((LenderInput("a", tuple(D("2999.99") for _ in range(3))),), [3000, -1, -1],
                         (SecurityInput("b", "T", 2, D(9000)),), (NeedInput("b", 0, 0, (0,)),), Limits())
    assert [a.amount for a in settle(tight, candidates(tight), [299999.4])] == [D("2999.99")]


def test_the_plan_states_its_gap_in_json_and_in_french() -> None:
    import datetime as dt

    from banquasso.commands.pool import plan_text
    from banquasso.pool.needs import Episode, Need
    from banquasso.pool.plan import Plan, UnmetNeed

    day = dt.date(2026, 12, 1)
    need = Need("velo", D(5000), Episode(0, 0, (D(1500),)), day, day, ())
    plan = Plan(dt.date(2026, 11, 30), 91, (need,), (), (UnmetNeed(need, D(1500), "no-lender"),), "gap",
                D("1000.00"), pruned=True)
    document = plan.to_json()
    assert (document["status"], document["unmet_bound"], document["gap"], document["pruned"]) == (
        "gap", "1000.00", "500.00", True)
    text = plan_text(plan)
    assert "au plus 500,00 € de plus que le minimum possible" in text
    assert "au moins 1 000,00 €" in text and "Groupe large" not in text  # nothing is pruned any more
    optimal = Plan(plan.as_of, 91, (need,), (), plan.unmet, "optimal", D("1500.00"))
    assert optimal.to_json()["gap"] == "0.00" and "Optimum non prouvé" not in plan_text(optimal)


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(0, 120)), max_size=40), st.integers(-1, 121))
def test_the_outstanding_mask_is_the_active_rule(spans: list[tuple[int, int]], day: int) -> None:
    """The rows' numpy mask (`_Outstanding`) picks exactly the candidates `active` says, in their order."""
    from banquasso.pool.allocation import Candidate, _Outstanding
    from banquasso.pool.program import active

    cands = [Candidate(0, 0, 0, start, start + length, Decimal("100.00")) for start, length in spans]
    ks = list(range(0, len(cands), 2)) + list(range(1, len(cands), 2))
    assert _Outstanding(cands, ks).on(day) == [k for k in ks if active(cands[k].start, cands[k].repay, day)]


def _settle_one_rule_at_a_time(problem: AllocationInput, cands: Sequence[allocation_module.Candidate],
                               cents: Sequence[float]) -> list[Decimal]:
    """The cuts as `settle` first made them: the first broken rule found again after every cut."""
    from decimal import ROUND_HALF_UP, ROUND_UP

    amounts = [min((max(ZERO, D(float(v)).to_integral_value(ROUND_HALF_UP)) / 100).quantize(D("0.01")), c.upper)
               for v, c in zip(cents, cands, strict=True)]
    for _ in range(len(cands) + 1):
        amounts = [a if a >= problem.limits.min_advance and a > 0 else ZERO for a in amounts]
        excess = allocation_module._first_violation(problem, cands, amounts)
        if excess is None:
            break
        ks, over = excess
        k = max(ks, key=lambda i: (amounts[i], -i))
        amounts[k] = max(ZERO, amounts[k] - over.quantize(D("0.01"), rounding=ROUND_UP))
    return allocation_module._top_up(problem, cands, amounts)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(problems(), st.data())
def test_settle_mends_the_broken_rules_in_order_as_one_rule_at_a_time_would(problem: AllocationInput,
                                                                            data: st.DataObject) -> None:
    # Any solver output, however far off the rules (each amount up to 1.5 × its candidate's upper bound).
    cands = candidates(problem)
    cents = [data.draw(st.floats(0, float(c.upper) * 150, allow_nan=False)) for c in cands]
    settled = {(a.lender, a.need, a.security): a.amount for a in settle(problem, cands, cents)}
    expected = _settle_one_rule_at_a_time(problem, cands, cents)
    assert [settled.get((problem.lenders[c.lender].id, c.need, c.security), ZERO) for c in cands] == expected
    assert allocation_module._first_violation(problem, cands, expected) is None


def test_cents_rounding_never_takes_a_pair_over_its_dependence_room() -> None:
    # Two tranches secure one need from one lender: each candidate stays under the pair's room of
    # 1 000,005 €, but their sum may not. The relaxed answer pays that room to the half cent; rounded
    # half up, the pair would owe a cent more than the dependence test lets it (the guard refuses it).
    horizon = 20
    lender = LenderInput("l", flat(100000, horizon))
    securities = (SecurityInput("b", "T1", 15, D("999.99")), SecurityInput("b", "T2", 16, D("999.99")))
    problem = AllocationInput(
        horizon, (lender,), (BorrowerInput("b", series([2000] * 11 + [-1] * (horizon - 11))),), securities,
        (NeedInput("b", 0, 10, (0, 1)),),
        Limits(max_days=30, pair_rooms=(("l", "b", D("1000.005")),)))
    allocation = allocate(problem)
    lent = sum((a.amount for a in allocation.advances), ZERO)
    assert lent <= D("1000.005")
    assert lent == D("1000.00")  # and no cent less than the room allows
    check_plan(problem, allocation)


def test_a_solve_error_of_highs_presolve_is_solved_again_without_it() -> None:
    # Found by Hypothesis: on this program HiGHS's presolve hands back a point a millionth outside the
    # cutoff row, then drops it as a « solve error »; the plan stayed at the rounded answer (3 000 €
    # unmet, status « gap ») where two advances of 2 000 € leave 2 000 €.
    horizon = 8
    lenders = (LenderInput("l0", flat(0, horizon)), LenderInput("l1", series([0, 0, 0, 4000, 0, 0, 0, 0])))
    problem = AllocationInput(
        horizon, lenders, (BorrowerInput("b0", series([-1, -1, -1, 5000, -1, -1, 1000, -1])),),
        (SecurityInput("b0", "T0", 4, D(3000)), SecurityInput("b0", "T1", 4, D(3000))),
        (NeedInput("b0", 3, 3, (0, 1)), NeedInput("b0", 6, 6, ())),
        Limits(max_days=2, min_advance=D(2000)))
    allocation = allocate(problem)
    assert allocation.status == "optimal" and allocation.total_unmet == D("2000.00")
    assert sorted(a.amount for a in allocation.advances) == [D("2000.00"), D("2000.00")]
    check_plan(problem, allocation)


def test_highs_status_is_read_from_its_code() -> None:
    from banquasso.pool.solver import HIGHS_SOLVE_ERROR, highs_status

    assert highs_status("Solve error (HiGHS Status 4: Solve error)") == HIGHS_SOLVE_ERROR
    assert highs_status("no status here") is None
