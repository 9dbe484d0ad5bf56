"""Mission time systems in astropy, and astropy working offline."""

from __future__ import annotations

import decimal
import socket

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import EarthLocation, SkyCoord, get_body_barycentric_posvel
from astropy.time import Time

from lcdb_schema import Mission
from lcdb_schema.timesystem import (
    configure_astropy_offline,
    register_mission_time_formats,
    register_time_format,
)


def dvo_mission(**kw) -> Mission:
    """DESIGN §5: DVO time is unix seconds -- seconds since JD 2440587.5 UTC."""
    return Mission(name="PS1 DVO", time_unit="s", time_epoch=decimal.Decimal("2440587.5"), time_epoch_scale="utc",
                   time_epoch_format="jd", time_format_name="dvo_unix", **kw)


# Unix seconds around the 2016-12-31 leap second, at the epoch, and recent exposures (with milliseconds).
UNIX_SECONDS = np.array([
    0.0, 86400.0, 946684800.0, 1483228799.0, 1483228799.5, 1483228800.0, 1483228801.0, 1262304000.123,
    1700000000.456, 1735689600.0,
])


def test_dvo_time_format_denotes_the_same_instants_as_astropy_unix():
    dvo_mission().register_time_format()
    ours = Time(UNIX_SECONDS, format="dvo_unix")
    astropy_unix = Time(UNIX_SECONDS, format="unix")
    assert np.all(np.abs((ours.tai - astropy_unix.tai).to_value(u.s)) < 1e-6)
    assert np.all(np.abs(ours.utc.jd - astropy_unix.utc.jd) * 86400 < 1e-6)
    # and back: the value in the mission's format
    np.testing.assert_allclose(astropy_unix.to_value("dvo_unix"), UNIX_SECONDS, rtol=0, atol=1e-6)
    assert getattr(astropy_unix[0], "dvo_unix") == pytest.approx(0.0, abs=1e-6)


def test_leap_second_day_counts_86400_utc_seconds():
    """Like astropy's unix: 2016-12-31 has 86401 SI seconds, but the count advances 86400 per UTC day."""
    dvo_mission().register_time_format()
    day = Time([1483142400.0, 1483228800.0], format="dvo_unix")
    assert (day[1].tai - day[0].tai).to_value(u.s) == pytest.approx(86401.0, abs=1e-6)
    assert Time("2017-01-01T00:00:00", scale="utc").to_value("dvo_unix") == pytest.approx(1483228800.0, abs=1e-6)


def test_tess_btjd_format():
    tess = Mission(name="TESS", time_unit="day", time_epoch=decimal.Decimal("2457000"), time_epoch_scale="tdb",
                   time_epoch_format="jd", time_format_name="lcdb_test_btjd")
    tess.register_time_format()
    t = Time(1325.5, format="lcdb_test_btjd")
    assert t.scale == "tdb" and t.jd == pytest.approx(2458325.5, abs=1e-9)


def test_epoch_decimals_survive():
    # 2451545.0000007428 JD needs more digits than one float64 holds at the microsecond level
    register_time_format("lcdb_test_precise", unit="d", epoch=decimal.Decimal("2451545.0000007428"),
                         epoch_scale="tt", epoch_format="jd")
    t = Time(0.0, format="lcdb_test_precise")
    assert (t.jd1 - 2451545.0) + t.jd2 == pytest.approx(0.0000007428, abs=1e-15)


def test_registration_is_idempotent_and_refuses_astropy_names():
    a = dvo_mission().register_time_format()
    b = dvo_mission().register_time_format()
    assert a is b
    with pytest.raises(ValueError, match="already defined"):
        register_time_format("unix", unit="s", epoch=0, epoch_scale="utc", epoch_format="jd")
    with pytest.raises(ValueError, match="not a unit of time"):
        register_time_format("lcdb_test_bad", unit="m", epoch=0, epoch_scale="utc", epoch_format="jd")


def test_register_mission_time_formats_from_the_database(session):
    session.add(Mission(name="M1", description="minutes since J2000", time_unit="min", time_epoch=2451545,
                        time_epoch_scale="tt", time_epoch_format="jd", time_format_name="lcdb_test_minutes"))
    session.flush()
    formats = register_mission_time_formats(session)
    assert "lcdb_test_minutes" in formats
    assert Time(60.0, format="lcdb_test_minutes").jd == pytest.approx(2451545 + 1 / 24, abs=1e-9)


@pytest.fixture
def no_network(monkeypatch):
    attempts: list[object] = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError(f"network access attempted: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    yield attempts
    assert attempts == [], f"astropy tried the network: {attempts}"


def test_astropy_runs_offline(no_network):
    """UTC -> TDB (with a site: needs UT1 from the bundled IERS tables), the builtin ephemeris and a
    barycentric light-travel-time correction, 2010-2025, without touching the network."""
    configure_astropy_offline()
    from astropy.utils import data, iers

    assert (iers.conf.auto_download, iers.conf.auto_max_age, data.conf.allow_internet) == (False, None, False)
    times = Time([f"{year}-0{1 + year % 9}-15T06:30:00" for year in range(2010, 2026)], scale="utc")
    haleakala = EarthLocation.from_geodetic(lon=-156.2571 * u.deg, lat=20.7071 * u.deg, height=3055 * u.m)
    t = Time(times, location=haleakala)
    tdb = t.tdb
    assert np.all(np.abs((tdb.jd - t.utc.jd) * 86400 - (t.tt.jd - t.utc.jd) * 86400) < 0.002)
    pos, vel = get_body_barycentric_posvel("earth", t, ephemeris="builtin")
    assert np.all(np.abs(pos.norm().to_value(u.au) - 1) < 0.02)
    ltt = t.light_travel_time(SkyCoord(ra=10 * u.deg, dec=20 * u.deg), ephemeris="builtin")
    assert np.all(np.abs(ltt.to_value(u.s)) < 500.1)
    assert np.all(np.isfinite(t.ut1.jd))  # UT1 from the bundled IERS-A table
