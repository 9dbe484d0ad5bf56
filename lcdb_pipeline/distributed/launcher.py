"""dagster-celery's `CeleryRunLauncher`, as the lcdb instance uses it (`run_launcher` in the rendered
dagster.yaml, `lcdb_pipeline.cli.instance.CelerySettings`).

Three additions, each because the stock launcher leaves a run hanging otherwise (docs/scaling.md):
- every run it hands to the workers is tagged `dagster/max_runtime` (unless it already is), so the daemon's
  run monitoring terminates and fails a run that outlives it, whatever happened to its worker;
- a run whose Celery task is STARTED is checked against its worker: the result backend keeps "STARTED" for
  ever once a worker is SIGKILLed, so the launcher pings the worker the task records; no answer → FAILED, and
  run monitoring marks the run failed at its next poll instead of after max_runtime;
- runs it did not launch (`lcdb load` executes its own) are not its to judge or terminate (the stock
  launcher raises KeyError on them): their own process watches them.
The execute/resume tasks are registered on the launcher's Celery app, so `lcdb worker` serves exactly the
app the launcher sends to (same broker, backend and queue).
"""

from __future__ import annotations

import warnings

from celery.exceptions import DuplicateTaskNameWarning
from dagster import Field
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG
from dagster_celery.launcher import CeleryRunLauncher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG
from dagster_celery.tasks import create_execute_job_task, create_resume_job_task

#: Seconds a worker has to answer the liveness ping.
PING_TIMEOUT = 3.0

# dagster-celery builds its execute task anew at every launch, under the same name; Celery >= 5.6 warns each
# time that the first registration (identical code) stays in force. Nothing to act on.
warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning)


class LcdbCeleryRunLauncher(CeleryRunLauncher):
    """CeleryRunLauncher with a runtime limit per run, dead-worker detection, and tolerance of runs it did
    not launch."""

    def __init__(self, default_queue: str, broker: str | None = None, backend: str | None = None,
                 include: list[str] | None = None, config_source: dict | None = None,
                 max_runtime_seconds: int | None = None, inst_data=None) -> None:
        super().__init__(default_queue=default_queue, broker=broker, backend=backend, include=include,
                         config_source=config_source, inst_data=inst_data)
        self.max_runtime_seconds = max_runtime_seconds
        self.execute_job_task = create_execute_job_task(self.celery)
        self.resume_job_task = create_resume_job_task(self.celery)

    @classmethod
    def config_type(cls):
        return {**super().config_type(),
                "max_runtime_seconds": Field(int, is_required=False,
                                             description="dagster/max_runtime of every run handed to the workers")}

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        if self.max_runtime_seconds and MAX_RUNTIME_SECONDS_TAG not in run.tags:
            self._instance.add_run_tags(run.run_id, {MAX_RUNTIME_SECONDS_TAG: str(self.max_runtime_seconds)})
        super().launch_run(context)

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
        if task_id is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched on Celery: its own process watches it")
        result = self.celery.AsyncResult(task_id)
        if result.state == "STARTED":
            info = result.info if isinstance(result.info, dict) else {}
            worker, pid = info.get("hostname"), info.get("pid")
            if worker and not self.celery.control.ping(destination=[worker], timeout=PING_TIMEOUT):
                return CheckRunHealthResult(
                    WorkerStatus.FAILED,
                    f"Celery worker {worker} (pid {pid}) that was running this run does not answer: it died or "
                    "lost the broker. The catalog table it was writing was rolled back by PostgreSQL; the "
                    "tables committed before it stay loaded. Run the region again.")
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return super().check_run_worker_health(run)

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or DAGSTER_CELERY_TASK_ID_TAG not in run.tags:
            return False
        return super().terminate(run_id)
