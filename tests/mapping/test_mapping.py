"""The mapping layer on its own: calibration formula, target names, unknown cameras."""

from __future__ import annotations

import numpy as np
import pytest

from lcdb_pipeline.dvo import DVODatabase, DVOWarning
from lcdb_pipeline.mapping import map_table, target_names
from lcdb_pipeline.mapping.bjd import Observatory
from lcdb_pipeline.mapping.calibration import calibrated_magnitude
from lcdb_pipeline.synth import generate


def test_calibrated_magnitude_is_photrel_without_colour_terms():
    mag = np.array([20.0, 20.0, 18.5, 17.0], dtype=np.float32)
    airmass = np.array([1.0, 1.5, 1.2, 2.0], dtype=np.float32)
    m_cal = np.array([0.1, 0.1, -0.05, 0.3], dtype=np.float32)
    m_flat = np.array([np.nan, 0.02, 0.0, 0.5], dtype=np.float32)
    k = np.array([-0.15, -0.15, -0.1, 0.0], dtype=np.float32)
    c_lam = np.array([26460, 26460, 1000, 0], dtype=np.int16)
    is_ref = np.array([False, False, False, True])
    got = calibrated_magnitude(mag, airmass, m_cal, m_flat, k, c_lam, is_ref, zero_pt=25.0)
    f = lambda a: np.float64(np.float32(a))  # noqa: E731  (the stored float32 values, widened)
    expected = [
        f(20.0) - 25.0 + f(-0.15) * (f(1.0) - 1) + 26.46 - f(0.1),                 # M_FLAT NaN: not applied
        f(20.0) - 25.0 + f(-0.15) * (f(1.5) - 1) + 26.46 - f(0.1) - f(0.02),
        f(18.5) - 25.0 + f(-0.1) * (f(1.2) - 1) + 1.0 + f(0.05) - 0.0,
        17.0,                                                                      # REF keeps MAG
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_target_name_is_cat_id_times_2_to_32_plus_obj_id_unsigned():
    cat = np.array([578, 118555], dtype=np.int32)
    obj = np.array([0, -1], dtype=np.int32)  # -1 on disk is OBJ_ID 0xFFFFFFFF
    np.testing.assert_array_equal(target_names(cat, obj), [578 << 32, (118555 << 32) + 0xFFFFFFFF])


def test_a_camera_without_observatory_is_excluded_with_a_warning(tmp_path):
    """DEP chips of a camera with no observatory cannot get BJDs: they are set aside and counted, a warning
    names the camera and the count, and the table still maps (its other cameras' lightcurves)."""
    generate(tmp_path, scale="small", seed=5)
    database = DVODatabase(tmp_path)
    table = database.read_table(database.tables_in_region(database.populated_regions()[0])[0])
    only_gpc1 = {"GPC1": Observatory("Haleakala", 20.7071, -156.2571, 3055.0)}
    megacam = int((database.photcodes.root[database.photcodes.index_of(table.measurements["photcode"])]
                   == "MEGACAM").sum())
    assert megacam > 0
    with pytest.warns(DVOWarning) as caught:
        mapping = map_table(table, database.photcodes, database.images, only_gpc1)
    (message,) = [str(w.message) for w in caught if "MEGACAM" in str(w.message)]
    assert table.paths["cpm"] in message and f"{megacam} measurement(s) of camera 'MEGACAM'" in message
    assert "no observatory" in message
    assert mapping.excluded["camera without observatory"] == megacam
    assert {b.camera for b in mapping.blocks} == {"GPC1"}
