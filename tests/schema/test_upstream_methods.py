"""The public model methods of upstream LightcurveDB (seed version), as its tests use them:
`Mission.register_mission_time_epoch()` (upstream's TestMissionTimeEpoch) and
`Instrument.query_for_instrument(name, parent_name=None)`."""

from __future__ import annotations

import decimal

import pytest
from astropy.time import Time, TimeFromEpoch

from lcdb_schema import Instrument


def test_register_mission_time_epoch_registers_the_missions_format(session, make):
    tess = make.mission(time_unit="day", time_epoch=decimal.Decimal("2457000.0"), time_epoch_scale="tdb",
                        time_epoch_format="jd", time_format_name="lcdb_test_btjd")
    session.flush()
    first = tess.register_mission_time_epoch()
    assert first is tess.register_mission_time_epoch() is tess.register_time_format()  # one class
    assert (first.name, first.epoch_scale, first.epoch_format) == ("lcdb_test_btjd", "tdb", "jd")
    assert first.epoch_val == decimal.Decimal("2457000.0") and first.unit == 1.0  # days, as astropy counts them
    assert issubclass(first, TimeFromEpoch)
    t = Time(1.5, format="lcdb_test_btjd")  # what upstream's TimeEpochDate subclass cannot do
    assert t.scale == "tdb" and t.jd == pytest.approx(2457001.5, abs=1e-9)


def test_register_mission_time_epoch_differs_per_mission(session, make):
    a = make.mission(time_unit="day", time_epoch=2457000, time_format_name="lcdb_test_time_a")
    b = make.mission(time_unit="s", time_epoch=2450000, time_epoch_scale="utc", time_format_name="lcdb_test_time_b")
    session.flush()
    cls_a, cls_b = a.register_mission_time_epoch(), b.register_mission_time_epoch()
    assert cls_a is not cls_b and (cls_a.name, cls_b.name) == ("lcdb_test_time_a", "lcdb_test_time_b")
    assert cls_b.unit == pytest.approx(1 / 86400)


def test_query_for_instrument_by_name_and_parent(session, make):
    tess = make.instrument(name="TESS")
    other = make.instrument(name="Kepler")
    cameras = [Instrument(name="Camera 1", parent=tess), Instrument(name="Camera 1", parent=other)]
    top_level_camera = make.instrument(name="Camera 1")
    session.add_all(cameras)
    session.flush()
    assert session.scalars(Instrument.query_for_instrument("Camera 1", parent_name="TESS")).all() == [cameras[0]]
    assert session.scalars(Instrument.query_for_instrument("Camera 1", "Kepler")).all() == [cameras[1]]
    assert session.scalars(Instrument.query_for_instrument("Camera 1")).all() == [top_level_camera]
    assert session.scalars(Instrument.query_for_instrument("TESS")).all() == [tess]
    assert session.scalars(Instrument.query_for_instrument("Camera 9", "TESS")).all() == []
