"""DVO measurements → LightcurveDB rows, in astronomy terms (DESIGN §5). No SQL, no Dagster.

One catalog table becomes one `ObservationBlock` per (camera, filter) that its measurements use: the cadence
grid (sorted unique exposure times in ms since the unix epoch), the targets measured in it, and dense
(targets × cadences) arrays aligned to that grid — NaN (magnitudes) or 0 (flags) where a target has no
measurement. Blocks are produced in target chunks so memory stays bounded by the chunk, not the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.bjd import EpochGeometry, Observatory, bjd_tdb, epoch_geometry, unit_vectors
from lcdb_pipeline.dvo import CatalogTable, DVOError, Images, Photcodes
from lcdb_pipeline.dvo.photcodes import PhotcodeType

#: (photometric source, detrending method) of each DataSet kind, in the order arrays are produced.
PROCESSING_GROUPS: tuple[tuple[str, str], ...] = (
    ("psf", "instrumental"),
    ("psf", "relphot"),
    ("aperture", "instrumental"),
)

DEFAULT_CHUNK_CELLS = 500_000  # target·cadence cells per chunk: ~24 MB of dense arrays, ~46 MB as COPY rows
MAX_CAT_ID = 2**31  # Target.name is a signed bigint: CAT_ID·2³² + OBJ_ID must stay below 2⁶³.


class MappingError(DVOError):
    """A catalog table whose content cannot be mapped (e.g. a camera with no configured observatory)."""


def target_names(cat_id: np.ndarray, obj_id: np.ndarray) -> np.ndarray:
    """Target.name = CAT_ID·2³² + OBJ_ID, both read as unsigned 32-bit integers."""
    cat = np.asarray(cat_id).astype(np.uint32).astype(np.int64)
    obj = np.asarray(obj_id).astype(np.uint32).astype(np.int64)
    return (cat << 32) | obj


@dataclass
class ObservationChunk:
    """Dense arrays for a slice of an observation's targets, aligned to its cadence grid."""

    target_names: np.ndarray  # int64 (n,)
    values: np.ndarray  # float64 (groups, n, cadences): MAG, calibrated MAG, M_APER
    errors: np.ndarray  # float64 (n, cadences): MAG_ERR, shared by the three groups
    bjd: np.ndarray  # float64 (n, cadences)
    phot_flags: np.ndarray  # int32 bit patterns (n, cadences)
    db_flags: np.ndarray  # int32 bit patterns (n, cadences)


@dataclass
class ObservationBlock:
    """One DVOObservation: a (catalog table, camera, filter) and everything measured in it.

    The dense arrays are not held: `chunks()` computes them a slice of targets at a time.
    """

    catalog_table: str
    region: str
    camera: str
    filter_name: str
    cadences_ms: np.ndarray  # int64, sorted unique TIME·1000 + TIME_MSEC
    objects: np.ndarray  # .cpt rows of the targets measured here, ascending
    duplicates_dropped: int
    _row: np.ndarray  # per kept measurement: index into `objects`
    _col: np.ndarray  # per kept measurement: index into `cadences_ms`
    _source: "_MeasurementSource"
    _geometry: EpochGeometry | None  # set by map_table, for all blocks of a camera at once

    @property
    def n_cadences(self) -> int:
        return int(self.cadences_ms.size)

    @property
    def n_targets(self) -> int:
        return int(self.objects.size)

    @property
    def n_measurements(self) -> int:
        return int(self._row.size)

    def chunks(self, max_cells: int = DEFAULT_CHUNK_CELLS) -> Iterator[ObservationChunk]:
        """Dense arrays for consecutive slices of targets, each of at most `max_cells` target·cadences."""
        per_chunk = max(1, max_cells // max(1, self.n_cadences))
        firsts = np.arange(0, self.n_targets, per_chunk)
        bounds = np.append(np.searchsorted(self._row, firsts), self._row.size)
        src = self._source
        for i, first_target in enumerate(firsts):
            lo, hi = bounds[i], bounds[i + 1]
            objs = self.objects[first_target : first_target + per_chunk]
            r, c, s = self._row[lo:hi] - first_target, self._col[lo:hi], src.sel[lo:hi]
            shape = (objs.size, self.n_cadences)
            values = np.full((len(PROCESSING_GROUPS),) + shape, np.nan)
            values[0, r, c] = src.mag[s]
            values[1, r, c] = src.calibrated[s]
            values[2, r, c] = src.m_aper[s]
            errors = np.full(shape, np.nan)
            errors[r, c] = src.mag_err[s]
            phot = np.zeros(shape, dtype=np.int32)
            phot[r, c] = src.phot_flags[s]
            dbf = np.zeros(shape, dtype=np.int32)
            dbf[r, c] = src.db_flags[s]
            bjd = bjd_tdb(self._geometry, unit_vectors(src.ra[objs], src.dec[objs]))
            yield ObservationChunk(src.names[objs], values, errors, bjd, phot, dbf)


@dataclass(frozen=True)
class _MeasurementSource:
    """Per-measurement columns of one table, shared by its blocks (`sel` is set per block)."""

    sel: np.ndarray
    mag: np.ndarray
    calibrated: np.ndarray
    m_aper: np.ndarray
    mag_err: np.ndarray
    phot_flags: np.ndarray
    db_flags: np.ndarray
    names: np.ndarray
    ra: np.ndarray
    dec: np.ndarray


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


def calibrated_magnitude(
    mag: np.ndarray,
    airmass: np.ndarray,
    m_cal: np.ndarray,
    m_flat: np.ndarray | None,
    k: np.ndarray,
    c_lam: np.ndarray,
    is_ref: np.ndarray,
    zero_pt: float,
) -> np.ndarray:
    """The IPP's PhotRel without colour terms: MAG − ZERO_PT + K·(AIRMASS − 1) + 0.001·C_LAM − M_CAL − M_FLAT.

    REF photcodes (external catalogue magnitudes) keep MAG. M_FLAT is subtracted where present and finite.
    """
    mag = mag.astype(np.float64)
    cal = mag - zero_pt + k.astype(np.float64) * (airmass.astype(np.float64) - 1.0)
    cal += 0.001 * c_lam.astype(np.float64) - m_cal.astype(np.float64)
    if m_flat is not None:
        flat = m_flat.astype(np.float64)
        cal -= np.where(np.isfinite(flat), flat, 0.0)
    return np.where(is_ref, mag, cal)


def map_table(
    table: CatalogTable,
    photcodes: Photcodes,
    images: Images,
    observatories: Mapping[str, Observatory],
) -> TableMapping:
    """Map one catalog table; raise `MappingError` naming the file when it cannot be mapped."""
    objects, meas = table.objects, table.measurements
    cpm = table.paths["cpm"]
    n_objects = int(objects["ra"].size)
    cat_id = objects["cat_id"].astype(np.uint32)
    if n_objects and int(cat_id.max()) >= MAX_CAT_ID:
        row = int(np.argmax(cat_id >= MAX_CAT_ID))
        raise MappingError(
            table.paths["cpt"], f"CAT_ID {int(cat_id[row])} ≥ 2³¹ does not fit Target.name (bigint)",
            row=row, key="CAT_ID",
        )

    # Objects without a usable position cannot get a BJD: they are skipped (the reader lists their rows).
    good_object = np.ones(n_objects, dtype=bool)
    good_object[table.bad_position_rows] = False  # RA/DEC NaN or infinite, or |DEC| > 90
    ave_ref = meas["ave_ref"].astype(np.int64)
    keep = good_object[ave_ref]

    prow = photcodes.index_of(meas["photcode"], path=cpm)
    obs_key = photcodes.observation_key[prow]  # one small int per (camera, filter)
    cadence_ms = meas["time"].astype(np.int64) * 1000 + meas["time_msec"].astype(np.int64)
    mag_err = meas["mag_err"].astype(np.float64)
    err_rank = np.where(np.isfinite(mag_err), mag_err, np.inf)

    # One sort orders everything: by (camera, filter), object, cadence, then the smallest MAG_ERR first;
    # the first of each (camera, filter, object, cadence) run is kept, the others are duplicates.
    order = np.lexsort((err_rank, cadence_ms, ave_ref, obs_key))
    order = order[keep[order]]
    k_, o_, c_ = obs_key[order], ave_ref[order], cadence_ms[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (k_[1:] != k_[:-1]) | (o_[1:] != o_[:-1]) | (c_[1:] != c_[:-1])
    dropped_per_key = np.bincount(k_[~first], minlength=photcodes.n_observation_keys)
    order = order[first]

    calibrated = calibrated_magnitude(
        meas["mag"], meas["airmass"], meas["m_cal"], meas.get("m_flat"),
        photcodes.k[prow], photcodes.c_lam[prow], photcodes.type[prow] == PhotcodeType.REF, images.zero_pt,
    )
    exptime = images.exptime_of(meas["image_id"], path=cpm)
    names = target_names(cat_id, objects["obj_id"])

    blocks: list[ObservationBlock] = []
    mid_exposures: list[np.ndarray] = []
    bounds = np.flatnonzero(np.diff(obs_key[order])) + 1
    for sel in np.split(order, bounds):
        if sel.size == 0:
            continue
        key = int(obs_key[sel[0]])
        camera, filter_name = photcodes.observation_names(key)
        if camera not in observatories:
            raise MappingError(
                cpm,
                f"camera {camera!r} has no observatory configured (LCDB_OBSERVATORIES); "
                f"configured: {sorted(observatories)}",
                row=int(sel[0]), key="PHOTCODE",
            )
        source = _MeasurementSource(
            sel=sel, mag=meas["mag"], calibrated=calibrated, m_aper=meas["m_aper"], mag_err=meas["mag_err"],
            phot_flags=meas["phot_flags"].view(np.int32), db_flags=meas["db_flags"].view(np.int32),
            names=names, ra=objects["ra"], dec=objects["dec"],
        )
        block, mid = _observation_block(table, camera, filter_name, int(dropped_per_key[key]), source,
                                        ave_ref, cadence_ms, exptime)
        blocks.append(block)
        mid_exposures.append(mid)
    _attach_geometry(blocks, mid_exposures, observatories)

    measured = np.zeros(n_objects, dtype=bool)
    measured[ave_ref[keep]] = True
    return TableMapping(
        catalog_table=table.name,
        region=table.region,
        n_objects=n_objects,
        n_measured_objects=int(measured.sum()),
        n_measurements=int(ave_ref.size),
        duplicates_dropped=int(dropped_per_key.sum()),
        skipped_bad_positions=int((~good_object).sum()),
        blocks=blocks,
    )


def _observation_block(
    table: CatalogTable,
    camera: str,
    filter_name: str,
    duplicates_dropped: int,
    source: _MeasurementSource,
    ave_ref: np.ndarray,
    cadence_ms: np.ndarray,
    exptime: np.ndarray,
) -> tuple[ObservationBlock, np.ndarray]:
    """The cadence grid of one (camera, filter), and its mid-exposure unix times; `source.sel` is sorted by
    object. The epoch geometry is attached later, for all blocks of a camera at once."""
    sel = source.sel
    cadences, col = np.unique(cadence_ms[sel], return_inverse=True)
    objs, row = np.unique(ave_ref[sel], return_inverse=True)

    # Mid-exposure per cadence: TIME + EXPTIME/2, from any measurement of that exposure with a known EXPTIME.
    exp = exptime[sel]
    known = np.isfinite(exp)
    half = np.zeros(cadences.size)
    half[col[known]] = exp[known] / 2.0

    block = ObservationBlock(
        catalog_table=table.name, region=table.region, camera=camera, filter_name=filter_name,
        cadences_ms=cadences, objects=objs, duplicates_dropped=duplicates_dropped,
        _row=row, _col=col, _source=source, _geometry=None,
    )
    return block, cadences / 1000.0 + half


def _attach_geometry(
    blocks: list[ObservationBlock], mid_exposures: list[np.ndarray], observatories: Mapping[str, Observatory]
) -> None:
    """One astropy call per camera for all its blocks (the ephemeris and time-scale work is per epoch; its
    fixed cost per call dominates for short cadence grids)."""
    for camera in dict.fromkeys(b.camera for b in blocks):
        mine = [i for i, b in enumerate(blocks) if b.camera == camera]
        geometry = epoch_geometry(np.concatenate([mid_exposures[i] for i in mine]), observatories[camera])
        start = 0
        for i in mine:
            stop = start + mid_exposures[i].size
            blocks[i]._geometry = geometry[start:stop]
            start = stop
