"""The one table of layouts against the real IPP headers; the ELIXIR format in MEF mode; header defaults
(SORTED, CATID); Images.dat exposure times."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from lcdb_pipeline.dvo import DVODatabase, DVOError
from lcdb_pipeline.dvo.fits import BinTable, padded
from lcdb_pipeline.dvo.formats import LAYOUTS, layout
from lcdb_pipeline.synth import generate
from support.fits import HEADERS, parse_header_dump, patch_card, patch_cell, read_column


def _dump_tables(path):
    """(EXTNAME, [(TTYPE, TFORM)]) of every table HDU of a real header dump."""
    for hdu in parse_header_dump(path)[1:]:
        cols = hdu["columns"]
        yield hdu["values"]["EXTNAME"], [(cols[i]["TTYPE"], cols[i]["TFORM"]) for i in sorted(cols)], hdu["values"]


@pytest.mark.parametrize("dump", sorted(p.relative_to(HEADERS).as_posix() for p in HEADERS.rglob("*.hdr")))
def test_every_real_header_follows_its_layout(dump):
    """The table is transcribed from these files: each real table is exactly one of its EXTNAME's variants,
    column for column (name, TFORM, repeat), and its row size is NAXIS1."""
    for extname, columns, values in _dump_tables(HEADERS / dump):
        variants = [[(c.name, c.tform) for c in lay.columns] for lay in LAYOUTS[extname]]
        assert columns in variants, (dump, extname)
        assert layout(extname).row_bytes == int(values["NAXIS1"])


def test_layout_sizes_follow_the_ipp_definitions():
    """SIZE of the libautocode .d files the layouts without a real header come from."""
    sizes = {"DVO_IMAGE_PS1_V1": 344, "DVO_SECFILT_PS1_V5_LOAD": 8, "DVO_PHOTCODE_PS1_V5_LOAD": 112,
             "DVO_IMAGE_ELIXIR": 240, "DVO_MEASURE_ELIXIR": 32, "DVO_AVERAGE_ELIXIR": 32}
    for extname, size in sizes.items():
        assert all(lay.row_bytes == size for lay in LAYOUTS[extname]), extname


@pytest.fixture(scope="module")
def elixir(tmp_path_factory):
    root = tmp_path_factory.mktemp("elixir") / "catdir"
    return root, generate(root, scale="small", seed=13, fmt="elixir", keep_truth=True)


def test_elixir_mef_reads_back_what_was_written(elixir):
    """MEF mode (no MEASURE keyword: the tables are HDUs 2–4 of the .cpt), integer millimags with NaN
    sentinels, 1/100-arcsec offsets, no OBJ_ID (rows are numbered), no CATID (the SkyTable INDEX)."""
    root, summary = elixir
    db = DVODatabase(root)
    assert not list(root.rglob("*.cpm")), "MEF: one file per catalog table"
    for name in summary.tables:
        table = db.read_table(name)
        truth = summary.truth[name]
        assert (table.format, table.mode) == ("ELIXIR", "MEF") and "MEASURE" not in table.header
        assert "CATID" not in table.header and table.catid == db.skytable.row_of(name) == truth["catid"]
        assert table.sorted == truth["sorted"] and not table.has_image_ids
        for key in ("ra", "dec", "obj_id", "cat_id", "nmeasure", "off_measure"):
            np.testing.assert_array_equal(table.objects[key], truth["objects"][key], err_msg=key)
        for key in ("mag", "mag_err", "m_cal", "m_time", "airmass", "time", "time_msec", "photcode", "ave_ref",
                    "db_flags", "phot_flags", "m_aper"):
            np.testing.assert_array_equal(table.measurements[key], truth["measurements"][key], err_msg=key)
        np.testing.assert_allclose(table.measurements["ra"], truth["measurements"]["ra"], rtol=0, atol=1e-10)
        assert table.measurements.get("mag_cal_err") is None and table.measurements.get("m_aper_err") is None
        assert np.isnan(table.measurements["mag"]).any()  # NAN_S_SHORT came back as NaN
        assert table.secfilt["mag"].shape == (table.nstars, table.nsecfilt)
    assert db.images.format == "ELIXIR" and (db.images.image_id == np.arange(1, len(db.images) + 1)).all()


def test_mef_catalog_missing_its_measure_hdu(elixir, tmp_path):
    root, summary = elixir
    copy = tmp_path / "catdir"
    shutil.copytree(root, copy)
    db = DVODatabase(copy)
    cpt = db.table_path(summary.tables[0])
    average = BinTable(cpt)
    with open(cpt, "r+b") as f:  # cut the file after the average table: HDUs 2-4 are gone
        f.truncate(average.data_offset + padded(average.data_bytes))
    with pytest.raises(DVOError) as excinfo:
        db.read_table(summary.tables[0])
    assert excinfo.value.path == cpt and "HDU 2" in str(excinfo.value)


def test_a_cpt_without_sorted_is_sorted_and_still_cross_checked(generated, tmp_path):
    """The IPP takes a missing SORTED as sorted (dvo_catalog.c); OFF_MEASURE/AVE_REF still guard the table."""
    root, summary = generated["ps1_v1"]
    db = DVODatabase(root)
    table = db.read_table(summary.no_sorted_table)
    assert "SORTED" not in table.header and table.sorted
    copy = tmp_path / "catdir"
    shutil.copytree(root, copy)
    cpt = DVODatabase(copy).table_path(summary.no_sorted_table)
    row = int(np.flatnonzero(table.objects["nmeasure"] >= 3)[4])
    patch_cell(cpt, "OFF_MEASURE", row, int(read_column(cpt, "OFF_MEASURE")[row]) + 1)
    with pytest.raises(DVOError) as excinfo:
        DVODatabase(copy).read_table(summary.no_sorted_table)
    assert (excinfo.value.path, excinfo.value.key) == (cpt, "OFF_MEASURE") and "SORTED = T" in str(excinfo.value)


@pytest.mark.parametrize("value,shown", [(np.nan, "nan"), (0.0, "0.0"), (-43.0, "-43.0"), (1e7, "10000000.0")])
def test_images_exptime_must_be_an_exposure_time(generated, tmp_path, value, shown):
    root, _ = generated["ps1_v5_load"]
    copy = tmp_path / "catdir"
    shutil.copytree(root, copy)
    images = str(copy / "Images.dat")
    patch_cell(images, "EXPTIME", 11, value)
    with pytest.raises(DVOError) as excinfo:
        DVODatabase(copy).images
    e = excinfo.value
    image_id = int(read_column(images, "IMAGE_ID")[11])
    assert (e.path, e.row, e.key) == (images, 11, "EXPTIME")
    assert f"IMAGE_ID {image_id} has EXPTIME = {shown} s" in e.problem


def test_layout_is_checked_before_reading(generated, tmp_path):
    """A TFORM of the same width but another type (I for a 2-byte… here J for E) is refused, naming both."""
    root, summary = generated["ps1_v5_load"]
    copy = tmp_path / "catdir"
    shutil.copytree(root, copy)
    db = DVODatabase(copy)
    cpm = db.table_path(summary.tables[0], "cpm")
    patch_card(cpm, 1, "TFORM4", "'J       '")  # MAG_ERR
    with pytest.raises(DVOError) as excinfo:
        db.read_table(summary.tables[0])
    assert str(excinfo.value) == (f"{cpm}: MAG_ERR: TFORM4 = 'J', but the DVO_MEASURE_PS1_V5_LOAD layout stores "
                                  f"MAG_ERR as 'E'")
    patch_card(cpm, 1, "TFORM4", "'1E      '")  # a repeat count of 1 is the same form
    assert len(db.read_table(summary.tables[0]).measurements) > 0
    patch_card(cpm, 1, "TTYPE4", "'MAGERR  '")
    with pytest.raises(DVOError, match="column 4 is named 'MAGERR', but the DVO_MEASURE_PS1_V5_LOAD layout has "
                                       "'MAG_ERR' there"):
        db.read_table(summary.tables[0])
