"""Load, end to end: every region through the Dagster job in a child process (`lcdb_pipeline.bench.child`),
so that its peak RSS is the loader's alone; and the same load with several such processes at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lcdb_pipeline.bench.database import connect
from lcdb_pipeline.dvo import DVODatabase

#: What the load writes, in the order the COPY floor replays it.
LOADED_TABLES = ("target", "observation", "data_set", "target_specific_time", "quality_flag_array")
PRODUCT_TABLES = ("data_set", "target_specific_time", "quality_flag_array")


def _start_load_child(url: str, dvo_root: str, workdir: Path, log, regions: list[str] | None = None):
    fd, out = tempfile.mkstemp(prefix="bench-load-", suffix=".json", dir=workdir)
    os.close(fd)
    spec_path = Path(out).with_suffix(".spec")
    spec_path.write_text(json.dumps({"url": url, "root": dvo_root, "regions": regions, "out": out}))
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
    with connect(url) as conn:
        result["rows"] = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in LOADED_TABLES}
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
