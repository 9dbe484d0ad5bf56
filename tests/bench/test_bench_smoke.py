"""`lcdb bench` end to end on a `small` database, so the benchmark cannot rot: every section is present and
every number is sane. No timing thresholds (this machine's speed is not under test)."""

from __future__ import annotations

import math
import subprocess
import sys

import psycopg
import pytest

from lcdb_pipeline.bench import BenchConfig, format_report, run_bench
from lcdb_pipeline.cli.parser import build_parser


@pytest.fixture(scope="module")
def report(pg_admin_url, tmp_path_factory):
    cfg = BenchConfig(scale="small", seed=1, workdir=tmp_path_factory.mktemp("bench"), admin_url=pg_admin_url,
                      naive_rows=300, fetch_targets=50, wide_rows=500, bjd_grid=(2_000, 40), bjd_astropy_pairs=10,
                      read_passes=2, writers=1)  # the 2-writer load is the same child twice over: ~10 s more, left to `lcdb bench`
    messages: list[str] = []
    result = run_bench(cfg, progress=messages.append)
    result["messages"] = messages
    return result


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_every_section_is_there_and_sane(report):
    load, floor, naive, bjd, fetch = (report[k] for k in ("load", "floor", "naive", "bjd", "fetch"))
    rows = load["rows"]
    assert rows["data_set"] == 3 * rows["target_specific_time"] == 3 * rows["quality_flag_array"] // 2 > 0
    assert load["product_rows"] == rows["data_set"] + rows["target_specific_time"] + rows["quality_flag_array"]
    assert load["measurements"] > 0 and all(_positive(load[k]) for k in ("seconds", "meas_per_s", "mb_per_s"))
    assert 0 < load["asset_seconds"] < load["seconds"]
    assert set(floor["per_table"]) == {"target", "observation", "data_set", "target_specific_time",
                                       "quality_flag_array"}
    assert _positive(floor["seconds"]) and floor["mb"] > load["mb_written"] * 0.5
    assert _positive(report["ratio"]) and _positive(report["speedup"])
    assert naive["rows"] >= 300 and _positive(naive["rows_per_s"])
    assert naive["extrapolated_s"] == pytest.approx(load["product_rows"] / naive["rows_per_s"])
    assert "parallel" not in report
    for storage in ("extended", "external"):
        assert _positive(report["wide"][storage]["rows_per_s"])
    assert bjd["targets"] * bjd["epochs"] == 2_000 * 40 and _positive(bjd["ns_per_pair"])
    assert bjd["max_diff_us"] < 10  # the computation agrees with astropy's (a correctness bound, not speed)
    assert bjd["max_diff_stored_us"] <= bjd["float64_jd_resolution_us"]
    assert 50 < load["peak_rss_mb"] < 4_000
    assert len(load["rss_per_table"]) == report["dvo"]["tables"]
    assert [r for r, *_ in load["rss_per_region"]] == [r["region"] for r in load["regions"]]
    assert fetch["targets"] == 50 and fetch["lightcurves_per_target"] >= 3 and fetch["uses_index"]
    assert 0 < fetch["p50_ms"] <= fetch["p95_ms"]
    read = report["read"]
    assert len(read["passes"]) == 2 and read["tables"] == report["dvo"]["tables"] and read["format"] == "PS1_V5_LOAD"
    assert read["measurements"] == load["measurements"]  # the reader sees every measurement the load wrote
    assert 0 < read["mb"] < report["dvo"]["disk_mb"] and _positive(read["first_mb_per_s"])
    assert read["warm_mb_per_s"][0] <= read["warm_mb_per_s"][1]
    assert list(report["section_seconds"]) == ["dvo", "load", "floor", "fetch", "naive", "wide", "bjd", "read"]
    assert [name for name, *_ in report["targets"]] == [
        "load / COPY floor", "speed-up vs naive ORM", "BJD ns per target·epoch", "BJD max |Δ| vs astropy (µs)",
        "peak RSS of the load (MB)", "fetch p95 (ms)"]


def test_the_printed_report_names_every_section_and_baseline(report):
    text = format_report(report)
    for section in ("LOAD, end to end", "COPY FLOOR", "load / floor", "NAIVE ORM loader", "speed-up", "WIDE rows",
                    "BJD vectorised", "BJD astropy per element", "PEAK RSS", "FETCH", "READ every catalog table",
                    "warm passes (1)", "Targets (issue 5)"):
        assert section in text, section
    for baseline in ("1,000 rows/s", "17,000 rows/s", "146 MB/s", "150 µs", "57 ns", "1.2 GB/s"):
        assert baseline in text, baseline


def test_the_bench_databases_are_dropped(report, pg_admin_url):
    with psycopg.connect(pg_admin_url) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'lcdb_bench_%'").fetchall()
    assert not [name for (name,) in left if name.startswith(report["database"].split("/")[-1].split(" ")[0])]


def test_lcdb_bench_is_a_subcommand():
    args = build_parser().parse_args(["bench", "--scale", "small", "--keep", "--writers", "1", "--read-passes", "0"])
    assert (args.scale, args.keep, args.writers, args.read_passes) == ("small", True, 1, 0)


def test_the_load_child_imports_no_section():
    """The load child's RSS is the loader's: importing its entry point pulls in no library a section needs."""
    code = ("import sys, lcdb_pipeline.bench.child; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'sqlalchemy', 'astropy', 'dagster'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    usage = subprocess.run([sys.executable, "-m", "lcdb_pipeline.bench"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "--load-child SPEC.json" in usage.stderr
