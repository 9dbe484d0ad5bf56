"""Shared fixtures: a real PostgreSQL server, one fresh database per test module.

The server is `LCDB_TEST_ADMIN_URL` (default: the machine's 127.0.0.1:5432 as `postgres`); when that is not
reachable the project's embedded PostgreSQL is started instead, so the suite runs on a bare machine too.
"""

from __future__ import annotations

import os
import re
import uuid

import psycopg
import pytest

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A superuser URL on a running PostgreSQL server (the `postgres` maintenance database)."""
    url = os.environ.get("LCDB_TEST_ADMIN_URL", DEFAULT_ADMIN_URL)
    if _reachable(url):
        return url
    from lcdb_schema.database import embedded_database_url

    return embedded_database_url()


def _with_dbname(url: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=dbname)


def create_database(admin_url: str, label: str) -> str:
    """Create an empty database named after `label`; return its conninfo URL."""
    name = "lcdb_t_" + re.sub(r"[^a-z0-9]+", "_", label.lower())[-40:] + "_" + uuid.uuid4().hex[:8]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _sqlalchemy_url(_with_dbname(admin_url, name))


def drop_database(admin_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(_conninfo(url))["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _sqlalchemy_url(conninfo: str) -> str:
    """A `postgresql+psycopg://` URL from a libpq conninfo string or URL."""
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    from sqlalchemy.engine import URL

    query = {k: v for k, v in params.items() if k not in {"user", "password", "host", "port", "dbname"}}
    host = params.get("host")
    if host and host.startswith("/"):
        query["host"] = host
        host = None
    return URL.create(
        "postgresql+psycopg",
        username=params.get("user"),
        password=params.get("password"),
        host=host,
        port=int(params["port"]) if params.get("port") else None,
        database=params.get("dbname"),
        query=query,
    ).render_as_string(hide_password=False)


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
