"""Fixtures for the distributed tests: the machine's RabbitMQ and Redis (the Celery tests skip, saying why, where
none answers), a queue and a Redis database of its own per test, `lcdb worker` / `lcdb daemon` processes, and
the serial load every test compares with."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lcdb_pipeline.synth import generate
from support.dagster import dagster_instance
from support.processes import BIN, load_in_process
from support.snapshot import snapshot

SEED = 31  # the generated database the distributed tests load (small, PS1_V1: 3 regions × 4 tables)
BROKER_URL = os.environ.get("LCDB_TEST_CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("LCDB_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379")
_redis_dbs = itertools.count(1)  # db 0 is left to whoever else uses the server


def _broker_problem() -> str | None:
    """Why the Celery tests cannot run here, or None."""
    try:
        import dagster_celery  # noqa: F401
    except ImportError:
        return "dagster-celery is not installed (pip install -e '.[test,celery]')"
    import kombu
    import redis

    try:
        with kombu.Connection(BROKER_URL, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # noqa: BLE001 - any failure means: no broker
        return f"no RabbitMQ answers at {BROKER_URL.split('@')[-1]} ({type(exc).__name__})"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"no Redis answers at {REDIS_URL} ({type(exc).__name__})"
    return None


@pytest.fixture(scope="session")
def broker() -> str:
    problem = _broker_problem()
    if problem:
        pytest.skip(f"Celery tests need a broker and a result backend: {problem}")
    return BROKER_URL


@dataclass
class Serial:
    root: Path
    url: str
    snapshot: dict
    regions: list[str]
    tables: list[str]


@pytest.fixture(scope="session")
def serial(tmp_path_factory, fresh_db, databases) -> Serial:
    """The synthetic database, loaded by the serial `lcdb load` path (one region after another, in process)
    into its own LightcurveDB: what every distributed load must equal, row for row."""
    root = tmp_path_factory.mktemp("distributed") / "catdir"
    summary = generate(root, scale="small", seed=SEED, fmt="ps1_v1")
    url = fresh_db("serial")
    with dagster_instance(databases, tmp_path_factory.mktemp("serial_dagster")) as setup:
        report = load_in_process(root, url, setup.instance)
    assert report.success, [(o.region, o.errors) for o in report.regions]
    snap = snapshot(url)
    assert sorted(snap) == sorted(summary.tables)
    return Serial(root, url, snap, list(summary.regions), list(summary.tables))


@dataclass
class Celery:
    """One test's queue and Redis database, and the environment of its `lcdb` processes."""

    queue: str
    backend: str
    processes: list[tuple[subprocess.Popen, Path]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return {"LCDB_CELERY_BROKER_URL": BROKER_URL, "LCDB_CELERY_BACKEND_URL": self.backend,
                "LCDB_CELERY_QUEUE": self.queue}

    def start(self, log: Path, *args: str, env: dict[str, str]) -> subprocess.Popen:
        """An `lcdb` process (worker, daemon) in its own session, its output in `log`."""
        with open(log, "w") as out:
            proc = subprocess.Popen([str(BIN / "lcdb"), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.processes.append((proc, log))
        return proc

    def logs(self, lines: int = 40) -> str:
        return "\n".join(f"--- {log.name} ---\n" + "\n".join(log.read_text().splitlines()[-lines:])
                         for _, log in self.processes)

    def stop(self) -> None:
        for proc, _ in self.processes:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, _ in self.processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def celery_queue(broker):
    """A queue and a Redis database of this test alone; its worker and daemon processes stopped, the queue
    deleted and the database flushed afterwards."""
    import kombu
    import redis

    db = next(_redis_dbs)
    setup = Celery(queue=f"lcdb_t_{uuid.uuid4().hex[:10]}", backend=f"{REDIS_URL}/{db}")
    redis.Redis.from_url(setup.backend).flushdb()
    yield setup
    setup.stop()
    with kombu.Connection(BROKER_URL, connect_timeout=3) as conn:
        channel = conn.channel()
        channel.queue_delete(setup.queue)
        channel.exchange_delete(setup.queue)
    redis.Redis.from_url(setup.backend).flushdb()
