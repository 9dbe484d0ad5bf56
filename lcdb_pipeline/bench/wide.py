"""Wide rows: the loader's COPY path (its encoder and `CopyWriter`) on rows shaped like issue 5's baseline —
3 × float8[200] + int4[200] — with PostgreSQL's default storage (EXTENDED: pglz tried on every row over
~2 kB) and with EXTERNAL. The synthetic databases have few cadences per array, so the load's MB/s says
little about long lightcurves; this does."""

from __future__ import annotations

import time

import numpy as np

from lcdb_pipeline.bench.database import connect, scratch_schema
from lcdb_pipeline.loading.copy_binary import CopyWriter, Field

SCHEMA = "lcdb_bench_wide"
TABLE = f"{SCHEMA}.probe"
CHUNK = 2_000  # rows per COPY body (the arrays are made once and reused)
COLUMNS = {"a": "float8[]", "b": "float8[]", "c": "float8[]", "f": "int4[]"}


def _arrays(width: int) -> dict[str, np.ndarray]:
    """One chunk of rows: magnitudes with 20 % gaps, their errors, BJDs, flags."""
    rng = np.random.default_rng(0)
    a = 18.0 + rng.normal(0, 0.05, (CHUNK, width))
    a[rng.random((CHUNK, width)) < 0.2] = np.nan  # gaps, as in DVO lightcurves
    b = np.abs(rng.normal(0.02, 0.005, (CHUNK, width)))
    c = 2455000.5 + np.sort(rng.uniform(0, 3650, width))[None, :] + rng.normal(0, 1e-3, (CHUNK, 1))
    flags = np.where(rng.random((CHUNK, width)) < 0.05, 0x1008, 0).astype(np.int32)
    return {"a": a, "b": b, "c": c, "f": flags}


def _copy_rows(conn, storage: str, arrays: dict[str, np.ndarray], n_rows: int) -> dict:
    """`n_rows` rows into a fresh table whose float arrays have `storage`; speed and size on disk."""
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
        cur.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, a float8[], b float8[], c float8[], f int4[])")
        cur.execute(f"ALTER TABLE {TABLE} " + ", ".join(f"ALTER COLUMN {col} SET STORAGE {storage}" for col in "abc"))
        conn.commit()
        started = time.perf_counter()
        nbytes = 0
        with CopyWriter(cur) as writer:
            for start in range(0, n_rows, CHUNK):
                n = min(CHUNK, n_rows - start)
                fields = [Field(col, kind, arrays[col][:n]) for col, kind in COLUMNS.items()]
                nbytes += writer.submit(TABLE, [(n, fields)])
        conn.commit()
        seconds = time.perf_counter() - started
        size = cur.execute("SELECT pg_total_relation_size(%s::regclass)", [TABLE]).fetchone()[0]
    return {"seconds": seconds, "rows_per_s": n_rows / seconds, "mb_per_s": nbytes / 1e6 / seconds,
            "table_mb": size / 1e6}


def bench_wide(url: str, n_rows: int, width: int = 200) -> dict:
    """`n_rows` rows of 3 × float8[width] + int4[width] (the issue's baseline shape) through the loader's
    encoder and `CopyWriter`, into a fresh table, with default (pglz-compressed) and EXTERNAL storage."""
    arrays = _arrays(width)
    out: dict = {}
    with scratch_schema(url, SCHEMA), connect(url) as conn:
        for storage in ("EXTENDED", "EXTERNAL"):
            out[storage.lower()] = _copy_rows(conn, storage, arrays, n_rows)
    out["rows"] = n_rows
    out["width"] = width
    return out
