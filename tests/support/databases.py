"""Test databases on a real PostgreSQL server: created (from a template when asked), named after what
they are for, dropped at the end."""

from __future__ import annotations

import re
import uuid

import psycopg
from sqlalchemy.engine import URL

from lcdb_schema.database import create_database as create_named_database

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def conninfo(url: str) -> str:
    """A libpq URL (no SQLAlchemy driver in the scheme)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def with_dbname(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(conninfo(url), dbname=name)


def dbname_of(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(conninfo(url))["dbname"]


def as_url(info: str, driver: str = "psycopg") -> str:
    """A `postgresql+<driver>://` URL from a libpq conninfo string or URL (a unix-socket host goes into the
    query, as the embedded server needs)."""
    params = psycopg.conninfo.conninfo_to_dict(info)
    query = {k: v for k, v in params.items() if k not in {"user", "password", "host", "port", "dbname"}}
    host = params.get("host")
    if host and host.startswith("/"):
        query["host"] = host
        host = None
    return URL.create(
        f"postgresql+{driver}", username=params.get("user"), password=params.get("password"), host=host,
        port=int(params["port"]) if params.get("port") else None, database=params.get("dbname"), query=query,
    ).render_as_string(hide_password=False)


def create_database(admin_url: str, label: str, prefix: str = "lcdb_t_", keep: int = 40,
                    template: str | None = None, owner: str | None = None) -> str:
    """Create an empty database named after `label` (or a clone of `template`); return its URL."""
    name = prefix + re.sub(r"[^a-z0-9]+", "_", label.lower())[-keep:] + "_" + uuid.uuid4().hex[:8]
    create_named_database(as_url(admin_url), name, template=template, owner=owner, if_missing=False)
    return as_url(with_dbname(admin_url, name))


def drop_database(admin_url: str, url: str) -> None:
    with psycopg.connect(conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname_of(url)}" WITH (FORCE)')


class Databases:
    """Creates databases on the test server (cloned from a template when given) and drops them at the end."""

    def __init__(self, admin_url: str) -> None:
        self.admin = admin_url
        self.created: list[str] = []

    def create(self, label: str, template: str | None = None, owner: str | None = None) -> str:
        url = create_database(self.admin, label, prefix="lcdb_f_", keep=30, template=template, owner=owner)
        self.created.append(url)
        return url

    def drop_all(self) -> None:
        for url in reversed(self.created):
            drop_database(self.admin, url)
