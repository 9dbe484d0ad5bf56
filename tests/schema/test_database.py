"""URLs, engines, error messages without passwords, and the embedded PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from lcdb_schema.database import (
    connect_error_message,
    database_url,
    embedded_database_url,
    libpq_url,
    make_engine,
    normalize_url,
    redact_url,
    stop_embedded_database,
)


@pytest.mark.parametrize(
    "url, secret",
    [
        ("postgresql://bob:hunter2@db.example.org:5433/lcdb", "hunter2"),
        ("postgresql+psycopg://bob:p%40ss%3Aw%2Frd@db/lcdb?sslmode=require", "p%40ss%3Aw%2Frd"),
        ("postgres://bob:s3cr:et@x/y!@db/lcdb", "s3cr:et@x/y!"),  # unescaped @ : / in the password
        ("postgresql://bob@db/lcdb?password=hunter2&sslmode=require", "hunter2"),
        ("host=db user=bob password=hunter2 dbname=lcdb", "hunter2"),
        ("host=db user=bob password='hun ter2' dbname=lcdb", "hun ter2"),
    ],
)
def test_redact_url_hides_the_password(url, secret):
    redacted = redact_url(url)
    assert secret not in redacted and "***" in redacted
    assert "bob" in redacted and "db" in redacted


def test_redact_url_leaves_urls_without_password_alone():
    for url in ("postgresql://bob@db:5432/lcdb", "postgresql://postgres@/lcdb?host=/tmp/x", ""):
        assert redact_url(url) == url
    assert redact_url(make_url("postgresql+psycopg://bob:secret@h/d")) == "postgresql+psycopg://bob:***@h/d"


def test_normalize_url():
    assert normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert normalize_url("postgresql+psycopg2://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert libpq_url("postgresql+psycopg://u@h/d?host=/tmp/s") == "postgresql://u@h/d?host=/tmp/s"
    with pytest.raises(ValueError, match="not a PostgreSQL URL") as info:
        normalize_url("mysql://u:topsecret@h/d")
    assert "topsecret" not in str(info.value)


def test_database_url_from_environment(monkeypatch):
    monkeypatch.setenv("LCDB_DATABASE_URL", "postgresql://u:p@h:5/d")
    assert database_url() == "postgresql+psycopg://u:p@h:5/d"


def test_unreachable_server_gives_one_line_without_password():
    url = "postgresql://bob:hunter2@127.0.0.1:1/lcdb"
    engine = make_engine(url, connect_args={"connect_timeout": 3})
    with pytest.raises(sa.exc.OperationalError) as info:
        engine.connect()
    message = connect_error_message(info.value, url)
    assert message.startswith("cannot connect to PostgreSQL at 127.0.0.1:1/lcdb as bob: ")
    assert "\n" not in message and "hunter2" not in message
    assert "refused" in message.lower()


def test_bad_password_message_does_not_leak_it(pg_admin_url):
    """A server that answers: the reason is PostgreSQL's, the password is still hidden."""
    params = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
    url = f"postgresql://no_such_role_lcdb:topsecret@{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/postgres"
    if params.get("host", "").startswith("/"):
        pytest.skip("admin server is on a unix socket")
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(url, connect_timeout=3)
    message = connect_error_message(info.value, url)
    assert "topsecret" not in message and "\n" not in message
    assert "no_such_role_lcdb" in message


def test_make_engine_uses_psycopg3_with_numpy_adapters(database_url):
    engine = make_engine(libpq_url(database_url))
    try:
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping
        with engine.connect() as conn:
            value = conn.exec_driver_sql("SELECT '{1,2}'::int8[]").scalar_one()
        assert value.dtype.name == "int64"
    finally:
        engine.dispose()


# ---- the embedded server -------------------------------------------------------------------------------


def _scratch_dir() -> Path:
    """A scratch directory outside pytest's basetemp: as root, pgserver runs the server as user `pgserver`,
    which must traverse the path, and a concurrent pytest session resets /tmp/pytest-of-$USER to 0700."""
    return Path(tempfile.mkdtemp(prefix="lcdb_embedded_test_"))


@pytest.fixture(scope="module")
def embedded_dir():
    """A data directory with a long path (beyond a unix socket's ~107 bytes once the socket name is added)."""
    scratch = _scratch_dir()
    path = scratch / ("deep_" * 14) / "postgres"
    path.parent.mkdir(parents=True)
    yield path
    stop_embedded_database(path)
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def scratch():
    path = _scratch_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.embedded_pg
def test_embedded_server_starts_and_is_reused(embedded_dir):
    url = embedded_database_url(embedded_dir)
    assert url.startswith("postgresql://postgres@/lcdb?host=")
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        postmaster = conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
    assert int(version) >= 150000  # NULLS NOT DISTINCT needs PostgreSQL 15
    assert len(str(embedded_dir / ".s.PGSQL.5432")) > 107  # pgserver put the socket elsewhere

    # the same process again: same server
    assert embedded_database_url(embedded_dir) == url
    # another process: reuses the running server, no second one
    code = textwrap.dedent(f"""
        from lcdb_schema.database import embedded_database_url
        print(embedded_database_url({str(embedded_dir)!r}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT pg_postmaster_start_time()").fetchone()[0] == postmaster
    pidfile = (embedded_dir / "postmaster.pid").read_text().splitlines()
    postgres_processes = [p for p in os.listdir("/proc") if p.isdigit() and _is_postmaster_of(p, embedded_dir)]
    assert postgres_processes == [pidfile[0]]


def _is_postmaster_of(pid: str, data_dir) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return bool(argv) and argv[0].endswith(b"postgres") and str(data_dir).encode() in argv


@pytest.mark.embedded_pg
def test_embedded_server_supports_the_schema(embedded_dir):
    """PostgreSQL >= 15 features the schema needs, then the whole migration, on the embedded server."""
    from lcdb_schema.migrations import current_revision, head_revision, upgrade_database

    url = embedded_database_url(embedded_dir, database="lcdb_schema_test")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (a int, b int, UNIQUE NULLS NOT DISTINCT (a, b))")
        conn.execute("INSERT INTO t VALUES (1, NULL)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO t VALUES (1, NULL)")
    upgrade_database(url)
    assert current_revision(url) == head_revision()


@pytest.mark.embedded_pg
def test_database_url_defaults_to_embedded_server_under_lcdb_home(embedded_dir, monkeypatch):
    monkeypatch.delenv("LCDB_DATABASE_URL", raising=False)
    monkeypatch.setenv("LCDB_HOME", str(embedded_dir.parent))  # its "postgres" subdirectory
    url = database_url()
    assert url == normalize_url(embedded_database_url(embedded_dir))
    engine = make_engine()
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == "lcdb"
    finally:
        engine.dispose()


@pytest.mark.embedded_pg
def test_stopped_embedded_server_restarts(scratch):
    path = scratch / "pg"
    url = embedded_database_url(path)
    assert stop_embedded_database(path)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    assert embedded_database_url(path) == url
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert stop_embedded_database(path) and not stop_embedded_database(path)


@pytest.mark.embedded_pg
def test_embedded_server_failure_is_one_clear_error(scratch):
    from lcdb_schema.database import EmbeddedDatabaseError

    blocker = scratch / "not_a_directory"
    blocker.write_text("")
    with pytest.raises(EmbeddedDatabaseError, match="cannot start the embedded PostgreSQL in"):
        embedded_database_url(blocker / "postgres")
