"""A region's catalog tables spread over several processes (`--table-workers M`, LCDB_TABLE_WORKERS).

Each table is loaded by the region asset's own per-table function (`region._load_catalog_table`), in a
process of a pool: one transaction and one advisory lock per table, a damaged table recorded and the others
loaded, exactly as when the run process loads them one after another. What the function logs and counts in
the worker is sent back and replayed in the run (same log lines, same metadata); the region then succeeds or
fails as a serial load would. Why processes inside the step rather than one Dagster step per table:
docs/scaling.md ("Inside a region").

A table worker that dies (SIGKILL, OOM) breaks the pool: every table not finished by then is recorded as
not loaded, naming the cause; what committed stays, the region fails unretried and a re-run converges.
Table workers die with the run process (PR_SET_PDEATHSIG), so a killed run leaves no writer behind.
"""

import ctypes
import dataclasses
import functools
import multiprocessing
import signal
import sys
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from lcdb_pipeline.defs.metadata import RegionSummary
from lcdb_pipeline.loading import ReferenceIds
from lcdb_pipeline.mapping import Observatory

PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class TableJob:
    """What a table worker needs besides the table's name: all plain, picklable values."""

    dvo_root: str
    database_url: str
    region: str
    refs: ReferenceIds
    sites: dict[str, Observatory]
    time_scale: str


@dataclass
class _RecordedLog:
    """Stands in for `context.log` in a table worker: the lines are replayed by the run."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def info(self, message: str) -> None:
        self.lines.append(("info", message))

    def warning(self, message: str) -> None:
        self.lines.append(("warning", message))

    def error(self, message: str) -> None:
        self.lines.append(("error", message))


@dataclass
class _TableContext:
    """The part of the asset context the per-table function uses."""

    partition_key: str
    log: _RecordedLog = field(default_factory=_RecordedLog)


def spread_tables(context, job: TableJob, tables: list[str], workers: int, summary: RegionSummary) -> None:
    """Load `tables` in `workers` processes; their log lines go to `context.log` and their counts into
    `summary` as each table finishes (in completion order)."""
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tables)), mp_context=_context(),
                               initializer=_die_with_parent)
    pending: dict[Future, str] = {pool.submit(_load_in_worker, job, name): name for name in tables}
    try:
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                _collect(context, future, name, summary)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _collect(context, future: Future, name: str, summary: RegionSummary) -> None:
    try:
        lines, part = future.result()
    except BrokenProcessPool:
        message = ("its table worker process died (killed, or out of memory) before the table committed; "
                   "PostgreSQL rolled back what it had written. Run the region again.")
        context.log.error(f"{name}: not loaded: {message}")
        summary.failed[name] = message
        return
    for level, line in lines:
        getattr(context.log, level)(line)
    merge_summary(summary, part)


def merge_summary(total: RegionSummary, part: RegionSummary) -> None:
    """Add what a table worker counted into the region's summary, field by field (counts add up, per-table
    mappings and lists join; the region and its start time stay the run's)."""
    for f in dataclasses.fields(RegionSummary):
        if f.name in ("region", "started"):
            continue
        setattr(total, f.name, _merged(getattr(total, f.name), getattr(part, f.name)))


def _merged(mine, theirs):
    if isinstance(mine, dict):
        for key, value in theirs.items():
            mine[key] = _merged(mine[key], value) if key in mine else value
        return mine
    if isinstance(mine, list):
        return mine + list(theirs)
    if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)):
        return mine + theirs
    return mine if mine else theirs


def _load_in_worker(job: TableJob, table_name: str) -> tuple[list[tuple[str, str]], RegionSummary]:
    """In a table worker: the region asset's per-table function on one table."""
    from lcdb_pipeline.defs.region import _load_catalog_table
    from lcdb_pipeline.defs.resources import _engine
    from lcdb_schema.database import normalize_url

    context = _TableContext(job.region)
    summary = RegionSummary(job.region)
    _load_catalog_table(context, _engine(normalize_url(job.database_url)), _database(job.dvo_root), table_name,
                        job.refs, job.sites, summary, job.time_scale)
    return context.log.lines, summary


@functools.lru_cache(maxsize=4)
def _database(root: str):
    from lcdb_pipeline.dvo import DVODatabase

    return DVODatabase(root)


def _context():
    """forkserver: a clean process (no threads of the run inherited) whose imports every worker shares."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lcdb_pipeline.defs.region"])
    return context


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when its parent dies, so no table is written by an orphan."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
