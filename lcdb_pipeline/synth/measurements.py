"""Synthetic measured values per detection: magnitudes consistent with the photcodes' K and C_LAM and the
image M_CAL (the IPP's PhotRel inverted), errors, NaNs, flag words, positions, chip coordinates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.dvo.photcodes import Photcodes
from lcdb_pipeline.synth.cameras import CAMERAS, per_camera
from lcdb_pipeline.synth.detections import ChipImages, Detections
from lcdb_pipeline.synth.exposures import Exposures
from lcdb_pipeline.synth.objects import Objects

ZERO_PT = 25.0
PHOT_BITS = np.array([0x1, 0x8, 0x10, 0x20, 0x100, 0x1000, 0x10000, 0x100000, 0x200000, 0x10000000],
                     dtype=np.uint32)
DB_BITS = np.array([0x40, 0x80, 0x400, 0x800, 0x100000, 0x200000, 0x1000000], dtype=np.uint32)


@dataclass
class Measured:
    rows_pc: np.ndarray  # Photcodes row of each detection
    time: np.ndarray  # float seconds (TIME + TIME_MSEC / 1000)
    cal: np.ndarray  # the true calibrated magnitude plus noise
    mag: np.ndarray
    mag_err: np.ndarray
    m_aper: np.ndarray
    m_cal: np.ndarray
    m_flat: np.ndarray
    airmass: np.ndarray
    phot_flags: np.ndarray
    db_flags: np.ndarray
    dra: np.ndarray  # arcsec, IPP convention dR = 3600 (ave.R - R) (no cos dec)
    ddec: np.ndarray
    x_ccd: np.ndarray
    y_ccd: np.ndarray


def _magnitudes(rng, objects: Objects, d: Detections, ex: Exposures, images: ChipImages, pc: Photcodes,
                with_flat: bool) -> dict:
    rows_pc = pc.index_of(d.code)
    k = pc.k[rows_pc].astype(np.float64)
    c_lam = pc.c_lam[rows_pc].astype(np.float64)
    t = ex.time[d.ex].astype(np.float64) + ex.msec[d.ex] / 1000.0
    flt = ex.filter[d.ex]
    true_mag = objects.mag[d.obj, flt] + objects.amp[d.obj] * np.sin(
        2 * np.pi * t / objects.period[d.obj] + objects.phase0[d.obj])
    mag_err = np.sqrt(0.005 ** 2 + (0.02 * 10 ** (0.4 * (true_mag - 20.0))) ** 2)
    mag_err = np.where(d.is_dup, mag_err * 1.4 + 0.004, mag_err)  # the overlap copy is the worse one
    cal = true_mag + rng.normal(0.0, 1.0, d.n) * mag_err
    airmass = ex.airmass[d.ex].astype(np.float64)
    m_cal = images.mcal[images.of_detection].astype(np.float64)
    m_flat = rng.normal(0.0, 0.005, d.n)
    m_flat[rng.random(d.n) < 0.01] = np.nan
    flat_term = np.where(np.isfinite(m_flat), m_flat, 0.0) if with_flat else 0.0
    # the IPP's PhotRel inverted: MAG = cal + ZERO_PT - K (AIRMASS - 1) - 0.001 C_LAM + M_CAL + M_FLAT
    mag = cal + ZERO_PT - k * (airmass - 1.0) - 0.001 * c_lam + m_cal + flat_term
    m_aper = mag + rng.normal(-0.02, 0.01, d.n)
    nan_all = rng.random(d.n) < 0.007
    nan_aper = rng.random(d.n) < 0.003
    mag[nan_all] = np.nan
    mag_err[nan_all] = np.nan
    m_aper[nan_all | nan_aper] = np.nan
    return dict(rows_pc=rows_pc, time=t, cal=cal, mag=mag, mag_err=mag_err, m_aper=m_aper, m_cal=m_cal,
                m_flat=m_flat, airmass=airmass)


def _flag_words(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each allowed bit set with probability 1/8 (the AND of three random words), bit 31 for 2 %, and a few
    all-ones words (every pattern is a real value)."""
    words = rng.integers(0, 2**32, (6, n), dtype=np.uint32)
    phot_flags = words[0] & words[1] & words[2] & np.uint32(np.bitwise_or.reduce(PHOT_BITS))
    db_flags = words[3] & words[4] & words[5] & np.uint32(np.bitwise_or.reduce(DB_BITS))
    del words
    phot_flags[rng.random(n) < 0.02] |= np.uint32(0x80000000)
    phot_flags[rng.random(n) < 0.002] = np.uint32(0xFFFFFFFF)
    db_flags[rng.random(n) < 0.02] |= np.uint32(0x80000000)
    return phot_flags, db_flags


def make_measured(rng, objects: Objects, d: Detections, ex: Exposures, images: ChipImages, pc: Photcodes,
                  with_flat: bool) -> Measured:
    values = _magnitudes(rng, objects, d, ex, images, pc, with_flat)
    phot_flags, db_flags = _flag_words(rng, d.n)
    # positions: scatter of 0.05" around the object
    dra = rng.normal(0.0, 0.05, d.n)
    ddec = rng.normal(0.0, 0.05, d.n)
    px = per_camera([c.chip_px for c in CAMERAS], ex.cam[d.ex], dtype=np.float64)
    return Measured(**values, phot_flags=phot_flags, db_flags=db_flags, dra=dra, ddec=ddec,
                    x_ccd=d.fx * px[:, 0], y_ccd=d.fy * px[:, 1])
