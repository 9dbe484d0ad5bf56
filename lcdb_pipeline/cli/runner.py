"""`lcdb load` and `lcdb demo`: the reference job, then one run of the region job per region, on the lcdb
instance — the same assets and the same instance as the UI's backfills. With one job at a time the runs
execute in this process; with `--jobs N` (N > 1) N region runs at once are launched through Dagster's run
launcher on this machine (`lcdb_pipeline.distributed.local`), each in a run process of its own."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, JobDefinition

from lcdb_pipeline.cli.console import CONSOLE_LOGGING, entry_line, with_console
from lcdb_pipeline.cli.instance import recover_orphaned_runs, run_tags
from lcdb_pipeline.cli.runlog import run_failure, run_warnings, step_failures
from lcdb_pipeline.defs.keys import DATA_SET
from lcdb_pipeline.defs.partitions import register_regions
from lcdb_pipeline.defs.resources import lcdb_resources
from lcdb_pipeline.dvo import (
    DVODatabase,
    DVOError,
    check_region_key,
    region_directory,
    region_tables,
)


@dataclass
class RegionOutcome:
    region: str
    success: bool
    seconds: float
    metadata: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    run_id: str | None = None


@dataclass
class LoadReport:
    reference_ok: bool
    regions: list[RegionOutcome]
    reference_errors: list[str] = field(default_factory=list)
    recovered_runs: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.reference_ok and all(r.success and not r.failed_checks for r in self.regions)


@dataclass(frozen=True)
class LoadPlan:
    """A DVO root and the region keys to load from it, validated (names, inside the root), and the
    LightcurveDB to load into (None: LCDB_DATABASE_URL, else the embedded server)."""

    root: Path
    regions: list[str] | None  # None: every populated region
    database_url: str | None = None
    jobs: int = 1  # region runs at once (> 1: launched run processes)
    table_workers: int = 1  # processes loading one region's catalog tables


def plan_load(dvo_root: Path, regions: Sequence[str] | None = None, database_url: str | None = None,
              jobs: int = 1, table_workers: int = 1) -> LoadPlan:
    """Check the requested region keys before any file is opened (`InvalidRegionKey`), and that they stay
    inside the DVO root."""
    root = Path(dvo_root)
    keys = list(dict.fromkeys(regions)) if regions else None
    for region in keys or ():  # every key, before the first file-system access
        check_region_key(region)
    for region in keys or ():
        region_directory(root, region)
    return LoadPlan(root.resolve(), keys, database_url, max(1, jobs), max(1, table_workers))


def load_regions(
    dvo_root: Path,
    regions: Sequence[str] | None = None,
    instance: DagsterInstance | None = None,
    progress: Callable[[str], None] = lambda _: None,
    database_url: str | None = None,
    jobs: int = 1,
    table_workers: int = 1,
) -> LoadReport:
    """Load the reference data, then each region as one run of the `load_dvo_regions` job (`jobs` of them
    at once).

    Region names are checked before any file is opened (`InvalidRegionKey`); a requested region with
    nothing to load (no directory, no catalog table) is reported as failed without starting a run."""
    return run_load(plan_load(dvo_root, regions, database_url, jobs, table_workers), instance, progress)


def run_load(plan: LoadPlan, instance: DagsterInstance | None = None,
             progress: Callable[[str], None] = lambda _: None) -> LoadReport:
    regions, rejected = _loadable_regions(plan)
    if plan.regions and not regions:  # nothing left to run
        return LoadReport(True, rejected)
    from lcdb_pipeline.definitions import build_definitions

    defs = build_definitions(lcdb_resources(dvo_root=str(plan.root), database_url=plan.database_url,
                                            table_workers=plan.table_workers))
    instance = instance or DagsterInstance.get()
    recovered = recover_orphaned_runs(instance)
    for run_id in recovered:
        progress(f"marked run {run_id} as failed: its lcdb process had died")
    register_regions(instance, regions)
    if not regions:
        return LoadReport(True, rejected, recovered_runs=recovered)
    result = _execute(defs.resolve_job_def("load_reference"), instance)
    if not result.success:
        return LoadReport(False, rejected, step_failures(instance, result.run_id), recovered)
    if plan.jobs > 1 and len(regions) > 1:
        outcomes = _launched(plan, regions, instance, progress)
    else:
        outcomes = _in_process(defs.resolve_job_def("load_dvo_regions"), regions, instance, progress)
    return LoadReport(True, outcomes + rejected, recovered_runs=recovered)


def _in_process(job: JobDefinition, regions: list[str], instance: DagsterInstance,
                progress: Callable[[str], None]) -> list[RegionOutcome]:
    outcomes = []
    for region in regions:
        progress(f"loading region {region} …")
        started = time.perf_counter()
        run_id = _execute(job, instance, region).run_id
        outcomes.append(_outcome(region, run_id, instance, time.perf_counter() - started))
    return outcomes


@dataclass
class _InFlight:
    region: str
    started: float
    cursor: str | None = None


def _launched(plan: LoadPlan, regions: list[str], instance: DagsterInstance,
              progress: Callable[[str], None]) -> list[RegionOutcome]:
    """`plan.jobs` region runs at once, launched in run processes; their log lines are printed as they come,
    a run whose process died is marked failed (and its pool slot freed) as soon as it is seen."""
    waiting, flying, outcomes = list(regions), {}, {}
    with _local_launcher(plan, instance) as launcher:
        try:
            while waiting or flying:
                while waiting and len(flying) < plan.jobs:
                    region = waiting.pop(0)
                    progress(f"loading region {region} …")
                    run = launcher.create_run({"dagster/partition": region, **run_tags()})
                    flying[run.run_id] = _InFlight(region, time.perf_counter())
                    with contextlib.suppress(Exception):  # the run is then marked failed: collected below
                        launcher.launch(run)
                time.sleep(POLL_SECONDS)
                recover_orphaned_runs(instance, set(flying))
                for run_id, run in list(flying.items()):
                    run.cursor = _print_new_lines(instance, run_id, run)
                    if instance.get_run_by_id(run_id).is_finished:
                        outcomes[run.region] = _finished(run, run_id, instance)
                        del flying[run_id]
        except BaseException:
            for run_id in flying:
                launcher.terminate(run_id)
            raise
    return [outcomes[region] for region in regions]


POLL_SECONDS = 0.25


def _finished(run: _InFlight, run_id: str, instance: DagsterInstance) -> RegionOutcome:
    """The outcome of a launched run; a failed one gives back any pool slot it still holds (a run process
    killed mid-step never released its own; the code server marks the run failed but frees nothing)."""
    outcome = _outcome(run.region, run_id, instance, time.perf_counter() - run.started)
    if not outcome.success and instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    return outcome


def _print_new_lines(instance: DagsterInstance, run_id: str, run: _InFlight) -> str | None:
    """Print the run's console lines logged since `run.cursor`; the new cursor."""
    if os.environ.get("LCDB_DEBUG"):
        return run.cursor
    connection = instance.get_records_for_run(run_id, cursor=run.cursor)
    for record in connection.records:
        line = entry_line(record.event_log_entry, run.region)
        if line:
            print(line, file=sys.stderr, flush=True)
    return connection.cursor


@contextlib.contextmanager
def _local_launcher(plan: LoadPlan, instance: DagsterInstance):
    """The run launcher on this machine, its code server and run processes started in this load's
    environment (Dagster reads its gRPC timeout when its client module is first imported: import it after)."""
    with _run_environment(plan):
        from lcdb_pipeline.distributed.local import LocalRunLauncher

        with LocalRunLauncher(instance, "load_dvo_regions") as launcher:
            yield launcher


@contextlib.contextmanager
def _run_environment(plan: LoadPlan):
    """The settings of this load, for the run processes (they bind their resources from the environment)."""
    values = {"LCDB_DVO_ROOT": str(plan.root), "LCDB_TABLE_WORKERS": str(plan.table_workers),
              # Dagster's 60 s for a code-server call is short on a loaded machine (starting a run spawns
              # a process that imports everything); a timeout there would fail a healthy region.
              "DAGSTER_GRPC_TIMEOUT_SECONDS": os.environ.get("DAGSTER_GRPC_TIMEOUT_SECONDS") or "600"}
    if plan.database_url:
        values["LCDB_DATABASE_URL"] = plan.database_url
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _loadable_regions(plan: LoadPlan) -> tuple[list[str], list[RegionOutcome]]:
    """The regions to run, and the requested ones refused because they hold nothing to load."""
    database = DVODatabase(plan.root)
    if not plan.regions:
        return database.populated_regions(), []
    regions, rejected = [], []
    for region in plan.regions:
        try:
            region_tables(database, region)
            regions.append(region)
        except DVOError as exc:
            rejected.append(RegionOutcome(region, False, 0.0, errors=[f"region {region}: {exc}"]))
    return regions, rejected


def _execute(job: JobDefinition, instance: DagsterInstance, partition_key: str | None = None):
    return with_console(job).execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False, run_config=CONSOLE_LOGGING,
        tags=run_tags())


def _outcome(region: str, run_id: str, instance: DagsterInstance, seconds: float) -> RegionOutcome:
    """What a finished region run did, read back from the instance (wherever the run executed)."""
    success = instance.get_run_by_id(run_id).status == DagsterRunStatus.SUCCESS
    outcome = RegionOutcome(region, success, seconds, run_id=run_id, warnings=run_warnings(instance, run_id))
    if not success:
        outcome.errors = (step_failures(instance, run_id) or run_failure(instance, run_id)
                          or [f"region {region}: run failed"])
        return outcome
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records:
        materialization = record.event_log_entry.asset_materialization
        if materialization.asset_key == DATA_SET:
            outcome.metadata = {k: v.value for k, v in materialization.metadata.items() if k != "sample lightcurve"}
    evaluations = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    outcome.failed_checks = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in (r.event_log_entry.dagster_event.event_specific_data for r in evaluations) if not e.passed]
    return outcome
