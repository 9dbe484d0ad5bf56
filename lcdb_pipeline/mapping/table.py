"""One DVO catalog table → LightcurveDB rows, in astronomy terms (DESIGN §5). No SQL, no Dagster.

Only **epoch measurements** make lightcurves: DEP detector-chip photcodes (`MeasurementKind.EPOCH`) of a
camera with an observatory. Every other row — REF/SEC entries, stacks (SkyChip), forced warp photometry,
non-detector DEP names, and chips of a camera without an observatory (a `DVOWarning` names it) — is set aside
before anything else and counted per kind (`TableMapping.excluded`).

A catalog table becomes one `ObservationBlock` per (camera, filter) that its epoch measurements use: the
cadence grid (sorted unique exposure times in ms since the unix epoch), the targets measured in it, and dense
(targets × cadences) arrays aligned to that grid — NaN (magnitudes) or 0 (flags) where a target has no
measurement. The arrays are produced in target chunks so memory stays bounded by the chunk, not the table.
The rules (errors per processing group, the duplicate rank, exposure times, the time scale) are in
docs/dvo.md.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.dvo import CatalogTable, DVOError, DVOWarning, Images, MeasurementKind, Photcodes
from lcdb_pipeline.dvo.photcodes import PhotcodeType
from lcdb_pipeline.mapping.bjd import (
    EpochGeometry,
    Observatory,
    bjd_tdb,
    epoch_geometry,
    unit_vectors,
)
from lcdb_pipeline.mapping.calibration import calibrated_magnitude
from lcdb_pipeline.mapping.contract import (
    EXCLUSION_KINDS,
    PROCESSING_GROUPS,
    ObservationBlock,
    ObservationChunk,
    TableMapping,
)

MAX_CAT_ID = 2**31  # Target.name is a signed bigint: CAT_ID·2³² + OBJ_ID must stay below 2⁶³.


class MappingError(DVOError):
    """A catalog table whose content cannot be mapped (e.g. a camera with no configured observatory)."""


def target_names(cat_id: np.ndarray, obj_id: np.ndarray) -> np.ndarray:
    """Target.name = CAT_ID·2³² + OBJ_ID, both read as unsigned 32-bit integers."""
    cat = np.asarray(cat_id).astype(np.uint32).astype(np.int64)
    obj = np.asarray(obj_id).astype(np.uint32).astype(np.int64)
    return (cat << 32) | obj


@dataclass(frozen=True)
class _MeasurementSource:
    """Per-measurement columns of one table, shared by its blocks."""

    mag: np.ndarray
    calibrated: np.ndarray
    m_aper: np.ndarray
    errors: tuple[np.ndarray, np.ndarray, np.ndarray]  # per processing group, in PROCESSING_GROUPS order
    phot_flags: np.ndarray
    db_flags: np.ndarray
    names: np.ndarray
    ra: np.ndarray
    dec: np.ndarray


@dataclass
class _DenseArrays:
    """The `ChunkSource` of one block: its kept measurements as (target row, cadence column) cells."""

    source: _MeasurementSource
    sel: np.ndarray  # kept measurement rows, sorted by object
    objects: np.ndarray  # .cpt rows of the targets measured here, ascending
    row: np.ndarray  # per kept measurement: index into `objects`
    col: np.ndarray  # per kept measurement: index into the cadence grid
    n_cadences: int
    mid_exposure: np.ndarray  # unix seconds (in the DVO time scale) of each cadence's mid-exposure
    geometry: EpochGeometry | None = None  # set by `_attach_geometry`, for all blocks of a camera at once

    def chunks(self, max_cells: int) -> Iterator[ObservationChunk]:
        per_chunk = max(1, max_cells // max(1, self.n_cadences))
        firsts = np.arange(0, self.objects.size, per_chunk)
        bounds = np.append(np.searchsorted(self.row, firsts), self.row.size)
        for i, first_target in enumerate(firsts):
            lo, hi = bounds[i], bounds[i + 1]
            objs = self.objects[first_target : first_target + per_chunk]
            yield self._chunk(objs, self.row[lo:hi] - first_target, self.col[lo:hi], self.sel[lo:hi])

    def _chunk(self, objs: np.ndarray, r: np.ndarray, c: np.ndarray, s: np.ndarray) -> ObservationChunk:
        src = self.source
        shape = (objs.size, self.n_cadences)
        values = np.full((len(PROCESSING_GROUPS),) + shape, np.nan)
        values[0, r, c] = src.mag[s]
        values[1, r, c] = src.calibrated[s]
        values[2, r, c] = src.m_aper[s]
        errors = np.full((len(PROCESSING_GROUPS),) + shape, np.nan)
        for g, group_errors in enumerate(src.errors):
            errors[g, r, c] = group_errors[s]
        phot = np.zeros(shape, dtype=np.int32)
        phot[r, c] = src.phot_flags[s]
        dbf = np.zeros(shape, dtype=np.int32)
        dbf[r, c] = src.db_flags[s]
        bjd = bjd_tdb(self.geometry, unit_vectors(src.ra[objs], src.dec[objs]))
        return ObservationChunk(src.names[objs], values, errors, bjd, phot, dbf)


def map_table(
    table: CatalogTable,
    photcodes: Photcodes,
    images: Images,
    observatories: Mapping[str, Observatory],
    time_scale: str = "utc",
) -> TableMapping:
    """Map one catalog table; raise `MappingError` naming the file when it cannot be mapped. `time_scale`
    is the scale of DVO TIME ("utc" or "tai", docs/dvo.md)."""
    objects, meas = table.objects, table.measurements
    cat_id = _checked_cat_ids(table)
    prow = photcodes.index_of(meas["photcode"], path=table.paths["cpm"])
    epoch, excluded = _epoch_rows(table, photcodes, prow, observatories)
    # Objects without a usable position cannot get a BJD: they are skipped (the reader lists their rows).
    good_object = np.ones(len(objects), dtype=bool)
    good_object[table.bad_position_rows] = False  # RA/DEC NaN or infinite, or |DEC| > 90
    ave_ref = meas["ave_ref"].astype(np.int64)
    keep = good_object[ave_ref] & epoch

    obs_key = photcodes.observation_key[prow]  # one small int per (camera, filter)
    cadence_ms = meas["time"].astype(np.int64) * 1000 + meas["time_msec"].astype(np.int64)
    order, dropped_per_key = _kept_measurements(keep, obs_key, ave_ref, cadence_ms, meas["mag"], meas["mag_err"],
                                                photcodes.n_observation_keys)
    source = _MeasurementSource(
        mag=meas["mag"], m_aper=meas["m_aper"], errors=group_errors(meas),
        calibrated=calibrated_magnitude(
            meas["mag"], meas["airmass"], meas["m_cal"], meas.get("m_flat"), photcodes.k[prow],
            photcodes.c_lam[prow], photcodes.type[prow] == PhotcodeType.REF, images.zero_pt),
        phot_flags=meas["phot_flags"].view(np.int32), db_flags=meas["db_flags"].view(np.int32),
        names=target_names(cat_id, objects["obj_id"]), ra=objects["ra"], dec=objects["dec"],
    )
    exptime = exposure_times(table, images, keep)
    blocks = _observation_blocks(table, photcodes, source, order, obs_key, dropped_per_key, ave_ref, cadence_ms,
                                 exptime)
    _attach_geometry(blocks, observatories, time_scale)

    measured = np.zeros(len(objects), dtype=bool)
    measured[ave_ref[keep]] = True
    return TableMapping(
        catalog_table=table.name, region=table.region, n_objects=len(objects),
        n_measured_objects=int(measured.sum()), n_measurements=int(ave_ref.size),
        duplicates_dropped=int(dropped_per_key.sum()), skipped_bad_positions=int((~good_object).sum()),
        blocks=blocks, excluded=excluded,
    )


def _epoch_rows(table: CatalogTable, photcodes: Photcodes, prow: np.ndarray,
                observatories: Mapping[str, Observatory]) -> tuple[np.ndarray, dict[str, int]]:
    """Which measurements are lightcurve epochs, and how many of each other kind were set aside. Epoch rows
    of a camera without an observatory are excluded too, with a `DVOWarning` naming the camera."""
    kind = photcodes.kind[prow]
    epoch = kind == MeasurementKind.EPOCH
    excluded = {"reference/secondary": int((kind == MeasurementKind.REFERENCE).sum()),
                "stack (SkyChip)": int((kind == MeasurementKind.STACK).sum()),
                "forced (ForcedWarp)": int((kind == MeasurementKind.FORCED).sum()),
                "not a detector chip": int((kind == MeasurementKind.OTHER).sum()),
                "camera without observatory": 0}
    cameras = photcodes.root[prow[epoch]]
    for camera in sorted({str(c) for c in np.unique(cameras)} - set(observatories)):
        rows = epoch & (photcodes.root[prow] == camera)
        n = int(rows.sum())
        excluded["camera without observatory"] += n
        epoch &= ~rows
        warnings.warn(DVOWarning(
            f"{table.paths['cpm']}: {n} measurement(s) of camera {camera!r} (first at row {int(np.argmax(rows))}) "
            f"not loaded: no observatory configured for it (LCDB_OBSERVATORIES), so no BJD; configured: "
            f"{sorted(observatories)}"), stacklevel=3)
    assert tuple(excluded) == EXCLUSION_KINDS
    return epoch, excluded


def group_errors(meas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The error of each processing group (DESIGN §5): psf/instrumental MAG_ERR; psf/relphot
    hypot(MAG_ERR, MAG_CAL_ERR), MAG_ERR alone where MAG_CAL_ERR is not finite (or the format has none);
    aperture/instrumental M_APER_ERR where the format has that column, else MAG_ERR (the IPP's proxy)."""
    mag_err = meas["mag_err"].astype(np.float64)
    cal_err = meas.get("mag_cal_err")
    relphot = mag_err
    if cal_err is not None:
        cal_err = cal_err.astype(np.float64)
        relphot = np.where(np.isfinite(cal_err), np.hypot(mag_err, cal_err), mag_err)
    aper = meas.get("m_aper_err")
    return mag_err, relphot, mag_err if aper is None else aper.astype(np.float64)


def exposure_times(table: CatalogTable, images: Images, keep: np.ndarray) -> np.ndarray:
    """EXPTIME (s) per measurement: Images.dat by IMAGE_ID, else from M_TIME = 2.5·log10(EXPTIME). A
    `DVOWarning` names the epoch rows whose IMAGE_ID Images.dat does not know (formats without IMAGE_IDs,
    ELIXIR, use M_TIME throughout, silently)."""
    meas = table.measurements
    with np.errstate(over="ignore", invalid="ignore"):
        from_m_time = 10.0 ** (meas["m_time"].astype(np.float64) / 2.5)
    if not table.has_image_ids:
        return from_m_time
    match = images.lookup(meas["image_id"], path=table.paths["cpm"], warn=False)
    unknown = keep & ~match.found
    if unknown.any():
        warnings.warn(DVOWarning(images.unknown_ids_message(meas["image_id"], match.found | ~keep,
                                                            table.paths["cpm"])), stacklevel=3)
    return np.where(match.found, match.exptime, from_m_time)


def _checked_cat_ids(table: CatalogTable) -> np.ndarray:
    """The objects' CAT_IDs as uint32; `MappingError` for one that would overflow Target.name."""
    cat_id = table.objects["cat_id"].astype(np.uint32)
    if cat_id.size and int(cat_id.max()) >= MAX_CAT_ID:
        row = int(np.argmax(cat_id >= MAX_CAT_ID))
        raise MappingError(table.paths["cpt"], f"CAT_ID {int(cat_id[row])} ≥ 2³¹ does not fit Target.name (bigint)",
                           row=row, key="CAT_ID")
    return cat_id


def _kept_measurements(keep: np.ndarray, obs_key: np.ndarray, ave_ref: np.ndarray, cadence_ms: np.ndarray,
                       mag: np.ndarray, mag_err: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows kept, ordered by (camera, filter), object, cadence; and the duplicates dropped per key.

    One sort orders everything; within a (camera, filter, object, cadence) the rank is: rows whose MAG and
    MAG_ERR are both finite first, by smallest MAG_ERR; then the others; ties to the earliest .cpm row. The
    first of each such run is kept, the others are duplicates (overlapping chips)."""
    err = mag_err.astype(np.float64)
    usable = np.isfinite(err) & np.isfinite(mag.astype(np.float64))
    err_rank = np.where(usable, err, 0.0)
    rows = np.arange(ave_ref.size)
    order = np.lexsort((rows, err_rank, ~usable, cadence_ms, ave_ref, obs_key))
    order = order[keep[order]]
    k_, o_, c_ = obs_key[order], ave_ref[order], cadence_ms[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (k_[1:] != k_[:-1]) | (o_[1:] != o_[:-1]) | (c_[1:] != c_[:-1])
    return order[first], np.bincount(k_[~first], minlength=n_keys)


def _observation_blocks(table, photcodes, source, order, obs_key, dropped_per_key, ave_ref, cadence_ms,
                        exptime) -> list[ObservationBlock]:
    """One block per (camera, filter) of the kept rows `order` (epoch rows of cameras with an observatory)."""
    blocks: list[ObservationBlock] = []
    for sel in np.split(order, np.flatnonzero(np.diff(obs_key[order])) + 1):
        if sel.size == 0:
            continue
        key = int(obs_key[sel[0]])
        camera, filter_name = photcodes.observation_names(key)
        blocks.append(_observation_block(table, camera, filter_name, int(dropped_per_key[key]), source, sel,
                                         ave_ref, cadence_ms, exptime))
    return blocks


def _observation_block(table: CatalogTable, camera: str, filter_name: str, duplicates_dropped: int,
                       source: _MeasurementSource, sel: np.ndarray, ave_ref: np.ndarray, cadence_ms: np.ndarray,
                       exptime: np.ndarray) -> ObservationBlock:
    """The cadence grid of one (camera, filter) and its mid-exposure unix times; `sel` is sorted by object.
    The epoch geometry is attached later, for all blocks of a camera at once."""
    cadences, col = np.unique(cadence_ms[sel], return_inverse=True)
    objs, row = np.unique(ave_ref[sel], return_inverse=True)

    # Mid-exposure per cadence: TIME + EXPTIME/2, from any measurement of that exposure with a known EXPTIME.
    exp = exptime[sel]
    known = np.isfinite(exp)
    half = np.zeros(cadences.size)
    half[col[known]] = exp[known] / 2.0

    dense = _DenseArrays(source, sel, objs, row, col, int(cadences.size), mid_exposure=cadences / 1000.0 + half)
    return ObservationBlock(
        catalog_table=table.name, region=table.region, camera=camera, filter_name=filter_name,
        cadences_ms=cadences, target_names=source.names[objs], n_measurements=int(sel.size),
        duplicates_dropped=duplicates_dropped, source=dense,
    )


def _attach_geometry(blocks: list[ObservationBlock], observatories: Mapping[str, Observatory],
                     time_scale: str) -> None:
    """One astropy call per camera for all its blocks (the ephemeris and time-scale work is per epoch; its
    fixed cost per call dominates for short cadence grids)."""
    for camera in dict.fromkeys(b.camera for b in blocks):
        mine = [b.source for b in blocks if b.camera == camera]
        geometry = epoch_geometry(np.concatenate([m.mid_exposure for m in mine]), observatories[camera], time_scale)
        start = 0
        for dense in mine:
            stop = start + dense.mid_exposure.size
            dense.geometry = geometry[start:stop]
            start = stop
