"""Layouts and reference data that lie: a column stored with another TFORM of the same width, a junk TFORM
suffix, BITPIX 16 in a BINTABLE, and an Images.dat EXPTIME that is not an exposure time. Each damaged file is
loaded with a real `lcdb load` (subprocess, real Dagster runs in PostgreSQL), all cases at once, as in
test_bad_input.py: the exit code, the stderr line naming the file, the column (or row and IMAGE_ID) and both
forms, zero rows for what is damaged, everything else row for row as the clean load."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from dagster import DagsterRunStatus

from faults.test_bad_input import Expect, Outcome, _failure_records, _lines, _retries
from lcdb_pipeline.dvo import DVODatabase
from support.fits import patch_card, patch_cell, read_column
from support.processes import start_lcdb
from support.snapshot import count_rows_of_targets, observations_of, snapshot, target_names

pytestmark = pytest.mark.slow


def _tform_of(path: str, column: str) -> tuple[str, str]:
    """(TFORMn keyword, its value) of `column` in HDU 1."""
    from lcdb_pipeline.dvo.fits import BinTable

    t = BinTable(path)
    i = [c.name for c in t.columns].index(column) + 1
    return f"TFORM{i}", t.columns[i - 1].tform


def _mag_stored_as_j(db: DVODatabase) -> Expect:
    """MAG declared J (4 bytes, like E): read anyway it would give magnitudes of ~1e9."""
    table = "n1500/0075.02"
    cpm = db.table_path(table, "cpm")
    key, _ = _tform_of(cpm, "MAG")
    patch_card(cpm, 1, key, "'J       '")
    return Expect(table, cpm, key="MAG", problem=f"{key} = 'J', but the DVO_MEASURE_PS1_V1 layout stores MAG as 'E'")


def _junk_tform_suffix(db: DVODatabase) -> Expect:
    table = "s2230/0149.01"
    cpt = db.table_path(table)
    key, _ = _tform_of(cpt, "RA_ERR")
    patch_card(cpt, 1, key, "'E9      '")
    return Expect(table, cpt, key="RA_ERR",
                  problem=f"{key} = 'E9', but the DVO_AVERAGE_PS1_V1 layout stores RA_ERR as 'E'")


def _bitpix_16(db: DVODatabase) -> Expect:
    table = "n0000/0001.02"
    cpm = db.table_path(table, "cpm")
    patch_card(cpm, 1, "BITPIX", "16")
    return Expect(table, cpm, key="BITPIX",
                  problem="BITPIX = 16 in the DVO_MEASURE_PS1_V1 header, but a DVO binary table has BITPIX = 8")


LAYOUT_CASES = {"mag_stored_as_J": _mag_stored_as_j, "junk_tform_suffix": _junk_tform_suffix,
                "bitpix_16_in_bintable": _bitpix_16}
EXPTIME_CASES = {"exptime_nan": np.nan, "exptime_negative": -43.0}


def _bad_exptime(root: Path, value: float) -> tuple[str, int, int]:
    images = str(root / "Images.dat")
    row = 7
    patch_cell(images, "EXPTIME", row, value)
    return images, row, int(read_column(images, "IMAGE_ID")[row])


@pytest.fixture(scope="module")
def outcomes(clean, fresh_db, dagster, tmp_path_factory) -> dict[str, Outcome]:
    """Every case's `lcdb load` of the whole DVO database, started at once."""
    started = {}
    for name in (*LAYOUT_CASES, *EXPTIME_CASES):
        work = tmp_path_factory.mktemp(name)
        root = work / "catdir"
        shutil.copytree(clean.root, root)
        if name in LAYOUT_CASES:
            expect = LAYOUT_CASES[name](DVODatabase(root))
        else:
            path, row, image_id = _bad_exptime(root, EXPTIME_CASES[name])
            expect = Expect("", path, row=row, key="EXPTIME", problem=f"IMAGE_ID {image_id} has EXPTIME = ")
        url = fresh_db(name)
        proc = start_lcdb("load", str(root), env=dagster.env(url, work / "home"))
        started[name] = (proc, root, url, expect)
    out = {}
    for name, (proc, root, url, expect) in started.items():
        stdout, stderr = proc.communicate(timeout=600)
        out[name] = Outcome(root, url, proc.pid, proc.returncode, stdout, stderr, expect)
    return out


@pytest.mark.parametrize("case", list(LAYOUT_CASES))
def test_column_not_as_its_layout_is_refused(case, outcomes, clean, dagster):
    o = outcomes[case]
    e = o.expect
    region, table = e.region, e.table
    assert "Traceback" not in o.stderr, o.stderr[-3000:]
    assert o.returncode == 1, o.stderr[-3000:]
    errors = _lines(o.stderr, "error: ")
    table_line = f"error: region {region}: catalog table {table} not loaded: {e.error_prefix()}{e.problem}"
    assert errors == [f"error: region {region}: 1 of 4 catalog table(s) not loaded (3 loaded)", table_line], errors

    runs = dagster.runs_of_process(o.pid)
    assert {r: run.status for r, run in runs.items()} == {
        r: DagsterRunStatus.FAILURE if r == region else DagsterRunStatus.SUCCESS for r in ("load_reference",
                                                                                           *clean.regions)}
    assert _retries(dagster.instance, runs[region].run_id) == 0, "bad input is not retried"

    got = snapshot(o.url)
    assert table not in got and observations_of(o.url, table) == 0
    assert count_rows_of_targets(o.url, target_names(clean.snapshot[table])) == dict.fromkeys(
        ("target", "data_set", "target_specific_time", "quality_flag_array"), 0)
    assert got == {t: s for t, s in clean.snapshot.items() if t != table}
    # the regions that loaded say what they set aside: the rows of a .cpm that are not epochs, per kind
    loaded = [line for line in o.stdout.splitlines() if line.startswith("  ") and " not epochs: " in line]
    assert len(loaded) == len(clean.regions) - 1, o.stdout
    assert all("reference/secondary" in line and "stack (SkyChip)" in line and "forced (ForcedWarp)" in line
               for line in loaded), loaded


@pytest.mark.parametrize("case", list(EXPTIME_CASES))
def test_bad_images_exptime_is_one_reference_data_error(case, outcomes, clean, dagster):
    """Every BJD of that image would move: the whole load stops at the reference data, with one line naming
    Images.dat, the row and the IMAGE_ID; no region runs, nothing is loaded."""
    o = outcomes[case]
    e = o.expect
    assert "Traceback" not in o.stderr, o.stderr[-3000:]
    assert o.returncode == 1, o.stderr[-3000:]
    errors = _lines(o.stderr, "error: ")
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: reference data: {e.error_prefix()}{e.problem}"), errors
    assert "not an exposure time (finite, > 0 and ≤ 43200 s)" in errors[0]
    runs = dagster.runs_of_process(o.pid)
    assert set(runs) == {"load_reference"} and runs["load_reference"].status == DagsterRunStatus.FAILURE
    (failure,) = _failure_records(dagster.instance, runs["load_reference"].run_id)
    assert failure.dagster_event.step_failure_data.user_failure_data.description == errors[0][len("error: "):]
    assert snapshot(o.url) == {}
