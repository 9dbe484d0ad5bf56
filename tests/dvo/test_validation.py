"""Every validation error, triggered by a damaged file; the message names the file, the row or key, the problem."""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pytest

from lcdb_pipeline.dvo import DVODatabase, DVOError, DVOWarning
from support.fits import patch_card, patch_cell, read_cell


def _error(fn, *args, **kw) -> DVOError:
    with pytest.raises(DVOError) as info:
        fn(*args, **kw)
    return info.value


def test_error_str_names_file_row_key_problem():
    e = DVOError("/x/n0000/0001.00.cpm", "AVE_REF 9 is beyond", row=4, key="AVE_REF")
    assert str(e) == "/x/n0000/0001.00.cpm: row 4, AVE_REF: AVE_REF 9 is beyond"
    assert (e.path, e.problem, e.row, e.key) == ("/x/n0000/0001.00.cpm", "AVE_REF 9 is beyond", 4, "AVE_REF")
    assert str(DVOError("/f", "bad")) == "/f: bad"
    assert str(DVOError("/f", "bad", key="NSTARS")) == "/f: NSTARS: bad"
    again = pickle.loads(pickle.dumps(e))
    assert str(again) == str(e) and again.row == 4


def test_truncated_cpm(damaged):
    root, db, summary = damaged
    name = summary.tables[0]
    cpm = db.table_path(name, "cpm")
    from lcdb_pipeline.dvo.fits import BinTable

    t = BinTable(cpm)
    n = summary.truth[name]["measurements"]["mag"].size
    assert t.nrows == n and t.row_bytes == (152 if summary.format == "PS1_V1" else 240)
    with open(cpm, "r+b") as f:  # drop the padding and a bit more than 3 rows
        f.truncate(t.data_offset + (n - 3) * t.row_bytes - 10)
    e = _error(db.read_table, name)
    assert e.path == cpm and cpm in str(e)
    assert "truncated" in e.problem and "bytes are missing" in e.problem
    assert e.row == n - 4 and f"row {n - 4}" in str(e)
    assert f"{3 * t.row_bytes + 10} bytes are missing" in e.problem


def test_truncated_header(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    with open(cpt, "r+b") as f:
        f.truncate(2880 + 400)
    e = _error(db.read_table, summary.tables[0])
    assert e.path == cpt and "no END card" in e.problem


def test_random_bytes_instead_of_a_cpt(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    rng = np.random.default_rng(1)
    with open(cpt, "wb") as f:
        f.write(rng.integers(0, 256, 40000, dtype=np.uint8).tobytes())
    e = _error(db.read_table, summary.tables[0])
    assert e.path == cpt and "not a FITS file" in str(e)


def test_random_bytes_in_a_cpt_header(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    rng = np.random.default_rng(2)
    with open(cpt, "r+b") as f:
        f.seek(2880 + 80 * 3)  # inside the extension header
        f.write(rng.integers(128, 256, 500, dtype=np.uint8).tobytes())
    e = _error(db.read_table, summary.tables[0])
    assert e.path == cpt and "non-ASCII" in e.problem


def test_empty_file(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    open(cpt, "wb").close()
    e = _error(db.read_table, summary.tables[0])
    assert e.path == cpt and "empty" in e.problem


def test_missing_cpm(damaged):
    root, db, summary = damaged
    cpm = db.table_path(summary.tables[0], "cpm")
    os.remove(cpm)
    e = _error(db.read_table, summary.tables[0])
    assert e.path == cpm and e.key == "MEASURE" and "missing sibling file" in str(e)


def test_missing_cps_on_access(damaged):
    root, db, summary = damaged
    os.remove(db.table_path(summary.tables[0], "cps"))
    table = db.read_table(summary.tables[0])  # the .cps is only needed for .secfilt
    e = _error(lambda: table.secfilt)
    assert e.path.endswith(".cps") and e.key == "SECFILT"


def test_nmeasure_inconsistent(damaged):
    root, db, summary = damaged
    name = summary.tables[2]
    cpt = db.table_path(name)
    nmeasure = summary.truth[name]["objects"]["nmeasure"]
    row = int(np.flatnonzero(nmeasure > 2)[3])
    patch_cell(cpt, "NMEASURE", row, int(nmeasure[row]) - 1)
    e = _error(db.read_table, name)
    assert e.path == cpt and e.row == row and e.key == "NMEASURE"
    assert f"row {row}, NMEASURE" in str(e)


def test_off_measure_inconsistent(damaged):
    root, db, summary = damaged
    name = summary.tables[2]  # a sorted table
    assert summary.truth[name]["sorted"]
    cpt = db.table_path(name)
    objects = summary.truth[name]["objects"]
    row = int(np.flatnonzero(objects["nmeasure"] > 2)[5])
    patch_cell(cpt, "OFF_MEASURE", row, int(objects["off_measure"][row]) + 1)
    e = _error(db.read_table, name)
    assert e.path == cpt and e.row == row and e.key == "OFF_MEASURE"
    patch_cell(cpt, "OFF_MEASURE", row, 10**9)
    e = _error(db.read_table, name)
    assert e.row == row and "outside" in e.problem


def test_ave_ref_out_of_range(damaged):
    root, db, summary = damaged
    for name in (summary.tables[2], summary.unsorted_table):
        cpm = db.table_path(name, "cpm")
        nstars = summary.truth[name]["objects"]["ra"].size
        patch_cell(cpm, "AVE_REF", 17, nstars + 5)
        e = _error(db.read_table, name)
        assert e.path == cpm and e.row == 17 and e.key == "AVE_REF"
        assert f"AVE_REF {nstars + 5}" in e.problem
        patch_cell(cpm, "AVE_REF", 17, -1)  # 0xFFFFFFFF unsigned: out of range too
        assert _error(db.read_table, name).row == 17


def test_unsorted_ave_ref_changed_breaks_counts(damaged):
    root, db, summary = damaged
    name = summary.unsorted_table
    cpm = db.table_path(name, "cpm")
    ave = summary.truth[name]["measurements"]["ave_ref"]
    old = int(ave[30])
    patch_cell(cpm, "AVE_REF", 30, (old + 1) % summary.truth[name]["objects"]["ra"].size)
    e = _error(db.read_table, name)
    assert e.key == "NMEASURE" and e.row in (old, (old + 1) % summary.truth[name]["objects"]["ra"].size)


def test_photcode_missing_from_photcodes(damaged):
    root, db, summary = damaged
    name = summary.tables[0]
    cpm = db.table_path(name, "cpm")
    assert 65000 not in db.photcodes
    patch_cell(cpm, "PHOTCODE", 42, 65000)
    e = _error(db.read_table, name)
    assert e.path == cpm and e.row == 42 and e.key == "PHOTCODE" and "65000" in e.problem
    assert "Photcodes.dat" in e.problem
    table = db.read_table(name, check_photcodes=False)  # reading alone does not need Photcodes
    e = _error(db.photcodes.index_of, table.measurements.photcode, path=table.paths["cpm"])
    assert e.row == 42 and e.path == cpm


def test_image_id_missing_is_a_warning(damaged):
    root, db, summary = damaged
    name = summary.tables[0]
    cpm = db.table_path(name, "cpm")
    ids = db.read_table(name).measurements.image_id
    chip_rows = np.flatnonzero(ids > 0)  # rows with a chip image
    row = int(chip_rows[5])
    patch_cell(cpm, "IMAGE_ID", row, 999999)
    ids = db.read_table(name).measurements.image_id[chip_rows]  # not an error
    with pytest.warns(DVOWarning, match="999999") as rec:
        exptime = db.images.exptime_of(ids, path=cpm)
    assert cpm in str(rec[0].message) and "row 5" in str(rec[0].message)
    assert np.isnan(exptime[5]) and np.isfinite(np.delete(exptime, 5)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        db.images.exptime_of(np.delete(ids, 5))  # all known: no warning


def test_skytable_table_whose_files_are_absent(synth):
    db, summary = synth
    region = summary.missing_dir_region
    listed = db.skytable.tables_in(region)
    assert listed and db.tables_in_region(region) == [] and db.missing_tables(region) == listed
    e = _error(db.read_table, listed[0])
    assert e.path == db.table_path(listed[0]) and "missing" in e.problem and listed[0] in str(e)


def test_one_table_removed_from_a_populated_region(damaged):
    root, db, summary = damaged
    name = summary.tables[1]
    for ext in ("cpt", "cpm", "cps", "cpn"):
        os.remove(db.table_path(name, ext))
    region = name.split("/")[0]
    assert name not in db.tables_in_region(region) and db.missing_tables(region) == [name]
    assert region in db.populated_regions()


def test_nan_and_out_of_range_positions(damaged):
    root, db, summary = damaged
    name = summary.tables[3]
    patch_cell(db.table_path(name), "DEC", 7, 95.0)
    patch_cell(db.table_path(name), "RA", 9, np.nan)
    table = db.read_table(name)  # kept, not an error: the caller skips and reports them
    assert table.bad_position_rows.tolist() == [7, 9]


@pytest.mark.parametrize("target,key", [("cpt", "NSTARS"), ("cpt", "NMEAS")])
def test_header_counts_checked(damaged, target, key):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    patch_card(cpt, 0, key, "12345")
    e = _error(db.read_table, summary.tables[0])
    assert e.key == key and e.path == cpt and "12345" in e.problem


def test_sorted_keyword_must_be_logical(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    patch_card(cpt, 0, "SORTED", "'yes'")
    e = _error(db.read_table, summary.tables[0])
    assert e.key == "SORTED" and e.path == cpt


def test_unknown_extname_catalog(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    patch_card(cpt, 1, "EXTNAME", "'DVO_AVERAGE_PS1_V9'")
    e = _error(db.read_table, summary.tables[0])
    assert e.path == cpt and e.key == "EXTNAME" and "DVO_AVERAGE_PS1_V9" in str(e)
    cpm = db.table_path(summary.tables[1], "cpm")
    patch_card(cpm, 1, "EXTNAME", "'DVO_MEASURE_ELIXIR'")
    e = _error(db.read_table, summary.tables[1])
    assert e.path == cpm and "DVO_MEASURE_ELIXIR" in str(e)


@pytest.mark.parametrize("filename,attr", [("Photcodes.dat", "photcodes"), ("Images.dat", "images"),
                                           ("SkyTable.fits", "skytable")])
def test_unknown_extname_top_level(damaged, filename, attr):
    root, _, _ = damaged
    path = str(root / filename)
    patch_card(path, 1, "EXTNAME", "'SOMETHING_ELSE'")
    e = _error(getattr, DVODatabase(root), attr)
    assert e.path == path and e.key == "EXTNAME" and "SOMETHING_ELSE" in str(e)


def test_measure_format_must_match_average(generated, tmp_path):
    """A PS1_V5_LOAD .cpm next to a PS1_V1 .cpt is refused."""
    import shutil

    v1_root, v1 = generated["ps1_v1"]
    v5_root, _ = generated["ps1_v5_load"]
    root = tmp_path / "mixed"
    shutil.copytree(v1_root, root)
    name = v1.tables[0]
    db = DVODatabase(root)
    shutil.copyfile(DVODatabase(v5_root).table_path(name, "cpm"), db.table_path(name, "cpm"))
    e = _error(db.read_table, name)
    assert e.key == "EXTNAME" and "DVO_MEASURE_PS1_V5_LOAD" in e.problem and "PS1_V1" in e.problem


def test_naxis1_must_match_tforms(damaged):
    root, db, summary = damaged
    cpt = db.table_path(summary.tables[0])
    patch_card(cpt, 1, "TFORM1", "'E'")  # RA was D (8 bytes)
    e = _error(db.read_table, summary.tables[0])
    assert e.key == "NAXIS1" and e.path == cpt


def test_read_cell_helper_roundtrip(damaged):
    root, db, summary = damaged
    cpm = db.table_path(summary.tables[0], "cpm")
    patch_cell(cpm, "PHOT_FLAGS", 3, np.uint32(0xFFFFFFFF).view(np.int32))
    assert read_cell(cpm, "PHOT_FLAGS", 3) == -1
    assert db.read_table(summary.tables[0]).measurements.phot_flags[3] == 0xFFFFFFFF
