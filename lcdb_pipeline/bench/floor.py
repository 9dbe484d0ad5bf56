"""The COPY floor: what PostgreSQL itself needs for the rows the load wrote.

They are exported with ``COPY … TO STDOUT (FORMAT BINARY)`` (not timed) and replayed by plain
``COPY … FROM STDIN`` — one COPY and commit per table, timed — into empty tables created ``LIKE … INCLUDING
ALL`` in a scratch schema: same columns, storage, indexes and constraints; no foreign keys (``LIKE`` does
not copy them)."""

from __future__ import annotations

import time
from pathlib import Path

from lcdb_pipeline.bench.database import connect, scratch_schema
from lcdb_pipeline.bench.load import LOADED_TABLES

SCHEMA = "lcdb_bench_floor"
BLOCK = 1 << 20  # bytes per write of the replayed stream


def _export(url: str, files: dict[str, Path]) -> int:
    """Every table of `files` in binary COPY format to its file; the bytes written."""
    nbytes = 0
    with connect(url) as conn, conn.cursor() as cur:
        for table, path in files.items():
            with cur.copy(f"COPY {table} TO STDOUT (FORMAT BINARY)") as copy, open(path, "wb") as f:
                f.writelines(copy)
            nbytes += path.stat().st_size
    return nbytes


def _replay(url: str, files: dict[str, Path]) -> dict[str, float]:
    """Each file into an empty copy of its table; seconds per table (the COPY and its commit)."""
    per_table: dict[str, float] = {}
    with scratch_schema(url, SCHEMA), connect(url) as conn, conn.cursor() as cur:
        for table in files:
            cur.execute(f"CREATE TABLE {SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)")
        conn.commit()
        for table, path in files.items():
            started = time.perf_counter()
            with cur.copy(f"COPY {SCHEMA}.{table} FROM STDIN (FORMAT BINARY)") as copy, open(path, "rb") as f:
                while data := f.read(BLOCK):
                    copy.write(data)
            conn.commit()
            per_table[table] = time.perf_counter() - started
    return per_table


def bench_floor(url: str, workdir: Path) -> dict:
    """Replay what the load wrote into empty `LIKE … INCLUDING ALL` tables with plain binary COPY."""
    files = {t: workdir / f"floor-{t}.copy" for t in LOADED_TABLES}
    try:
        nbytes = _export(url, files)
        per_table = _replay(url, files)
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)
    seconds = sum(per_table.values())
    return {"seconds": seconds, "per_table": {k: round(v, 3) for k, v in per_table.items()},
            "mb": nbytes / 1e6, "mb_per_s": nbytes / 1e6 / seconds if seconds else 0.0}
