"""Minimal valid LightcurveDB rows for tests."""

from __future__ import annotations

import itertools

import numpy as np
from sqlalchemy import orm

from lcdb_schema import (
    DataSet,
    DetrendingMethod,
    DVOObservation,
    Instrument,
    Mission,
    MissionCatalog,
    PhotometricSource,
    ProcessingGroup,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)


class Factory:
    """Minimal valid rows, unique names each time."""

    def __init__(self, session: orm.Session) -> None:
        self.session = session
        self._n = itertools.count(1)

    def n(self) -> int:
        return next(self._n)

    def mission(self, **kw) -> Mission:
        i = self.n()
        kw = {
            "name": f"mission{i}",
            "description": f"test mission {i}",
            "time_unit": "day",
            "time_epoch": 2457000,
            "time_epoch_scale": "tdb",
            "time_epoch_format": "jd",
            "time_format_name": f"fmt{i}",
            **kw,
        }
        return self._add(Mission(**kw))

    def catalog(self, **kw) -> MissionCatalog:
        kw.setdefault("host_mission", self.mission())
        kw.setdefault("name", f"catalog{self.n()}")
        kw.setdefault("description", "test catalog")
        return self._add(MissionCatalog(**kw))

    def target(self, **kw) -> Target:
        kw.setdefault("catalog", self.catalog())
        kw.setdefault("name", 1000 + self.n())
        return self._add(Target(**kw))

    def instrument(self, **kw) -> Instrument:
        kw.setdefault("name", f"instrument{self.n()}")
        return self._add(Instrument(**kw))

    def observation(self, n: int = 4, **kw) -> DVOObservation:
        i = self.n()
        kw.setdefault("instrument", self.instrument())
        kw.setdefault("cadence_reference", np.arange(n, dtype=np.int64))
        kw.setdefault("region", "n0000")
        kw.setdefault("catalog_table", f"n0000/{i:04d}")
        kw.setdefault("filter_name", "g")
        return self._add(DVOObservation(**kw))

    def processing_group(self, **kw) -> ProcessingGroup:
        i = self.n()
        kw.setdefault("name", f"group{i}")
        kw.setdefault("description", "test processing group")
        kw.setdefault("photometric_source", self._add(PhotometricSource(name=f"source{i}", description="test")))
        kw.setdefault("detrending_method", self._add(DetrendingMethod(name=f"method{i}", description="test")))
        return self._add(ProcessingGroup(**kw))

    def dataset(self, **kw) -> DataSet:
        kw.setdefault("target", self.target())
        kw.setdefault("observation", self.observation())
        kw.setdefault("processing_group", self.processing_group())
        kw.setdefault("values", np.zeros(len(kw["observation"].cadence_reference)))
        return self._add(DataSet(**kw))

    def tst(self, **kw) -> TargetSpecificTime:
        kw.setdefault("target", self.target())
        kw.setdefault("observation", self.observation())
        kw.setdefault("barycentric_julian_dates", np.zeros(len(kw["observation"].cadence_reference)))
        return self._add(TargetSpecificTime(**kw))

    def flags(self, cls: type[QualityFlagArray] = QualityFlagArray, **kw) -> QualityFlagArray:
        kw.setdefault("observation", self.observation())
        kw.setdefault("quality_flags", np.zeros(len(kw["observation"].cadence_reference), dtype=np.int32))
        return self._add(cls(**kw))

    def _add(self, obj):
        self.session.add(obj)
        return obj
