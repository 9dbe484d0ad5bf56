"""Dagster resources: the LightcurveDB database, the DVO root, the mission names and the observatories.

`lcdb_resources(...)` takes every setting as a parameter (the `lcdb` command passes its own); a setting not
given comes from its environment variable as an `EnvVar` (so its value never shows in the UI), else the
default.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import sqlalchemy as sa
from dagster import ConfigurableResource, EnvVar

from lcdb_pipeline.dvo import DVODatabase, region_directory
from lcdb_pipeline.mapping import TIME_SCALES, MissionSpec, Observatory

#: Sites of the cameras a PS1/CFHT DVO database holds (geodetic, WGS84).
DEFAULT_OBSERVATORIES: dict[str, dict[str, float | str]] = {
    "GPC1": {"name": "Haleakala (Pan-STARRS1)", "lat": 20.7071, "lon": -156.2571, "height": 3055.0},
    "MEGACAM": {"name": "Maunakea (CFHT)", "lat": 19.8253, "lon": -155.4689, "height": 4204.0},
}


@functools.lru_cache(maxsize=8)
def _engine(url: str) -> sa.Engine:
    from lcdb_schema.database import make_engine

    return make_engine(url)


class LightcurveDBResource(ConfigurableResource):
    """The LightcurveDB PostgreSQL database. `url` from LCDB_DATABASE_URL; unset → the embedded server."""

    url: str | None = None

    def resolved_url(self) -> str:
        from lcdb_schema.database import database_url

        return database_url() if not self.url else self.url

    def engine(self) -> sa.Engine:
        from lcdb_schema.database import normalize_url

        return _engine(normalize_url(self.resolved_url()))


class DVORootResource(ConfigurableResource):
    """The root directory of a DVO database (SkyTable.fits, Photcodes.dat, Images.dat, region dirs)."""

    root: str

    def open(self) -> DVODatabase:
        return DVODatabase(Path(self.root))

    def region_path(self, region: str) -> Path:
        """The directory of `region`, validated: a region name, inside the root (no `..`, no absolute path)."""
        return region_directory(Path(self.root), region)


#: The scale of DVO TIME: the IPP takes TIME from the camera header's MJD-OBS with no conversion, and the
#: IPP's GPC1 camera definition declares FPA.TIMESYS UTC (docs/dvo.md, "Time scale").
DEFAULT_TIME_SCALE = "utc"


class MissionResource(ConfigurableResource):
    """How the DVO database is named in LightcurveDB, and the time scale of its TIME (LCDB_DVO_TIME_SCALE:
    "utc" or "tai"; the Mission's time_epoch_scale and every BJD follow it)."""

    mission_name: str = "Pan-STARRS1"
    catalog_name: str = "PS1 DVO"
    time_format_name: str = "dvo_unix"
    time_scale: str = DEFAULT_TIME_SCALE

    def spec(self) -> MissionSpec:
        scale = self.time_scale.strip().lower()
        if scale not in TIME_SCALES:
            raise ValueError(f"LCDB_DVO_TIME_SCALE = {self.time_scale!r} is not a DVO time scale: use one of "
                             f"{', '.join(TIME_SCALES)} (docs/dvo.md, \"Time scale\")")
        return MissionSpec(self.mission_name, self.catalog_name, self.time_format_name, time_epoch_scale=scale)


class ObservatoriesResource(ConfigurableResource):
    """Observatory per camera for BJD; `sites_json` (LCDB_OBSERVATORIES) adds to or overrides the defaults:
    ``{"CAMERA": {"lat": deg, "lon": deg (east +), "height": m, "name": "..."}}``."""

    sites_json: str | None = None

    def sites(self) -> dict[str, Observatory]:
        sites = dict(DEFAULT_OBSERVATORIES)
        if self.sites_json:
            try:
                sites.update(json.loads(self.sites_json))
                return _observatories(sites)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"LCDB_OBSERVATORIES is not valid: {exc!r}; expected "
                                 '{"CAMERA": {"lat": 20.7, "lon": -156.3, "height": 3055}}') from None
        return _observatories(sites)


class TableWorkersResource(ConfigurableResource):
    """How many processes load a region's catalog tables at once (LCDB_TABLE_WORKERS; 1: in the run process,
    one after another). Each table stays its own transaction under its own advisory lock (docs/scaling.md)."""

    count: int = 1


def _observatories(sites: dict) -> dict[str, Observatory]:
    return {cam: Observatory(str(s.get("name", cam)), float(s["lat"]), float(s["lon"]), float(s["height"]))
            for cam, s in sites.items()}


def _setting(value: str | None, name: str, default: str | None = None):
    """`value` when given, else EnvVar(`name`) when that variable is set, else the default."""
    if value is not None:
        return value
    return EnvVar(name) if os.environ.get(name) else default


def lcdb_resources(
    *,
    database_url: str | None = None,
    dvo_root: str | os.PathLike | None = None,
    mission_name: str | None = None,
    catalog_name: str | None = None,
    time_format_name: str | None = None,
    observatories_json: str | None = None,
    time_scale: str | None = None,
    table_workers: int | None = None,
) -> dict[str, ConfigurableResource]:
    """The resources of the lcdb definitions; settings not given come from the LCDB_* environment."""
    return {
        "lcdb": LightcurveDBResource(url=_setting(database_url, "LCDB_DATABASE_URL")),
        "dvo": DVORootResource(root=_setting(None if dvo_root is None else os.fspath(dvo_root),
                                             "LCDB_DVO_ROOT", "")),
        "mission": MissionResource(
            mission_name=_setting(mission_name, "LCDB_MISSION_NAME", "Pan-STARRS1"),
            catalog_name=_setting(catalog_name, "LCDB_CATALOG_NAME", "PS1 DVO"),
            time_format_name=_setting(time_format_name, "LCDB_TIME_FORMAT_NAME", "dvo_unix"),
            time_scale=_setting(time_scale, "LCDB_DVO_TIME_SCALE", DEFAULT_TIME_SCALE),
        ),
        "observatories": ObservatoriesResource(sites_json=_setting(observatories_json, "LCDB_OBSERVATORIES")),
        "table_workers": TableWorkersResource(count=table_workers if table_workers is not None else (
            EnvVar.int("LCDB_TABLE_WORKERS") if os.environ.get("LCDB_TABLE_WORKERS") else 1)),
    }
