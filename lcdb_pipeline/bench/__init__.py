"""`lcdb bench`: how fast lcdb loads a DVO database, next to the PostgreSQL COPY floor and a naive ORM loader.

One run (``lcdb bench [--scale large] [--workdir DIR] [--database-url URL] [--keep]``) prints, side by side
with the baselines issue 5 measured on the development machine:

* **load** — every region through the Dagster job (`lcdb_pipeline.cli.runner.load_regions`, the same code path as
  ``lcdb load``; reference job, region runs, asset checks, sample plots), in a child process so its peak RSS is
  the loader's own: seconds, measurements/s, MB/s of COPY data written;
* **floor** — the rows that load wrote (target, observation and the three product tables), exported with
  ``COPY … TO STDOUT (FORMAT BINARY)`` and replayed by plain ``COPY … FROM STDIN`` into empty tables created
  ``LIKE … INCLUDING ALL`` (same columns, storage, indexes and constraints; no foreign keys — ``LIKE`` does not
  copy them): the ratio load / floor;
* **naive** — what a user of the schema would write first: one ORM object per `DataSet`, `TargetSpecificTime`
  and `QualityFlagArray` row, `session.add`, one commit per catalog table; run on a subset and extrapolated
  per row to everything the load wrote; the speed-up;
* **wide rows** — the loader's COPY path on rows shaped like the issue's baseline (3 × float8[200] +
  int4[200]), default vs EXTERNAL storage: the synthetic `large` database has 3–5 cadences per array, so its
  MB/s says little about long lightcurves;
* **BJD** — the vectorised computation (`lcdb_pipeline.mapping.bjd`) vs astropy's ``Time.light_travel_time`` called per
  (target, epoch): ns per target·epoch, max difference;
* **memory** — peak RSS of the loading process, and its RSS after each catalog table and region;
* **fetch** — all lightcurves of one random target by name (p50/p95 over N targets) with the database loaded.

The database: by default a fresh ``lcdb_bench_<pid>`` on the local server (``--admin-url``, default
``$LCDB_TEST_ADMIN_URL`` or ``postgresql://postgres@127.0.0.1:5432/postgres``; the embedded server when that is
unreachable), dropped at the end unless ``--keep``. With ``--database-url`` that (empty) database is used and
kept. The floor and naive tables live in schemas ``lcdb_bench_floor`` / ``lcdb_bench_naive``, dropped at the end.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FLOOR_SCHEMA = "lcdb_bench_floor"
NAIVE_SCHEMA = "lcdb_bench_naive"
#: What load wrote, in the order the floor replays it.
REPLAYED_TABLES = ("target", "observation", "data_set", "target_specific_time", "quality_flag_array")
PRODUCT_TABLES = ("data_set", "target_specific_time", "quality_flag_array")

#: Issue 5's measurements on the development machine (2 cores, PostgreSQL 15).
BASELINES = {
    "orm": "ORM add_all ≈ 1,000 rows/s (5 MB/s), rows of 3×float8[200]+int4[200]",
    "copy": "psycopg binary COPY + numpy dumper ≈ 17,000 rows/s (97 MB/s)",
    "replay": "server replays a binary COPY stream ≈ 146 MB/s",
    "bjd_astropy": "astropy light_travel_time per element ≈ 150 µs",
    "bjd_vector": "vectorised ≈ 57 ns per pair, within ~2 µs of astropy",
    "fits": "FITS tables read ≈ 1.2 GB/s",
}
TARGETS = {
    "load_floor_ratio": 2.0,  # ≤
    "naive_speedup": 30.0,  # ≥
    "bjd_ns": 100.0,  # ≤ ns per target·epoch
    "bjd_diff_us": 10.0,  # ≤ µs
    "peak_rss_mb": 1500.0,  # <
    "fetch_p95_ms": 5.0,  # <
}


@dataclass
class BenchConfig:
    scale: str = "large"
    seed: int = 0
    fmt: str = "ps1_v5_load"
    workdir: Path | None = None
    database_url: str | None = None
    admin_url: str | None = None
    keep: bool = False
    naive_rows: int = 30_000  # product rows the naive loader writes (then extrapolated)
    fetch_targets: int = 1_000
    bjd_grid: tuple[int, int] = (20_000, 250)  # targets × epochs for the vectorised timing
    bjd_astropy_pairs: int = 200  # (target, epoch) pairs computed by astropy one at a time
    wide_rows: int = 10_000  # rows of the wide-row COPY probe (0: skip)
    writers: int = 2  # also load with this many processes at once, into a second fresh database (<2: skip)


# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------


def _status_mb(field: str) -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rss_mb() -> float:
    """Current resident set size (VmRSS) in MB."""
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """Peak RSS of this process image in MB: VmHWM. (`getrusage`'s ru_maxrss would also count the parent's
    RSS at fork time — Linux carries it across exec — and the bench parent holds the generator's arrays.)"""
    peak = _status_mb("VmHWM")
    if peak != peak:  # no /proc: not Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)
    return peak


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    from lcdb_schema.database import normalize_url

    return make_url(normalize_url(url)).set(database=name).render_as_string(hide_password=False)


def _reachable(url: str) -> bool:
    import psycopg

    from lcdb_schema.database import libpq_url

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _connect(url: str, **kwargs):
    import psycopg

    from lcdb_schema.database import libpq_url

    return psycopg.connect(libpq_url(url), **kwargs)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --------------------------------------------------------------------------------------------------------
# the DVO database and the LightcurveDB database
# --------------------------------------------------------------------------------------------------------


def prepare_dvo(cfg: BenchConfig, workdir: Path) -> dict:
    """Generate the synthetic DVO database in `workdir` (or reuse the one already there)."""
    from lcdb_pipeline.synth import generate

    root = workdir / f"dvo-{cfg.scale}-seed{cfg.seed}-{cfg.fmt}"
    info: dict = {"root": str(root), "scale": cfg.scale, "seed": cfg.seed, "format": cfg.fmt}
    if (root / "SkyTable.fits").exists():
        info["generated_seconds"] = None
    else:
        summary = generate(root, scale=cfg.scale, seed=cfg.seed, fmt=cfg.fmt)
        info["generated_seconds"] = round(summary.seconds, 2)
    from lcdb_pipeline.dvo import DVODatabase

    db = DVODatabase(root)
    regions = db.populated_regions()
    tables = [t for r in regions for t in db.tables_in_region(r)]
    nbytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    info.update(regions=len(regions), tables=len(tables), disk_mb=round(nbytes / 1e6, 1))
    return info


class BenchDatabase:
    """A LightcurveDB the bench loads: a fresh `lcdb_bench_<pid><suffix>` (dropped unless keep) or a given one."""

    def __init__(self, cfg: BenchConfig, suffix: str = "", admin_url: str | None = None):
        self.created = False
        self.keep = cfg.keep
        self.name: str | None = None
        if cfg.database_url and not suffix:
            self.url = cfg.database_url
            self.admin_url = None
            return
        admin = admin_url or cfg.admin_url or os.environ.get("LCDB_TEST_ADMIN_URL") or DEFAULT_ADMIN_URL
        if not _reachable(admin):
            from lcdb_schema.database import embedded_database_url

            admin = embedded_database_url(database="postgres")
        self.admin_url = admin
        name = f"lcdb_bench_{os.getpid()}{suffix}"
        from lcdb_schema.database import create_database

        with _connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        create_database(admin, name, if_missing=False)
        self.created = True
        self.name = name
        self.url = _with_database(admin, name)

    def describe(self) -> str:
        from lcdb_schema.database import redact_url

        with _connect(self.url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        what = "fresh, dropped at the end" if self.created and not self.keep else "kept"
        return f"PostgreSQL {version}, {redact_url(self.url)} ({what})"

    def drop_schemas(self) -> None:
        with _connect(self.url, autocommit=True) as conn:
            for schema in (FLOOR_SCHEMA, NAIVE_SCHEMA):
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def close(self) -> None:
        if self.created and not self.keep:
            with _connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            self.drop_schemas()


# --------------------------------------------------------------------------------------------------------
# 1. end-to-end load through the Dagster job (child process)
# --------------------------------------------------------------------------------------------------------


def _load_child(spec: dict) -> dict:
    """Runs in the child process: load every region through the Dagster job; RSS along the way."""
    rss_start = _rss_mb()
    from dagster import instance_for_test

    import lcdb_pipeline.defs.region as assets
    from lcdb_pipeline.cli.runner import load_regions
    from lcdb_schema.migrations import upgrade_database

    upgrade_database(spec["url"])
    rss_imported = _rss_mb()
    per_table: list[tuple[str, float]] = []
    per_region: list[tuple[str, float]] = []
    if hasattr(assets, "load_table"):  # RSS after each catalog table
        original = assets.load_table

        def load_table(engine, mapping, refs):
            stats = original(engine, mapping, refs)
            per_table.append((mapping.catalog_table, round(_rss_mb(), 1)))
            return stats

        assets.load_table = load_table

    current: list[str] = []

    def progress(message: str) -> None:
        if current:
            per_region.append((current[-1], round(_rss_mb(), 1), round(_peak_rss_mb(), 1)))
        if message.startswith("loading region "):
            current.append(message.split()[2])

    with instance_for_test() as instance:
        wall_start = time.time()
        started = time.perf_counter()
        report = load_regions(Path(spec["root"]), spec.get("regions"), instance=instance, progress=progress,
                              database_url=spec["url"])
        seconds = time.perf_counter() - started
        wall_end = time.time()
    if current:
        per_region.append((current[-1], round(_rss_mb(), 1), round(_peak_rss_mb(), 1)))
    regions = []
    for outcome in report.regions:
        m = outcome.metadata
        regions.append({
            "region": outcome.region, "success": outcome.success, "seconds": round(outcome.seconds, 3),
            "asset_seconds": m.get("seconds"), "measurements": m.get("measurements", 0),
            "mb_written": m.get("MB written", 0.0), "errors": outcome.errors,
            "failed_checks": outcome.failed_checks,
        })
    return {
        "success": report.success, "seconds": seconds, "regions": regions,
        "wall_start": wall_start, "wall_end": wall_end,
        "reference_errors": report.reference_errors,
        "rss_start_mb": round(rss_start, 1), "rss_imported_mb": round(rss_imported, 1),
        "rss_per_table": per_table, "rss_per_region": per_region, "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def _start_load_child(url: str, dvo_root: str, workdir: Path, log, regions: list[str] | None = None):
    spec = {"url": url, "root": dvo_root, "regions": regions}
    fd, out = tempfile.mkstemp(prefix="bench-load-", suffix=".json", dir=workdir)
    os.close(fd)
    spec["out"] = out
    spec_path = Path(out).with_suffix(".spec")
    spec_path.write_text(json.dumps(spec))
    proc = subprocess.Popen([sys.executable, "-m", "lcdb_pipeline.bench", "--load-child", str(spec_path)],
                            stdout=log, stderr=log)
    return proc, Path(out), spec_path


def _finish_load_child(proc, out: Path, spec_path: Path, log_path: Path) -> dict:
    try:
        code = proc.wait(timeout=3600)
        text = out.read_text() if out.exists() else ""
        if code != 0 or not text:
            raise RuntimeError(f"the load process failed (exit {code}); see {log_path}")
        result = json.loads(text)
    finally:
        out.unlink(missing_ok=True)
        spec_path.unlink(missing_ok=True)
    if not result["success"]:
        problems = result["reference_errors"] + [e for r in result["regions"] for e in r["errors"]]
        problems += [c for r in result["regions"] for c in r["failed_checks"]]
        raise RuntimeError("the load failed: " + "; ".join(problems[:5]))
    return result


def _count_rows(url: str, result: dict) -> dict:
    with _connect(url) as conn:
        result["rows"] = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in REPLAYED_TABLES}
        result["mean_cadences"] = float(conn.execute(
            "SELECT avg(cardinality(cadence_reference)) FROM observation").fetchone()[0] or 0)
    result["product_rows"] = sum(result["rows"][t] for t in PRODUCT_TABLES)
    return result


def bench_load(url: str, dvo_root: str, workdir: Path, log_path: Path) -> dict:
    """Every region through the Dagster job, one after the other (`load_regions`, as `lcdb load` does), in a
    child process so that its peak RSS is the loader's alone."""
    with open(log_path, "ab") as log:
        result = _finish_load_child(*_start_load_child(url, dvo_root, workdir, log), log_path)
    _count_rows(url, result)
    result["measurements"] = sum(r["measurements"] for r in result["regions"])
    result["mb_written"] = sum(r["mb_written"] for r in result["regions"])
    result["asset_seconds"] = sum(r["asset_seconds"] or 0 for r in result["regions"])
    return result


def bench_load_parallel(url: str, dvo_root: str, workdir: Path, log_path: Path, writers: int = 2) -> dict:
    """The same load with `writers` `lcdb load`-like processes at once, each taking every n-th region (what
    a backfill does with the `lcdb_writers` pool of 2): wall time from the first start to the last end."""
    from lcdb_pipeline.dvo import DVODatabase

    regions = DVODatabase(Path(dvo_root)).populated_regions()
    with open(log_path, "ab") as log:
        children = [_start_load_child(url, dvo_root, workdir, log, regions[i::writers])
                    for i in range(writers) if regions[i::writers]]
        results = [_finish_load_child(*child, log_path) for child in children]
    seconds = max(r["wall_end"] for r in results) - min(r["wall_start"] for r in results)
    out = _count_rows(url, {"seconds": seconds, "writers": len(results),
                            "peak_rss_mb": max(r["peak_rss_mb"] for r in results)})
    out["measurements"] = sum(x["measurements"] for r in results for x in r["regions"])
    return out


# --------------------------------------------------------------------------------------------------------
# 2. the COPY floor
# --------------------------------------------------------------------------------------------------------


def bench_floor(url: str, workdir: Path) -> dict:
    """Replay what the load wrote into empty `LIKE … INCLUDING ALL` tables with plain binary COPY."""
    block = 1 << 20
    files = {t: workdir / f"floor-{t}.copy" for t in REPLAYED_TABLES}
    per_table: dict[str, float] = {}
    nbytes = 0
    try:
        with _connect(url) as conn:
            cur = conn.cursor()
            for table, path in files.items():  # export (not timed)
                with cur.copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy, open(path, "wb") as f:
                    for data in copy:
                        f.write(data)
                nbytes += path.stat().st_size
            cur.execute(f"DROP SCHEMA IF EXISTS {FLOOR_SCHEMA} CASCADE; CREATE SCHEMA {FLOOR_SCHEMA}")
            for table in REPLAYED_TABLES:
                cur.execute(f"CREATE TABLE {FLOOR_SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
            conn.commit()
            for table, path in files.items():  # replay (timed: one COPY and commit per table)
                started = time.perf_counter()
                with cur.copy(f"COPY {FLOOR_SCHEMA}.{table} FROM STDIN (FORMAT BINARY)") as copy, \
                        open(path, "rb") as f:
                    while data := f.read(block):
                        copy.write(data)
                conn.commit()
                per_table[table] = time.perf_counter() - started
            cur.execute(f"DROP SCHEMA {FLOOR_SCHEMA} CASCADE")
            conn.commit()
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)
    seconds = sum(per_table.values())
    return {"seconds": seconds, "per_table": {k: round(v, 3) for k, v in per_table.items()},
            "mb": nbytes / 1e6, "mb_per_s": nbytes / 1e6 / seconds if seconds else 0.0}


# --------------------------------------------------------------------------------------------------------
# 3. the naive ORM loader
# --------------------------------------------------------------------------------------------------------


def naive_load(engine, dvo_root: str, max_rows: int) -> dict:
    """What a user of the schema would write first: ORM objects, `session.add`, one commit per catalog table.

    It reads and maps with lcdb's own reader and mapping (not timed — a generous start: only its writing is
    timed), then stops after `max_rows` product rows, committing what it has."""
    import sqlalchemy as sa
    from sqlalchemy import orm

    from lcdb_pipeline.defs.resources import MissionResource, ObservatoriesResource
    from lcdb_pipeline.dvo import DVODatabase
    from lcdb_pipeline.mapping import PROCESSING_GROUPS, map_table
    from lcdb_schema import (
        DataSet,
        DBFlagsArray,
        DVOObservation,
        Instrument,
        MissionCatalog,
        PhotFlagsArray,
        ProcessingGroup,
        Target,
        TargetSpecificTime,
    )

    database = DVODatabase(Path(dvo_root))
    sites = ObservatoriesResource().sites()
    mission = MissionResource().spec()
    rows, seconds, tables_done = 0, 0.0, 0
    with orm.Session(engine) as session:
        catalog = session.scalars(sa.select(MissionCatalog).filter_by(name=mission.catalog_name)).one()
        cameras = {i.name: i for i in session.scalars(sa.select(Instrument).where(Instrument.parent_id.is_(None)))}
        groups = [session.scalars(sa.select(ProcessingGroup).filter_by(name=f"{s}/{m}")).one()
                  for s, m in PROCESSING_GROUPS]
        for region in database.populated_regions():
            for table_name in database.tables_in_region(region):
                if rows >= max_rows:
                    break
                mapping = map_table(database.read_table(table_name), database.photcodes, database.images, sites)
                started = time.perf_counter()
                targets: dict[int, Target] = {}
                for block in mapping.blocks:
                    if rows >= max_rows:
                        break
                    obs = DVOObservation(cadence_reference=block.cadences_ms, instrument=cameras[block.camera],
                                         region=block.region, catalog_table=block.catalog_table,
                                         filter_name=block.filter_name)
                    session.add(obs)
                    for chunk in block.chunks():
                        for i, name in enumerate(chunk.target_names.tolist()):
                            if rows >= max_rows:
                                break
                            target = targets.get(name)
                            if target is None:
                                target = targets[name] = Target(catalog=catalog, name=name)
                                session.add(target)
                            for g, group in enumerate(groups):
                                session.add(DataSet(target=target, observation=obs, processing_group=group,
                                                    values=chunk.values[g, i], errors=chunk.errors[g, i]))
                            session.add(TargetSpecificTime(target=target, observation=obs,
                                                           barycentric_julian_dates=chunk.bjd[i]))
                            session.add(PhotFlagsArray(target=target, observation=obs,
                                                       quality_flags=chunk.phot_flags[i]))
                            session.add(DBFlagsArray(target=target, observation=obs, quality_flags=chunk.db_flags[i]))
                            rows += len(groups) + 3
                session.commit()
                seconds += time.perf_counter() - started
                tables_done += 1
    return {"rows": rows, "seconds": seconds, "tables": tables_done,
            "rows_per_s": rows / seconds if seconds else 0.0}


def bench_naive(url: str, dvo_root: str, max_rows: int) -> dict:
    """The naive loader into schema `lcdb_bench_naive` of the bench database (same tables, created by the
    models; reference rows by lcdb's own upsert)."""
    from lcdb_pipeline.defs.resources import MissionResource
    from lcdb_pipeline.dvo import DVODatabase
    from lcdb_pipeline.loading import upsert_reference
    from lcdb_pipeline.mapping import instrument_specs
    from lcdb_schema import LCDBModel
    from lcdb_schema.database import make_engine

    with _connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {NAIVE_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {NAIVE_SCHEMA}")
    engine = make_engine(url, connect_args={"options": f"-c search_path={NAIVE_SCHEMA}"})
    try:
        LCDBModel.metadata.create_all(engine)
        upsert_reference(engine, MissionResource().spec(), instrument_specs(DVODatabase(Path(dvo_root)).photcodes))
        return naive_load(engine, dvo_root, max_rows)
    finally:
        engine.dispose()
        with _connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {NAIVE_SCHEMA} CASCADE")


# --------------------------------------------------------------------------------------------------------
# 4. wide rows: the COPY path on long arrays, default vs EXTERNAL storage
# --------------------------------------------------------------------------------------------------------


def bench_wide(url: str, n_rows: int, width: int = 200) -> dict:
    """`n_rows` rows of 3 × float8[width] + int4[width] (the issue's baseline shape) through the loader's
    encoder and `CopyWriter`, into a fresh table, with default (pglz-compressed) and EXTERNAL storage."""
    import numpy as np

    from lcdb_pipeline.loading.copy_binary import CopyWriter, Field

    rng = np.random.default_rng(0)
    chunk = 2_000
    a = 18.0 + rng.normal(0, 0.05, (chunk, width))
    a[rng.random((chunk, width)) < 0.2] = np.nan  # gaps, as in DVO lightcurves
    b = np.abs(rng.normal(0.02, 0.005, (chunk, width)))
    c = 2455000.5 + np.sort(rng.uniform(0, 3650, width))[None, :] + rng.normal(0, 1e-3, (chunk, 1))
    flags = np.where(rng.random((chunk, width)) < 0.05, 0x1008, 0).astype(np.int32)
    out = {}
    with _connect(url) as conn:
        cur = conn.cursor()
        for storage in ("EXTENDED", "EXTERNAL"):
            cur.execute("DROP TABLE IF EXISTS lcdb_bench_wide")
            cur.execute("CREATE TABLE lcdb_bench_wide (id bigserial PRIMARY KEY, a float8[], b float8[], "
                        "c float8[], f int4[])")
            cur.execute("ALTER TABLE lcdb_bench_wide " + ", ".join(
                f"ALTER COLUMN {col} SET STORAGE {storage}" for col in "abc"))
            conn.commit()
            started = time.perf_counter()
            nbytes = 0
            with CopyWriter(cur) as writer:
                for start in range(0, n_rows, chunk):
                    n = min(chunk, n_rows - start)
                    nbytes += writer.submit("lcdb_bench_wide", [(n, [
                        Field("a", "float8[]", a[:n]), Field("b", "float8[]", b[:n]),
                        Field("c", "float8[]", c[:n]), Field("f", "int4[]", flags[:n])])])
            conn.commit()
            seconds = time.perf_counter() - started
            size = cur.execute("SELECT pg_total_relation_size('lcdb_bench_wide')").fetchone()[0]
            out[storage.lower()] = {"seconds": seconds, "rows_per_s": n_rows / seconds,
                                    "mb_per_s": nbytes / 1e6 / seconds, "table_mb": size / 1e6}
        cur.execute("DROP TABLE lcdb_bench_wide")
        conn.commit()
    out["rows"] = n_rows
    out["width"] = width
    return out


# --------------------------------------------------------------------------------------------------------
# 5. BJD
# --------------------------------------------------------------------------------------------------------


def bench_bjd(grid: tuple[int, int], astropy_pairs: int, seed: int = 0) -> dict:
    """Vectorised BJD on targets × epochs vs astropy's `light_travel_time`, one (target, epoch) at a time."""
    import numpy as np
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from astropy.time import Time

    from lcdb_pipeline.defs.resources import ObservatoriesResource
    from lcdb_pipeline.mapping.bjd import (
        C_AU_PER_DAY,
        EPHEMERIS,
        bjd_tdb,
        epoch_geometry,
        unit_vectors,
    )

    site = ObservatoriesResource().sites()["GPC1"]
    rng = np.random.default_rng(seed)
    n_targets, n_epochs = grid
    ra = rng.uniform(0, 360, n_targets)
    dec = np.degrees(np.arcsin(rng.uniform(-0.5, 1.0, n_targets)))  # PS1 sky: dec > -30°
    unix = np.sort(rng.uniform(1262304000, 1609459199, n_epochs))  # 2010–2020
    epoch_geometry(unix[:2], site)  # IERS tables, ephemeris: loaded once, not timed

    started = time.perf_counter()
    geometry = epoch_geometry(unix, site)
    geometry_s = time.perf_counter() - started
    targets = unit_vectors(ra, dec)
    matrix_s = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        bjd = bjd_tdb(geometry, targets)
        matrix_s = min(matrix_s, time.perf_counter() - started)
    pairs = n_targets * n_epochs

    location = site.location()
    pick_t = rng.integers(0, n_targets, astropy_pairs)
    pick_e = rng.integers(0, n_epochs, astropy_pairs)
    diffs_us, stored_us = [], []
    started = time.perf_counter()
    results = []
    for i, j in zip(pick_t.tolist(), pick_e.tolist()):
        t = Time(unix[j], format="unix", scale="utc", location=location)
        ltt = t.light_travel_time(SkyCoord(ra[i] * u.deg, dec[i] * u.deg), kind="barycentric",
                                  ephemeris=EPHEMERIS)
        results.append(t.tdb + ltt)
    astropy_s = time.perf_counter() - started
    # astropy once per target, all epochs in one call (its best case without the matrix trick)
    per_target = max(1, min(20, n_targets))
    started = time.perf_counter()
    times = Time(unix, format="unix", scale="utc", location=location)
    per_target_bjd = []
    for i in range(per_target):
        ltt = times.light_travel_time(SkyCoord(ra[i] * u.deg, dec[i] * u.deg), kind="barycentric",
                                      ephemeris=EPHEMERIS)
        per_target_bjd.append(times.tdb + ltt)
    astropy_target_s = time.perf_counter() - started
    for (i, j), full in zip(zip(pick_t.tolist(), pick_e.tolist()), results):
        delay = float(targets[i] @ geometry.position_au[j]) / C_AU_PER_DAY
        # two-part comparison: the computation itself, before rounding to one float64 JD
        diff_days = (geometry.tdb_jd1[j] - full.jd1) + ((geometry.tdb_jd2[j] + delay) - full.jd2)
        diffs_us.append(abs(diff_days) * 86_400e6)
        stored_us.append(abs((bjd[i, j] - full.jd1) - full.jd2) * 86_400e6)
    delays = targets[:per_target] @ geometry.position_au.T / C_AU_PER_DAY
    for i, full in enumerate(per_target_bjd):
        diff_days = (geometry.tdb_jd1 - full.jd1) + ((geometry.tdb_jd2 + delays[i]) - full.jd2)
        diffs_us.append(float(np.abs(diff_days).max()) * 86_400e6)
    return {
        "targets": n_targets, "epochs": n_epochs,
        "astropy_per_target_us_per_pair": astropy_target_s / (per_target * n_epochs) * 1e6,
        "astropy_per_target_targets": per_target,
        "geometry_us_per_epoch": geometry_s / n_epochs * 1e6,
        "matrix_ns_per_pair": matrix_s / pairs * 1e9,
        "ns_per_pair": (geometry_s + matrix_s) / pairs * 1e9,
        "astropy_pairs": astropy_pairs,
        "astropy_us_per_pair": astropy_s / astropy_pairs * 1e6,
        "max_diff_us": max(diffs_us), "max_diff_stored_us": max(stored_us),
        "float64_jd_resolution_us": float(np.spacing(2455000.0)) * 86_400e6,
    }


# --------------------------------------------------------------------------------------------------------
# 6. fetching lightcurves
# --------------------------------------------------------------------------------------------------------


def bench_fetch(url: str, n_targets: int, seed: int = 0) -> dict:
    """All lightcurves of a random target looked up by name, as a user would in one `Session`: (a) one ORM
    query for its DataSets with their observation and processing group; (b) the README's way, the `Target`
    then `target.datasets` (lazy loads). Timed per target: the queries and touching every array (values,
    errors, cadences); the identity map is cleared between targets.

    Statistics first: ``ANALYZE`` (timed, reported), as autovacuum does within about a minute of a bulk load —
    without them the planner knows nothing of the new rows and may scan data_set for one target."""
    import numpy as np
    import sqlalchemy as sa
    from sqlalchemy import orm

    from lcdb_schema import DataSet, Target
    from lcdb_schema.database import make_engine

    with _connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("ANALYZE")
        analyze_s = time.perf_counter() - started
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            names = conn.execute(sa.text("SELECT name FROM target")).scalars().all()
        rng = np.random.default_rng(seed)
        sample = [int(x) for x in rng.choice(np.asarray(names), size=min(n_targets, len(names)), replace=False)]
        query = (sa.select(DataSet).join(DataSet.target).where(Target.name == sa.bindparam("name"))
                 .options(orm.joinedload(DataSet.observation), orm.joinedload(DataSet.processing_group)))
        one_query, lazy, lightcurves, points = [], [], 0, 0
        with orm.Session(engine) as session:
            session.scalars(query, {"name": sample[0]}).unique().all()  # connection, statement caches: not timed
            session.expunge_all()
            for name in sample:
                started = time.perf_counter()
                datasets = session.scalars(query, {"name": name}).unique().all()
                for lc in datasets:
                    points += int(np.isfinite(lc.values).sum())
                    _ = (lc.errors, lc.observation.cadence_reference, lc.processing_group.name)
                one_query.append(time.perf_counter() - started)
                lightcurves += len(datasets)
                session.expunge_all()
            for name in sample:
                started = time.perf_counter()
                target = session.scalars(sa.select(Target).filter_by(name=name)).one()
                for lc in target.datasets:
                    _ = (lc.values, lc.errors, lc.observation.cadence_reference, lc.processing_group.name)
                lazy.append(time.perf_counter() - started)
                session.expunge_all()
        with engine.connect() as conn:
            plan = "\n".join(conn.execute(sa.text(
                "EXPLAIN SELECT * FROM data_set d JOIN target t ON t.id = d.target_id WHERE t.name = :n"),
                {"n": sample[0]}).scalars())
    finally:
        engine.dispose()
    ms = [x * 1e3 for x in one_query]
    lazy_ms = [x * 1e3 for x in lazy]
    return {
        "targets": len(sample), "lightcurves_per_target": lightcurves / len(sample),
        "points_per_target": points / len(sample), "analyze_s": analyze_s,
        "method": "one ORM query: select(DataSet).join(Target).where(Target.name == name) "
                  "+ joinedload(observation, processing_group)",
        "p50_ms": _percentile(ms, 0.5), "p95_ms": _percentile(ms, 0.95), "mean_ms": statistics.fmean(ms),
        "lazy_method": "README: Target by name, then target.datasets (lazy loads)",
        "lazy_p50_ms": _percentile(lazy_ms, 0.5), "lazy_p95_ms": _percentile(lazy_ms, 0.95),
        "uses_index": "ix_target_name" in plan,
    }


# --------------------------------------------------------------------------------------------------------
# the run and the report
# --------------------------------------------------------------------------------------------------------


def run_bench(cfg: BenchConfig, progress=lambda message: None) -> dict:
    """Everything, in order; returns the report (a JSON-able dict). `format_report` prints it."""
    started = time.perf_counter()
    workdir = Path(cfg.workdir or (Path(os.environ.get("LCDB_HOME", ".lcdb")) / "bench")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "bench-load.log"
    log_path.write_bytes(b"")
    report: dict = {"config": {"scale": cfg.scale, "seed": cfg.seed, "format": cfg.fmt,
                               "workdir": str(workdir), "cpus": os.cpu_count(), "log": str(log_path)},
                    "section_seconds": {}}

    def section(key: str, message: str, fn, *args):
        progress(message)
        t0 = time.perf_counter()
        report[key] = fn(*args)
        report["section_seconds"][key] = round(time.perf_counter() - t0, 2)

    section("dvo", f"DVO database ({cfg.scale}) in {workdir} …", prepare_dvo, cfg, workdir)
    root = report["dvo"]["root"]
    database = BenchDatabase(cfg)
    try:
        report["database"] = database.describe()
        section("load", "loading every region through the Dagster job (child process) …",
                bench_load, database.url, root, workdir, log_path)
        section("floor", "COPY floor: replaying the loaded rows into empty tables …",
                bench_floor, database.url, workdir)
        section("fetch", f"fetching the lightcurves of {cfg.fetch_targets} random targets …",
                bench_fetch, database.url, cfg.fetch_targets, cfg.seed)
        section("naive", f"naive ORM loader on {cfg.naive_rows:,} rows …",
                bench_naive, database.url, root, cfg.naive_rows)
        if cfg.wide_rows:
            section("wide", f"wide rows: {cfg.wide_rows:,} rows of 3×float8[200]+int4[200] through the COPY path …",
                    bench_wide, database.url, cfg.wide_rows)
        admin = database.admin_url
    finally:
        database.close()
    if cfg.writers > 1 and admin:
        second = BenchDatabase(cfg, suffix="_par", admin_url=admin)
        try:
            section("parallel", f"the same load with {cfg.writers} region runs at once, into another fresh "
                    "database …", bench_load_parallel, second.url, root, workdir, log_path, cfg.writers)
        finally:
            second.keep = False
            second.close()
    section("bjd", "BJD: vectorised vs astropy …", bench_bjd, cfg.bjd_grid, cfg.bjd_astropy_pairs, cfg.seed)
    report["seconds"] = time.perf_counter() - started
    _derive(report)
    return report


def _derive(report: dict) -> None:
    load, floor, naive, bjd, fetch = (report[k] for k in ("load", "floor", "naive", "bjd", "fetch"))
    load["meas_per_s"] = load["measurements"] / load["seconds"]
    load["mb_per_s"] = load["mb_written"] / load["seconds"]
    load["rows_per_s"] = load["product_rows"] / load["seconds"]
    report["ratio"] = load["seconds"] / floor["seconds"]
    report["ratio_asset"] = load["asset_seconds"] / floor["seconds"]
    naive["extrapolated_s"] = load["product_rows"] / naive["rows_per_s"] if naive["rows_per_s"] else float("inf")
    report["speedup"] = naive["extrapolated_s"] / load["seconds"]
    report["speedup_asset"] = naive["extrapolated_s"] / load["asset_seconds"] if load["asset_seconds"] else 0.0
    rss = [r for _, r in load["rss_per_table"]]
    load["rss_tables_first_last"] = (rss[0], rss[-1]) if rss else None
    if "parallel" in report:
        par = report["parallel"]
        par["meas_per_s"] = par["measurements"] / par["seconds"]
        par["ratio"] = par["seconds"] / floor["seconds"]
        par["speedup"] = naive["extrapolated_s"] / par["seconds"]
    t = TARGETS
    report["targets"] = [
        ("load / COPY floor", f"{report['ratio']:.2f}", f"≤ {t['load_floor_ratio']:.1f}",
         report["ratio"] <= t["load_floor_ratio"]),
        ("speed-up vs naive ORM", f"{report['speedup']:.0f}×", f"≥ {t['naive_speedup']:.0f}×",
         report["speedup"] >= t["naive_speedup"]),
        ("BJD ns per target·epoch", f"{bjd['ns_per_pair']:.1f}", f"≤ {t['bjd_ns']:.0f}",
         bjd["ns_per_pair"] <= t["bjd_ns"]),
        ("BJD max |Δ| vs astropy (µs)", f"{bjd['max_diff_us']:.3f}", f"≤ {t['bjd_diff_us']:.0f}",
         bjd["max_diff_us"] <= t["bjd_diff_us"]),
        ("peak RSS of the load (MB)", f"{load['peak_rss_mb']:.0f}", f"< {t['peak_rss_mb']:.0f}",
         load["peak_rss_mb"] < t["peak_rss_mb"]),
        ("fetch p95 (ms)", f"{fetch['p95_ms']:.2f}", f"< {t['fetch_p95_ms']:.0f}",
         fetch["p95_ms"] < t["fetch_p95_ms"]),
    ]


def format_report(r: dict) -> str:
    d, load, floor, naive, bjd, fetch = (r[k] for k in ("dvo", "load", "floor", "naive", "bjd", "fetch"))
    gen = f"generated in {d['generated_seconds']:.1f} s" if d["generated_seconds"] is not None else "reused"
    rows = load["rows"]
    lines = [
        f"lcdb bench — scale {d['scale']} (seed {d['seed']}, {d['format']}), {r['config']['cpus']} CPUs",
        f"DVO database  {d['root']} ({gen}): {d['regions']} regions, {d['tables']} catalog tables, "
        f"{load['measurements']:,} measurements, {d['disk_mb']:,.0f} MB",
        f"LightcurveDB  {r['database']}",
        f"rows written  {rows['target']:,} targets, {rows['observation']:,} observations, "
        f"{rows['data_set']:,} data_set, {rows['target_specific_time']:,} target_specific_time, "
        f"{rows['quality_flag_array']:,} quality_flag_array; {load['mean_cadences']:.1f} cadences per array "
        f"on average",
        "",
    ]
    table = [("", "this run", "issue 5 baseline (dev machine)")]

    def row(name, value, baseline=""):
        table.append((name, value, baseline))

    row("LOAD, end to end (Dagster job)", f"{load['seconds']:.1f} s  ({len(load['regions'])} runs + reference)")
    row("  measurements/s", f"{load['meas_per_s']:,.0f}")
    row("  product rows/s", f"{load['rows_per_s']:,.0f}", BASELINES["copy"])
    row("  MB/s written (COPY data)", f"{load['mb_per_s']:.1f}  ({load['mb_written']:,.0f} MB)")
    row("  inside the region assets", f"{load['asset_seconds']:.1f} s  (the rest: Dagster runs, checks, plots)")
    row("COPY FLOOR (same rows, plain COPY)", f"{floor['seconds']:.1f} s  ({floor['mb']:,.0f} MB, "
        f"{floor['mb_per_s']:.1f} MB/s)", BASELINES["replay"])
    row("  per table (s)", ", ".join(f"{k} {v:.1f}" for k, v in floor["per_table"].items()))
    row("  load / floor", f"{r['ratio']:.2f}  (region assets alone: {r['ratio_asset']:.2f})", "target ≤ 2.0")
    row("NAIVE ORM loader (subset)", f"{naive['rows']:,} rows in {naive['seconds']:.1f} s = "
        f"{naive['rows_per_s']:,.0f} rows/s", BASELINES["orm"])
    row("  extrapolated to all rows", f"{naive['extrapolated_s']:,.0f} s = {naive['extrapolated_s'] / 3600:.2f} h")
    row("  speed-up of the load", f"{r['speedup']:,.0f}×  (region assets alone: {r['speedup_asset']:,.0f}×)",
        "target ≥ 30×")
    if "parallel" in r:
        par = r["parallel"]
        row(f"LOAD with {par['writers']} region runs at once", f"{par['seconds']:.1f} s, {par['meas_per_s']:,.0f} meas/s; "
            f"load / floor {par['ratio']:.2f}; {par['speedup']:,.0f}× naive")
    if "wide" in r:
        w = r["wide"]
        for storage in ("extended", "external"):
            s = w[storage]
            row(f"WIDE rows, storage {storage.upper()}", f"{s['rows_per_s']:,.0f} rows/s, {s['mb_per_s']:.0f} MB/s "
                f"({w['rows']:,} × 3·float8[{w['width']}]+int4[{w['width']}], {s['table_mb']:.0f} MB on disk)",
                BASELINES["copy"] if storage == "extended" else BASELINES["replay"])
    row("BJD vectorised", f"{bjd['ns_per_pair']:.1f} ns per target·epoch ({bjd['targets']:,} × {bjd['epochs']} "
        f"incl. astropy per epoch: {bjd['geometry_us_per_epoch']:.0f} µs/epoch; "
        f"matrix alone {bjd['matrix_ns_per_pair']:.1f} ns)", BASELINES["bjd_vector"])
    row("BJD astropy per element", f"{bjd['astropy_us_per_pair']:,.0f} µs per pair ({bjd['astropy_pairs']} pairs); "
        f"speed-up {bjd['astropy_us_per_pair'] * 1e3 / bjd['ns_per_pair']:,.0f}×", BASELINES["bjd_astropy"])
    row("BJD astropy per target", f"{bjd['astropy_per_target_us_per_pair']:,.1f} µs per pair (one call per "
        f"target with its {bjd['epochs']} epochs, {bjd['astropy_per_target_targets']} targets)")
    row("  max |vectorised − astropy|", f"{bjd['max_diff_us']:.4f} µs  (stored float64 JD: "
        f"{bjd['max_diff_stored_us']:.1f} µs; its resolution is {bjd['float64_jd_resolution_us']:.0f} µs)")
    rss_tables = load["rss_per_table"]
    row("PEAK RSS of the load process", f"{load['peak_rss_mb']:,.0f} MB  (after imports "
        f"{load['rss_imported_mb']:,.0f} MB)", "target < 1,500 MB")
    if rss_tables:
        row("  RSS after table 1 / last", f"{rss_tables[0][1]:,.0f} / {rss_tables[-1][1]:,.0f} MB "
            f"({len(rss_tables)} tables)")
    row("  RSS (peak) after each region", ", ".join(f"{n} {v:,.0f} ({p:,.0f})" for n, v, p in load["rss_per_region"])
        + " MB")
    row("FETCH one target's lightcurves", f"p50 {fetch['p50_ms']:.2f} ms, p95 {fetch['p95_ms']:.2f} ms "
        f"({fetch['targets']} targets, {fetch['lightcurves_per_target']:.0f} DataSets each)", "target p95 < 5 ms")
    row("  (one ORM query, index on target.name)" if fetch["uses_index"] else "  (one ORM query)",
        f"README way (lazy loads): p50 {fetch['lazy_p50_ms']:.2f} ms, p95 {fetch['lazy_p95_ms']:.2f} ms")
    row("  (after ANALYZE)", f"{fetch['analyze_s']:.1f} s, as autovacuum would do within a minute")
    width = max(len(a) for a, _, _ in table)
    vwidth = min(70, max(len(b) for _, b, _ in table))
    for a, b, c in table:
        lines.append(f"{a:<{width}}  {b:<{vwidth}}  {c}".rstrip())
    lines += ["", "Targets (issue 5)"]
    for name, value, target, met in r["targets"]:
        lines.append(f"  {'✔' if met else '✘'} {name:<30} {value:>10}   {target}")
    lines.append(f"\nbench finished in {r['seconds']:.0f} s ("
                 + ", ".join(f"{k} {v:.0f} s" for k, v in r["section_seconds"].items()) + ")")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------
# the child process that loads (`python -m lcdb_pipeline.bench --load-child SPEC`)
# --------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["--load-child"] or len(argv) != 2:
        print("usage: python -m lcdb_pipeline.bench --load-child SPEC.json (run `lcdb bench` instead)",
              file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    result = _load_child(spec)
    Path(spec["out"]).write_text(json.dumps(result))
    return 0
