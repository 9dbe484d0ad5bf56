"""Bad DVO input: one damaged catalog table per case, loaded with a real `lcdb load` (subprocess, real Dagster
runs in a PostgreSQL instance). Each case ends with: the region's run failing with an error naming the file,
row or key and problem — the same lines on stderr and in the run's event log; zero rows for the damaged table;
every other table and region equal to a clean load. All the cases' loads run at once (module fixture)."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from dagster import DagsterEventType, DagsterRunStatus, materialize

from lcdb_pipeline.dvo import DVODatabase, DVOError
from lcdb_pipeline.mapping import target_names as dvo_target_names
from support.fits import patch_card, patch_cell, read_column, truncate_rows
from support.processes import environment, start_lcdb
from support.snapshot import (
    count_rows_of_targets,
    observations_of,
    snapshot,
    target_names,
)

pytestmark = pytest.mark.slow


@dataclass
class Expect:
    """What a case must report: the DVOError's parts (problem: a substring), or a success with a warning."""

    table: str
    path: str | None = None
    row: int | None = None
    key: str | None = None
    problem: str = ""
    fails: bool = True
    skipped_rows: list[int] = field(default_factory=list)

    @property
    def region(self) -> str:
        return self.table.split("/")[0]

    def error_prefix(self) -> str:
        """`<path>: row <row>, <key>: ` — the start of `str(DVOError)`."""
        return str(DVOError(self.path, "\0", self.row, self.key)).split("\0")[0]


def _truncated_cpm(db: DVODatabase) -> Expect:
    table = "n0000/0001.02"
    cpm = db.table_path(table, "cpm")
    row, missing = truncate_rows(cpm, rows_missing=3)
    return Expect(table, cpm, row=row, problem=f"{missing} bytes are missing and row {row} is the first incomplete")


def _random_bytes_cpt(db: DVODatabase) -> Expect:
    table = "n1500/0075.01"
    cpt = db.table_path(table)
    Path(cpt).write_bytes(np.random.default_rng(1).integers(0, 256, 40_000, dtype=np.uint8).tobytes())
    return Expect(table, cpt, problem="not a FITS file")


def _missing_cpm(db: DVODatabase) -> Expect:
    table = "s2230/0149.03"
    cpm = db.table_path(table, "cpm")
    os.remove(cpm)
    return Expect(table, cpm, key="MEASURE", problem="missing sibling file")


def _first_row_with(db: DVODatabase, table: str, min_measures: int, nth: int = 0) -> int:
    nmeasure = db.read_objects(table)["nmeasure"]
    return int(np.flatnonzero(nmeasure >= min_measures)[nth])


def _off_measure_sorted(db: DVODatabase) -> Expect:
    """OFF_MEASURE of one object of a SORTED = T table points one measurement too far: its range now holds a
    measurement of the next object (NMEASURE vs AVE_REF is checked too: tests/dvo/test_validation.py)."""
    table = "n1500/0075.03"
    assert db.read_table(table).sorted
    cpt = db.table_path(table)
    row = _first_row_with(db, table, 3, nth=6)
    patch_cell(cpt, "OFF_MEASURE", row, int(read_column(cpt, "OFF_MEASURE")[row]) + 1)
    return Expect(table, cpt, row=row, key="OFF_MEASURE", problem="OFF_MEASURE")


def _ave_ref_beyond(db: DVODatabase) -> Expect:
    table = "n1500/0075.00"
    cpm = db.table_path(table, "cpm")
    nstars = len(db.read_objects(table))
    patch_cell(cpm, "AVE_REF", 17, nstars + 5)
    return Expect(table, cpm, row=17, key="AVE_REF", problem=f"AVE_REF {nstars + 5} is beyond")


def _unknown_photcode(db: DVODatabase) -> Expect:
    table = "s2230/0149.00"
    cpm = db.table_path(table, "cpm")
    assert 65000 not in db.photcodes
    patch_cell(cpm, "PHOTCODE", 42, 65000)
    return Expect(table, cpm, row=42, key="PHOTCODE", problem="65000")


def _unknown_extname(db: DVODatabase) -> Expect:
    table = "s2230/0149.01"
    cpt = db.table_path(table)
    patch_card(cpt, 1, "EXTNAME", "'DVO_AVERAGE_LONEOS'")  # a real IPP format lcdb does not read
    return Expect(table, cpt, key="EXTNAME", problem="DVO_AVERAGE_LONEOS")


def _nan_position(db: DVODatabase) -> Expect:
    table = "s2230/0149.02"
    cpt = db.table_path(table)
    row = _first_row_with(db, table, 5)
    patch_cell(cpt, "RA", row, np.nan)
    return Expect(table, cpt, fails=False, skipped_rows=[row])


DVO_CASES = {
    "truncated_cpm": _truncated_cpm,
    "random_bytes_cpt": _random_bytes_cpt,
    "missing_cpm": _missing_cpm,
    "off_measure_sorted": _off_measure_sorted,
    "ave_ref_beyond_objects": _ave_ref_beyond,
    "photcode_not_in_photcodes": _unknown_photcode,
    "unknown_extname": _unknown_extname,
    "nan_position": _nan_position,
}
REGION_CASES = {"missing_region_directory": "s0730", "empty_region_directory": "n0730"}


@dataclass
class Outcome:
    root: Path
    url: str
    pid: int
    returncode: int
    stdout: str
    stderr: str
    expect: Expect | None = None
    region: str | None = None


@pytest.fixture(scope="module")
def outcomes(clean, fresh_db, dagster, tmp_path_factory) -> dict[str, Outcome]:
    """Every case's `lcdb load`, started at once: the whole DVO database, or `--region R` for region cases."""
    started = {}
    for name in (*DVO_CASES, *REGION_CASES):
        work = tmp_path_factory.mktemp(name)
        root = work / "catdir"
        shutil.copytree(clean.root, root)
        url = fresh_db(name)
        if name in DVO_CASES:
            expect, region, args = DVO_CASES[name](DVODatabase(root)), None, ()
        else:
            expect, region = None, REGION_CASES[name]
            args = ("--region", region)
        # --jobs 1: nine loads start at once; each in its own process (the parallel path is tests/distributed)
        proc = start_lcdb("load", str(root), "--jobs", "1", *args, env=dagster.env(url, work / "home"))
        started[name] = (proc, root, url, expect, region)
    out = {}
    for name, (proc, root, url, expect, region) in started.items():
        stdout, stderr = proc.communicate(timeout=600)
        out[name] = Outcome(root, url, proc.pid, proc.returncode, stdout, stderr, expect, region)
    return out


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


def _failure_records(instance, run_id):
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records]


def _retries(instance, run_id) -> int:
    return len(instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_UP_FOR_RETRY).records)


@pytest.mark.parametrize("case", [c for c in DVO_CASES if c != "nan_position"])
def test_damaged_table_fails_its_region_and_nothing_else(case, outcomes, clean, dagster):
    o = outcomes[case]
    e = o.expect
    region, table = e.region, e.table
    assert "Traceback" not in o.stderr, o.stderr[-3000:]

    # lcdb load: non-zero exit, the file, row/key and problem on stderr, one line each
    assert o.returncode == 1, o.stderr[-3000:]
    errors = _lines(o.stderr, "error: ")
    summary_line = f"error: region {region}: 1 of 4 catalog table(s) not loaded (3 loaded)"
    table_line = f"error: region {region}: catalog table {table} not loaded: {e.error_prefix()}"
    assert errors[0] == summary_line, errors
    assert len(errors) == 2 and errors[1].startswith(table_line) and e.problem in errors[1], errors
    problem = errors[1][len(f"error: region {region}: catalog table {table} not loaded: "):]

    # the Dagster UI: the region's run failed, its STEP_FAILURE says the same, and it was not retried
    runs = dagster.runs_of_process(o.pid)
    assert set(runs) == {"load_reference", *clean.regions}
    for other, run in runs.items():
        expected = DagsterRunStatus.FAILURE if other == region else DagsterRunStatus.SUCCESS
        assert run.status == expected, (other, run.status)
    run_id = runs[region].run_id
    (failure,) = _failure_records(dagster.instance, run_id)
    data = failure.dagster_event.step_failure_data
    assert data.user_failure_data.description.splitlines() == [line[len("error: "):] for line in errors]
    assert data.user_failure_data.metadata["failed tables"].value == {table: problem}
    assert data.user_failure_data.metadata["loaded tables"].value == 3
    assert _retries(dagster.instance, run_id) == 0, "bad input is not retried"
    logged = [entry.user_message for entry in dagster.instance.all_logs(run_id)
              if entry.dagster_event is None and entry.level == logging.ERROR]
    assert f"{table}: not loaded: {problem}" in logged

    # LightcurveDB: nothing of the damaged table; everything else exactly as a clean load
    got = snapshot(o.url)
    assert table not in got and observations_of(o.url, table) == 0
    assert count_rows_of_targets(o.url, target_names(clean.snapshot[table])) == dict.fromkeys(
        ("target", "data_set", "target_specific_time", "quality_flag_array"), 0)
    assert got == {t: s for t, s in clean.snapshot.items() if t != table}


def test_nan_position_skips_the_object_and_warns(outcomes, clean, dagster):
    """Decision: an object without a usable position is skipped (it cannot get a BJD); the rest of its table is
    fine and loads; the run succeeds, and the operator sees a warning naming the file and rows, on stderr, in
    the run's event log (WARNING) and in the materialization metadata."""
    o = outcomes["nan_position"]
    e = o.expect
    region, table = e.region, e.table
    assert o.returncode == 0, o.stderr[-3000:]
    warning = (f"{table}: 1 object(s) skipped, no valid position (RA/DEC NaN or infinite, or |DEC| > 90): "
               f"{e.path} row(s) {e.skipped_rows[0]}; their measurements are not loaded")
    assert f"warning: region {region}: {warning}" in o.stderr.splitlines()
    assert not _lines(o.stderr, "error: ")

    runs = dagster.runs_of_process(o.pid)
    assert all(run.status == DagsterRunStatus.SUCCESS for run in runs.values())
    run_id = runs[region].run_id
    warnings_logged = [entry.user_message for entry in dagster.instance.all_logs(run_id)
                       if entry.dagster_event is None and entry.level == logging.WARNING]
    assert warnings_logged == [warning]
    mats = {r.event_log_entry.dagster_event.asset_key.path[-1]: r.event_log_entry.asset_materialization
            for r in dagster.instance.get_records_for_run(
                run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records}
    assert mats["data_set"].metadata["objects skipped (no position)"].value == 1
    assert mats["data_set"].metadata["objects skipped (no position), .cpt rows"].value == {table: e.skipped_rows}

    # LightcurveDB: exactly the clean load minus that one object's rows
    objects = DVODatabase(clean.root).read_objects(table)
    row = e.skipped_rows[0]
    skipped = int(dvo_target_names(objects["cat_id"][row : row + 1], objects["obj_id"][row : row + 1])[0])
    expected = {t: {kind: {k: v for k, v in rows.items() if k[2] != skipped} for kind, rows in s.items()}
                for t, s in clean.snapshot.items()}
    # the skipped object had lightcurves in the clean load
    assert skipped in target_names(clean.snapshot[table])
    got = snapshot(o.url)
    assert got == expected
    assert count_rows_of_targets(o.url, {skipped})["data_set"] == 0


@pytest.mark.parametrize("case", list(REGION_CASES))
def test_region_with_nothing_to_load_is_a_clear_error(case, outcomes, dagster, clean):
    """`lcdb load --region s0730` (listed in SkyTable, no directory) / `n0730` (empty directory): refused
    with one line naming the directory and the tables SkyTable lists there; no run, no partition, no rows.
    A run of such a partition (e.g. one that once held tables, from the UI) fails with the same line."""
    o = outcomes[case]
    region = o.region
    assert o.returncode == 1
    listed = DVODatabase(o.root).skytable.tables_in(region)
    assert len(listed) == 4
    names = ", ".join(listed[:3]) + ", … (4 in all)"
    if case == "missing_region_directory":
        line = (f"region {region}: {o.root / region}: region directory does not exist; SkyTable lists 4 catalog "
                f"table(s) there ({names}): nothing to load")
    else:
        line = (f"region {region}: {o.root / region}: region directory holds none of the 4 catalog table(s) "
                f"SkyTable lists there ({names}): nothing to load")
    assert _lines(o.stderr, "error: ") == [f"error: {line}"], o.stderr[-3000:]
    assert "Traceback" not in o.stderr
    assert dagster.runs_of_process(o.pid) == {}
    assert region not in dagster.instance.get_dynamic_partitions("dvo_regions")
    assert snapshot(o.url) == {}

    # The same partition run through Dagster (as the UI or the schedule would): the same line, not retried.
    from lcdb_pipeline.defs.region import dvo_region
    from lcdb_pipeline.defs.resources import lcdb_resources

    dagster.instance.add_dynamic_partitions("dvo_regions", [region])
    try:
        with environment(LCDB_DATABASE_URL=o.url, LCDB_DVO_ROOT=str(o.root)):
            result = materialize([dvo_region], partition_key=region, instance=dagster.instance,
                                 resources=lcdb_resources(), raise_on_error=False)
    finally:
        dagster.instance.delete_dynamic_partition("dvo_regions", region)
    assert not result.success
    (failure,) = _failure_records(dagster.instance, result.run_id)
    assert failure.dagster_event.step_failure_data.user_failure_data.description == line
    assert _retries(dagster.instance, result.run_id) == 0
    assert snapshot(o.url) == {}


def _materialize_region(root, url, instance, region):
    from lcdb_pipeline.defs.reference import lightcurvedb_reference
    from lcdb_pipeline.defs.region import dvo_region
    from lcdb_pipeline.defs.resources import lcdb_resources

    instance.add_dynamic_partitions("dvo_regions", [region])
    with environment(LCDB_DATABASE_URL=url, LCDB_DVO_ROOT=str(root)):
        resources = lcdb_resources()
        assert materialize([lightcurvedb_reference], instance=instance, resources=resources).success
        return materialize([dvo_region], partition_key=region, instance=instance, resources=resources,
                           raise_on_error=False)


def test_table_listed_but_absent_is_a_warning_not_an_error(clean, fresh_db, dagster, tmp_path):
    """SkyTable lists every table of the sky; a table without files is normal (no data there yet): the region
    loads, a warning and the metadata name the absent tables."""
    root = tmp_path / "catdir"
    shutil.copytree(clean.root, root)
    gone = "s2230/0149.01"
    for ext in ("cpt", "cpm", "cps", "cpn"):
        os.remove(DVODatabase(root).table_path(gone, ext))
    url = fresh_db("absent")
    result = _materialize_region(root, url, dagster.instance, "s2230")
    assert result.success
    warnings_logged = [entry.user_message for entry in dagster.instance.all_logs(result.run_id)
                       if entry.dagster_event is None and entry.level == logging.WARNING]
    assert warnings_logged == [f"SkyTable lists 1 catalog table(s) in s2230 whose files are absent (nothing to load "
                               f"for them; rows loaded from them earlier are kept): {gone}"]
    mat = [e.materialization for e in result.get_asset_materialization_events()
           if e.materialization.asset_key.path[-1] == "data_set"][0]
    assert mat.metadata["catalog tables absent"].value == [gone]
    assert snapshot(url) == {t: s for t, s in clean.snapshot.items() if t.startswith("s2230/") and t != gone}


def test_table_whose_cpt_is_missing_but_cpm_is_there_is_an_error(clean, fresh_db, dagster, tmp_path):
    """Half a table on disk (copy or deletion interrupted) is damage, not absence: the run fails naming it."""
    root = tmp_path / "catdir"
    shutil.copytree(clean.root, root)
    half = "s2230/0149.01"
    cpt = DVODatabase(root).table_path(half)
    os.remove(cpt)
    url = fresh_db("half")
    result = _materialize_region(root, url, dagster.instance, "s2230")
    assert not result.success
    (failure,) = _failure_records(dagster.instance, result.run_id)
    assert failure.dagster_event.step_failure_data.user_failure_data.description.splitlines() == [
        "region s2230: 1 of 4 catalog table(s) not loaded (3 loaded)",
        f"region s2230: catalog table {half} not loaded: {cpt}: {half}: missing, while 0149.01.cpm, 0149.01.cps, "
        "0149.01.cpn of the same catalog table exist (half-copied or half-deleted table?)"]
    assert snapshot(url) == {t: s for t, s in clean.snapshot.items() if t.startswith("s2230/") and t != half}


def test_unknown_image_id_is_a_warning_in_the_run(clean, fresh_db, dagster, tmp_path):
    """The reader's DVOWarning (an IMAGE_ID missing from Images.dat: exposure time unknown, BJD at the start of
    the exposure) reaches the run's event log as a WARNING naming the file and row."""
    root = tmp_path / "catdir"
    shutil.copytree(clean.root, root)
    table = "s2230/0149.00"
    cpm = DVODatabase(root).table_path(table, "cpm")
    patch_cell(cpm, "IMAGE_ID", 5, 999_999)
    result = _materialize_region(root, fresh_db("image_id"), dagster.instance, "s2230")
    assert result.success
    (warning,) = [entry.user_message for entry in dagster.instance.all_logs(result.run_id)
                  if entry.dagster_event is None and entry.level == logging.WARNING]
    assert warning.startswith(f"{table}: ") and "999999" in warning and cpm in warning and "row 5" in warning
