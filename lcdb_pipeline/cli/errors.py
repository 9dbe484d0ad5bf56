"""Turning exceptions into the one line an operator reads on stderr — without any password in it."""

from __future__ import annotations

import psycopg
import sqlalchemy.exc

from lcdb_pipeline.dvo import DVOError, InvalidRegionKey
from lcdb_pipeline.loading import describe_database_error
from lcdb_schema.database import scrub_passwords


class OperatorError(RuntimeError):
    """An error whose message is already the one line the operator should read (printed as is)."""


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, (DVOError, InvalidRegionKey, OperatorError)):
        return scrub_passwords(str(exc))
    if isinstance(exc, (sqlalchemy.exc.OperationalError, psycopg.OperationalError)):
        return describe_database_error(exc)
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return scrub_passwords(f"{type(exc).__name__}: {first_line}")
