"""Where the registry lives (SQLite beside the books or `$BANQUASSO_DB_URL`) and bringing it up to date."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from banquasso.registry.location import DB_URL_ENV, database_url, var_dir
from banquasso.registry.models import audit_append_only

# DB_URL_ENV, database_url and var_dir live in banquasso.registry.location (read without SQLAlchemy).
__all__ = [
    "DB_URL_ENV", "MIGRATIONS", "Registry", "alembic_config", "current_revision", "database_url", "make_engine",
    "open_registry", "script_head", "upgrade", "var_dir",
]
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w-]+|None)['\"]?\s*$", re.MULTILINE)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets foreign keys, a busy timeout and its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config() -> Any:
    """The Alembic configuration of the migration scripts shipped in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def script_head() -> str | None:
    """The latest migration of `migrations/versions`, read from the scripts' text (Alembic is slow to import)."""
    revisions, parents = set(), set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision", "None"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision (None for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """`alembic upgrade head` on the engine's database (skipped when it is already at the head)."""
    head = script_head()
    if head is not None and current_revision(engine) == head:
        return
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@dataclass(frozen=True)
class Registry:
    """An open registry: its URL, engine and session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    def session(self) -> Session:
        return self.sessions()

    @property
    def label(self) -> str:
        """The SQLite file, or the URL without password: names the registry in messages."""
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite" and url.database:
            return url.database
        return url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()


def open_registry(ledgers_dir: Path, url: str | None = None) -> Registry:
    """Open (and migrate to the latest schema, under a lock) the registry of a ledgers folder."""
    url = url or database_url(ledgers_dir)
    engine = make_engine(url)
    locks = var_dir(ledgers_dir) / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with FileLock(str(locks / "registry-migrate.lock"), timeout=120):
        upgrade(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    event.listen(sessions, "before_flush", audit_append_only)
    return Registry(url, engine, sessions)
