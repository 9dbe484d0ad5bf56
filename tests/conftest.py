"""Shared fixtures: a real PostgreSQL server, one fresh database per test module, generated DVO databases.

The server is `LCDB_TEST_ADMIN_URL` (default: the machine's 127.0.0.1:5432 as `postgres`); when that is not
reachable the project's embedded PostgreSQL is started instead, so the suite runs on a bare machine too.
"""

from __future__ import annotations

import os
import shutil

import pytest

from support.databases import (
    DEFAULT_ADMIN_URL,
    Databases,
    create_database,
    dbname_of,
    drop_database,
    reachable,
)

FORMATS = ("ps1_v1", "ps1_v5_load")


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A superuser URL on a running PostgreSQL server (the `postgres` maintenance database)."""
    url = os.environ.get("LCDB_TEST_ADMIN_URL", DEFAULT_ADMIN_URL)
    if reachable(url):
        return url
    from lcdb_schema.database import embedded_database_url

    return embedded_database_url()


@pytest.fixture(scope="module")
def database_url(pg_admin_url, request) -> str:
    """A fresh, empty database for this test module (dropped afterwards)."""
    url = create_database(pg_admin_url, request.module.__name__)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def make_database(pg_admin_url):
    """Factory: `make_database(label)` → URL of a new empty database, dropped at the end of the session."""
    created: list[str] = []

    def make(label: str) -> str:
        url = create_database(pg_admin_url, label)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def databases(pg_admin_url):
    dbs = Databases(pg_admin_url)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def template_db(databases) -> str:
    """A LightcurveDB database at the head migration, used as TEMPLATE (a clone takes ~0.1 s)."""
    from lcdb_schema.migrations import upgrade_database

    url = databases.create("template")
    upgrade_database(url)
    return dbname_of(url)


@pytest.fixture(scope="session")
def fresh_db(databases, template_db):
    """Factory: `fresh_db(label)` → URL of a new LightcurveDB database at head, empty."""
    return lambda label: databases.create(label, template=template_db)


# --------------------------------------------------------------------------------------------------------
# small synthetic DVO databases of both formats, generated once per test session
# --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """fmt → (root, SynthSummary with ground truth) for a `small` database per format, seed 11."""
    from lcdb_pipeline.synth import generate

    out = {}
    for fmt in FORMATS:
        root = tmp_path_factory.mktemp(f"dvo_{fmt}") / "catdir"
        out[fmt] = (root, generate(root, scale="small", seed=11, fmt=fmt, keep_truth=True))
    return out


@pytest.fixture(params=FORMATS)
def fmt(request):
    return request.param


@pytest.fixture
def synth(generated, fmt):
    """(DVODatabase, SynthSummary) of the shared, read-only database of this format."""
    from lcdb_pipeline.dvo import DVODatabase

    root, summary = generated[fmt]
    return DVODatabase(root), summary


@pytest.fixture
def damaged(generated, fmt, tmp_path):
    """A private copy of the database of this format, to damage: (root, DVODatabase, SynthSummary)."""
    from lcdb_pipeline.dvo import DVODatabase

    root, summary = generated[fmt]
    copy = tmp_path / "catdir"
    shutil.copytree(root, copy)
    return copy, DVODatabase(copy), summary


@pytest.fixture(autouse=True)
def _no_leftover_defs_state_storage():
    """Dagster helpers (build_schedule_context, build_sensor_context, entering an instance) make an instance's
    defs-state storage the "current" one in a context variable and do not always reset it; a later test that
    builds Definitions after that instance was disposed fails with "Attempted to resolve undefined
    DagsterInstance weakref". Whatever a test leaves there is undone when it ends."""
    from dagster._core.storage.defs_state.base import DefsStateStorage, set_defs_state_storage

    with set_defs_state_storage(DefsStateStorage.get()):
        yield
