"""Running the Dagster jobs in-process, as `lcdb load` and `lcdb demo` do: same assets, same instance."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, Field, RunsFilter, logger

from lcdb_pipeline.dvo import DVODatabase, DVOError
from lcdb_pipeline.errors import scrub
from lcdb_pipeline.partitions import check_region_key, region_directory, region_tables, register_regions

#: Run tags `lcdb load` puts on its runs, so a run whose process died (SIGKILL, OOM, reboot) is recognised.
PID_TAG = "lcdb/pid"
HOST_TAG = "lcdb/host"


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


#: What the CLI shows of Dagster's own event log (the full log is in the instance, visible in the UI).
CONSOLE_LOGGING = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


class _CompactFormatter(logging.Formatter):
    """`HH:MM:SS region LEVEL message` for what the asset logs; Dagster's own events (step failures with
    their stack traces, skipped checks) are left to the summary the CLI prints at the end and to the UI."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        tags = meta.get("job_tags") or {}
        where = tags.get("dagster/partition") or meta.get("job_name") or ""
        message = meta.get("orig_message") or record.getMessage()
        event = meta.get("dagster_event")
        if event is not None and event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            message = f"will retry: {message}"
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        level = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        return scrub(f"{stamp} {where} {level}{message}".replace("\n", " | "))


class _UserMessages(logging.Filter):
    """What the assets log, and retries; not Dagster's step events, nor its "not executing" notes about the
    asset checks a failed load skips."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None:
            return event.event_type == DagsterEventType.STEP_UP_FOR_RETRY
        return not str(meta.get("orig_message", "")).startswith("Dependencies for step")


@logger(config_schema={"log_level": Field(str, is_required=False, default_value="INFO")},
        description="lcdb's console: one line per message the assets log, no Dagster stack traces.")
def compact_console_logger(init_context) -> logging.Logger:
    log = logging.Logger("lcdb.run", level=init_context.logger_config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CompactFormatter())
    handler.addFilter(_UserMessages())
    log.addHandler(handler)
    return log


def _with_console(job):
    """The job with lcdb's compact console logger, unless LCDB_DEBUG asks for Dagster's full output."""
    if os.environ.get("LCDB_DEBUG"):
        return job
    return job.with_logger_defs({"console": compact_console_logger})


def _step_failures(instance: DagsterInstance, run_id: str) -> list[str]:
    """One line per problem of a failed run, as the UI shows them (Failure descriptions, or error messages)."""
    lines: list[str] = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        data = record.event_log_entry.dagster_event.step_failure_data
        user = data.user_failure_data
        if user and user.description:
            lines += [line for line in user.description.splitlines() if line.strip()]
        elif data.error:
            cause = data.error
            while cause.cause is not None and cause.cls_name in ("DagsterExecutionStepExecutionError",):
                cause = cause.cause
            first = (cause.message.strip().splitlines() or ["step failed"])[0]
            lines.append(scrub(first))
        else:
            lines.append("step failed")
    return lines


def _warnings(instance: DagsterInstance, run_id: str) -> list[str]:
    """The WARNING messages the assets logged in a run (e.g. objects skipped for lack of a position)."""
    return [scrub(entry.user_message) for entry in instance.all_logs(run_id)
            if entry.dagster_event is None and entry.level == logging.WARNING]


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


def load_regions(
    dvo_root: Path,
    regions: Sequence[str] | None = None,
    instance: DagsterInstance | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> LoadReport:
    """Load the reference data, then each region as one run of the `load_dvo_regions` job.

    Region names are checked before any file is opened (`InvalidRegionKey`); a requested region with
    nothing to load (no directory, no catalog table) is reported as failed without starting a run."""
    for region in regions or ():
        check_region_key(region)
    root = Path(dvo_root).resolve()
    for region in regions or ():
        region_directory(root, region)
    os.environ["LCDB_DVO_ROOT"] = str(root)
    database = DVODatabase(root)
    rejected: list[RegionOutcome] = []
    if regions:
        regions = list(dict.fromkeys(regions))
        for region in list(regions):
            try:
                region_tables(database, region)
            except DVOError as exc:
                rejected.append(RegionOutcome(region, False, 0.0, errors=[f"region {region}: {exc}"]))
                regions.remove(region)
        if not regions:  # nothing left to run
            return LoadReport(True, rejected)
    else:
        regions = database.populated_regions()
    from lcdb_pipeline.definitions import build_definitions

    defs = build_definitions()
    instance = instance or DagsterInstance.get()
    recovered = recover_orphaned_runs(instance)
    for run_id in recovered:
        progress(f"marked run {run_id} as failed: its lcdb process had died")
    register_regions(instance, regions)
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}

    if not regions:
        return LoadReport(True, rejected, recovered_runs=recovered)
    result = _with_console(defs.resolve_job_def("load_reference")).execute_in_process(
        instance=instance, raise_on_error=False, run_config=CONSOLE_LOGGING, tags=tags)
    if not result.success:
        return LoadReport(False, rejected, _step_failures(instance, result.run_id), recovered)

    job = _with_console(defs.resolve_job_def("load_dvo_regions"))
    outcomes = []
    for region in regions:
        progress(f"loading region {region} …")
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=region, instance=instance, raise_on_error=False,
                                        run_config=CONSOLE_LOGGING, tags=tags)
        outcome = RegionOutcome(region, result.success, time.perf_counter() - started, run_id=result.run_id,
                                warnings=_warnings(instance, result.run_id))
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
            outcome.errors = _step_failures(instance, result.run_id) or [f"region {region}: run failed"]
        outcomes.append(outcome)
    return LoadReport(True, outcomes + rejected, recovered_runs=recovered)
