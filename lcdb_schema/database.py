"""Where LightcurveDB lives and how to connect to it.

* `database_url()`: ``LCDB_DATABASE_URL`` when set, else an embedded PostgreSQL the project starts itself.
* `make_engine()`: a SQLAlchemy engine on the psycopg 3 driver with the numpy array adapters installed.
* `redact_url()` / `connect_error_message()`: URLs and connection errors fit for logs -- never a password.

The embedded server (`embedded_database_url`) is the ``pgserver`` package's bundled PostgreSQL 16, with its
data directory in ``$LCDB_HOME/postgres`` (``LCDB_HOME`` defaults to ``./.lcdb``). It listens on a unix
socket only, trusts local connections, and keeps running after the process exits so the next call reuses it
(`stop_embedded_database` stops it).
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from lcdb_schema.types import install_numpy_adapters

__all__ = [
    "DATABASE_URL_ENV",
    "EmbeddedDatabaseError",
    "connect_error_message",
    "create_database",
    "database_url",
    "embedded_database_url",
    "lcdb_home",
    "database_url_or_none",
    "libpq_url",
    "make_engine",
    "normalize_url",
    "redact_url",
    "sqlalchemy_url",
    "stop_embedded_database",
]

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "LCDB_DATABASE_URL"
HOME_ENV = "LCDB_HOME"
EMBEDDED_DATABASE = "lcdb"

_SCHEMES = re.compile(r"^(postgres|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------------------


def normalize_url(url: str | URL) -> str:
    """`url` with the ``postgresql+psycopg://`` scheme (psycopg 3), from any PostgreSQL URL form
    (``postgres://``, ``postgresql://``, ``postgresql+psycopg2://`` ...)."""
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    if not _SCHEMES.match(text):
        raise ValueError(f"not a PostgreSQL URL: {redact_url(text)}")
    return _SCHEMES.sub("postgresql+psycopg://", text, count=1)


sqlalchemy_url = normalize_url


def libpq_url(url: str | URL) -> str:
    """`url` with the plain ``postgresql://`` scheme that libpq, psycopg and dagster-postgres accept."""
    return _SCHEMES.sub("postgresql://", normalize_url(url), count=1)


def database_url() -> str:
    """The LightcurveDB URL (``postgresql+psycopg://``): ``$LCDB_DATABASE_URL`` if set, else the embedded
    server's (started if needed)."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    return normalize_url(url or embedded_database_url())


def database_url_or_none() -> str | None:
    """The LightcurveDB URL if it is known without starting anything: ``$LCDB_DATABASE_URL``, or the
    default embedded server's when it is running; else None. For error messages."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip()
    if url:
        return normalize_url(url)
    socket_dir = _running_socket_dir(lcdb_home() / "postgres")
    return normalize_url(_socket_url(socket_dir, EMBEDDED_DATABASE)) if socket_dir else None


_USERINFO = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:@/?#]*):(?P<password>.*)@(?P<rest>[^@]*)$",
                       re.IGNORECASE | re.DOTALL)
_QUERY_PASSWORD = re.compile(r"(?P<key>[?&]password=)[^&#]*", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)('(?:\\.|[^'])*'|\S+)", re.IGNORECASE)


def redact_url(url: str | URL | None) -> str:
    """`url` with any password replaced by ``***``; works for URLs and libpq ``key=value`` strings.

    A password containing ``@``, ``:`` or ``/`` (even unescaped) is hidden whole: everything between the
    user name and the last ``@`` is taken as the password.
    """
    if url is None:
        return ""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    text = str(url)
    if "://" in text:
        match = _USERINFO.match(text)
        if match:
            hidden = ":***" if match["password"] else ""
            text = f"{match['scheme']}{match['user']}{hidden}@{match['rest']}"
        return _QUERY_PASSWORD.sub(r"\g<key>***", text)
    return _KV_PASSWORD.sub(r"\g<key>***", text)


def _where(url: str | URL) -> tuple[str, str]:
    """("host:port/db", "user") of a URL, for messages."""
    try:
        parsed = make_url(normalize_url(url))
    except Exception:  # noqa: BLE001 - an unparsable URL is still reported, redacted
        return redact_url(str(url)), "?"
    host = parsed.host or str(parsed.query.get("host") or "localhost")
    port = parsed.port or int(str(parsed.query.get("port") or 5432))
    return f"{host}:{port}/{parsed.database or ''}", parsed.username or os.environ.get("PGUSER", "?")


def connect_error_message(exc: BaseException, url: str | URL | None, action: str = "cannot connect to") -> str:
    """One line saying which server could not be reached and why, without the password:
    ``cannot connect to PostgreSQL at host:port/db as user: <reason>`` (`action` replaces "cannot connect to",
    e.g. "lost the connection to" for a connection dropped mid-load)."""
    orig = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    reason = lines[0] if lines else type(orig).__name__
    # libpq prefixes every attempt with "connection failed: connection to server at ... failed:"
    reason = re.sub(r'^(connection failed:\s*)?connection to server (at|on) .*?failed:\s*', "", reason)
    password = _password(url) if url is not None else None
    for secret in {password, unquote(password)} if password else ():
        reason = reason.replace(secret, "***")
    reason = scrub_passwords(reason)
    if url is None:
        return f"{action} PostgreSQL: {reason}".lstrip()
    where, user = _where(url)
    return f"{action} PostgreSQL at {where} as {user}: {reason}".lstrip()


_URL_IN_TEXT = re.compile(r"([a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def scrub_passwords(text: str) -> str:
    """Passwords out of free text (URLs and key=value pairs anywhere in it); what every lcdb message goes through."""
    return _KV_PASSWORD.sub(r"\g<key>***", _URL_IN_TEXT.sub(r"\1***@", text))


def _password(url: str | URL) -> str | None:
    if isinstance(url, URL):
        return url.password
    match = _USERINFO.match(str(url))
    return match["password"] if match else None


# --------------------------------------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------------------------------------


def make_engine(url: str | URL | None = None, **kwargs: Any) -> sa.engine.Engine:
    """A SQLAlchemy engine for LightcurveDB (default: `database_url()`).

    psycopg 3 driver whatever the URL's scheme; numpy array adapters on every connection (also for
    ``LCDBModel.metadata.create_all(engine)``); ``pool_pre_ping`` so a restarted server is survived.
    Extra keyword arguments go to `sqlalchemy.create_engine`.
    """
    kwargs.setdefault("pool_pre_ping", True)
    # Never echo bound parameters: they can be whole lightcurves.
    kwargs.setdefault("hide_parameters", True)
    engine = sa.create_engine(normalize_url(url if url is not None else database_url()), **kwargs)
    return install_numpy_adapters(engine)


# --------------------------------------------------------------------------------------------------------
# The embedded PostgreSQL
# --------------------------------------------------------------------------------------------------------


def lcdb_home() -> Path:
    """``$LCDB_HOME`` (default ``./.lcdb``), absolute."""
    return Path(os.environ.get(HOME_ENV) or ".lcdb").expanduser().absolute()


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); pgserver then uses /tmp/runtime-$UID.
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.utils
    return pgserver


def _get_server(data_dir: Path) -> Any:
    pgserver = _pgserver()
    cached = pgserver.PostgresServer._instances.get(data_dir.resolve())
    if cached is not None and not _is_running(cached):
        _forget(data_dir)  # stopped behind our back: start it again
    # cleanup_mode=None: the server outlives this process and is reused by the next one.
    # pgserver itself moves the unix socket to a short directory when data_dir is too long for one
    # (sockets are limited to ~107 bytes).
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        return pgserver.get_server(data_dir, cleanup_mode=None)
    except Exception as exc:  # noqa: BLE001 - pgserver raises CalledProcessError, RuntimeError, OSError ...
        raise EmbeddedDatabaseError(
            f"cannot start the embedded PostgreSQL in {data_dir}: {_first_line(exc)} "
            f"(server log: {data_dir / 'log'}; set {DATABASE_URL_ENV} to use another server)"
        ) from exc


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL could not be started."""


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def embedded_database_url(data_dir: str | Path | None = None, database: str = EMBEDDED_DATABASE) -> str:
    """Start (or reuse, if it is already running) the embedded PostgreSQL in `data_dir` (default
    ``$LCDB_HOME/postgres``) and return the URL of its database `database` (created if missing).

    The URL is a libpq URL (``postgresql://postgres@/lcdb?host=<socket dir>``): psycopg and libpq accept it
    as is, and every function of this package (e.g. `make_engine`) accepts it too.
    """
    path = Path(data_dir).expanduser().absolute() if data_dir is not None else lcdb_home() / "postgres"
    server = _get_server(path)
    socket_dir = server.get_postmaster_info().socket_dir
    if database != "postgres":
        create_database(_socket_url(socket_dir, "postgres"), database)
    url = _socket_url(socket_dir, database)
    log.debug("embedded PostgreSQL in %s: %s", path, url)
    return url


def _socket_url(socket_dir: Path, database: str) -> str:
    """libpq URL of a unix-socket server (trust auth, user postgres)."""
    return f"postgresql://postgres@/{quote(database)}?host={quote(str(socket_dir), safe='/')}"


def _running_socket_dir(data_dir: Path) -> Path | None:
    try:
        info = _pgserver().utils.PostmasterInfo.read_from_pgdata(data_dir)
    except (OSError, ValueError, AssertionError):
        return None
    return info.socket_dir if info is not None and info.is_running() else None


def create_database(admin_url: str | URL, name: str, *, template: str | None = None,
                    owner: str | None = None, if_missing: bool = True) -> bool:
    """``CREATE DATABASE name`` on the server of `admin_url` (a URL of any database there whose role may
    create databases); True if this call created it. With `if_missing` an existing database is no error,
    also when another process creates it at the same moment."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    if owner:
        statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        if if_missing and conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        try:
            conn.execute(statement)
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            # DuplicateDatabase, or a UniqueViolation on pg_database when two sessions create it at once
            if not if_missing:
                raise
            return False
    return True


def stop_embedded_database(data_dir: str | Path | None = None) -> bool:
    """Stop the embedded server of `data_dir` (default ``$LCDB_HOME/postgres``); False if it was not running."""
    pgserver = _pgserver()
    path = Path(data_dir).expanduser().absolute() if data_dir is not None else lcdb_home() / "postgres"
    info = pgserver.utils.PostmasterInfo.read_from_pgdata(path)
    if info is None or not info.is_running():
        return False
    user = "pgserver" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    pgserver.pg_ctl(["-w", "stop", "-m", "fast"], pgdata=path, user=user)
    _forget(path)
    return True


def _is_running(server: Any) -> bool:
    try:
        return bool(server.get_postmaster_info().is_running())
    except AssertionError:
        return False


def _forget(data_dir: Path) -> None:
    """Drop pgserver's in-process handle of a stopped server (and its exit hook, which expects it)."""
    server = _pgserver().PostgresServer._instances.pop(data_dir.resolve(), None)
    if server is not None:
        atexit.unregister(server._cleanup)
