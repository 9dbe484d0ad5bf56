"""The report of a run: `derive` adds the rates, ratios and target checks to the sections' numbers;
`format_report` prints it — a header, the row groups of the sections that ran beside issue 5's baselines
(`TABLE`, in printed order), the targets, the time per section."""

from __future__ import annotations

from lcdb_pipeline.bench.config import BASELINES, TARGETS

Row = tuple[str, str, str]


def _rates(report: dict) -> None:
    load, floor, naive = (report[k] for k in ("load", "floor", "naive"))
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


def _targets(report: dict) -> list[tuple[str, str, str, bool]]:
    """(name, value, target, met) for each of issue 5's targets."""
    load, bjd, fetch, t = report["load"], report["bjd"], report["fetch"], TARGETS
    return [
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


def derive(report: dict) -> None:
    """Rates, ratios and the target checks, from the sections' own numbers (in place)."""
    _rates(report)
    report["targets"] = _targets(report)


# --------------------------------------------------------------------------------------------------------
# the printed report: one function per row group
# --------------------------------------------------------------------------------------------------------


def _header(r: dict) -> list[str]:
    d, load = r["dvo"], r["load"]
    gen = f"generated in {d['generated_seconds']:.1f} s" if d["generated_seconds"] is not None else "reused"
    rows = load["rows"]
    return [
        f"lcdb bench — scale {d['scale']} (seed {d['seed']}, {d['format']}), {r['config']['cpus']} CPUs",
        (f"DVO database  {d['root']} ({gen}): {d['regions']} regions, {d['tables']} catalog tables, "
         f"{load['measurements']:,} measurements, {d['disk_mb']:,.0f} MB"),
        f"LightcurveDB  {r['database']}",
        (f"rows written  {rows['target']:,} targets, {rows['observation']:,} observations, "
         f"{rows['data_set']:,} data_set, {rows['target_specific_time']:,} target_specific_time, "
         f"{rows['quality_flag_array']:,} quality_flag_array; {load['mean_cadences']:.1f} cadences per array "
         f"on average"),
        "",
    ]


def _load_rows(r: dict) -> list[Row]:
    load = r["load"]
    return [
        ("LOAD, end to end (Dagster job)", f"{load['seconds']:.1f} s  ({len(load['regions'])} runs + reference)", ""),
        ("  measurements/s", f"{load['meas_per_s']:,.0f}", ""),
        ("  product rows/s", f"{load['rows_per_s']:,.0f}", BASELINES["copy"]),
        ("  MB/s written (COPY data)", f"{load['mb_per_s']:.1f}  ({load['mb_written']:,.0f} MB)", ""),
        ("  inside the region assets", f"{load['asset_seconds']:.1f} s  (the rest: Dagster runs, checks, plots)", ""),
    ]


def _floor_rows(r: dict) -> list[Row]:
    floor = r["floor"]
    replay = f"{floor['seconds']:.1f} s  ({floor['mb']:,.0f} MB, {floor['mb_per_s']:.1f} MB/s)"
    return [
        ("COPY FLOOR (same rows, plain COPY)", replay, BASELINES["replay"]),
        ("  per table (s)", ", ".join(f"{k} {v:.1f}" for k, v in floor["per_table"].items()), ""),
        ("  load / floor", f"{r['ratio']:.2f}  (region assets alone: {r['ratio_asset']:.2f})", "target ≤ 2.0"),
    ]


def _naive_rows(r: dict) -> list[Row]:
    naive = r["naive"]
    subset = f"{naive['rows']:,} rows in {naive['seconds']:.1f} s = {naive['rows_per_s']:,.0f} rows/s"
    extrapolated = f"{naive['extrapolated_s']:,.0f} s = {naive['extrapolated_s'] / 3600:.2f} h"
    speedup = f"{r['speedup']:,.0f}×  (region assets alone: {r['speedup_asset']:,.0f}×)"
    return [
        ("NAIVE ORM loader (subset)", subset, BASELINES["orm"]),
        ("  extrapolated to all rows", extrapolated, ""),
        ("  speed-up of the load", speedup, "target ≥ 30×"),
    ]


def _parallel_rows(r: dict) -> list[Row]:
    par = r["parallel"]
    value = (f"{par['seconds']:.1f} s, {par['meas_per_s']:,.0f} meas/s; load / floor {par['ratio']:.2f}; "
             f"{par['speedup']:,.0f}× naive")
    return [(f"LOAD with {par['writers']} region runs at once", value, "")]


def _wide_rows(r: dict) -> list[Row]:
    w = r["wide"]
    shape = f"{w['rows']:,} × 3·float8[{w['width']}]+int4[{w['width']}]"
    rows = []
    for storage, baseline in (("extended", "copy"), ("external", "replay")):
        s = w[storage]
        value = f"{s['rows_per_s']:,.0f} rows/s, {s['mb_per_s']:.0f} MB/s ({shape}, {s['table_mb']:.0f} MB on disk)"
        rows.append((f"WIDE rows, storage {storage.upper()}", value, BASELINES[baseline]))
    return rows


def _bjd_rows(r: dict) -> list[Row]:
    bjd = r["bjd"]
    vectorised = (f"{bjd['ns_per_pair']:.1f} ns per target·epoch ({bjd['targets']:,} × {bjd['epochs']} incl. "
                  f"astropy per epoch: {bjd['geometry_us_per_epoch']:.0f} µs/epoch; "
                  f"matrix alone {bjd['matrix_ns_per_pair']:.1f} ns)")
    per_pair = (f"{bjd['astropy_us_per_pair']:,.0f} µs per pair ({bjd['astropy_pairs']} pairs); "
                f"speed-up {bjd['astropy_us_per_pair'] * 1e3 / bjd['ns_per_pair']:,.0f}×")
    per_target = (f"{bjd['astropy_per_target_us_per_pair']:,.1f} µs per pair (one call per target with its "
                  f"{bjd['epochs']} epochs, {bjd['astropy_per_target_targets']} targets)")
    diff = (f"{bjd['max_diff_us']:.4f} µs  (stored float64 JD: {bjd['max_diff_stored_us']:.1f} µs; "
            f"its resolution is {bjd['float64_jd_resolution_us']:.0f} µs)")
    return [
        ("BJD vectorised", vectorised, BASELINES["bjd_vector"]),
        ("BJD astropy per element", per_pair, BASELINES["bjd_astropy"]),
        ("BJD astropy per target", per_target, ""),
        ("  max |vectorised − astropy|", diff, ""),
    ]


def _memory_rows(r: dict) -> list[Row]:
    load = r["load"]
    tables = load["rss_per_table"]
    peak = f"{load['peak_rss_mb']:,.0f} MB  (after imports {load['rss_imported_mb']:,.0f} MB)"
    rows = [("PEAK RSS of the load process", peak, "target < 1,500 MB")]
    if tables:
        first_last = f"{tables[0][1]:,.0f} / {tables[-1][1]:,.0f} MB ({len(tables)} tables)"
        rows.append(("  RSS after table 1 / last", first_last, ""))
    per_region = ", ".join(f"{n} {v:,.0f} ({p:,.0f})" for n, v, p in load["rss_per_region"]) + " MB"
    rows.append(("  RSS (peak) after each region", per_region, ""))
    return rows


def _fetch_rows(r: dict) -> list[Row]:
    fetch = r["fetch"]
    one_query = (f"p50 {fetch['p50_ms']:.2f} ms, p95 {fetch['p95_ms']:.2f} ms ({fetch['targets']} targets, "
                 f"{fetch['lightcurves_per_target']:.0f} DataSets each)")
    lazy = f"README way (lazy loads): p50 {fetch['lazy_p50_ms']:.2f} ms, p95 {fetch['lazy_p95_ms']:.2f} ms"
    how = "  (one ORM query, index on target.name)" if fetch["uses_index"] else "  (one ORM query)"
    return [
        ("FETCH one target's lightcurves", one_query, "target p95 < 5 ms"),
        (how, lazy, ""),
        ("  (after ANALYZE)", f"{fetch['analyze_s']:.1f} s, as autovacuum would do within a minute", ""),
    ]


def _span_text(span: list[float], fmt: str) -> str:
    """``lo–hi``, or one number when both print the same."""
    lo, hi = (fmt.format(x) for x in span)
    return lo if lo == hi else f"{lo}–{hi}"


def _read_rows(r: dict) -> list[Row]:
    read = r["read"]
    first = (f"pass 1 {read['first_mb_per_s']:,.0f} MB/s, {read['first_meas_per_s'] / 1e6:.1f} M meas/s "
             f"({read['tables']} {read['format']} tables, {read['mb']:,.0f} MB)")
    rows = [("READ every catalog table (DVO reader)", first, BASELINES["fits"])]
    if read["warm_mb_per_s"]:
        mb_s = _span_text(read["warm_mb_per_s"], "{:,.0f}")
        meas_s = _span_text([x / 1e6 for x in read["warm_meas_per_s"]], "{:.1f}")
        warm = f"{mb_s} MB/s, {meas_s} M meas/s"
        rows.append((f"  warm passes ({len(read['passes']) - 1})", warm, ""))
    return rows


#: The table's row groups in printed order, each with the section whose numbers it prints (a section that did
#: not run prints nothing). A new section adds its function here.
TABLE = (("load", _load_rows), ("floor", _floor_rows), ("naive", _naive_rows), ("parallel", _parallel_rows),
         ("wide", _wide_rows), ("bjd", _bjd_rows), ("load", _memory_rows), ("fetch", _fetch_rows),
         ("read", _read_rows))


def _table_lines(r: dict) -> list[str]:
    table = [("", "this run", "issue 5 baseline (dev machine)")]
    table += [row for key, rows in TABLE if key in r for row in rows(r)]
    width = max(len(a) for a, _, _ in table)
    vwidth = min(70, max(len(b) for _, b, _ in table))
    return [f"{a:<{width}}  {b:<{vwidth}}  {c}".rstrip() for a, b, c in table]


def format_report(r: dict) -> str:
    """The report as printed by `lcdb bench`."""
    lines = _header(r) + _table_lines(r) + ["", "Targets (issue 5)"]
    for name, value, target, met in r["targets"]:
        lines.append(f"  {'✔' if met else '✘'} {name:<30} {value:>10}   {target}")
    lines.append(f"\nbench finished in {r['seconds']:.0f} s ("
                 + ", ".join(f"{k} {v:.0f} s" for k, v in r["section_seconds"].items()) + ")")
    return "\n".join(lines)
