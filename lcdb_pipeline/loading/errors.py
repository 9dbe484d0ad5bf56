"""Which PostgreSQL errors a retry can cure, and how to say what went wrong — without any password."""

from __future__ import annotations

import psycopg
import sqlalchemy.exc

from lcdb_schema.database import connect_error_message, database_url_or_none


def is_transient_database_error(exc: BaseException) -> bool:
    """PostgreSQL trouble a retry can cure: the connection refused, dropped or terminated, the server shutting
    down or restarting, a deadlock or serialization failure (all psycopg `OperationalError`/`InterfaceError`,
    or SQLAlchemy's wrappers of them, or a connection SQLAlchemy invalidated)."""
    if isinstance(exc, sqlalchemy.exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError,
                            sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError))


def describe_database_error(exc: BaseException, action: str = "cannot connect to") -> str:
    """``<action> PostgreSQL at host:port/db as user: <first line of the server's reason>``, no password."""
    try:
        url = database_url_or_none()
    except Exception:  # noqa: BLE001 - a bad URL must not hide the error being described
        url = None
    return connect_error_message(exc, url, action=action)
