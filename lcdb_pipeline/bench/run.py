"""`run_bench`: the sections of `SECTIONS`, in order, each timed; then `report.derive`.

A section is a `Section`: the key of its numbers in the report, a progress message, what it runs, which
database it needs — none, the loaded one (`LOADED`: the bench database once the `load` section has filled
it; open from the first section that needs it to the last) or a fresh one of its own (`FRESH`: created for
it on the admin server and dropped after it; skipped with ``--database-url``, where the bench may not
create databases) — and whether this configuration runs it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lcdb_pipeline.bench.bjd import bench_bjd
from lcdb_pipeline.bench.config import BenchConfig
from lcdb_pipeline.bench.database import BenchDatabase
from lcdb_pipeline.bench.dvo import prepare_dvo
from lcdb_pipeline.bench.fetch import bench_fetch
from lcdb_pipeline.bench.floor import bench_floor
from lcdb_pipeline.bench.load import bench_load, bench_load_parallel
from lcdb_pipeline.bench.naive import bench_naive
from lcdb_pipeline.bench.read import bench_read
from lcdb_pipeline.bench.report import derive
from lcdb_pipeline.bench.wide import bench_wide

LOADED = "loaded"
FRESH = "fresh"


@dataclass
class BenchContext:
    """What a section may use: the configuration, the work directory, the log of the load processes, the
    report so far, and the URL of the database it asked for."""

    cfg: BenchConfig
    workdir: Path
    log_path: Path
    report: dict = field(default_factory=dict)
    url: str | None = None
    admin_url: str | None = None  # of the server the loaded database is on, for the fresh ones

    @property
    def dvo_root(self) -> str:
        return self.report["dvo"]["root"]


@dataclass(frozen=True)
class Section:
    key: str
    message: Callable[[BenchContext], str]
    run: Callable[[BenchContext], dict]
    database: str | None = None  # None, LOADED or FRESH
    enabled: Callable[[BenchConfig], bool] = lambda cfg: True


SECTIONS: tuple[Section, ...] = (
    Section("dvo", lambda c: f"DVO database ({c.cfg.scale}) in {c.workdir} …",
            lambda c: prepare_dvo(c.cfg.scale, c.cfg.seed, c.cfg.fmt, c.workdir)),
    Section("load", lambda c: "loading every region through the Dagster job (child process) …",
            lambda c: bench_load(c.url, c.dvo_root, c.workdir, c.log_path), LOADED),
    Section("floor", lambda c: "COPY floor: replaying the loaded rows into empty tables …",
            lambda c: bench_floor(c.url, c.workdir), LOADED),
    Section("fetch", lambda c: f"fetching the lightcurves of {c.cfg.fetch_targets} random targets …",
            lambda c: bench_fetch(c.url, c.cfg.fetch_targets, c.cfg.seed), LOADED),
    Section("naive", lambda c: f"naive ORM loader on {c.cfg.naive_rows:,} rows …",
            lambda c: bench_naive(c.url, c.dvo_root, c.cfg.naive_rows), LOADED),
    Section("wide", lambda c: f"wide rows: {c.cfg.wide_rows:,} rows of 3×float8[200]+int4[200] through the COPY "
            "path …", lambda c: bench_wide(c.url, c.cfg.wide_rows), LOADED, lambda cfg: cfg.wide_rows > 0),
    Section("parallel", lambda c: f"the same load with {c.cfg.writers} region runs at once, into another fresh "
            "database …", lambda c: bench_load_parallel(c.url, c.dvo_root, c.workdir, c.log_path, c.cfg.writers),
            FRESH, lambda cfg: cfg.writers > 1),
    Section("bjd", lambda c: "BJD: vectorised vs astropy …",
            lambda c: bench_bjd(c.cfg.bjd_grid, c.cfg.bjd_astropy_pairs, c.cfg.seed)),
    Section("read", lambda c: f"DVO reader: {c.cfg.read_passes} passes over every catalog table …",
            lambda c: bench_read(c.dvo_root, c.cfg.read_passes), enabled=lambda cfg: cfg.read_passes > 0),
)


def _context(cfg: BenchConfig) -> BenchContext:
    workdir = Path(cfg.workdir or (Path(os.environ.get("LCDB_HOME", ".lcdb")) / "bench")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "bench-load.log"
    log_path.write_bytes(b"")
    report: dict = {"config": {"scale": cfg.scale, "seed": cfg.seed, "format": cfg.fmt, "workdir": str(workdir),
                               "cpus": os.cpu_count(), "log": str(log_path)},
                    "section_seconds": {}}
    return BenchContext(cfg, workdir, log_path, report)


def _run_section(section: Section, ctx: BenchContext, url: str | None, progress) -> None:
    progress(section.message(ctx))
    ctx.url = url
    started = time.perf_counter()
    ctx.report[section.key] = section.run(ctx)
    ctx.report["section_seconds"][section.key] = round(time.perf_counter() - started, 2)


def _open_loaded(ctx: BenchContext) -> BenchDatabase:
    database = BenchDatabase(ctx.cfg)
    ctx.report["database"] = database.describe()
    ctx.admin_url = database.admin_url
    return database


def _runnable(cfg: BenchConfig) -> list[Section]:
    return [s for s in SECTIONS if s.enabled(cfg) and not (s.database == FRESH and cfg.database_url)]


def run_bench(cfg: BenchConfig, progress: Callable[[str], None] = lambda message: None) -> dict:
    """Every section, in order; returns the report (a JSON-able dict). `format_report` prints it."""
    started = time.perf_counter()
    ctx = _context(cfg)
    sections = _runnable(cfg)
    last_loaded = max((i for i, s in enumerate(sections) if s.database == LOADED), default=-1)
    loaded: BenchDatabase | None = None
    try:
        for i, section in enumerate(sections):
            if section.database == FRESH:
                with BenchDatabase(cfg, suffix=f"_{section.key}", admin_url=ctx.admin_url, keep=False) as fresh:
                    _run_section(section, ctx, fresh.url, progress)
                continue
            if section.database == LOADED and loaded is None:
                loaded = _open_loaded(ctx)
            _run_section(section, ctx, loaded.url if section.database == LOADED else None, progress)
            if i == last_loaded:
                loaded.close()
                loaded = None
    finally:
        if loaded is not None:
            loaded.close()
    ctx.report["seconds"] = time.perf_counter() - started
    derive(ctx.report)
    return ctx.report
