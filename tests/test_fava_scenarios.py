"""The « Scénarios » page in Fava: pick what-ifs, the chart and the low points move as the CLI says."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from comptasso.money import fr_money
from tests.test_fava_ext import AS_OF, EXT, Site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    site = Site(tmp_path, monkeypatch)
    folder = site.rules / "scenarios"
    folder.mkdir()
    (folder / "paie-double.toml").write_text('description = "Salaires × 2"\n[[scale]]\nlabel = "Salaires"\n'
                                             'factor = 2\n', encoding="utf-8")
    (folder / "region-tot.toml").write_text('[[delay]]\nkind = "region"\ndays = -60\n', encoding="utf-8")
    return site


def _min(site: Site, *scenario: str) -> str:
    options = [x for name in scenario for x in ("--scenario", name)]
    doc = site.cli_json("forecast", "--member", "velo-gap", *options)
    return fr_money(Decimal(doc["members"][0]["min_balance"]))


def test_the_member_chart_moves_with_the_scenario(site: Site) -> None:
    client = site.client()
    page = client.get(f"/{site.velo}/{EXT}/scenarios?as_of={AS_OF}&scenario=paie-double")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="bqa-scenario"' in html and 'id="bqa-base"' in html
    assert 'value="paie-double" checked' in html and 'value="region-tot">' in html
    assert "Salaires × 2" in html
    base, worse = _min(site), _min(site, "paie-double")
    assert base != worse and f"{base} le" in html and f"{worse} le" in html
    plain = client.get(f"/{site.velo}/{EXT}/scenarios?as_of={AS_OF}").get_data(as_text=True)
    assert "Aucun scénario choisi" in plain and worse not in plain


def test_the_group_view_lists_every_member_and_a_treasurer_is_refused(site: Site) -> None:
    html = site.client("conseil").get(f"/{site.group}/{EXT}/scenarios?as_of={AS_OF}&scenario=region-tot"
                                      ).get_data(as_text=True)
    assert 'data-member="velo-gap"' in html and 'data-member="ressourcerie"' in html
    assert _min(site, "region-tot") in html
    treasurer = site.client("velo")
    assert treasurer.get(f"/{site.group}/{EXT}/scenarios").status_code == 403
    own = treasurer.get(f"/{site.velo}/{EXT}/scenarios?as_of={AS_OF}").get_data(as_text=True)
    assert 'data-member="velo-gap"' in own and 'data-member="ressourcerie"' not in own


def test_a_wrong_scenario_is_named(site: Site) -> None:
    html = site.client().get(f"/{site.velo}/{EXT}/scenarios?as_of={AS_OF}&scenario=absent").get_data(as_text=True)
    assert "scénario introuvable « absent »" in html and 'value="paie-double"' in html
    assert 'id="bqa-scenario"' not in html
