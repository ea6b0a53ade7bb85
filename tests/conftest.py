"""Shared fixtures: inline groups written to a temporary folder, and a copy of the demo group."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from hypothesis import settings

# Under CI the property tests draw the same examples on every run, so a red build is reproducible;
# on a developer's machine they explore new examples each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
DEMO_LEDGERS = ROOT / "ledgers"
DEMO_RULES = ROOT / "rules"
DEMO_AS_OF = "2026-11-30"

DEFAULT_FUNDERS = """
[[funders]]
id = "region-sud"
name = "Région Provence-Alpes-Côte d'Azur"
kind = "region"
default_delay_days = 90

[[funders]]
id = "caf-05"
name = "CAF des Hautes-Alpes"
kind = "caf"
default_delay_days = 20

[[funders]]
id = "fondation-x"
name = "Fondation X"
kind = "fondation"
default_delay_days = 45
"""


def write_group(
    root: Path,
    ledgers: Mapping[str, str],
    *,
    funders: str = DEFAULT_FUNDERS,
    plugins: str = "allowed = []\n",
    pool: str | None = None,
    bank_account: str = "Assets:512-Banque",
) -> tuple[Path, Path]:
    """Write a group of inline ledgers (member id → main.beancount text); return (ledgers, rules)."""
    ledgers_dir, rules_dir = root / "ledgers", root / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    lines = ['[group]\nname = "Groupe de test"\ncurrency = "EUR"\n']
    for member_id, text in ledgers.items():
        folder = ledgers_dir / member_id
        folder.mkdir(parents=True, exist_ok=True)
        body = textwrap.dedent(text).lstrip("\n")
        if 'include "banquasso.beancount"' not in body:
            body = 'include "banquasso.beancount"\n' + body
        (folder / "main.beancount").write_text(body, encoding="utf-8")
        engine = folder / "banquasso.beancount"
        if not engine.exists():
            engine.write_text("; Fichier écrit par BanquAsso — ne pas modifier à la main.\n", encoding="utf-8")
        lines.append(
            f'[[members]]\nid = "{member_id}"\nname = "{member_id.title()}"\n'
            f'ledger = "{member_id}/main.beancount"\nbank_account = "{bank_account}"\n'
        )
    (ledgers_dir / "group.toml").write_text("\n".join(lines), encoding="utf-8")
    (rules_dir / "funders.toml").write_text(textwrap.dedent(funders), encoding="utf-8")
    (rules_dir / "plugins.toml").write_text(plugins, encoding="utf-8")
    if pool is not None:
        (rules_dir / "pool.toml").write_text(textwrap.dedent(pool), encoding="utf-8")
    return ledgers_dir, rules_dir


def pytest_configure(config: pytest.Config) -> None:
    """The suite builds many Fava apps: Fava polls file times instead of holding a notifier per ledger."""
    os.environ.setdefault("COMPTASSO_POLL_WATCHER", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own ledger cache, so no test sees another's."""
    monkeypatch.setenv("COMPTASSO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    """Commands such as `comptasso serve` set process-wide variables: undo them after each test."""
    saved = dict(os.environ)
    yield
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture
def demo_copy(tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the committed demo group: (ledgers, rules)."""
    ledgers = tmp_path / "ledgers"
    rules = tmp_path / "rules"
    shutil.copytree(DEMO_LEDGERS, ledgers)
    shutil.copytree(DEMO_RULES, rules)
    return ledgers, rules


def in_ci() -> bool:
    """Under CI=true a missing system service is a failure, not a skip."""
    return os.environ.get("CI") == "true"
