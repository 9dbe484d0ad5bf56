"""What the map layer hands the load layer: plain dataclasses, no SQL, no FITS, no Dagster.

The load layer writes exactly what these say; everything astronomical (which rows are epochs, magnitudes,
errors, cadences, BJDs) is decided before them, in the map layer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

#: (photometric source, detrending method) of each DataSet kind, in the order arrays are produced.
PROCESSING_GROUPS: tuple[tuple[str, str], ...] = (
    ("psf", "instrumental"),
    ("psf", "relphot"),
    ("aperture", "instrumental"),
)
PHOTOMETRIC_SOURCES = {
    "psf": "PSF-fit magnitude (DVO MAG)",
    "aperture": "Aperture magnitude (DVO M_APER)",
}
DETRENDING_METHODS = {
    "instrumental": "As measured: instrumental magnitudes, no calibration applied",
    "relphot": "Calibrated with the IPP PhotRel relation (zero point, airmass, C_LAM, M_CAL, M_FLAT; "
    "no colour terms)",
}

#: the kinds of `.cpm` rows that are not lightcurve epochs, set aside and counted (TableMapping.excluded)
EXCLUSION_KINDS: tuple[str, ...] = (
    "reference/secondary",  # REF and SEC rows: external catalogue entries, filter averages
    "stack (SkyChip)",  # photometry on stacks
    "forced (ForcedWarp)",  # forced photometry on warps
    "not a detector chip",  # DEP names without a detector chip: plates, SIMTEST.*.Chip, 2-part names
    "camera without observatory",  # detector chips of a camera with no configured observatory (no BJD)
)

DEFAULT_CHUNK_CELLS = 500_000  # target·cadence cells per chunk: ~24 MB of dense arrays, ~46 MB as COPY rows


@dataclass(frozen=True)
class MissionSpec:
    """The Mission and MissionCatalog of one DVO database, with the time system of DVO `TIME` (whole
    seconds since the unix epoch, JD 2440587.5, in `time_epoch_scale`: "utc" or "tai", LCDB_DVO_TIME_SCALE)."""

    mission_name: str
    catalog_name: str
    time_format_name: str
    description: str = "Pan-STARRS IPP DVO database"
    time_unit: str = "s"
    time_epoch: float = 2440587.5
    time_epoch_scale: str = "utc"
    time_epoch_format: str = "jd"


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument row: a camera (root) or a chip (child of its camera), with photcode properties."""

    name: str
    parent: str | None
    properties: dict


@dataclass
class ObservationChunk:
    """Dense arrays for a slice of an observation's targets, aligned to its cadence grid."""

    target_names: np.ndarray  # int64 (n,)
    values: np.ndarray  # float64 (groups, n, cadences), in PROCESSING_GROUPS order
    errors: np.ndarray  # float64 (groups, n, cadences): each group's own errors (docs/dvo.md)
    bjd: np.ndarray  # float64 (n, cadences)
    phot_flags: np.ndarray  # int32 bit patterns (n, cadences)
    db_flags: np.ndarray  # int32 bit patterns (n, cadences)


class ChunkSource(Protocol):
    """Computes an observation's dense arrays a slice of targets at a time (the map layer implements it)."""

    def chunks(self, max_cells: int) -> Iterator[ObservationChunk]: ...


@dataclass
class ObservationBlock:
    """One DVOObservation: a (catalog table, camera, filter) and everything measured in it.

    The dense arrays are not held: `chunks()` computes them a slice of targets at a time."""

    catalog_table: str
    region: str
    camera: str
    filter_name: str
    cadences_ms: np.ndarray  # int64, sorted unique TIME·1000 + TIME_MSEC
    target_names: np.ndarray  # int64 Target.name of the targets measured here, in chunk order
    n_measurements: int
    duplicates_dropped: int
    source: ChunkSource = field(repr=False)

    @property
    def n_cadences(self) -> int:
        return int(self.cadences_ms.size)

    @property
    def n_targets(self) -> int:
        return int(self.target_names.size)

    def chunks(self, max_cells: int = DEFAULT_CHUNK_CELLS) -> Iterator[ObservationChunk]:
        """Dense arrays for consecutive slices of targets, each of at most `max_cells` target·cadences."""
        return self.source.chunks(max_cells)


@dataclass
class TableMapping:
    """The mapped content of one catalog table."""

    catalog_table: str
    region: str
    n_objects: int
    n_measured_objects: int
    n_measurements: int
    duplicates_dropped: int
    skipped_bad_positions: int
    blocks: list[ObservationBlock]
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUSION_KINDS, 0))  # rows per kind

    def target_names(self) -> np.ndarray:
        """Sorted unique Target.name of every target of the table."""
        names = [block.target_names for block in self.blocks]
        return np.unique(np.concatenate(names)) if names else np.zeros(0, dtype=np.int64)
