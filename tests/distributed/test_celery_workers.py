"""Region runs on Celery workers: two real `lcdb worker` processes and `lcdb daemon` on the machine's RabbitMQ and
Redis (a queue and a Redis database of this test alone), a real `lcdb backfill` of every region. The result must
equal the serial load row for row; a worker SIGKILLed mid-region must leave its run marked failed, and a
re-run must converge."""

from __future__ import annotations

import os
import signal
import socket

import psycopg
import pytest
from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

from lcdb_pipeline.cli.instance import CelerySettings
from support.dagster import dagster_instance
from support.databases import conninfo, dbname_of
from support.locks import backend_gone, hold_table_lock, release_table_lock, table_lock_waiter
from support.processes import environment, lcdb, wait_for
from support.runs import max_overlap, run_window, step_window, worker_of
from support.snapshot import snapshot

from .conftest import BROKER_URL

pytestmark = pytest.mark.slow

WRITERS = 1  # one region writes at a time, though two workers run regions: the pool must hold them apart


def _settings(queue: str) -> CelerySettings:
    # Short monitoring so a dead worker's run is failed within seconds; max_runtime as the backstop.
    return CelerySettings(queue=queue, max_runtime_seconds=600, monitor_interval_seconds=2)


class Cluster:
    """Two `lcdb worker` processes and `lcdb daemon` on one test instance and LightcurveDB."""

    def __init__(self, celery_queue, dagster, url: str, root, home) -> None:
        self.queue, self.dagster, self.root = celery_queue, dagster, root
        self.env = dagster.env(url, home, LCDB_DVO_ROOT=str(root), **celery_queue.env)
        self.workers = {}
        for name in ("w1", "w2"):
            self._start_worker(name)
        celery_queue.start(dagster.home.parent / "daemon.log", "daemon", env=self.env)
        self._wait_until_workers_answer()

    def _start_worker(self, name: str) -> None:
        self.workers[name] = self.queue.start(self.dagster.home.parent / f"{name}.log", "worker", "--name", name,
                                              env=self.env)

    def add_worker(self, name: str) -> None:
        self._start_worker(name)
        self._wait_until_workers_answer()

    def _wait_until_workers_answer(self) -> None:
        from celery import Celery

        app = Celery(broker=BROKER_URL)
        nodes = {f"{name}@{socket.gethostname()}" for name in self.workers}
        try:
            wait_for(lambda: nodes <= {n for reply in app.control.ping(destination=sorted(nodes), timeout=1)
                                       for n in reply}, timeout=180, interval=1, what="both workers to answer")
        except AssertionError:
            raise AssertionError(self.queue.logs()) from None

    def backfill(self, *args: str) -> str:
        """Submit a backfill with `lcdb backfill`; its id."""
        before = {b.backfill_id for b in self.dagster.instance.get_backfills()}
        submitted = lcdb("backfill", *args, env=self.env, timeout=300)
        assert submitted.returncode == 0, submitted.stderr[-3000:]
        assert f"on the Celery workers of queue {self.queue.queue}" in submitted.stdout
        (backfill,) = {b.backfill_id for b in self.dagster.instance.get_backfills()} - before
        return backfill

    def runs_of(self, backfill: str, count: int, timeout: float = 300):
        """The backfill's runs, once `count` of them exist and all are finished."""
        def finished():
            runs = self.dagster.instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill}))
            return runs if len(runs) == count and all(r.is_finished for r in runs) else None
        try:
            return wait_for(finished, timeout=timeout, interval=1, what=f"{count} finished runs of {backfill}")
        except AssertionError:
            raise AssertionError(self.queue.logs()) from None


def test_backfills_on_celery_workers_a_killed_worker_and_a_rerun_equal_the_serial_load(
        serial, celery_queue, fresh_db, databases, tmp_path):
    """Two workers and the daemon. First a region is backfilled while one of its catalog tables is held here;
    the worker running it is SIGKILLed: run monitoring marks the run failed (the worker does not answer), its
    pool slot is freed, the table committed before stays, the one in flight is rolled back. Then a third
    worker joins and every region is backfilled: every run succeeds, the rows equal the serial load, the
    metadata names both live workers, and the single writers slot kept their writes apart."""
    region = serial.regions[1]
    tables = [t for t in serial.tables if t.startswith(region + "/")]
    url = fresh_db("celery")
    with environment(**celery_queue.env), \
            dagster_instance(databases, tmp_path / "dagster", writers=WRITERS, celery=_settings(celery_queue.queue)) \
            as dagster, psycopg.connect(conninfo(url), autocommit=True) as admin:
        # Known partitions: the new-region sensor of the daemon has nothing to add or request.
        dagster.instance.add_dynamic_partitions("dvo_regions", serial.regions)
        cluster = Cluster(celery_queue, dagster, url, serial.root, tmp_path / "home")

        killed = _kill_the_worker_of(cluster, admin, dbname_of(url), region, victim=tables[1])
        assert snapshot(url) == {tables[0]: serial.snapshot[tables[0]]}, "only the table committed before the kill"

        cluster.add_worker("w3")
        runs = cluster.runs_of(cluster.backfill(str(serial.root)), len(serial.regions))
        assert {r.tags["dagster/partition"]: r.status for r in runs} == dict.fromkeys(
            serial.regions, DagsterRunStatus.SUCCESS), celery_queue.logs()
        assert snapshot(url) == serial.snapshot
        _assert_workers_and_pool(dagster.instance, runs, cluster, killed)
    credentials = BROKER_URL.split("//")[1].split("@")[0]  # user:password
    for _, log in celery_queue.processes:  # the workers' and the daemon's output: the broker password masked
        assert credentials not in log.read_text(), log.name


def _kill_the_worker_of(cluster: Cluster, admin, dbname: str, region: str, victim: str) -> str:
    """Backfill `region` while `victim`'s lock is held, SIGKILL the worker whose run waits for it; the name
    of the killed worker, once its run is marked failed."""
    hold_table_lock(admin, victim)
    try:
        backfill = cluster.backfill(str(cluster.root), "--region", region)
        backend = wait_for(lambda: table_lock_waiter(admin, dbname, victim), timeout=240, interval=0.2,
                           what=f"the region run to wait for {victim}")
        (run,) = cluster.dagster.instance.get_runs(RunsFilter(tags={"dagster/backfill": backfill}))
        pid = int(run.tags["lcdb/worker_pid"])
        name = next(name for name, proc in cluster.workers.items() if proc.pid == pid)
        os.kill(pid, signal.SIGKILL)
        cluster.workers.pop(name).wait(timeout=30)
    finally:
        release_table_lock(admin, victim)
    wait_for(lambda: backend_gone(admin, backend), timeout=60, what="the orphaned backend to end")
    (failed,) = cluster.runs_of(backfill, 1, timeout=120)
    assert failed.status == DagsterRunStatus.FAILURE
    (failure,) = cluster.dagster.instance.get_records_for_run(failed.run_id,
                                                              of_type=DagsterEventType.RUN_FAILURE).records
    message = failure.event_log_entry.dagster_event.message
    assert f"{name}@{socket.gethostname()} (pid {pid})" in message and "does not answer" in message, message
    print(f"\nkilled {name} (pid {pid}) while {region} waited for {victim}: run {failed.run_id[:8]} FAILURE "
          f"({message.splitlines()[0][:90]}…)")
    return name


def _assert_workers_and_pool(instance, runs, cluster: Cluster, killed: str) -> None:
    # Every run went through Celery, and each region's metadata names the worker process that ran it.
    assert all("dagster-celery/task_id" in r.tags and r.tags["dagster/max_runtime"] == "600" for r in runs)
    workers = {r.tags["dagster/partition"]: worker_of(instance, r.run_id) for r in runs}
    pids = {name: proc.pid for name, proc in cluster.workers.items()}
    assert killed not in pids and len(pids) == 2
    assert {pid for _, pid in workers.values()} == set(pids.values()), (workers, pids)
    assert {host for host, _ in workers.values()} == {socket.gethostname()}
    # The writers pool: region steps (the writes) never overlapped beyond its limit. (Whether a second run
    # starts and waits for the slot on its worker, or waits in the daemon's run queue, is the queue's
    # choice: it holds runs whose pool is full, up to a buffer.)
    _print_table(instance, runs, pids)
    assert max_overlap([step_window(instance, r.run_id) for r in runs]) <= WRITERS


def _print_table(instance, runs, pids) -> None:
    """The run/worker table (shown with -s; docs/scaling.md quotes one)."""
    names = {pid: name for name, pid in pids.items()}
    t0 = min(run_window(instance, r.run_id)[0] for r in runs)
    print("region  worker  pid     run start→end (s)   region step start→end (s)")
    for run in sorted(runs, key=lambda r: run_window(instance, r.run_id)[0]):
        host, pid = worker_of(instance, run.run_id)
        (rs, re), (ss, se) = run_window(instance, run.run_id), step_window(instance, run.run_id)
        print(f"{run.tags['dagster/partition']:7s} {names[pid]:7s} {pid:<7d} {rs - t0:6.1f} → {re - t0:6.1f}"
              f"      {ss - t0:6.1f} → {se - t0:6.1f}")
