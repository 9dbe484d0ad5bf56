"""Synthetic objects: positions inside their tables, magnitudes and colours, variability, never-seen ones."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.synth.cameras import COLOR, FILTERS

P_NEVER_SEEN = 0.03
P_VARIABLE = 0.08


@dataclass
class Objects:
    table_of_obj: np.ndarray  # index into the populated tables
    ra: np.ndarray
    dec: np.ndarray
    mag: np.ndarray  # (n_obj, len(FILTERS)) mean magnitudes
    amp: np.ndarray  # variability amplitude (0 for constant stars)
    period: np.ndarray  # seconds
    phase0: np.ndarray
    never_seen: np.ndarray

    @property
    def n(self) -> int:
        return int(self.ra.size)


def make_objects(rng: np.random.Generator, bounds: np.ndarray, n_obj_table: int) -> Objects:
    """`n_obj_table` objects in each table of `bounds` (n_tables × (rmin, rmax, dmin, dmax))."""
    n_tables = bounds.shape[0]
    n_obj = n_obj_table * n_tables
    table_of_obj = np.repeat(np.arange(n_tables), n_obj_table)
    b = bounds
    margin = 0.002
    u = rng.random((2, n_obj))
    obj_ra = b[table_of_obj, 0] + margin + u[0] * (b[table_of_obj, 1] - b[table_of_obj, 0] - 2 * margin)
    obj_dec = b[table_of_obj, 2] + margin + u[1] * (b[table_of_obj, 3] - b[table_of_obj, 2] - 2 * margin)
    obj_rmag = 15.0 + 6.5 * rng.random(n_obj) ** 0.6
    obj_color = COLOR[None, :] + rng.normal(0.0, 0.15, (n_obj, len(FILTERS)))
    obj_mag = obj_rmag[:, None] + obj_color  # (n_obj, 6)
    variable = rng.random(n_obj) < P_VARIABLE
    amp = np.where(variable, rng.uniform(0.05, 0.5, n_obj), 0.0)
    period = rng.uniform(0.2, 20.0, n_obj) * 86400.0
    phase0 = rng.random(n_obj) * 2 * np.pi
    never_seen = rng.random(n_obj) < P_NEVER_SEEN
    return Objects(table_of_obj, obj_ra, obj_dec, obj_mag, amp, period, phase0, never_seen)
