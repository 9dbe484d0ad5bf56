"""Running the Dagster jobs in-process, as `lcdb load` and `lcdb demo` do: same assets, same instance."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.partitions import dvo_regions, region_directory


@dataclass
class RegionOutcome:
    region: str
    success: bool
    seconds: float
    metadata: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)


@dataclass
class LoadReport:
    reference_ok: bool
    regions: list[RegionOutcome]
    reference_errors: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.reference_ok and all(r.success and not r.failed_checks for r in self.regions)


#: What the CLI shows of Dagster's own event log (the full log is in the instance, visible in the UI).
CONSOLE_LOGGING = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _errors(result) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            user = event.step_failure_data.user_failure_data
            messages.append(user.description if user and user.description else (error.message.strip() if error else "step failed"))
    return messages


def load_regions(
    dvo_root: Path,
    regions: Sequence[str] | None = None,
    instance: DagsterInstance | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> LoadReport:
    """Load the reference data, then each region as one run of the `load_dvo_regions` job."""
    os.environ["LCDB_DVO_ROOT"] = str(Path(dvo_root).resolve())
    if regions:
        for region in regions:
            region_directory(Path(dvo_root), region)  # rejects bad keys before any file is opened
    else:
        regions = DVODatabase(Path(dvo_root)).populated_regions()
    from lcdb_pipeline.definitions import build_definitions

    defs = build_definitions()
    instance = instance or DagsterInstance.get()
    known = set(instance.get_dynamic_partitions(dvo_regions.name))
    instance.add_dynamic_partitions(dvo_regions.name, [r for r in regions if r not in known])

    result = defs.resolve_job_def("load_reference").execute_in_process(
        instance=instance, raise_on_error=False, run_config=CONSOLE_LOGGING)
    if not result.success:
        return LoadReport(False, [], _errors(result))

    job = defs.resolve_job_def("load_dvo_regions")
    outcomes = []
    for region in regions:
        progress(f"loading region {region} …")
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=region, instance=instance, raise_on_error=False,
                                        run_config=CONSOLE_LOGGING)
        outcome = RegionOutcome(region, result.success, time.perf_counter() - started)
        if result.success:
            for event in result.get_asset_materialization_events():
                mat = event.materialization
                if mat.asset_key.path[-1] == "data_set":
                    outcome.metadata = {k: v.value for k, v in mat.metadata.items() if k != "sample lightcurve"}
            outcome.failed_checks = [
                f"{e.asset_key.to_user_string()}:{e.check_name}"
                for e in result.get_asset_check_evaluations() if not e.passed
            ]
        else:
            outcome.errors = _errors(result)
        outcomes.append(outcome)
    return LoadReport(True, outcomes)
