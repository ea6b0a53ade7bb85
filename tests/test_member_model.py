"""One member model per load: every consumer of a page render reads the grants extracted once."""

from __future__ import annotations

import datetime as dt
import gc
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from comptasso.books.loading import Entries, MemberLedger
from comptasso.model import grants
from comptasso.model.member import DAYS_KEPT, build_model, member_model
from tests.test_fava_ext import AS_OF, EXT, VELO, Site


@contextmanager
def counting_grant_extractions() -> Iterator[Counter[int]]:
    """Count every call of `extract_grants`, however it was imported, by the entries it was given."""
    code = grants.extract_grants.__code__
    seen: Counter[int] = Counter()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is code:
            seen[id(frame.f_locals["entries"])] += 1

    sys.setprofile(profile)
    try:
        yield seen
    finally:
        sys.setprofile(None)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site(tmp_path, monkeypatch)


def test_a_member_page_render_extracts_each_members_grants_once(site: Site) -> None:
    client = site.client()
    with counting_grant_extractions() as seen:
        page = client.get(f"/{site.velo}/{EXT}/?as_of={AS_OF}")
    assert page.status_code == 200
    # The forecast reads both members (delays are learnt over the group); the registry balance and the
    # page's own rows reuse the same model: two members, two extractions, once each.
    assert sum(seen.values()) == 2, seen


def test_the_pool_page_extracts_each_members_grants_once(site: Site) -> None:
    client = site.client()
    with counting_grant_extractions() as seen:
        page = client.get(f"/{site.group}/{EXT}/?as_of={AS_OF}")
    assert page.status_code == 200
    assert sum(seen.values()) == 2, seen


def _ledger(tmp_path: Path) -> MemberLedger:
    from beancount import loader

    path = tmp_path / "velo.beancount"
    path.write_text(VELO, encoding="utf-8")
    entries, _, options = loader.load_file(str(path))
    return MemberLedger("velo-gap", entries, options, (), None)  # type: ignore[arg-type]


def test_the_model_is_the_pure_extraction_memoised_per_load_and_day(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    assert isinstance(ledger.entries, Entries)
    day = dt.date(2026, 11, 30)
    first = member_model(ledger.entries, day)
    assert member_model(ledger.entries, day) is first
    assert first == build_model(list(ledger.entries), day)
    assert [s.open_amount for s in first.statuses] == [Decimal("6000.00")]
    early = member_model(ledger.entries, dt.date(2026, 2, 9))
    assert early.grants.grants == {} and early is not first
    assert member_model(list(ledger.entries), day) is not first  # a plain list is read each time


def test_the_memo_keeps_a_few_days_and_dies_with_the_ledger(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path)
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=n) for n in range(DAYS_KEPT + 2)]
    models = [member_model(ledger.entries, d) for d in days]
    assert member_model(ledger.entries, days[-1]) is models[-1]
    assert member_model(ledger.entries, days[0]) is not models[0]  # the oldest day was let go
    from comptasso.model import member

    before = len(member._MEMO._models)  # the memo's size is what this test is about
    del ledger, models
    gc.collect()
    assert len(member._MEMO._models) == before - 1
