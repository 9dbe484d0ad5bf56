"""Calibrated magnitudes: the IPP's PhotRel relation (`Ohana/src/libdvo/src/dvo_photcode_ops.c`)."""

from __future__ import annotations

import numpy as np


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
