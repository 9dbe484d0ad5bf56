"""Turning exceptions into one line an operator can act on — without any password in it."""

from __future__ import annotations

import psycopg
import sqlalchemy.exc

from lcdb_pipeline.dvo import DVOError
from lcdb_schema.database import scrub_passwords


class OperatorError(RuntimeError):
    """An error whose message is already the one line the operator should read (printed as is)."""


def scrub(text: str) -> str:
    """Remove passwords from URLs (`user:secret@`) and conninfo strings (`password=secret`)."""
    return scrub_passwords(text)


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
    from lcdb_schema.database import connect_error_message, database_url_or_none

    try:
        url = database_url_or_none()
    except Exception:  # noqa: BLE001 - a bad URL must not hide the error being described
        url = None
    return connect_error_message(exc, url, action=action)


def describe_error(exc: BaseException) -> str:
    from lcdb_pipeline.partitions import InvalidRegionKey

    if isinstance(exc, (DVOError, InvalidRegionKey, OperatorError)):
        return scrub(str(exc))
    if isinstance(exc, (sqlalchemy.exc.OperationalError, psycopg.OperationalError)):
        return describe_database_error(exc)
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return scrub(f"{type(exc).__name__}: {first_line}")
