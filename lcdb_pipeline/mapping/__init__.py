"""The map layer: DVO catalog tables → LightcurveDB rows in astronomy terms (cadences, calibration, BJD,
instruments). Reads `lcdb_pipeline.dvo` objects, returns the plain dataclasses of `mapping.contract`;
no SQL, no Dagster."""

from lcdb_pipeline.mapping.bjd import TIME_SCALES, Observatory
from lcdb_pipeline.mapping.contract import (
    DETRENDING_METHODS,
    EXCLUSION_KINDS,
    PHOTOMETRIC_SOURCES,
    PROCESSING_GROUPS,
    InstrumentSpec,
    MissionSpec,
    ObservationBlock,
    ObservationChunk,
    TableMapping,
)
from lcdb_pipeline.mapping.instruments import instrument_specs
from lcdb_pipeline.mapping.table import MappingError, map_table, target_names

__all__ = [
    "DETRENDING_METHODS", "EXCLUSION_KINDS", "PHOTOMETRIC_SOURCES", "PROCESSING_GROUPS", "TIME_SCALES",
    "InstrumentSpec", "MappingError", "MissionSpec", "Observatory", "ObservationBlock", "ObservationChunk",
    "TableMapping", "instrument_specs", "map_table", "target_names",
]
