"""The LightcurveDB the bench loads, and scratch schemas in it.

`BenchDatabase` is a fresh ``lcdb_bench_<pid><suffix>`` on the admin server (``--admin-url``, else
``$LCDB_TEST_ADMIN_URL``, else `DEFAULT_ADMIN_URL`; the embedded server when that is unreachable), dropped at
the end unless kept — or the given, empty ``--database-url``, always kept. Sections that write tables of
their own do it in a `scratch_schema` (``lcdb_bench_*``), dropped when they are done and again when the
database is closed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from lcdb_pipeline.bench.config import DEFAULT_ADMIN_URL, BenchConfig
from lcdb_schema.database import create_database, embedded_database_url, libpq_url, normalize_url, redact_url

#: Every scratch schema of a section starts with this.
SCRATCH_PREFIX = "lcdb_bench_"


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A psycopg connection to `url` (any PostgreSQL URL form)."""
    return psycopg.connect(libpq_url(url), **kwargs)


def reachable(url: str) -> bool:
    try:
        connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def url_of_database(url: str, name: str) -> str:
    """`url` with the database `name` instead of its own (the password kept: it is for connecting)."""
    return make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False)


def admin_server(cfg: BenchConfig) -> str:
    """The URL of the server the bench creates its databases on."""
    admin = cfg.admin_url or os.environ.get("LCDB_TEST_ADMIN_URL") or DEFAULT_ADMIN_URL
    return admin if reachable(admin) else embedded_database_url(database="postgres")


def _drop_database(admin_url: str, name: str) -> None:
    with connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class BenchDatabase:
    """A LightcurveDB the bench loads: a fresh `lcdb_bench_<pid><suffix>` on `admin_url` (default:
    `admin_server(cfg)`), dropped by `close` unless `keep`; or, with `cfg.database_url` and no suffix, that
    database (kept). A context manager."""

    def __init__(self, cfg: BenchConfig, suffix: str = "", admin_url: str | None = None,
                 keep: bool | None = None):
        self.keep = cfg.keep if keep is None else keep
        self.created = False
        self.name: str | None = None
        self.admin_url: str | None = None
        if cfg.database_url and not suffix:
            self.url = cfg.database_url
            return
        self.admin_url = admin_url or admin_server(cfg)
        self.name = f"lcdb_bench_{os.getpid()}{suffix}"
        _drop_database(self.admin_url, self.name)  # left by an earlier run of the same pid
        create_database(self.admin_url, self.name, if_missing=False)
        self.created = True
        self.url = url_of_database(self.admin_url, self.name)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def describe(self) -> str:
        with connect(self.url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        what = "fresh, dropped at the end" if self.created and not self.keep else "kept"
        return f"PostgreSQL {version}, {redact_url(self.url)} ({what})"

    def close(self) -> None:
        if self.created and not self.keep:
            _drop_database(self.admin_url, self.name)
        else:
            drop_scratch_schemas(self.url)


@contextmanager
def scratch_schema(url: str, schema: str) -> Iterator[str]:
    """An empty schema `schema` (``lcdb_bench_…``) in the database of `url`, dropped at the end."""
    assert schema.startswith(SCRATCH_PREFIX), schema
    name = sql.Identifier(schema)
    with connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(name))
    try:
        yield schema
    finally:
        with connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))


def drop_scratch_schemas(url: str) -> None:
    """Drop every ``lcdb_bench_*`` schema a section may have left behind (a kept database stays clean)."""
    with connect(url, autocommit=True) as conn:
        schemas = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                               [SCRATCH_PREFIX]).fetchall()
        for (schema,) in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
