"""One machine, all cores: `lcdb load --jobs 2` (region runs launched at once through Dagster's run launcher,
each in a run process of its own) and `lcdb load --table-workers 2` (a region's catalog tables spread over two
processes). Both must equal the serial load row for row; a run process or a table worker SIGKILLed mid-region
must leave the run marked failed, every table fully old or absent, and a re-run that converges."""

from __future__ import annotations

import os
import signal

import psycopg
import pytest
from dagster import DagsterRunStatus

from support.dagster import dagster_instance
from support.databases import conninfo, dbname_of
from support.locks import backend_gone, hold_table_lock, release_table_lock, table_lock_waiter
from support.processes import client_process, lcdb, start_lcdb, wait_for
from support.runs import max_overlap, run_window, step_window, worker_of
from support.snapshot import snapshot

pytestmark = pytest.mark.slow


@pytest.fixture
def instance(databases, tmp_path):
    with dagster_instance(databases, tmp_path / "dagster", writers=2) as setup:
        yield setup


def _part(snap: dict, region: str) -> dict:
    return {t: s for t, s in snap.items() if t.startswith(region + "/")}


def _region_runs(instance, pid: int) -> dict:
    return {k: r for k, r in instance.runs_of_process(pid).items() if k != "load_reference"}


def test_jobs_2_runs_regions_at_once_a_killed_run_process_fails_its_run_and_a_rerun_equals_the_serial_load(
        serial, instance, fresh_db, tmp_path):
    """`lcdb load --jobs 2` of every region while a table of the first is held here: the other regions run
    in parallel run processes meanwhile and load; the run process waiting on the held table is SIGKILLed,
    its run is marked failed (pool slot freed, the tables committed before it stay); `lcdb load --jobs 2` of
    that region again converges to the serial load, row for row."""
    region = serial.regions[0]
    tables = [t for t in serial.tables if t.startswith(region + "/")]
    victim = tables[2]
    url = fresh_db("jobs2")
    env = instance.env(url, tmp_path / "home")
    with psycopg.connect(conninfo(url), autocommit=True) as admin:
        hold_table_lock(admin, victim)
        try:
            proc = start_lcdb("load", str(serial.root), "--jobs", "2", env=env)
            backend = wait_for(lambda: table_lock_waiter(admin, dbname_of(url), victim), timeout=240,
                               what=f"the run of {region} to wait for {victim}")
            run = next(r for r in instance.instance.get_runs() if r.tags.get("dagster/partition") == region)
            pid = int(run.tags["lcdb/worker_pid"])
            assert pid != proc.pid  # the run process, not lcdb load
            others = {t: s for t, s in serial.snapshot.items() if not t.startswith(region + "/")}
            wait_for(lambda: _others(snapshot(url), region) == others, timeout=300, interval=0.5,
                     what="the other regions to load in parallel while the first waits")
            os.kill(pid, signal.SIGKILL)
        finally:
            release_table_lock(admin, victim)
        stdout, stderr = proc.communicate(timeout=600)
        wait_for(lambda: backend_gone(admin, backend), timeout=60, what="the orphaned backend to end")

    assert proc.returncode == 1, stderr[-3000:]
    # marked failed by lcdb load (the process its tags name is gone) or by Dagster's code server (its run
    # process exited), whichever sees it first
    assert f"error: region {region}: " in stderr, stderr[-3000:]
    assert "died before the run finished" in stderr or "was terminated by signal 9" in stderr, stderr[-3000:]
    for other in serial.regions[1:]:  # the console summary, as a serial load prints it
        assert f"  {other}: 4 tables," in stdout
    assert "0075.01: " in stderr and " rows in " in stderr  # the run processes' log lines, relayed
    assert instance.instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    assert instance.instance.event_log_storage.get_concurrency_info("lcdb_writers").claimed_slots == []
    after = snapshot(url)
    assert _part(after, region) == {t: serial.snapshot[t] for t in tables[:2]}  # committed before the kill

    again = lcdb("load", str(serial.root), "--jobs", "2", "--region", region, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert snapshot(url) == serial.snapshot

    runs = [r for r in instance.instance.get_runs() if r.tags.get("dagster/partition")]
    first = [r for r in runs if r.run_id != runs[0].run_id]  # the first `lcdb load` (runs are newest first)
    assert sorted(r.tags["dagster/partition"] for r in first) == sorted(serial.regions)
    assert len({worker_of(instance.instance, r.run_id) for r in first if r.status == DagsterRunStatus.SUCCESS}) == 2
    windows = [run_window(instance.instance, r.run_id) for r in first]
    assert max_overlap(windows) == 2  # two region runs at once, never more
    steps = [w for w in (step_window(instance.instance, r.run_id) for r in first) if w]
    assert max_overlap(steps) <= 2  # the writers pool


def _others(snap: dict, region: str) -> dict:
    return {t: s for t, s in snap.items() if not t.startswith(region + "/")}


def test_table_workers_spread_a_region_a_killed_table_worker_fails_the_run_and_a_rerun_equals_the_serial_load(
        serial, instance, fresh_db, tmp_path):
    """`--table-workers 2` while the region's first table is held here: the other three load meanwhile (a
    serial load would wait at the first). The table worker waiting on it is SIGKILLed: the run fails naming
    that table, the others stay loaded; the same load again converges to the serial load."""
    region = serial.regions[2]
    tables = [t for t in serial.tables if t.startswith(region + "/")]
    victim = tables[0]
    url = fresh_db("table_workers")
    env = instance.env(url, tmp_path / "home")
    with psycopg.connect(conninfo(url), autocommit=True) as admin:
        hold_table_lock(admin, victim)
        try:
            proc = start_lcdb("load", str(serial.root), "--region", region, "--table-workers", "2", env=env)
            backend = wait_for(lambda: table_lock_waiter(admin, dbname_of(url), victim), timeout=240,
                               what=f"a table worker to wait for {victim}")
            others = {t: serial.snapshot[t] for t in tables[1:]}
            wait_for(lambda: snapshot(url) == others, timeout=240, interval=0.5,
                     what="the other three tables to load while the first waits")
            worker = client_process(backend, admin)
            assert worker != proc.pid
            os.kill(worker, signal.SIGKILL)
        finally:
            release_table_lock(admin, victim)
        stdout, stderr = proc.communicate(timeout=300)
        wait_for(lambda: backend_gone(admin, backend), timeout=60, what="the orphaned backend to end")

    assert proc.returncode == 1, stderr[-3000:]
    assert f"catalog table {victim} not loaded: its table worker process died" in stderr, stderr[-3000:]
    (run,) = _region_runs(instance, proc.pid).values()
    assert instance.instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    assert snapshot(url) == others  # the killed table rolled back, the others whole

    again = lcdb("load", str(serial.root), "--region", region, "--table-workers", "2", env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"  {region}: 4 tables, " in again.stdout
    assert snapshot(url) == _part(serial.snapshot, region)
