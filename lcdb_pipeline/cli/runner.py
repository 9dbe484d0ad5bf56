"""`lcdb load` and `lcdb demo`: the reference job, then one run of the region job per region, in this
process, on the lcdb instance — the same assets and the same instance as the UI's backfills."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult, JobDefinition

from lcdb_pipeline.cli.console import CONSOLE_LOGGING, with_console
from lcdb_pipeline.cli.instance import recover_orphaned_runs, run_tags
from lcdb_pipeline.cli.runlog import run_warnings, step_failures
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


def plan_load(dvo_root: Path, regions: Sequence[str] | None = None, database_url: str | None = None) -> LoadPlan:
    """Check the requested region keys before any file is opened (`InvalidRegionKey`), and that they stay
    inside the DVO root."""
    root = Path(dvo_root)
    keys = list(dict.fromkeys(regions)) if regions else None
    for region in keys or ():  # every key, before the first file-system access
        check_region_key(region)
    for region in keys or ():
        region_directory(root, region)
    return LoadPlan(root.resolve(), keys, database_url)


def load_regions(
    dvo_root: Path,
    regions: Sequence[str] | None = None,
    instance: DagsterInstance | None = None,
    progress: Callable[[str], None] = lambda _: None,
    database_url: str | None = None,
) -> LoadReport:
    """Load the reference data, then each region as one run of the `load_dvo_regions` job.

    Region names are checked before any file is opened (`InvalidRegionKey`); a requested region with
    nothing to load (no directory, no catalog table) is reported as failed without starting a run."""
    return run_load(plan_load(dvo_root, regions, database_url), instance, progress)


def run_load(plan: LoadPlan, instance: DagsterInstance | None = None,
             progress: Callable[[str], None] = lambda _: None) -> LoadReport:
    regions, rejected = _loadable_regions(plan)
    if plan.regions and not regions:  # nothing left to run
        return LoadReport(True, rejected)
    from lcdb_pipeline.definitions import build_definitions

    defs = build_definitions(lcdb_resources(dvo_root=str(plan.root), database_url=plan.database_url))
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
    job = defs.resolve_job_def("load_dvo_regions")
    outcomes = []
    for region in regions:
        progress(f"loading region {region} …")
        started = time.perf_counter()
        outcomes.append(_outcome(region, _execute(job, instance, region), instance, time.perf_counter() - started))
    return LoadReport(True, outcomes + rejected, recovered_runs=recovered)


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


def _execute(job: JobDefinition, instance: DagsterInstance, partition_key: str | None = None
             ) -> ExecuteInProcessResult:
    return with_console(job).execute_in_process(
        partition_key=partition_key, instance=instance, raise_on_error=False, run_config=CONSOLE_LOGGING,
        tags=run_tags())


def _outcome(region: str, result: ExecuteInProcessResult, instance: DagsterInstance,
             seconds: float) -> RegionOutcome:
    outcome = RegionOutcome(region, result.success, seconds, run_id=result.run_id,
                            warnings=run_warnings(instance, result.run_id))
    if not result.success:
        outcome.errors = step_failures(instance, result.run_id) or [f"region {region}: run failed"]
        return outcome
    for event in result.get_asset_materialization_events():
        if event.materialization.asset_key == DATA_SET:
            outcome.metadata = {k: v.value for k, v in event.materialization.metadata.items()
                                if k != "sample lightcurve"}
    outcome.failed_checks = [f"{e.asset_key.to_user_string()}:{e.check_name}"
                             for e in result.get_asset_check_evaluations() if not e.passed]
    return outcome
