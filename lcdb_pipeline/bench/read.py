"""Read speed of the DVO reader: every catalog table of every populated region through
`DVODatabase.read_table` (full validation, photcode check), a few passes over the whole database.

MB counts the bytes the reader consumed (headers and table data of .cpt and .cpm: `CatalogTable.nbytes`).
The first pass reads whatever the page cache holds (right after generation the files are cached, so it is
not a cold-disk number); later passes are warm."""

from __future__ import annotations

import time
from pathlib import Path

from lcdb_pipeline.bench.dvo import catalog_tables
from lcdb_pipeline.dvo import DVODatabase


def _read_pass(dvo_root: str) -> dict:
    """One pass of a fresh `DVODatabase` over every catalog table."""
    database = DVODatabase(Path(dvo_root))
    started = time.perf_counter()
    nbytes = measurements = tables = 0
    formats = set()
    for name in catalog_tables(database):
        table = database.read_table(name)
        nbytes += table.nbytes
        measurements += table.nmeas
        tables += 1
        formats.add(table.format)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "tables": tables, "format": "/".join(sorted(formats)), "mb": nbytes / 1e6,
            "measurements": measurements, "mb_per_s": nbytes / 1e6 / seconds,
            "meas_per_s": measurements / seconds}


def _span(values: list[float]) -> list[float] | None:
    return [min(values), max(values)] if values else None


def bench_read(dvo_root: str, passes: int) -> dict:
    """`passes` read passes over the DVO database: the first, and the range of the warm ones."""
    runs = [_read_pass(dvo_root) for _ in range(passes)]
    first, warm = runs[0], runs[1:]
    return {
        "passes": runs, "tables": first["tables"], "format": first["format"], "mb": first["mb"],
        "measurements": first["measurements"],
        "first_mb_per_s": first["mb_per_s"], "first_meas_per_s": first["meas_per_s"],
        "warm_mb_per_s": _span([r["mb_per_s"] for r in warm]),
        "warm_meas_per_s": _span([r["meas_per_s"] for r in warm]),
    }
