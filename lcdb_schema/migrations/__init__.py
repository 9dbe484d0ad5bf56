"""Versioned schema migrations (Alembic), run from code: ``upgrade_database(url)``.

The Alembic environment ships inside the package (this directory), so no ``alembic.ini`` is needed at run
time. Revisions live in ``versions/``; the version table is ``lcdb_alembic_version`` (Dagster keeps its own
``alembic_version``).

New revision, from the repository root, against a database at the previous head::

    .venv/bin/python -c "from lcdb_schema.migrations import revision; revision('what changed')"

then read and fix the generated file (constraint names, NULLS NOT DISTINCT, server defaults).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL

__all__ = ["VERSION_TABLE", "alembic_config", "current_revision", "head_revision", "upgrade_database"]

log = logging.getLogger(__name__)

VERSION_TABLE = "lcdb_alembic_version"
MIGRATIONS_DIR = Path(__file__).resolve().parent
# Serialises concurrent upgrades of one database (pg_advisory_xact_lock key; "LCDB" in ASCII).
ADVISORY_LOCK_KEY = 0x4C434442


def configure_kwargs() -> dict[str, Any]:
    """Options of `EnvironmentContext.configure` shared by env.py and the schema comparison."""
    return {
        "version_table": VERSION_TABLE,
        "compare_type": True,
        "compare_server_default": True,
        "include_object": include_object,
        "render_item": render_item,
    }


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render this package's column types as the plain PostgreSQL types they are, so revision files never
    import `lcdb_schema.types` (a migration must not change when the Python types do)."""
    from lcdb_schema.types import IntList, NumpyArray, PathType

    if type_ != "type":
        return False
    if isinstance(obj, (NumpyArray, IntList)):
        item = {"DOUBLE": "sa.Double()", "BIGINT": "sa.BigInteger()", "INTEGER": "sa.Integer()"}
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return f"postgresql.ARRAY({item[str(obj.impl.item_type.compile())]})"
    if isinstance(obj, PathType):
        return "sa.Text()"
    return False


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave tables of other tools (Dagster's storage, if it shares the database) out of autogenerate."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic `Config` built in code for this package's migrations."""
    cfg = Config()
    # configparser interpolation: a literal "%" must be doubled
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    cfg.set_main_option("version_table", VERSION_TABLE)
    if url is not None:
        from lcdb_schema.database import sqlalchemy_url

        cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade_database(url: str | URL | None = None, revision: str = "head") -> None:
    """Bring the database at `url` (default: `database_url()`) to `revision`.

    Safe to run from several processes at once: the upgrade runs in one transaction holding a PostgreSQL
    advisory lock, so the others wait and then find the schema already at `revision` (a no-op).
    """
    from lcdb_schema.database import database_url, make_engine, redact_url

    url = url if url is not None else database_url()
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
        log.info("LightcurveDB schema at %s on %s", revision, redact_url(url))
    finally:
        engine.dispose()


def current_revision(url: str | URL | None = None) -> str | None:
    """The revision the database at `url` is at (None for a database never migrated)."""
    from lcdb_schema.database import database_url, make_engine

    engine = make_engine(url if url is not None else database_url())
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(
                connection, opts={"version_table": VERSION_TABLE}
            ).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this package."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def revision(message: str, url: str | URL | None = None, autogenerate: bool = True) -> Any:
    """Write a new revision file (developers; autogenerated against the database at `url`)."""
    cfg = alembic_config(url)
    return command.revision(cfg, message=message, autogenerate=autogenerate)
