"""The Dagster instance the `lcdb` command uses: `$LCDB_HOME/dagster` holding the shipped dagster.yaml, with
its storage in PostgreSQL; and the recovery of runs whose `lcdb` process died.

Dagster's storage lives in its own database (`<lightcurvedb database>_dagster` on the same server) because
Dagster and LightcurveDB both keep Alembic bookkeeping and must not share a schema.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy.engine import make_url

from lcdb_pipeline.cli.errors import OperatorError
from lcdb_pipeline.defs.worker import process_tags, run_process
from lcdb_schema.database import (
    connect_error_message,
    create_database,
    database_url,
    lcdb_home,
    libpq_url,
)
from lcdb_schema.migrations import upgrade_database

#: Where the Celery broker (RabbitMQ) and result backend (Redis) are: read by the instance at run time, never
#: written into dagster.yaml (their passwords stay in the environment).
CELERY_BROKER_ENV = "LCDB_CELERY_BROKER_URL"
CELERY_BACKEND_ENV = "LCDB_CELERY_BACKEND_URL"
CELERY_LAUNCHER = ("lcdb_pipeline.distributed.launcher", "LcdbCeleryRunLauncher")


@dataclass(frozen=True)
class CelerySettings:
    """The run-launcher section of the instance when region runs go to Celery workers (docs/scaling.md)."""

    queue: str = "lcdb"
    max_runtime_seconds: int = 6 * 3600  # a run still STARTED after this is terminated and failed
    monitor_interval_seconds: int = 30  # how often the daemon checks that each run's worker is alive

    @classmethod
    def from_environment(cls) -> CelerySettings | None:
        """The settings when LCDB_CELERY_BROKER_URL is set (LCDB_CELERY_QUEUE, LCDB_MAX_RUNTIME,
        LCDB_RUN_MONITOR_INTERVAL refine them), else None: runs stay on the daemon's machine."""
        if not os.environ.get(CELERY_BROKER_ENV):
            return None
        if not os.environ.get(CELERY_BACKEND_ENV):
            raise OperatorError(f"{CELERY_BROKER_ENV} is set but {CELERY_BACKEND_ENV} is not: set it to the "
                                "Redis result backend (e.g. redis://127.0.0.1:6379/0); run monitoring reads the "
                                "state of every region run from it")
        default = cls()
        try:
            return cls(queue=os.environ.get("LCDB_CELERY_QUEUE") or default.queue,
                       max_runtime_seconds=int(os.environ.get("LCDB_MAX_RUNTIME") or default.max_runtime_seconds),
                       monitor_interval_seconds=int(os.environ.get("LCDB_RUN_MONITOR_INTERVAL")
                                                    or default.monitor_interval_seconds))
        except ValueError as exc:
            raise OperatorError(f"LCDB_MAX_RUNTIME / LCDB_RUN_MONITOR_INTERVAL must be whole seconds: {exc}") from None

    def run_launcher(self) -> dict:
        module, cls = CELERY_LAUNCHER
        return {"module": module, "class": cls, "config": {
            "default_queue": self.queue,
            "broker": {"env": CELERY_BROKER_ENV},
            "backend": {"env": CELERY_BACKEND_ENV},
            "max_runtime_seconds": self.max_runtime_seconds,
        }}


def _shipped_config_text() -> str:
    return (resources.files("lcdb_pipeline") / "data" / "dagster.yaml").read_text()


def workspace_file() -> str:
    """The workspace file naming the code location `lcdb` (for `dagster dev` and `dagster job backfill`)."""
    return str(resources.files("lcdb_pipeline") / "data" / "workspace.yaml")


def instance_config(writers: int | None = None, celery: CelerySettings | None = None) -> dict:
    """The shipped instance configuration (`lcdb_pipeline/data/dagster.yaml`); `writers` overrides the size
    of the `lcdb_writers` pool (how many runs write to PostgreSQL at once); `celery` hands the runs the
    daemon launches to Celery workers (dagster-celery's run launcher, lcdb's queue, run monitoring that
    fails the runs of a dead worker)."""
    config = yaml.safe_load(_shipped_config_text())
    if writers is not None:
        config["concurrency"]["pools"]["default_limit"] = int(writers)
    if celery is not None:
        config["run_launcher"] = celery.run_launcher()
        config["run_monitoring"].update(poll_interval_seconds=celery.monitor_interval_seconds,
                                        free_slots_after_run_end_seconds=celery.monitor_interval_seconds)
    return config


def write_instance_config(home: Path, writers: int | None = None, celery: CelerySettings | None = None) -> Path:
    """`home/dagster.yaml`: the shipped configuration (as is, comments included, unless `writers` or `celery`
    change it); returns `home`."""
    home.mkdir(parents=True, exist_ok=True)
    text = (_shipped_config_text() if writers is None and celery is None
            else yaml.safe_dump(instance_config(writers, celery), sort_keys=False))
    (home / "dagster.yaml").write_text(text)
    return home


def dagster_database_url(lightcurvedb_url: str) -> str:
    """The Dagster storage URL next to LightcurveDB's (created if missing).

    Pinned to psycopg2: dagster-postgres is written for it (SQLAlchemy 2.1 maps plain `postgresql://` to
    psycopg 3, whose server-side binding breaks Dagster's `NOTIFY run_events, %s`)."""
    url = make_url(lightcurvedb_url).set(drivername="postgresql")
    name = f"{url.database or 'postgres'}_dagster"
    create_database(url, name)
    return url.set(drivername="postgresql+psycopg2", database=name).render_as_string(hide_password=False)


def prepare_dagster_home(lightcurvedb_url: str) -> Path:
    """Point DAGSTER_HOME (unless set) at `$LCDB_HOME/dagster` holding the shipped dagster.yaml, and
    LCDB_DAGSTER_DATABASE_URL (unless set) at the Dagster database. Environment only: nothing is logged."""
    if not os.environ.get("DAGSTER_HOME"):
        home = lcdb_home() / "dagster"
        os.environ["DAGSTER_HOME"] = str(write_instance_config(home, celery=CelerySettings.from_environment()))
    if not os.environ.get("LCDB_DAGSTER_DATABASE_URL"):
        os.environ["LCDB_DAGSTER_DATABASE_URL"] = dagster_database_url(lightcurvedb_url)
    return Path(os.environ["DAGSTER_HOME"])


def prepare_database() -> str:
    """The LightcurveDB URL (embedded server when LCDB_DATABASE_URL is unset), schema at head, Dagster home."""
    url = database_url()
    upgrade_database(url)
    prepare_dagster_home(url)
    check_dagster_storage()
    return url


def check_dagster_storage() -> None:
    """One clear line when Dagster's storage is unreachable (instead of dagster-postgres retrying with warnings
    and ending with "too many retries for DB connection")."""
    url = os.environ.get("LCDB_DAGSTER_DATABASE_URL")
    if not url:
        return
    try:
        psycopg.connect(libpq_url(url), connect_timeout=10).close()
    except psycopg.Error as exc:
        raise OperatorError(
            f"Dagster instance storage (LCDB_DAGSTER_DATABASE_URL): {connect_error_message(exc, url)}") from None


def run_tags() -> dict[str, str]:
    """The tags of a run this process starts (see `recover_orphaned_runs`); the process that executes the
    run replaces them with its own when its region step starts (`lcdb_pipeline.defs.worker`)."""
    return process_tags()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_orphaned_runs(instance: DagsterInstance, run_ids: set[str] | None = None) -> list[str]:
    """Mark as failed the runs in progress on this host whose process is gone (killed, crashed), and free the
    concurrency-pool slots they held, so they neither show as running forever nor block new runs; `run_ids`
    limits the search to those runs. Returns the ids of the runs marked.

    The process is the one executing the run once its region step started (`lcdb load` itself, a run
    process `lcdb load --jobs` launched, a Celery worker on this host), else the `lcdb` process that created
    it (`lcdb_pipeline.defs.worker`). PostgreSQL has already rolled back whatever catalog table such a run
    was writing."""
    host = socket.gethostname()
    records = instance.get_run_records(RunsFilter(
        run_ids=sorted(run_ids) if run_ids is not None else None,
        statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING]))
    recovered = []
    for record in records:
        where = run_process(record.dagster_run.tags)
        if where is None or where[0] != host or not _dead(where[1]):
            continue
        instance.report_run_failed(
            record.dagster_run,
            message=f"the lcdb process that ran this run (pid {where[1]} on {host}) died before the run "
                    "finished; the catalog table it was writing was rolled back by PostgreSQL, the tables "
                    "committed before it stay loaded. Load the region again.")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(record.dagster_run.run_id)
        recovered.append(record.dagster_run.run_id)
    return recovered


def _dead(pid: int) -> bool:
    """Whether `pid` names a process of this host that no longer exists (not this one)."""
    return pid > 0 and pid != os.getpid() and not _process_alive(pid)
