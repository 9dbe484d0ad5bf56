"""Fixtures of the schema tests: an engine on the module's fresh database, sessions that roll back, and a
factory of minimal valid rows (`make`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from lcdb_schema.database import make_engine
from lcdb_schema.migrations import upgrade_database

from .factory import Factory


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "embedded_pg: starts the project's embedded PostgreSQL (pgserver) in a temporary directory; "
        "runs everywhere, CI included",
    )


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[sa.engine.Engine]:
    """The module's database, migrated to head (the schema users get), through `make_engine`."""
    upgrade_database(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: sa.engine.Engine) -> Iterator[orm.Session]:
    """A session inside a transaction that is rolled back after the test; `session.commit()` and failed
    flushes only touch a savepoint, so a test can provoke an IntegrityError and go on."""
    with engine.connect() as connection:
        outer = connection.begin()
        sess = orm.Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@pytest.fixture
def make(session: orm.Session) -> Factory:
    return Factory(session)
