"""Region runs launched on this machine through Dagster's own machinery, as the daemon launches them.

`lcdb load --jobs N` opens a workspace on the lcdb code location (Dagster starts its gRPC code server), creates
each region run from the remote job exactly as `dagster job launch` does, and launches it with the default run
launcher's gRPC path: the code server executes every run in a process of its own (`dagster api`'s run worker),
on the same instance, with the same concurrency pools. lcdb only decides how many are in flight at once.

The runs go to this machine even when the instance hands the daemon's runs to Celery workers: `lcdb load` is
the one-machine command; `lcdb backfill` is the one for the workers (docs/scaling.md).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from dagster import DagsterInstance, DagsterRun
from dagster._core.definitions.selector import JobSubsetSelector
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.launcher import DefaultRunLauncher
from dagster._core.remote_representation.code_location import GrpcServerCodeLocation
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import ModuleTarget
from dagster._utils.error import serializable_error_info_from_exc_info

DEFINITIONS_MODULE = "lcdb_pipeline.definitions"
LOCATION = "lcdb"
#: The run processes' own console logger off: `lcdb load` prints their lines from the event log.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


class LocalRunLauncher:
    """A workspace on the lcdb code location, creating and launching runs of one job (context manager)."""

    def __init__(self, instance: DagsterInstance, job_name: str) -> None:
        self.instance = instance
        self.job_name = job_name

    def __enter__(self) -> LocalRunLauncher:
        self._process = WorkspaceProcessContext(
            self.instance, ModuleTarget(module_name=DEFINITIONS_MODULE, attribute=None, working_directory=None,
                                        location_name=LOCATION),
            code_server_log_level="WARNING")
        self._process.__enter__()
        try:
            self._open_location()
        except BaseException:
            self._process.__exit__(None, None, None)
            raise
        return self

    def _open_location(self) -> None:
        workspace = self._process.create_request_context()
        errors = workspace.get_code_location_error(LOCATION)
        if errors is not None:
            raise RuntimeError(f"the lcdb code location did not load: {errors.message.strip()}")
        self._location = workspace.get_code_location(LOCATION)
        assert isinstance(self._location, GrpcServerCodeLocation)
        (self._repo,) = self._location.get_repositories().values()
        self._job = self._location.get_job(JobSubsetSelector(
            location_name=self._location.name, repository_name=self._repo.name, job_name=self.job_name,
            op_selection=None))

    def __exit__(self, *exc) -> None:
        self._process.__exit__(*exc)

    def create_run(self, tags: Mapping[str, str]) -> DagsterRun:
        """A NOT_STARTED run of the job with `tags` (the partition among them), as `dagster job launch`."""
        plan = self._location.get_execution_plan(self._job, QUIET_RUN_CONFIG, step_keys_to_execute=None,
                                                 known_state=None, instance=self.instance).execution_plan_snapshot
        return self.instance.create_run(
            job_name=self._job.name, run_id=None, run_config=QUIET_RUN_CONFIG, resolved_op_selection=None,
            step_keys_to_execute=plan.step_keys_to_execute, op_selection=None, status=None, root_run_id=None,
            parent_run_id=None, tags={**self._job.tags, **tags}, job_snapshot=self._job.job_snapshot,
            execution_plan_snapshot=plan, parent_job_snapshot=self._job.parent_job_snapshot,
            remote_job_origin=self._job.get_remote_origin(), job_code_origin=self._job.get_python_origin(),
            asset_selection=None, asset_check_selection=None, asset_graph=self._repo.asset_graph)

    def launch(self, run: DagsterRun) -> None:
        """Start the run in a run process of the code server (what DefaultRunLauncher.launch_run does)."""
        self.instance.report_dagster_event(
            DagsterEvent(event_type_value=DagsterEventType.PIPELINE_STARTING.value, job_name=run.job_name),
            run_id=run.run_id)
        try:
            DefaultRunLauncher.launch_run_from_grpc_client(self.instance, run, self._location.client)
        except Exception:
            error = serializable_error_info_from_exc_info(sys.exc_info())
            self.instance.report_engine_event(error.message, run, EngineEventData.engine_error(error))
            self.instance.report_run_failed(run, message=f"the run could not be launched: {error.message.strip()}")
            raise

    def terminate(self, run_id: str) -> None:
        """Ask the code server to stop a run (lcdb load interrupted): its run process ends, the table in
        flight is rolled back."""
        from dagster._grpc.types import CancelExecutionRequest

        try:
            self._location.client.cancel_execution(CancelExecutionRequest(run_id=run_id))
        except Exception:  # noqa: BLE001 - best effort on the way out; orphan recovery catches the rest
            pass
