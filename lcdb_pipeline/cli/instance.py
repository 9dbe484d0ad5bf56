"""The Dagster instance the `lcdb` command uses: `$LCDB_HOME/dagster` holding the shipped dagster.yaml, with
its storage in PostgreSQL; and the recovery of runs whose `lcdb` process died.

Dagster's storage lives in its own database (`<lightcurvedb database>_dagster` on the same server) because
Dagster and LightcurveDB both keep Alembic bookkeeping and must not share a schema.
"""

from __future__ import annotations

import os
import socket
from importlib import resources
from pathlib import Path

import psycopg
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from sqlalchemy.engine import make_url

from lcdb_pipeline.cli.errors import OperatorError
from lcdb_schema.database import (
    connect_error_message,
    create_database,
    database_url,
    lcdb_home,
    libpq_url,
)
from lcdb_schema.migrations import upgrade_database

#: Run tags `lcdb load` puts on its runs, so a run whose process died (SIGKILL, OOM, reboot) is recognised.
PID_TAG = "lcdb/pid"
HOST_TAG = "lcdb/host"


def _shipped_config_text() -> str:
    return (resources.files("lcdb_pipeline") / "data" / "dagster.yaml").read_text()


def workspace_file() -> str:
    """The workspace file naming the code location `lcdb` (for `dagster dev` and `dagster job backfill`)."""
    return str(resources.files("lcdb_pipeline") / "data" / "workspace.yaml")


def instance_config(writers: int | None = None) -> dict:
    """The shipped instance configuration (`lcdb_pipeline/data/dagster.yaml`); `writers` overrides the size
    of the `lcdb_writers` pool (how many runs write to PostgreSQL at once)."""
    config = yaml.safe_load(_shipped_config_text())
    if writers is not None:
        config["concurrency"]["pools"]["default_limit"] = int(writers)
    return config


def write_instance_config(home: Path, writers: int | None = None) -> Path:
    """`home/dagster.yaml`: the shipped configuration (as is, comments included, unless `writers` overrides
    the pool size); returns `home`."""
    home.mkdir(parents=True, exist_ok=True)
    text = _shipped_config_text() if writers is None else yaml.safe_dump(instance_config(writers), sort_keys=False)
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
        os.environ["DAGSTER_HOME"] = str(write_instance_config(lcdb_home() / "dagster"))
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
    """The tags of a run this process starts (see `recover_orphaned_runs`)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_orphaned_runs(instance: DagsterInstance) -> list[str]:
    """Mark as failed the runs `lcdb load` started on this host whose process is gone (killed, crashed), and
    free the concurrency-pool slots they held, so they neither show as running forever nor block new runs.

    PostgreSQL has already rolled back whatever catalog table such a run was writing."""
    host = socket.gethostname()
    recovered = []
    records = instance.get_run_records(RunsFilter(
        statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.CANCELING],
        tags={HOST_TAG: host}))
    for record in records:
        run = record.dagster_run
        try:
            pid = int(run.tags.get(PID_TAG, "0"))
        except ValueError:
            continue
        if pid <= 0 or pid == os.getpid() or _process_alive(pid):
            continue
        instance.report_run_failed(
            run, message=f"the lcdb process that ran this run (pid {pid} on {host}) died before the run finished; "
                         "the catalog table it was writing was rolled back by PostgreSQL, the tables committed "
                         "before it stay loaded. Load the region again.")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(run.run_id)
    return recovered
