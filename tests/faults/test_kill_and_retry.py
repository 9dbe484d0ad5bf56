"""Faults mid-load: a `lcdb load` killed with SIGKILL inside a region, and a PostgreSQL connection terminated
inside a region. Deterministic: the test holds a PostgreSQL lock the load must wait on, so it knows exactly
where the load is when the fault strikes."""

from __future__ import annotations

import os
import shutil
import signal
import threading

import psycopg
import pytest
from dagster import DagsterEventType, DagsterRunStatus, materialize

from lcdb_pipeline.loading.locks import ADVISORY_LOCK_NAMESPACE
from lcdb_pipeline.synth import generate
from support.dagster import dagster_instance
from support.databases import conninfo as _conninfo
from support.processes import environment, lcdb, load_in_process, start_lcdb, wait_for
from support.snapshot import snapshot

from .conftest import SEED

pytestmark = pytest.mark.slow

REGION = "n0000"


def _region_part(snap: dict, region: str = REGION) -> dict:
    return {t: s for t, s in snap.items() if t.startswith(region + "/")}


def _waiting_backend(admin, dbname: str, where: str):
    """(pid, backend_xid) of the backend of `dbname` waiting on a lock, matching `where` (SQL condition)."""
    return admin.execute(
        f"SELECT pid, backend_xid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND {where}",
        (dbname,)).fetchone()


def _claimed_slots(setup) -> list[tuple[str, str]]:
    """(pool, run id) of the concurrency-pool slots held in the instance."""
    with psycopg.connect(_conninfo(setup.storage_url)) as conn:
        return conn.execute("SELECT concurrency_key, run_id FROM concurrency_slots WHERE run_id IS NOT NULL"
                            ).fetchall()


def test_sigkill_mid_region_leaves_each_table_old_or_new_and_the_next_run_converges(
        clean, fresh_db, dagster, databases, tmp_path):
    """The killed `lcdb load` runs on an instance whose `lcdb_writers` pool has ONE slot: the slot the killed
    run holds would block every later run for ever, unless the next `lcdb load` recovers it."""
    work = tmp_path
    root = work / "catdir"
    shutil.copytree(clean.root, root)
    tables = [t for t in clean.tables if t.startswith(REGION + "/")]
    assert len(tables) == 4
    old = _region_part(clean.snapshot)

    # The "new" version of the same catalog tables (another seed), loaded cleanly elsewhere to compare with.
    new_root = work / "new"
    generate(new_root, scale="small", seed=SEED + 1, fmt="ps1_v1")
    new_url = fresh_db("kill_new")
    assert load_in_process(new_root, new_url, dagster.instance, [REGION]).success
    new = snapshot(new_url)
    assert sorted(new) == tables
    for t in tables:  # every table's content differs between the versions (cadences, arrays)
        assert new[t]["observation"] != old[t]["observation"] and new[t]["data_set"] != old[t]["data_set"]

    # LightcurveDB holds the old version; then the DVO files are rewritten in place with the new one.
    url = fresh_db("kill")
    assert load_in_process(root, url, dagster.instance, [REGION]).success
    assert snapshot(url) == old
    generate(root, scale="small", seed=SEED + 1, fmt="ps1_v1", overwrite=True)

    dbname = psycopg.conninfo.conninfo_to_dict(_conninfo(url))["dbname"]
    victim = tables[2]
    with dagster_instance(databases, work / "dagster", writers=1) as one_slot, \
            psycopg.connect(_conninfo(url), autocommit=True) as admin, psycopg.connect(_conninfo(url)) as blocker:
        # One old data_set row of the third table, locked: the load of that table will wait on it inside its
        # transaction, after it has upserted the table's targets and observations (new cadences).
        blocker.execute("""SELECT d.id FROM data_set d JOIN observation o ON o.id = d.observation_id
                           WHERE o.catalog_table = %s LIMIT 1 FOR UPDATE OF d""", (victim,)).fetchone()
        proc = start_lcdb("load", str(root), "--region", REGION, env=one_slot.env(url, work / "home"))
        try:
            pid, xid = wait_for(lambda: _waiting_backend(admin, dbname, "query LIKE 'DELETE FROM data_set%%'"),
                                timeout=120, what="the load to block inside the third table")
            assert xid is not None, "the blocked transaction has already written rows"
            during = snapshot(url)
            assert {t: during[t] for t in tables[:2]} == {t: new[t] for t in tables[:2]}  # committed
            assert {t: during[t] for t in tables[2:]} == {t: old[t] for t in tables[2:]}
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == -signal.SIGKILL
        blocker.rollback()  # release the row: the orphaned backend resumes, finds its client gone, rolls back
        wait_for(lambda: admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                       (pid,)).fetchone()[0] == 0, timeout=60, what="the orphaned backend to end")

        after_kill = snapshot(url)
        assert sorted(after_kill) == tables
        for t in tables:
            assert after_kill[t] in (old[t], new[t]), f"{t} is neither fully old nor fully new"
        assert after_kill == {**{t: new[t] for t in tables[:2]}, **{t: old[t] for t in tables[2:]}}

        killed = one_slot.runs_of_process(proc.pid)[REGION]
        assert killed.status == DagsterRunStatus.STARTED  # nobody could tell Dagster
        assert _claimed_slots(one_slot) == [("lcdb_writers", killed.run_id)]  # and it holds the only slot

        # The next run converges, and marks the killed run as failed, freeing its slot.
        again = lcdb("load", str(root), "--region", REGION, env=one_slot.env(url, work / "home"), timeout=240)
        assert again.returncode == 0, again.stderr[-3000:]
        assert f"marked run {killed.run_id} as failed" in again.stdout
        assert _claimed_slots(one_slot) == []
        killed = one_slot.instance.get_run_by_id(killed.run_id)
        assert killed.status == DagsterRunStatus.FAILURE
        (failure,) = one_slot.instance.get_records_for_run(killed.run_id,
                                                           of_type=DagsterEventType.RUN_FAILURE).records
        assert f"pid {proc.pid}" in failure.event_log_entry.dagster_event.message
        assert "died" in failure.event_log_entry.dagster_event.message
        assert snapshot(url) == new


def test_dropped_connection_fails_cleanly_and_the_retry_policy_completes_the_region(clean, fresh_db, dagster):
    """`pg_terminate_backend` of the loading backend while it is inside a catalog table: the attempt fails
    with one clear line (retryable Failure), the RetryPolicy re-runs the step in the same run, and the
    region ends complete and equal to a clean load. The event log shows the retry."""
    from lcdb_pipeline.defs.checks import all_checks
    from lcdb_pipeline.defs.reference import lightcurvedb_reference
    from lcdb_pipeline.defs.region import dvo_region
    from lcdb_pipeline.defs.resources import lcdb_resources

    url = fresh_db("retry")
    dbname = psycopg.conninfo.conninfo_to_dict(_conninfo(url))["dbname"]
    victim = [t for t in clean.tables if t.startswith(REGION + "/")][1]
    terminated: list[int] = []
    errors: list[BaseException] = []

    def strike(lock_conn):
        try:
            with psycopg.connect(_conninfo(url), autocommit=True) as admin:
                pid, _ = wait_for(lambda: _waiting_backend(admin, dbname, "wait_event = 'advisory'"), timeout=120,
                                  what="the load to wait for the second table's advisory lock")
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                terminated.append(pid)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            lock_conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, victim))

    dagster.instance.add_dynamic_partitions("dvo_regions", [REGION])
    with environment(LCDB_DATABASE_URL=url, LCDB_DVO_ROOT=str(clean.root)):
        resources = lcdb_resources()
        assert materialize([lightcurvedb_reference], instance=dagster.instance, resources=resources).success
        with psycopg.connect(_conninfo(url), autocommit=True) as lock_conn:
            lock_conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, victim))
            thread = threading.Thread(target=strike, args=(lock_conn,))
            thread.start()
            try:
                result = materialize([dvo_region, *all_checks], partition_key=REGION, instance=dagster.instance,
                                     resources=resources, raise_on_error=False)
            finally:
                thread.join(timeout=180)
    assert not errors, errors
    assert len(terminated) == 1
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    records = dagster.instance.get_records_for_run(result.run_id).records
    kinds = [r.event_log_entry.dagster_event.event_type for r in records if r.event_log_entry.is_dagster_event]
    assert kinds.count(DagsterEventType.STEP_UP_FOR_RETRY) == 1
    assert kinds.count(DagsterEventType.STEP_RESTARTED) == 1
    assert DagsterEventType.STEP_FAILURE not in kinds
    (retry,) = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.is_dagster_event
                and r.event_log_entry.dagster_event.event_type == DagsterEventType.STEP_UP_FOR_RETRY]
    error, messages = retry.event_specific_data.error, []
    while error is not None:  # RetryRequestedFromPolicy, caused by our Failure
        messages.append(error.message)
        error = error.cause
    message = "\n".join(messages)
    assert f"region {REGION}: loading {victim}: PostgreSQL at" in message
    # psycopg words it "the connection is lost" or with the server's "terminating connection due to
    # administrator command", depending on when it notices
    assert "connection is lost" in message or "terminating connection" in message
    assert "1 catalog table(s) of the region were loaded before it, this one was rolled back" in message
    assert "Traceback" not in message

    assert snapshot(url) == _region_part(clean.snapshot)
