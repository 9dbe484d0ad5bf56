"""Barycentric Julian Dates (TDB) for many targets at many epochs, vectorised.

astropy's `Time.light_travel_time` recomputes the ephemeris for every (target, epoch) pair. The geometry
separates: the observatory's barycentric position depends only on the epoch, the direction only on the
target, so the Rømer delay for all pairs is one matrix product  ``U (targets × 3) · P (3 × epochs) / c``.
astropy still does the time-scale conversion (UTC or TAI → TDB) and the ephemeris, once per epoch, offline.

DVO TIME is whole seconds since 1970-01-01 in the scale the camera headers' MJD-OBS is in (docs/dvo.md):
`utc` reads it as POSIX time (astropy's "unix" format), `tai` as JD 2440587.5 + TIME/86400 in TAI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcdb_schema.timesystem import configure_astropy_offline

configure_astropy_offline()

from astropy import units as u  # noqa: E402  (after the offline configuration, on purpose)
from astropy.coordinates import EarthLocation, get_body_barycentric  # noqa: E402
from astropy.time import Time  # noqa: E402

C_AU_PER_DAY = 299_792.458 * 86_400.0 / 149_597_870.700  # speed of light in au/day
EPHEMERIS = "builtin"  # ~ms accuracy, bundled with astropy: nothing to download


@dataclass(frozen=True)
class Observatory:
    """A ground site, geodetic (WGS84)."""

    name: str
    lat_deg: float
    lon_deg: float
    height_m: float

    def location(self) -> EarthLocation:
        return EarthLocation.from_geodetic(
            lon=self.lon_deg * u.deg, lat=self.lat_deg * u.deg, height=self.height_m * u.m
        )


@dataclass(frozen=True)
class EpochGeometry:
    """Per epoch: TDB Julian date (two parts) and the observatory's barycentric position in au (N × 3)."""

    tdb_jd1: np.ndarray
    tdb_jd2: np.ndarray
    position_au: np.ndarray

    def __getitem__(self, index: slice) -> EpochGeometry:
        """The geometry of a slice of the epochs."""
        return EpochGeometry(self.tdb_jd1[index], self.tdb_jd2[index], self.position_au[index])


TIME_SCALES = ("utc", "tai")


def dvo_time(seconds: np.ndarray, scale: str, location: EarthLocation | None = None) -> Time:
    """DVO TIME (seconds since 1970-01-01, `scale` "utc" or "tai") as an astropy Time."""
    seconds = np.asarray(seconds, dtype=np.float64)
    if scale == "utc":
        return Time(seconds, format="unix", scale="utc", location=location)
    if scale == "tai":
        return Time(np.full(seconds.shape, 2440587.5), seconds / 86400.0, format="jd", scale="tai",
                    location=location)
    raise ValueError(f"DVO time scale must be one of {TIME_SCALES}, not {scale!r}")


def epoch_geometry(unix_seconds: np.ndarray, observatory: Observatory, scale: str = "utc") -> EpochGeometry:
    """Everything that depends on the epoch only: computed once per cadence, not per target.

    The time carries the site, so TDB includes the observer's own (topocentric, ≤ ~2 µs) TDB−TT term, as
    astropy's `Time.light_travel_time` does: the result then equals astropy's full computation."""
    location = observatory.location()
    t = dvo_time(unix_seconds, scale, location)
    tdb = t.tdb
    earth = get_body_barycentric("earth", tdb, ephemeris=EPHEMERIS).xyz.to_value(u.au)  # (3, N)
    site_gcrs, _ = location.get_gcrs_posvel(tdb)
    site = site_gcrs.xyz.to_value(u.au)
    return EpochGeometry(tdb.jd1, tdb.jd2, np.ascontiguousarray((earth + site).T))


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """ICRS unit vectors (N × 3) of targets at (RA, Dec) in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    cos_dec = np.cos(dec)
    return np.column_stack((cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)))


def bjd_tdb(geometry: EpochGeometry, targets: np.ndarray) -> np.ndarray:
    """BJD_TDB (targets × epochs) for target unit vectors (N × 3): TDB + Rømer delay."""
    delay_days = (targets @ geometry.position_au.T) / C_AU_PER_DAY
    # Adding the small parts first keeps the sum exact to float64 rounding of the final JD.
    return (geometry.tdb_jd2[None, :] + delay_days) + geometry.tdb_jd1[None, :]
