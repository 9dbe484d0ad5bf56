"""Alembic environment of LightcurveDB (shipped in the package; no alembic.ini needed).

`lcdb_schema.migrations.upgrade_database` passes an open connection in ``config.attributes["connection"]``
(holding the upgrade's advisory lock). The ``alembic`` command line works too, with an ini whose
``script_location`` is ``lcdb_schema:migrations``; its URL is ``sqlalchemy.url``, else `database_url()`.
"""

from __future__ import annotations

from alembic import context

from lcdb_schema import LCDBModel
from lcdb_schema.migrations import configure_kwargs

config = context.config
target_metadata = LCDBModel.metadata


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or "postgresql+psycopg://",
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **configure_kwargs(),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, **configure_kwargs())
        with context.begin_transaction():
            context.run_migrations()
        return

    from lcdb_schema.database import database_url, make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=target_metadata, **configure_kwargs())
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
