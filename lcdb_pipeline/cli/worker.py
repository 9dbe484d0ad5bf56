"""`lcdb worker` (a Celery worker serving lcdb's queue) and `lcdb daemon` (the Dagster daemon alone), both on
the lcdb instance; and the check every command that hands runs to workers makes first (docs/scaling.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lcdb_pipeline.cli.errors import OperatorError
from lcdb_pipeline.cli.instance import (
    CELERY_BACKEND_ENV,
    CELERY_BROKER_ENV,
    CelerySettings,
    prepare_database,
    workspace_file,
)
from lcdb_schema.database import redact_url


def check_distributed_setup(instance=None) -> CelerySettings | None:
    """The Celery settings when the instance hands runs to workers (None otherwise), after checking that
    dagster-celery is installed and that no job uses `celery_executor` with its run launcher."""
    from dagster import DagsterInstance

    from lcdb_pipeline.definitions import build_definitions
    from lcdb_pipeline.distributed.executors import UnsupportedExecutor, refuse_celery_executor

    settings = CelerySettings.from_environment()
    if settings is not None:
        _require_dagster_celery()
    try:
        refuse_celery_executor(instance or DagsterInstance.get(), build_definitions())
    except UnsupportedExecutor as exc:
        raise OperatorError(str(exc)) from None
    return settings


def _require_dagster_celery() -> None:
    try:
        import dagster_celery  # noqa: F401
    except ImportError:
        raise OperatorError(f"{CELERY_BROKER_ENV} is set, but dagster-celery is not installed: "
                            "pip install -e '.[celery]' (or unset it to run on this machine)") from None


def run_worker(args: argparse.Namespace) -> int:
    """Serve lcdb's queue until stopped; every run executes in this process (threads), so the worker's
    host and pid are the ones its region materializations record."""
    if not os.environ.get(CELERY_BROKER_ENV):
        raise OperatorError(f"lcdb worker needs {CELERY_BROKER_ENV} (RabbitMQ, e.g. "
                            f"amqp://user:password@host:5672//) and {CELERY_BACKEND_ENV} (Redis)")
    _worker_environment(args)
    prepare_database()
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    settings = check_distributed_setup(instance)
    launcher = instance.run_launcher
    if not hasattr(launcher, "execute_job_task"):
        raise OperatorError(f"the instance in DAGSTER_HOME={os.environ['DAGSTER_HOME']} does not hand runs to "
                            "Celery (its dagster.yaml has no lcdb Celery run launcher); unset DAGSTER_HOME to "
                            "use lcdb's own, or add the run_launcher section docs/scaling.md shows")
    name = args.name or f"lcdb-{os.getpid()}"
    print(f"lcdb worker {name}: queue {launcher.default_queue}, broker {redact_url(launcher.broker)}, "
          f"results {redact_url(launcher.backend)}, instance {os.environ['DAGSTER_HOME']}, "
          f"DVO root {os.environ.get('LCDB_DVO_ROOT') or '(unset)'}", flush=True)
    launcher.celery.worker_main([
        "worker", "--queues", settings.queue, "--pool", "threads", "--concurrency", str(args.concurrency),
        "--prefetch-multiplier", "1", "--hostname", f"{name}@%h", "--loglevel", args.loglevel,
        "--without-gossip", "--without-mingle"])
    return 0


def _worker_environment(args: argparse.Namespace) -> None:
    """What the runs this worker executes read from the environment (they bind their resources there)."""
    if args.dvo_root:
        root = Path(args.dvo_root)
        if not (root / "SkyTable.fits").is_file():
            raise OperatorError(f"DVO root {root}: no SkyTable.fits there")
        os.environ["LCDB_DVO_ROOT"] = str(root.resolve())
    if args.table_workers:
        os.environ["LCDB_TABLE_WORKERS"] = str(args.table_workers)


def run_daemon() -> int:
    """`dagster-daemon run` on the lcdb instance and code location (replaces this process)."""
    prepare_database()
    check_distributed_setup()
    command = [sys.executable, "-m", "dagster._daemon", "run", "-w", workspace_file()]
    print(f"Dagster daemon on instance {os.environ['DAGSTER_HOME']}", flush=True)
    os.execvpe(command[0], command, dict(os.environ))
    return 0  # not reached
