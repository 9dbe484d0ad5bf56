"""The `.cpm` rows of a real database that are not lightcurve epochs, with real PV3 photcodes by name:
reference-catalogue entries (REF `2MASS_J`, `SYNTH.g`), filter averages (SEC `g`), stack photometry
(`GPC1.<f>.SkyChip`) and forced warp photometry (`GPC1.<f>.ForcedWarp`) of the same exposures. Some objects
never detected on a chip get only a REF row: they must not become Targets."""

from __future__ import annotations

import numpy as np

from lcdb_pipeline.dvo.photcodes import Photcodes
from lcdb_pipeline.synth.cameras import CAMERAS, FILTERS
from lcdb_pipeline.synth.detections import Detections
from lcdb_pipeline.synth.exposures import Exposures
from lcdb_pipeline.synth.measurements import Measured
from lcdb_pipeline.synth.objects import Objects

P_REFERENCE = 0.25  # objects with a REF (2MASS_J or SYNTH.g) row
P_SECONDARY = 0.10  # objects with a SEC (g) row
P_STACK = 0.08  # chip detections of GPC1 with a SkyChip row of the same exposure
P_FORCED = 0.08  # … and with a ForcedWarp row


def _chip_derived(rng, d: Detections, ex: Exposures, pc: Photcodes, suffix: str, p: float) -> np.ndarray:
    """(detection, photcode) pairs: GPC1 detections copied as `GPC1.<filter>.<suffix>` rows."""
    gpc1 = CAMERAS.index(next(c for c in CAMERAS if c.name == "GPC1"))
    pick = np.flatnonzero((ex.cam[d.ex] == gpc1) & ~d.is_dup & (rng.random(d.n) < p))
    codes = np.array([pc.by_name(f"GPC1.{f}.{suffix}").code if f in CAMERAS[gpc1].filters else 0
                      for f in FILTERS])
    return np.column_stack([pick, codes[ex.filter[d.ex[pick]]]])


def add_extra_rows(rng, objects: Objects, field_of_obj: np.ndarray, d: Detections, ex: Exposures, meas: Measured,
                   pc: Photcodes, image_of: np.ndarray) -> tuple[Detections, Measured, np.ndarray]:
    """Detections, measured values and image rows (-1: no image) with the non-epoch rows appended."""
    derived = np.concatenate([_chip_derived(rng, d, ex, pc, "SkyChip", P_STACK),
                              _chip_derived(rng, d, ex, pc, "ForcedWarp", P_FORCED)])
    src, codes = derived[:, 0], derived[:, 1]
    # reference rows: any object (never-seen ones included), the time of the field's first exposure
    ref_obj = np.flatnonzero(rng.random(objects.n) < P_REFERENCE)
    sec_obj = np.flatnonzero(rng.random(objects.n) < P_SECONDARY)
    ref_codes = np.where(rng.random(ref_obj.size) < 0.5, pc.by_name("2MASS_J").code, pc.by_name("SYNTH.g").code)
    objs = np.concatenate([ref_obj, sec_obj])
    first_ex = np.array([np.flatnonzero(ex.field == f)[0] for f in range(int(ex.field.max()) + 1)])[field_of_obj]
    n_ref = objs.size
    extra = Detections(
        obj=np.concatenate([d.obj[src], objs]), ex=np.concatenate([d.ex[src], first_ex[objs]]),
        cx=np.concatenate([d.cx[src], np.zeros(n_ref, np.int64)]),
        cy=np.concatenate([d.cy[src], np.zeros(n_ref, np.int64)]),
        fx=np.concatenate([d.fx[src], np.full(n_ref, 0.5)]), fy=np.concatenate([d.fy[src], np.full(n_ref, 0.5)]),
        code=np.concatenate([codes, ref_codes, np.full(sec_obj.size, pc.by_name("g").code)]).astype(np.int64),
        is_dup=np.zeros(src.size + n_ref, bool),
    )
    catalogue_mag = objects.mag[objs, FILTERS.index("g")]
    values = {name: np.concatenate([getattr(meas, name)[src], np.full(n_ref, np.nan)])
              for name in ("cal", "mag_err", "m_aper", "m_cal", "m_flat", "airmass", "dra", "ddec", "x_ccd",
                           "y_ccd")}
    values["mag"] = np.concatenate([meas.mag[src] + rng.normal(0.0, 0.02, src.size), catalogue_mag])
    values["mag_err"][src.size:] = 0.03
    values["m_aper"][src.size:] = np.nan
    values["m_cal"][src.size:] = 0.0
    values["airmass"][src.size:] = 1.0
    values["dra"][src.size:] = rng.normal(0.0, 0.1, n_ref)
    values["ddec"][src.size:] = rng.normal(0.0, 0.1, n_ref)
    values["cal"][src.size:] = catalogue_mag
    flags = [np.concatenate([getattr(meas, f)[src], np.zeros(n_ref, np.uint32)]) for f in ("phot_flags", "db_flags")]
    extra_meas = Measured(rows_pc=pc.index_of(extra.code), time=ex.time[extra.ex] + ex.msec[extra.ex] / 1000.0,
                          phot_flags=flags[0], db_flags=flags[1], **values)
    return (_concat(Detections, d, extra), _concat(Measured, meas, extra_meas),
            np.concatenate([image_of, np.full(extra.n, -1)]))


def _concat(cls, a, b):
    return cls(**{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in a.__dataclass_fields__})

