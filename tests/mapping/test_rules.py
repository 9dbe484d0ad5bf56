"""The mapping rules of docs/dvo.md, each on a synthetic database whose files are changed to trigger it:
epochs only, the duplicate rank, errors per processing group, exposure times, the time scale."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from lcdb_pipeline.defs.resources import DEFAULT_OBSERVATORIES, ObservatoriesResource
from lcdb_pipeline.dvo import DVODatabase, DVOWarning, MeasurementKind
from lcdb_pipeline.mapping import PROCESSING_GROUPS, map_table, target_names
from lcdb_pipeline.mapping.table import exposure_times
from support.fits import patch_cell

SITES = ObservatoriesResource().sites()


@pytest.fixture
def copy(generated, tmp_path):
    """A private copy of the PS1_V5_LOAD database (it has M_APER_ERR and MAG_CAL_ERR): (root, summary)."""
    root, summary = generated["ps1_v5_load"]
    shutil.copytree(root, tmp_path / "catdir")
    return tmp_path / "catdir", summary


def _map(root, name, time_scale="utc"):
    db = DVODatabase(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DVOWarning)
        return db, db.read_table(name), map_table(db.read_table(name), db.photcodes, db.images, SITES, time_scale)


def _cell(mapping, target: int, cadence_ms: int):
    """(values per group, errors per group, bjd) of one target at one cadence."""
    for block in mapping.blocks:
        if target in block.target_names and cadence_ms in block.cadences_ms:
            col = int(np.searchsorted(block.cadences_ms, cadence_ms))
            for chunk in block.chunks():
                hit = np.flatnonzero(chunk.target_names == target)
                if hit.size:
                    i = int(hit[0])
                    return chunk.values[:, i, col], chunk.errors[:, i, col], chunk.bjd[i, col]
    raise KeyError((target, cadence_ms))


def _duplicate_pair(db, table):
    """Two epoch rows of one object at one cadence (overlapping chips), both with finite MAG and MAG_ERR."""
    m = table.measurements
    kind = db.photcodes.kind[db.photcodes.index_of(m["photcode"])]
    cadence = m["time"] * 1000 + m["time_msec"]
    ok = (kind == MeasurementKind.EPOCH) & np.isfinite(m["mag"]) & np.isfinite(m["mag_err"])
    rows = np.flatnonzero(ok)
    key = m["ave_ref"][rows] * 10**13 + cadence[rows]
    order = np.argsort(key, kind="stable")
    same = np.flatnonzero(key[order][1:] == key[order][:-1])
    a, b = sorted((int(rows[order][same[0]]), int(rows[order][same[0] + 1])))
    name = int(target_names(table.objects["cat_id"][m["ave_ref"][a]], table.objects["obj_id"][m["ave_ref"][a]]))
    return a, b, name, int(cadence[a])


def test_non_epoch_rows_are_excluded_and_counted(copy):
    root, summary = copy
    db, table, mapping = _map(root, summary.tables[0])
    kind = db.photcodes.kind[db.photcodes.index_of(table.measurements["photcode"])]
    assert mapping.excluded["reference/secondary"] == int((kind == MeasurementKind.REFERENCE).sum()) > 0
    assert mapping.excluded["stack (SkyChip)"] == int((kind == MeasurementKind.STACK).sum()) > 0
    assert mapping.excluded["forced (ForcedWarp)"] == int((kind == MeasurementKind.FORCED).sum()) > 0
    assert sum(b.n_measurements + b.duplicates_dropped for b in mapping.blocks) == int(
        (kind == MeasurementKind.EPOCH).sum() - np.isin(table.measurements["ave_ref"][kind == 0],
                                                        table.bad_position_rows).sum())
    # objects whose only rows are excluded are not targets
    epoch_objects = set(table.measurements["ave_ref"][kind == MeasurementKind.EPOCH].tolist())
    only_excluded = set(table.measurements["ave_ref"].tolist()) - epoch_objects
    assert only_excluded
    names = target_names(table.objects["cat_id"], table.objects["obj_id"])
    assert not set(names[sorted(only_excluded)].tolist()) & set(mapping.target_names().tolist())


def test_duplicate_rank_prefers_finite_mag_and_mag_err(copy):
    root, summary = copy
    name = summary.tables[2]
    db = DVODatabase(root)
    a, b, target, cadence = _duplicate_pair(db, db.read_table(name))
    cpm = db.table_path(name, "cpm")
    mag = db.read_table(name).measurements["mag"]
    patch_cell(cpm, "MAG_ERR", a, 0.001)  # a would win on MAG_ERR …
    patch_cell(cpm, "MAG", a, np.nan)  # … but its MAG is NaN: b is kept
    patch_cell(cpm, "MAG_ERR", b, 0.5)
    values, errors, _ = _cell(_map(root, name)[2], target, cadence)
    assert values[0] == np.float32(mag[b]) and errors[0] == np.float32(0.5)


def test_duplicate_tie_goes_to_the_earliest_row(copy):
    root, summary = copy
    name = summary.tables[2]
    db = DVODatabase(root)
    a, b, target, cadence = _duplicate_pair(db, db.read_table(name))
    cpm = db.table_path(name, "cpm")
    for row in (a, b):
        patch_cell(cpm, "MAG_ERR", row, 0.02)
    mag = db.read_table(name).measurements["mag"]
    values, _, _ = _cell(_map(root, name)[2], target, cadence)
    assert values[0] == np.float32(mag[a]) != np.float32(mag[b])


def test_errors_per_processing_group(copy):
    """psf/instrumental MAG_ERR; psf/relphot hypot(MAG_ERR, MAG_CAL_ERR) (MAG_ERR where MAG_CAL_ERR is NaN);
    aperture/instrumental M_APER_ERR (PS1_V5_LOAD has it)."""
    root, summary = copy
    name = summary.tables[2]
    db = DVODatabase(root)
    a, b, target, cadence = _duplicate_pair(db, db.read_table(name))
    cpm = db.table_path(name, "cpm")
    patch_cell(cpm, "MAG_ERR", a, 0.03)
    patch_cell(cpm, "MAG_CAL_ERR", a, 0.04)
    patch_cell(cpm, "M_APER_ERR", a, 0.07)
    patch_cell(cpm, "MAG_ERR", b, 0.5)
    assert [g for g in PROCESSING_GROUPS] == [("psf", "instrumental"), ("psf", "relphot"), ("aperture", "instrumental")]
    _, errors, _ = _cell(_map(root, name)[2], target, cadence)
    e, c = np.float64(np.float32(0.03)), np.float64(np.float32(0.04))
    assert errors[0] == e and errors[1] == np.hypot(e, c) and errors[2] == np.float64(np.float32(0.07))
    patch_cell(cpm, "MAG_CAL_ERR", a, np.nan)
    _, errors, _ = _cell(_map(root, name)[2], target, cadence)
    assert errors[1] == e


def test_exptime_from_images_else_from_m_time(generated):
    """Rows whose IMAGE_ID Images.dat does not know take EXPTIME from M_TIME = 2.5·log10(EXPTIME), with a
    warning naming the file and the rows; the others from Images.dat."""
    root, summary = generated["ps1_v1"]
    db = DVODatabase(root)
    table = db.read_table(summary.unknown_image_table)
    m = table.measurements
    rows = list(summary.unknown_image_rows)
    assert len(rows) == 5
    keep = np.ones(len(m), dtype=bool)
    with pytest.warns(DVOWarning) as caught:
        exptime = exposure_times(table, db.images, keep)
    message = str(caught[0].message)
    assert table.paths["cpm"] in message and f"first at row {rows[0]}" in message and "M_TIME" in message
    np.testing.assert_allclose(exptime[rows], 10 ** (m["m_time"][rows].astype(np.float64) / 2.5), rtol=1e-12)
    truth = summary.truth[table.name]["measurements"]["exptime"]
    np.testing.assert_allclose(exptime[rows], truth[rows], rtol=1e-6)  # M_TIME is float32
    known = np.flatnonzero(m["image_id"] > 0)
    known = known[~np.isin(known, rows)]
    np.testing.assert_array_equal(exptime[known], db.images.exptime_of(m["image_id"][known]))


@pytest.mark.parametrize("scale", ["utc", "tai"])
def test_bjd_follows_the_dvo_time_scale(generated, scale):
    """TIME read as UTC or as TAI: the BJD equals astropy's light_travel_time for that scale, and the two
    differ by TAI − UTC (37 s since 2017)."""
    root, summary = generated["ps1_v1"]
    name = summary.tables[3]
    _, table, mapping = _map(root, name, scale)
    _, _, utc_mapping = _map(root, name, "utc")
    block = next(b for b in mapping.blocks if b.camera == "GPC1")
    utc_block = next(b for b in utc_mapping.blocks if b.camera == "GPC1" and b.filter_name == block.filter_name)
    chunk, utc_chunk = next(block.chunks()), next(utc_block.chunks())
    names = target_names(table.objects["cat_id"], table.objects["obj_id"])
    row = int(np.flatnonzero(names == chunk.target_names[0])[0])
    site = DEFAULT_OBSERVATORIES["GPC1"]
    location = EarthLocation.from_geodetic(site["lon"] * u.deg, site["lat"] * u.deg, site["height"] * u.m)
    mid = block.source.mid_exposure
    t = Time(mid, format="unix", scale="utc", location=location) if scale == "utc" else \
        Time(2440587.5, mid / 86400.0, format="jd", scale="tai", location=location)
    target = SkyCoord(table.objects["ra"][row] * u.deg, table.objects["dec"][row] * u.deg)
    want = (t.tdb + t.light_travel_time(target, "barycentric", ephemeris="builtin")).jd
    assert np.abs(chunk.bjd[0] - want).max() * 86400 < 1e-3
    shift = (utc_chunk.bjd[0] - chunk.bjd[0]) * 86400
    as_utc = Time(mid, format="unix", scale="utc")
    tai_minus_utc = (as_utc.tai.jd1 - as_utc.jd1 + as_utc.tai.jd2 - as_utc.jd2) * 86400  # 34–37 s, 2010–2020
    # the same numbers read as TAI are TAI − UTC earlier; the Earth moves ~1000 km meanwhile (≤ ~3 ms of delay)
    np.testing.assert_allclose(shift, 0.0 if scale == "utc" else tai_minus_utc, atol=5e-3)
    if scale == "tai":
        assert shift.min() > 33.9
