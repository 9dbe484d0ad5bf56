"""The reader on generated databases of both formats: what it reads back is what the generator wrote."""

from __future__ import annotations

import numpy as np
import pytest

from lcdb_pipeline.dvo import CatalogTable, DVODatabase, DVOError, MeasurementKind, PhotcodeType

OBJECT_DTYPES = {"ra": np.float64, "dec": np.float64, "obj_id": np.uint32, "cat_id": np.uint32,
                 "nmeasure": np.uint32, "off_measure": np.int64}
MEASURE_DTYPES = {"ave_ref": np.int64, "ra": np.float64, "dec": np.float64, "time": np.int64,
                  "time_msec": np.int64, "mag": np.float32, "mag_err": np.float32, "m_aper": np.float32,
                  "m_cal": np.float32, "airmass": np.float32, "photcode": np.uint16, "image_id": np.uint32,
                  "db_flags": np.uint32, "phot_flags": np.uint32}


def test_skytable_regions_tables_and_depths(synth):
    db, summary = synth
    sky = db.skytable
    bands = [f"{h}{d}" for h in "ns" for d in ("0000", "0730", "1500", "2230", "3000", "3730", "4500", "5230",
                                                 "6000", "6730", "7500", "8230")]
    assert sorted(sky.regions) == sorted(bands)  # every band listed, populated or not
    sky.check_hierarchy()
    assert sky.depth[0] == 0 and sky.name[0] == "fullsky" and sky.parent[0] == -1
    for name in sky.tables:
        assert sky.depth_of(name) == 4
        assert name.split("/")[0] in sky.regions
    assert set(summary.tables) < set(sky.tables)
    assert db.populated_regions() == summary.regions
    for region in summary.regions:
        assert db.tables_in_region(region) == sorted(t for t in summary.tables if t.startswith(region + "/"))
        assert db.missing_tables(region) == []
    # hierarchy nodes are not catalog tables
    assert "n0000" not in sky.tables and not any("/z" in t for t in sky.tables)


def test_special_regions(synth):
    db, summary = synth
    assert summary.missing_dir_region not in db.populated_regions()
    assert summary.empty_dir_region not in db.populated_regions()
    for region in (summary.missing_dir_region, summary.empty_dir_region):
        assert db.tables_in_region(region) == []
        assert db.missing_tables(region) == db.skytable.tables_in(region) != []
    assert db.tables_in_region("n8230") == [] and db.missing_tables("n8230") == []


def test_values_read_back_equal_what_was_written(synth, fmt):
    db, summary = synth
    for name in summary.tables:
        table = db.read_table(name)
        truth = summary.truth[name]
        assert isinstance(table, CatalogTable)
        assert table.format == {"ps1_v1": "PS1_V1", "ps1_v5_load": "PS1_V5_LOAD"}[fmt]
        assert table.name == name and table.region == name.split("/")[0]
        assert table.catid == truth["catid"] and table.sorted == truth["sorted"]
        assert table.nstars == len(table.objects) == truth["objects"]["ra"].size
        assert table.nmeas == len(table.measurements) == truth["measurements"]["mag"].size
        for key, dtype in OBJECT_DTYPES.items():
            assert table.objects[key].dtype == dtype, key
            np.testing.assert_array_equal(table.objects[key], truth["objects"][key], err_msg=f"{name} {key}")
        for key, dtype in MEASURE_DTYPES.items():
            got = table.measurements[key]
            assert got.dtype == dtype, key
            assert got.dtype.isnative
            if key in ("ra", "dec"):
                np.testing.assert_allclose(got, truth["measurements"][key], rtol=0, atol=1e-10, err_msg=key)
            else:
                np.testing.assert_array_equal(got, truth["measurements"][key], err_msg=f"{name} {key}")
        if fmt == "ps1_v5_load":
            np.testing.assert_array_equal(table.measurements.m_flat, truth["measurements"]["m_flat"])
        else:
            assert table.measurements.get("m_flat") is None and "m_flat" not in table.measurements


def test_positions(synth, fmt):
    db, summary = synth
    table = db.read_table(summary.tables[0])  # n0000 straddles RA 0/360
    ra, dec = table.measurements.ra, table.measurements.dec
    ok = np.isfinite(ra)
    assert ((ra[ok] >= 0) & (ra[ok] < 360)).all()
    # measurements sit within a fraction of an arcsec of their object (wrap-aware)
    ave = table.measurements.ave_ref
    dra = (ra - table.objects.ra[ave] + 180.0) % 360.0 - 180.0
    assert np.nanmax(np.abs(dra)) * 3600 < 1.0
    assert np.nanmax(np.abs(dec - table.objects.dec[ave])) * 3600 < 1.0
    if fmt == "ps1_v1":  # IPP convention: R = ave.R - D_RA / 3600 (no cos dec)
        expect = (table.objects.ra[ave] - table.measurements.d_ra.astype(np.float64) / 3600.0) % 360.0
        np.testing.assert_array_equal(ra, expect)


def test_unsigned_fields_and_bit31(synth):
    db, summary = synth
    flags_hi = 0
    all_ones = 0
    for name in summary.tables:
        m = db.read_table(name).measurements
        flags_hi += int(((m.phot_flags & 0x80000000) != 0).sum() + ((m.db_flags & 0x80000000) != 0).sum())
        all_ones += int((m.phot_flags == 0xFFFFFFFF).sum())
        assert m.phot_flags.max() <= 0xFFFFFFFF and m.phot_flags.min() >= 0
    assert flags_hi > 0 and all_ones > 0
    high = db.read_table(summary.high_obj_id_table)
    assert high.objects.obj_id.max() > 2**31 > high.objects.obj_id.min()  # OBJ_IDs cross 2**31
    np.testing.assert_array_equal(high.measurements.obj_id, high.objects.obj_id[high.measurements.ave_ref])


def test_unsorted_table_maps_through_ave_ref(synth):
    db, summary = synth
    table = db.read_table(summary.unsorted_table)
    assert table.sorted is False and table.header["SORTED"] is False
    truth = summary.truth[summary.unsorted_table]
    np.testing.assert_array_equal(table.measurements.ave_ref, truth["measurements"]["ave_ref"])
    # OFF_MEASURE is stale: trusting it would give the wrong measurements for some object
    off, n, ave = table.objects.off_measure, table.objects.nmeasure.astype(np.int64), table.measurements.ave_ref
    wrong = [i for i in range(table.nstars) if n[i] and (ave[off[i]:off[i] + n[i]] != i).any()]
    assert wrong
    order, offsets = table.measurements_by_object()
    for i in range(table.nstars):
        rows = order[offsets[i]:offsets[i + 1]]
        assert (ave[rows] == i).all() and rows.size == n[i]
    assert sum(not db.read_table(t).sorted for t in summary.tables) == 1


def test_content_properties(synth):
    db, summary = synth
    cameras, filters, times, kinds = set(), set(), [], set()
    unmeasured = duplicates = nan_mags = only_excluded = 0
    for name in summary.tables:
        table = db.read_table(name)
        m = table.measurements
        all_rows = db.photcodes.index_of(m.photcode)
        kind = db.photcodes.kind[all_rows]
        kinds |= set(kind.tolist())
        epoch = kind == MeasurementKind.EPOCH
        with_epoch = np.zeros(len(table.objects), bool)
        with_epoch[m.ave_ref[epoch]] = True
        only_excluded += int((~with_epoch & (table.objects.nmeasure > 0)).sum())
        rows = all_rows[epoch]
        cameras |= set(db.photcodes.camera[rows])
        filters |= {(c, f) for c, f in zip(db.photcodes.camera[rows], db.photcodes.filter[rows])}
        times.append(m.time[epoch])
        unmeasured += int((table.objects.nmeasure == 0).sum())
        nan_mags += int(np.isnan(m.mag[epoch]).sum())
        # duplicates: one object, one exposure (time), two chips, different MAG_ERR
        key = np.stack([m.ave_ref[epoch], m.time[epoch], m.time_msec[epoch]], axis=1)
        _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        dup_rows = np.flatnonzero(counts[inv.ravel()] > 1)
        for r in dup_rows[:50]:
            group = np.flatnonzero((inv.ravel() == inv.ravel()[r]))
            assert len(set(m.photcode[epoch][group])) == len(group)  # different chips
            err = m.mag_err[epoch][group]
            assert np.isnan(err).any() or len(set(err.tolist())) == len(group)
        duplicates += dup_rows.size
        assert (db.photcodes.type[rows] == PhotcodeType.DEP).all()
    assert cameras == {"GPC1", "MEGACAM"}
    assert {f for c, f in filters if c == "GPC1"} == set("grizy")
    assert len({f for c, f in filters if c == "MEGACAM"}) == 5
    t = np.concatenate(times)
    assert t.min() >= 1262304000 and t.max() < 1609459200  # 2010 … 2020
    assert unmeasured > 0 and duplicates > 0 and nan_mags > 0
    # the rows of a real .cpm that are not epochs, and objects that have only such rows
    assert kinds == {MeasurementKind.EPOCH, MeasurementKind.REFERENCE, MeasurementKind.STACK,
                     MeasurementKind.FORCED}
    assert only_excluded > 0


def test_images(synth):
    db, summary = synth
    im = db.images
    assert im.zero_pt == 25.0 and len(im) == summary.images
    assert im.format == summary.format
    np.testing.assert_array_equal(im.image_id, np.arange(1, len(im) + 1))
    table = db.read_table(summary.tables[0])
    m = table.measurements
    chip = m.image_id > 0  # stack, forced and reference rows have no chip image (IMAGE_ID 0)
    assert chip.any() and not chip.all()
    match = im.lookup(m.image_id[chip], path=table.paths["cpm"])
    assert match.found.all()
    np.testing.assert_array_equal(match.photcode, m.photcode[chip])  # an image's photcode is its chip's
    np.testing.assert_array_equal(match.tzero, m.time[chip])
    exptime = summary.truth[table.name]["measurements"]["exptime"][chip]
    np.testing.assert_array_equal(im.exptime_of(m.image_id[chip]), exptime)
    np.testing.assert_allclose(match.exptime, exptime)
    assert all(n.startswith(("GPC1.", "MEGACAM.")) for n in im.name[:20])


def test_magnitudes_calibrate_with_photcode_constants(synth, fmt):
    """MAG − ZERO_PT + K (AIRMASS − 1) + 0.001 C_LAM − M_CAL (− M_FLAT) recovers the generator's .cps mean."""
    db, summary = synth
    table = db.read_table(summary.tables[1])
    m, pc = table.measurements, db.photcodes
    rows = pc.index_of(m.photcode)
    cal = (m.mag - db.images.zero_pt + pc.k[rows].astype(np.float64) * (m.airmass - 1.0)
           + 0.001 * pc.c_lam[rows] - m.m_cal)
    if fmt == "ps1_v5_load":
        cal -= np.where(np.isfinite(m.m_flat), m.m_flat, 0.0)
    sec = db.photcodes.equiv_row[rows]
    sec_index = {int(r): i for i, r in enumerate(np.flatnonzero(pc.type == PhotcodeType.SEC))}
    col = np.array([sec_index.get(int(r), 0) for r in sec])  # MEGACAM.u has EQUIV 0: no SEC filter
    mean = table.secfilt.mag[m.ave_ref, col]
    ok = (sec >= 0) & np.isfinite(cal) & np.isfinite(mean) & (table.secfilt.nused[m.ave_ref, col] >= 3)
    assert ok.sum() > 1000
    # calibrated magnitudes scatter around the per-filter mean by their errors (and variability)
    assert np.nanmedian(np.abs(cal[ok] - mean[ok])) < 0.1


def test_secfilt_shape(synth):
    db, summary = synth
    table = db.read_table(summary.tables[0])
    before = table.nbytes
    sf = table.secfilt
    nsec = int((db.photcodes.type == PhotcodeType.SEC).sum())
    assert table.nsecfilt == nsec == 9
    assert sf.mag.shape == (table.nstars, nsec) and sf.ncode.shape == (table.nstars, nsec)
    assert table.nbytes > before
    # NCODE counts every measurement of the object in that SEC filter
    assert int(sf.ncode.sum()) == int((db.photcodes.equiv_row[db.photcodes.index_of(table.measurements.photcode)]
                                       >= 0).sum())


def test_nan_position_object_is_reported(synth, fmt):
    db, summary = synth
    name, row = summary.nan_position
    table = db.read_table(name)
    assert table.bad_position_rows.tolist() == [row]
    assert np.isnan(table.objects.ra[row]) and table.objects.nmeasure[row] > 0
    if fmt == "ps1_v1":  # positions of its measurements derive from the object's: NaN too
        assert np.isnan(table.measurements.ra[table.measurements.ave_ref == row]).all()
    other = db.read_table(summary.tables[-1])
    assert other.bad_position_rows.size == 0


def test_nbytes_and_paths(synth):
    db, summary = synth
    import os

    table = db.read_table(summary.tables[2])
    assert table.paths["cpt"] == db.table_path(table.name)
    assert table.paths["cpm"] == db.table_path(table.name, "cpm")
    assert table.paths["cps"].endswith(".cps") and table.paths["cpn"].endswith(".cpn")
    size = os.path.getsize(table.paths["cpt"]) + os.path.getsize(table.paths["cpm"])
    assert size - 2 * 2880 < table.nbytes <= size  # headers + data, not the block padding


def test_read_objects_only(synth):
    db, summary = synth
    objects = db.read_objects(summary.tables[0])
    np.testing.assert_array_equal(objects.nmeasure, summary.truth[summary.tables[0]]["objects"]["nmeasure"])
    assert objects.ra.dtype == np.float64 and len(objects) == objects.ra.size


def test_read_table_not_in_skytable(synth):
    db, _ = synth
    with pytest.raises(DVOError, match="not a catalog table") as err:
        db.read_table("n0000/9999.99")
    assert "SkyTable.fits" in str(err.value)


def test_photcode_check_is_optional(synth):
    db, summary = synth
    a = db.read_table(summary.tables[0], check_photcodes=False)
    b = db.read_table(summary.tables[0])
    np.testing.assert_array_equal(a.measurements.photcode, b.measurements.photcode)


def test_database_root_must_exist(tmp_path):
    with pytest.raises(DVOError, match="not a directory"):
        DVODatabase(tmp_path / "nope")
    db = DVODatabase(tmp_path)
    with pytest.raises(DVOError, match="SkyTable.fits") as err:
        db.skytable
    assert str(tmp_path) in str(err.value)
