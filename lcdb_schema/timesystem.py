"""Mission time systems as astropy time formats, and astropy without network access.

A mission's time stamps are numbers counted in some unit from an epoch (TESS: days since BJD 2457000 TDB;
DVO: seconds since JD 2440587.5 UTC). astropy models exactly that with `astropy.time.TimeFromEpoch`
subclasses; defining one registers a format by name, after which ``Time(values, format=name)`` works.
"""

from __future__ import annotations

import decimal
import threading
from typing import TYPE_CHECKING, Any

import astropy.units as u
from astropy.time import TimeFromEpoch
from astropy.time.formats import TIME_FORMATS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["configure_astropy_offline", "register_mission_time_formats", "register_time_format"]

_lock = threading.Lock()
# The formats registered here, by name -> the parameters they were built from.
_registered: dict[str, tuple[Any, ...]] = {}


def _unit_in_days(unit: str) -> float:
    """A time unit name ("s", "day", "d", "min", ...) as a number of days."""
    try:
        return float(u.Unit(unit).to(u.day))
    except (ValueError, u.UnitConversionError) as exc:
        raise ValueError(f"time unit {unit!r} is not a unit of time") from exc


def _split_epoch(epoch: Any, epoch_format: str) -> tuple[Any, float | None]:
    """The epoch as astropy's (val, val2): numeric epochs split into integer and fraction so a Decimal's
    digits survive the conversion to two floats (one float holds a JD only to ~20 us)."""
    if isinstance(epoch, str) and epoch_format not in ("jd", "mjd", "unix", "cxcsec", "gps", "decimalyear"):
        return epoch, None
    value = decimal.Decimal(str(epoch)) if not isinstance(epoch, decimal.Decimal) else epoch
    whole = value.to_integral_value(rounding=decimal.ROUND_FLOOR)
    fraction = value - whole
    return float(whole), (float(fraction) if fraction else None)


def register_time_format(
    name: str, *, unit: str, epoch: Any, epoch_scale: str, epoch_format: str
) -> type[TimeFromEpoch]:
    """Register (or return the already registered) astropy format `name`: time counted in `unit` from
    `epoch` (a number or string in `epoch_format`, on time scale `epoch_scale`).

    Registering the same name again with the same parameters is a no-op; with different ones it replaces the
    format. A name astropy itself defines (``jd``, ``unix`` ...) is refused.
    """
    if not name or not name.isidentifier():
        raise ValueError(f"time format name must be a Python identifier, got {name!r}")
    unit_days = _unit_in_days(unit)
    val, val2 = _split_epoch(epoch, epoch_format)
    key = (unit_days, val, val2, epoch_scale, epoch_format)
    with _lock:
        existing = TIME_FORMATS.get(name)
        if existing is not None and name not in _registered:
            raise ValueError(f"time format {name!r} is already defined by astropy or another library")
        if existing is not None and _registered[name] == key:
            return existing
        attrs = {
            "name": name,
            "unit": unit_days,
            "epoch_val": val,
            "epoch_val2": val2,
            "epoch_scale": epoch_scale,
            "epoch_format": epoch_format,
            "__doc__": f"Mission time: {unit} since {epoch} ({epoch_format}, {epoch_scale}).",
            "__module__": __name__,
        }
        # Defining the subclass registers it in astropy's TIME_FORMATS under `name`.
        cls = type(f"TimeFormat_{name}", (TimeFromEpoch,), attrs)
        _registered[name] = key
        return cls


def register_mission_time_formats(session: Session) -> dict[str, type[TimeFromEpoch]]:
    """Register the time format of every mission in the database; returns them by format name."""
    from lcdb_schema.mission import Mission

    return {m.time_format_name: m.register_time_format() for m in session.query(Mission).order_by(Mission.name)}


def configure_astropy_offline() -> None:
    """Make astropy work without the network: never download IERS tables, leap seconds or ephemerides.

    Time-scale conversions (UTC -> TAI -> TT -> TDB) then use the leap-second and IERS tables bundled with
    astropy (the ``astropy-iers-data`` package); planetary positions need ``ephemeris="builtin"``. Dates
    beyond the bundled IERS predictions warn (UT1 degrades to ~0.1 s) instead of raising.
    """
    from astropy.utils import data, iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"
    data.conf.allow_internet = False
