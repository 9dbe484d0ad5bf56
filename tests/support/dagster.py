"""A Dagster instance like `lcdb`'s: the shipped dagster.yaml, storage in a PostgreSQL database of the test
server, shared by the test process and the `lcdb` subprocesses it starts."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from support.databases import Databases, as_url, dbname_of, with_dbname
from support.processes import environment


@dataclass
class DagsterSetup:
    home: Path
    storage_url: str
    instance: object

    def env(self, database_url: str, lcdb_home: Path, **extra: str) -> dict[str, str]:
        """Environment of an `lcdb` subprocess on this instance and `database_url`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LCDB_", "DAGSTER_"))}
        env.update(LCDB_DATABASE_URL=database_url, LCDB_HOME=str(lcdb_home), DAGSTER_HOME=str(self.home),
                   LCDB_DAGSTER_DATABASE_URL=self.storage_url, **extra)
        return env

    def runs_of_process(self, pid: int) -> dict[str, object]:
        """partition key (or job name) → DagsterRun of the runs an `lcdb` process started."""
        runs = self.instance.get_runs()
        return {run.tags.get("dagster/partition", run.job_name): run for run in runs
                if run.tags.get("lcdb/pid") == str(pid)}


@contextlib.contextmanager
def dagster_instance(databases: Databases, home: Path, writers: int | None = None, celery=None):
    """A Dagster instance in `home` with the shipped configuration (`writers`: the size of the writers pool;
    `celery`: a `CelerySettings`, runs the daemon launches go to Celery workers) and its storage in a new
    database on the test server."""
    from dagster import DagsterInstance

    from lcdb_pipeline.cli.instance import write_instance_config

    storage = databases.create("dagster")
    storage_url = as_url(with_dbname(databases.admin, dbname_of(storage)), driver="psycopg2")
    write_instance_config(home, writers=writers, celery=celery)
    with environment(LCDB_DAGSTER_DATABASE_URL=storage_url):
        instance = DagsterInstance.from_config(str(home))
        try:
            yield DagsterSetup(home, storage_url, instance)
        finally:
            instance.dispose()
