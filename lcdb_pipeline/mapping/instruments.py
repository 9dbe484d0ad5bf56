"""The Instrument tree from Photcodes.dat (DESIGN §5): camera → chip, bare REF names as roots.

A chip serves several filters, so its `properties` hold one entry per photcode (filter) with the calibration
constants and the quality masks (as unsigned 32-bit integers) a user needs to interpret its measurements.
"""

from __future__ import annotations

import numpy as np

from lcdb_pipeline.dvo import Photcode, Photcodes
from lcdb_pipeline.mapping.contract import InstrumentSpec


def _f32(value: float) -> float | None:
    """A float32 constant as its shortest decimal (0.08, not 0.07999999821186066); None for NaN (JSON has none)."""
    value = np.float32(value)
    return float(str(value)) if np.isfinite(value) else None


def photcode_properties(p: Photcode) -> dict:
    return {
        "code": p.code, "name": p.name, "type": p.type.name, "filter": p.filter, "equiv": p.equiv_name,
        "c_lam": p.c_lam, "c_lam_err": p.c_lam_err, "x_err": p.x_err, "k": _f32(p.k), "c1": p.c1, "c2": p.c2,
        "nc": p.nc, "x": [_f32(v) for v in p.x],
        "astrom_err_sys": _f32(p.astrom_err_sys), "astrom_err_scale": _f32(p.astrom_err_scale),
        "astrom_err_mag_scale": _f32(p.astrom_err_mag_scale), "photom_err_sys": _f32(p.photom_err_sys),
        "astrom_poor_mask": p.astrom_poor_mask, "astrom_bad_mask": p.astrom_bad_mask,
        "photom_poor_mask": p.photom_poor_mask, "photom_bad_mask": p.photom_bad_mask,
    }


def instrument_specs(photcodes: Photcodes) -> list[InstrumentSpec]:
    """Roots (cameras, 2-part cameras, bare REF names) first, then their chips."""
    specs: list[InstrumentSpec] = []
    for root, node in sorted(photcodes.instrument_tree().items()):
        kind = "camera" if node.chips or any(p.camera for p in node.photcodes) else "reference catalog"
        specs.append(InstrumentSpec(root, None, {
            "kind": kind, "filters": node.filters,
            "photcodes": [photcode_properties(p) for p in node.photcodes],
        }))
        for chip, codes in sorted(node.chips.items()):
            specs.append(InstrumentSpec(chip, root, {
                "kind": "chip", "photcodes": [photcode_properties(p) for p in codes],
            }))
    return specs
