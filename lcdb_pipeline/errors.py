"""Turning exceptions into one line an operator can act on — without any password in it."""

from __future__ import annotations

import re

import psycopg
import sqlalchemy.exc

from lcdb_pipeline.dvo import DVOError

_PASSWORD_IN_URL = re.compile(r"(\w+(?:\+\w+)?://[^:/@\s]*:)[^@\s]*@")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)(\S+)", re.IGNORECASE)


def scrub(text: str) -> str:
    """Remove passwords from URLs (`user:secret@`) and conninfo strings (`password=secret`)."""
    return _PASSWORD_KV.sub(r"\1***", _PASSWORD_IN_URL.sub(r"\1***@", text))


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, DVOError):
        return str(exc)
    if isinstance(exc, (sqlalchemy.exc.OperationalError, psycopg.OperationalError)):
        from lcdb_schema.database import connect_error_message, database_url_or_none

        return connect_error_message(exc, database_url_or_none())
    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return scrub(f"{type(exc).__name__}: {first_line}")
