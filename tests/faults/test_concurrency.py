"""Concurrent writers: four real `lcdb load --region` processes at once on one LightcurveDB and one Dagster
instance — every region, and the same region twice — plus the reference-data asset run while they are in
flight. The result must equal the serial load, row for row."""

from __future__ import annotations

import psycopg
import pytest
from dagster import DagsterRunStatus, materialize

from lcdb_pipeline.loading.locks import ADVISORY_LOCK_NAMESPACE
from support.databases import conninfo as _conninfo
from support.databases import dbname_of
from support.processes import environment, start_lcdb, wait_for
from support.snapshot import snapshot

pytestmark = pytest.mark.slow

REFERENCE_IDS = {
    "mission": "SELECT name, id::text FROM mission",
    "mission_catalog": "SELECT name, id::text FROM mission_catalog",
    "instrument": "SELECT coalesce(p.name || '/', '') || i.name, i.id::text FROM instrument i "
                  "LEFT JOIN instrument p ON p.id = i.parent_id",
    "processing_group": "SELECT name, id::text FROM processing_group",
}


def _reference_ids(conn) -> dict[str, dict[str, str]]:
    return {table: dict(conn.execute(sql).fetchall()) for table, sql in REFERENCE_IDS.items()}


def _advisory_waiters(admin, dbname: str, key: str) -> int:
    """Backends of `dbname` waiting for the advisory lock of catalog table `key`."""
    return admin.execute(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = %s AND "
        "l.locktype = 'advisory' AND NOT l.granted AND l.classid = %s AND l.objid = hashtext(%s)::oid",
        (dbname, ADVISORY_LOCK_NAMESPACE, key)).fetchone()[0]


def test_four_concurrent_region_runs_equal_the_serial_load(clean, fresh_db, dagster, tmp_path):
    from lcdb_pipeline.defs.reference import lightcurvedb_reference
    from lcdb_pipeline.defs.resources import lcdb_resources

    url = fresh_db("concurrent")
    dbname = dbname_of(url)
    n0000 = [t for t in clean.tables if t.startswith("n0000/")]
    assert sorted(clean.regions) == ["n0000", "n1500", "s2230"]
    runs = ["n0000", "n0000", "n1500", "s2230"]  # every region, and n0000 twice at the same time

    with environment(LCDB_DATABASE_URL=url, LCDB_DVO_ROOT=str(clean.root)):
        resources = lcdb_resources()
        assert materialize([lightcurvedb_reference], instance=dagster.instance, resources=resources).success
    with psycopg.connect(_conninfo(url), autocommit=True) as admin:
        ids_before = _reference_ids(admin)
        # Hold the second n0000 table: both n0000 runs must queue on its advisory lock, mid-region.
        admin.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, n0000[1]))
        procs = [start_lcdb("load", str(clean.root), "--region", region,
                            env=dagster.env(url, tmp_path / f"home{i}")) for i, region in enumerate(runs)]
        try:
            wait_for(lambda: _advisory_waiters(admin, dbname, n0000[1]) == 2, timeout=180,
                     what="both runs of n0000 to wait for the same catalog table")
            # The reference asset, while the region runs are in flight (both n0000 runs are inside their
            # region step, one table committed, and n1500/s2230 run or have run).
            with environment(LCDB_DATABASE_URL=url, LCDB_DVO_ROOT=str(clean.root)):
                for _ in range(2):
                    assert materialize([lightcurvedb_reference], instance=dagster.instance,
                                       resources=lcdb_resources()).success
            still = _advisory_waiters(admin, dbname, n0000[1])
        finally:
            admin.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (ADVISORY_LOCK_NAMESPACE, n0000[1]))
        results = [(proc, *proc.communicate(timeout=300)) for proc in procs]
        assert still == 2, ("the n0000 runs were in flight throughout", [r[2][-2000:] for r in results])
        ids_after = _reference_ids(admin)
        deadlocks = admin.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s",
                                  (dbname,)).fetchone()[0]

    for (proc, stdout, stderr), region in zip(results, runs):
        assert proc.returncode == 0, stderr[-3000:]
        assert f"  {region}: 4 tables" in stdout
        statuses = {k: run.status for k, run in dagster.runs_of_process(proc.pid).items()}
        assert statuses == {"load_reference": DagsterRunStatus.SUCCESS, region: DagsterRunStatus.SUCCESS}
    assert ids_after == ids_before  # the reference upserts kept every id
    assert deadlocks == 0
    assert snapshot(url) == clean.snapshot  # row for row the serial load; no duplicates (asserted in snapshot)
