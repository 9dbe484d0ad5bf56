"""The one combination dagster-celery cannot run: its run launcher with its `celery_executor`.

The launcher executes a whole run inside a Celery task on a worker; `celery_executor` would then send each
step of that run as another task to the same workers and wait for it. With every worker busy holding a run
that waits for its steps, nothing is left to execute them: the runs hang (and dagster-celery documents the
pair as unsupported). lcdb refuses it before anything is launched (docs/scaling.md)."""

from __future__ import annotations

from dagster import DagsterInstance, Definitions


class UnsupportedExecutor(Exception):
    """A job's executor cannot run under the instance's run launcher."""


def launcher_is_celery(instance: DagsterInstance) -> bool:
    return type(instance.run_launcher).__module__.startswith(("dagster_celery", "lcdb_pipeline.distributed"))


def refuse_celery_executor(instance: DagsterInstance, defs: Definitions) -> None:
    """Raise `UnsupportedExecutor` naming the jobs that use `celery_executor` when the instance hands runs to
    Celery workers."""
    if not launcher_is_celery(instance):
        return
    jobs = sorted(job.name for job in defs.resolve_all_job_defs() if job.executor_def.name == "celery")
    if jobs:
        raise UnsupportedExecutor(
            f"job(s) {', '.join(jobs)} use dagster-celery's celery_executor, but this instance's run launcher "
            f"({type(instance.run_launcher).__name__}) already runs each whole run on a Celery worker: the "
            "two cannot be combined (the run would wait for step tasks that no free worker takes). Keep the "
            "run launcher and give the jobs the in-process executor (lcdb's default), or drop the run launcher "
            "section from dagster.yaml to use celery_executor.")
