"""Holding a catalog table's advisory lock from a test, so a load waits exactly there; and finding it waiting."""

from __future__ import annotations

from lcdb_pipeline.loading.locks import ADVISORY_LOCK_NAMESPACE


def hold_table_lock(conn, table: str) -> None:
    """Take `table`'s advisory lock (session level) on an autocommit connection."""
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, table))


def release_table_lock(conn, table: str) -> None:
    conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, table))


def table_lock_waiter(admin, dbname: str, table: str) -> int | None:
    """The backend pid of a connection to `dbname` waiting for `table`'s advisory lock, if any."""
    row = admin.execute(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = %s AND "
        "l.locktype = 'advisory' AND NOT l.granted AND l.classid = %s AND l.objid = hashtext(%s)::oid",
        (dbname, ADVISORY_LOCK_NAMESPACE, table)).fetchone()
    return row[0] if row else None


def backend_gone(admin, pid: int) -> bool:
    return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == 0
