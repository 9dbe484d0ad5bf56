"""Synthetic exposures: every camera, filter and epoch over each populated field, numbered by time."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.synth.cameras import CAMERAS, FILTERS

T_START = 1262304000  # 2010-01-01T00:00:00Z
T_END = 1609459199  # 2020-12-31T23:59:59Z


@dataclass
class Exposures:
    field: np.ndarray  # index of the populated band
    cam: np.ndarray  # index into CAMERAS
    filter: np.ndarray  # index into FILTERS
    time: np.ndarray  # unix seconds (TIME)
    msec: np.ndarray  # TIME_MSEC
    airmass: np.ndarray  # float32
    exptime: np.ndarray  # float32 seconds
    cen_ra: np.ndarray
    cen_dec: np.ndarray

    @property
    def n(self) -> int:
        return int(self.field.size)


def _schedule(n_fields: int, scale: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ex_field, ex_cam, ex_filter = [], [], []
    for f in range(n_fields):
        for ci, cam in enumerate(CAMERAS):
            epochs = scale["gpc1_epochs"] if cam.name == "GPC1" else scale["megacam_epochs"]
            for flt in cam.filters:
                for _ in range(epochs):
                    ex_field.append(f)
                    ex_cam.append(ci)
                    ex_filter.append(FILTERS.index(flt))
    return np.array(ex_field), np.array(ex_cam), np.array(ex_filter)


def make_exposures(rng: np.random.Generator, field_box: np.ndarray, scale: dict) -> Exposures:
    """Exposures of every field of `field_box` (n_fields × (rmin, rmax, dmin, dmax))."""
    ex_field, ex_cam, ex_filter = _schedule(field_box.shape[0], scale)
    n_ex = ex_field.size
    ex_time = rng.integers(T_START, T_END, n_ex)
    ex_msec = rng.integers(0, 1000, n_ex)
    order = np.lexsort((ex_msec, ex_time))  # global exposure numbering follows time
    ex_field, ex_cam, ex_filter, ex_time, ex_msec = (a[order] for a in (ex_field, ex_cam, ex_filter, ex_time,
                                                                         ex_msec))
    ex_airmass = np.clip(1.0 + np.abs(rng.normal(0.0, 0.3, n_ex)), 1.0, 2.5).astype(np.float32)
    base_exptime = np.array([CAMERAS[c].exptime[FILTERS[f]] for c, f in zip(ex_cam, ex_filter)])
    ex_exptime = (base_exptime * rng.uniform(0.9, 1.1, n_ex)).astype(np.float32)
    cen_ra = (field_box[ex_field, 0] + field_box[ex_field, 1]) / 2 + rng.uniform(-0.1, 0.1, n_ex)
    cen_dec = (field_box[ex_field, 2] + field_box[ex_field, 3]) / 2 + rng.uniform(-0.1, 0.1, n_ex)
    return Exposures(ex_field, ex_cam, ex_filter, ex_time, ex_msec, ex_airmass, ex_exptime, cen_ra, cen_dec)
