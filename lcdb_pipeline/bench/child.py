"""The process that loads, started by `lcdb_pipeline.bench.load`: ``python -m lcdb_pipeline.bench --load-child
SPEC.json``. Every region through the Dagster job (`load_regions`, as ``lcdb load``), with its RSS after each
catalog table and region; the result goes, as JSON, to the spec's ``out`` file.

Only the standard library is imported before the first RSS reading: the imports are part of what is measured.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lcdb_pipeline.bench.system import peak_rss_mb, rss_mb


def _record_rss_per_table(region_asset, per_table: list) -> None:
    """Wrap the region asset's `load_table` so that the RSS after each catalog table is appended."""
    if not hasattr(region_asset, "load_table"):
        return
    original = region_asset.load_table

    def load_table(engine, mapping, refs):
        stats = original(engine, mapping, refs)
        per_table.append((mapping.catalog_table, round(rss_mb(), 1)))
        return stats

    region_asset.load_table = load_table


def _rss_per_region(per_region: list):
    """A `load_regions` progress callback appending (region, RSS, peak RSS) when a region is done; call it
    with None after the last."""
    current: list[str] = []

    def progress(message: str | None) -> None:
        if current:
            per_region.append((current[-1], round(rss_mb(), 1), round(peak_rss_mb(), 1)))
        if message and message.startswith("loading region "):
            current.append(message.split()[2])

    return progress


def _region_results(report) -> list[dict]:
    regions = []
    for outcome in report.regions:
        m = outcome.metadata
        regions.append({
            "region": outcome.region, "success": outcome.success, "seconds": round(outcome.seconds, 3),
            "asset_seconds": m.get("seconds"), "measurements": m.get("measurements", 0),
            "mb_written": m.get("MB written", 0.0), "errors": outcome.errors,
            "failed_checks": outcome.failed_checks,
        })
    return regions


def load_child(spec: dict) -> dict:
    """Load every region of ``spec["root"]`` (or ``spec["regions"]``) into ``spec["url"]``; RSS along the way."""
    rss_start = rss_mb()
    from dagster import instance_for_test

    import lcdb_pipeline.defs.region as region_asset
    from lcdb_pipeline.cli.runner import load_regions
    from lcdb_schema.migrations import upgrade_database

    upgrade_database(spec["url"])
    rss_imported = rss_mb()
    per_table: list[tuple[str, float]] = []
    per_region: list[tuple[str, float, float]] = []
    _record_rss_per_table(region_asset, per_table)
    progress = _rss_per_region(per_region)
    with instance_for_test() as instance:
        wall_start = time.time()
        started = time.perf_counter()
        report = load_regions(Path(spec["root"]), spec.get("regions"), instance=instance, progress=progress,
                              database_url=spec["url"])
        seconds = time.perf_counter() - started
        wall_end = time.time()
    progress(None)
    return {
        "success": report.success, "seconds": seconds, "regions": _region_results(report),
        "wall_start": wall_start, "wall_end": wall_end,
        "reference_errors": report.reference_errors,
        "rss_start_mb": round(rss_start, 1), "rss_imported_mb": round(rss_imported, 1),
        "rss_per_table": per_table, "rss_per_region": per_region, "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["--load-child"] or len(argv) != 2:
        print("usage: python -m lcdb_pipeline.bench --load-child SPEC.json (run `lcdb bench` instead)",
              file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[1]).read_text())
    result = load_child(spec)
    Path(spec["out"]).write_text(json.dumps(result))
    return 0
