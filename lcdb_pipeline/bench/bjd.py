"""BJD_TDB: the vectorised computation (`lcdb_pipeline.mapping.bjd`) against astropy's
``Time.light_travel_time``, one (target, epoch) at a time and one target at a time: ns per target·epoch,
and the largest difference."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

from lcdb_pipeline.defs.resources import ObservatoriesResource
from lcdb_pipeline.mapping.bjd import (
    C_AU_PER_DAY,
    EPHEMERIS,
    EpochGeometry,
    bjd_tdb,
    epoch_geometry,
    unit_vectors,
)

US_PER_DAY = 86_400e6


@dataclass
class _Vectorised:
    geometry: EpochGeometry  # of every epoch
    targets: np.ndarray  # unit vectors, one per target
    bjd: np.ndarray  # (targets, epochs) float64 JD
    geometry_s: float
    matrix_s: float  # best of three


def _vectorised(unix: np.ndarray, ra: np.ndarray, dec: np.ndarray, site) -> _Vectorised:
    epoch_geometry(unix[:2], site)  # IERS tables, ephemeris: loaded once, not timed
    started = time.perf_counter()
    geometry = epoch_geometry(unix, site)
    geometry_s = time.perf_counter() - started
    targets = unit_vectors(ra, dec)
    matrix_s = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        bjd = bjd_tdb(geometry, targets)
        matrix_s = min(matrix_s, time.perf_counter() - started)
    return _Vectorised(geometry, targets, bjd, geometry_s, matrix_s)


def _astropy_bjd(times: Time, ra: float, dec: float) -> Time:
    ltt = times.light_travel_time(SkyCoord(ra * u.deg, dec * u.deg), kind="barycentric", ephemeris=EPHEMERIS)
    return times.tdb + ltt


def _astropy_per_pair(unix, ra, dec, location, pairs: list[tuple[int, int]]) -> tuple[list[Time], float]:
    """astropy for each (target, epoch) alone: its BJDs and the seconds they took."""
    started = time.perf_counter()
    results = [_astropy_bjd(Time(unix[j], format="unix", scale="utc", location=location), ra[i], dec[i])
               for i, j in pairs]
    return results, time.perf_counter() - started


def _astropy_per_target(unix, ra, dec, location, n_targets: int) -> tuple[list[Time], float]:
    """astropy once per target, all epochs in one call (its best case without the matrix trick)."""
    started = time.perf_counter()
    times = Time(unix, format="unix", scale="utc", location=location)
    results = [_astropy_bjd(times, ra[i], dec[i]) for i in range(n_targets)]
    return results, time.perf_counter() - started


def _differences(vec: _Vectorised, pairs, per_pair: list[Time], per_target: list[Time]) -> tuple[float, float]:
    """Max |vectorised − astropy| in µs, computed in two parts (TDB jd1, jd2 + delay: the computation itself,
    before rounding to one float64 JD), and max |stored float64 JD − astropy| in µs."""
    g = vec.geometry
    diffs_us, stored_us = [], []
    for (i, j), full in zip(pairs, per_pair):
        delay = float(vec.targets[i] @ g.position_au[j]) / C_AU_PER_DAY
        diff_days = (g.tdb_jd1[j] - full.jd1) + ((g.tdb_jd2[j] + delay) - full.jd2)
        diffs_us.append(abs(diff_days) * US_PER_DAY)
        stored_us.append(abs((vec.bjd[i, j] - full.jd1) - full.jd2) * US_PER_DAY)
    delays = vec.targets[:len(per_target)] @ g.position_au.T / C_AU_PER_DAY
    for i, full in enumerate(per_target):
        diff_days = (g.tdb_jd1 - full.jd1) + ((g.tdb_jd2 + delays[i]) - full.jd2)
        diffs_us.append(float(np.abs(diff_days).max()) * US_PER_DAY)
    return max(diffs_us), max(stored_us)


def bench_bjd(grid: tuple[int, int], astropy_pairs: int, seed: int = 0) -> dict:
    """Vectorised BJD on targets × epochs vs astropy's `light_travel_time`, one (target, epoch) at a time."""
    site = ObservatoriesResource().sites()["GPC1"]
    rng = np.random.default_rng(seed)
    n_targets, n_epochs = grid
    ra = rng.uniform(0, 360, n_targets)
    dec = np.degrees(np.arcsin(rng.uniform(-0.5, 1.0, n_targets)))  # PS1 sky: dec > -30°
    unix = np.sort(rng.uniform(1262304000, 1609459199, n_epochs))  # 2010–2020
    vec = _vectorised(unix, ra, dec, site)
    location = site.location()
    pairs = list(zip(rng.integers(0, n_targets, astropy_pairs).tolist(),
                     rng.integers(0, n_epochs, astropy_pairs).tolist()))
    per_pair, astropy_s = _astropy_per_pair(unix, ra, dec, location, pairs)
    n_per_target = max(1, min(20, n_targets))
    per_target, astropy_target_s = _astropy_per_target(unix, ra, dec, location, n_per_target)
    max_diff_us, max_stored_us = _differences(vec, pairs, per_pair, per_target)
    n_pairs = n_targets * n_epochs
    return {
        "targets": n_targets, "epochs": n_epochs,
        "astropy_per_target_us_per_pair": astropy_target_s / (n_per_target * n_epochs) * 1e6,
        "astropy_per_target_targets": n_per_target,
        "geometry_us_per_epoch": vec.geometry_s / n_epochs * 1e6,
        "matrix_ns_per_pair": vec.matrix_s / n_pairs * 1e9,
        "ns_per_pair": (vec.geometry_s + vec.matrix_s) / n_pairs * 1e9,
        "astropy_pairs": astropy_pairs,
        "astropy_us_per_pair": astropy_s / astropy_pairs * 1e6,
        "max_diff_us": max_diff_us, "max_diff_stored_us": max_stored_us,
        "float64_jd_resolution_us": float(np.spacing(2455000.0)) * US_PER_DAY,
    }
