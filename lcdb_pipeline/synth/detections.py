"""Synthetic detections: object × exposure of the same field through the chip grid (gaps, misses), duplicate
detections on a neighbouring chip, and the chip images they were measured on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.dvo.photcodes import Photcodes
from lcdb_pipeline.synth.cameras import CAMERAS, FILTERS, per_camera
from lcdb_pipeline.synth.exposures import Exposures
from lcdb_pipeline.synth.objects import Objects

GAP = 0.03  # fraction of a chip lost to the gap on each side, in x and in y
OVERLAP = 0.08  # detections within this fraction of a chip edge may also land on the neighbour
P_DETECT = 0.92
P_DUPLICATE = 0.06


@dataclass
class Detections:
    obj: np.ndarray
    ex: np.ndarray
    cx: np.ndarray  # chip grid x, y
    cy: np.ndarray
    fx: np.ndarray  # position within the chip (0..1)
    fy: np.ndarray
    code: np.ndarray  # photcode
    is_dup: np.ndarray  # the overlap copy

    @property
    def n(self) -> int:
        return int(self.obj.size)


@dataclass
class ChipImages:
    """One image per (exposure, chip) that has a detection; `of_detection` is each detection's image row."""

    ex: np.ndarray
    chip: np.ndarray  # cx * 8 + cy
    code: np.ndarray
    mcal: np.ndarray  # float32
    nstar: np.ndarray
    of_detection: np.ndarray

    @property
    def n(self) -> int:
        return int(self.ex.size)


def _through_grid(rng, objects: Objects, field_of_obj: np.ndarray, ex: Exposures, n_fields: int) -> list:
    """Per field: the (object, exposure) pairs that land on a chip, outside the gaps, and are detected."""
    cols: list[list[np.ndarray]] = [[], [], [], [], [], []]
    for f in range(n_fields):
        objs = np.flatnonzero(field_of_obj == f)
        exs = np.flatnonzero(ex.field == f)
        o = np.repeat(objs, exs.size)
        e = np.tile(exs, objs.size)
        cams = ex.cam[e]
        fov = per_camera([c.fov for c in CAMERAS], cams)
        nx = per_camera([c.nx for c in CAMERAS], cams)
        ny = per_camera([c.ny for c in CAMERAS], cams)
        gx = (objects.ra[o] - ex.cen_ra[e] + fov / 2) / fov * nx
        gy = (objects.dec[o] - ex.cen_dec[e] + fov / 2) / fov * ny
        cx, cy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
        fx, fy = gx - cx, gy - cy
        ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
        ok &= (fx > GAP) & (fx < 1 - GAP) & (fy > GAP) & (fy < 1 - GAP)
        ok &= rng.random(o.size) < P_DETECT
        ok &= ~objects.never_seen[o]
        for col, values in zip(cols, (o, e, cx, cy, fx, fy)):
            col.append(values[ok])
    return [np.concatenate(c) for c in cols]


def chip_code_table(pc: Photcodes) -> np.ndarray:
    """Photcode per (camera, filter, chip x, chip y); 0 where the camera has no chip there."""
    code_lut = np.zeros((len(CAMERAS), len(FILTERS), 9, 8), dtype=np.int64)
    for ci, cam in enumerate(CAMERAS):
        for flt in cam.filters:
            for x in range(cam.nx):
                for y in range(cam.ny):
                    chip = cam.chip_name(x, y)
                    if chip is not None:
                        code_lut[ci, FILTERS.index(flt), x, y] = pc.by_name(f"{cam.name}.{flt}.{chip}").code
    return code_lut


def _with_duplicates(rng, d: Detections, ex: Exposures, code_lut: np.ndarray) -> Detections:
    """A detection near a chip edge in x seen again on the neighbouring chip."""
    near = (d.fx < OVERLAP) | (d.fx > 1 - OVERLAP)
    pick = np.flatnonzero(near & (rng.random(d.obj.size) < P_DUPLICATE))
    step = np.where(d.fx[pick] < 0.5, -1, 1)
    ncx = d.cx[pick] + step
    nxmax = per_camera([c.nx for c in CAMERAS], ex.cam[d.ex[pick]])
    valid = (ncx >= 0) & (ncx < nxmax)
    ncode = np.where(valid, code_lut[ex.cam[d.ex[pick]], ex.filter[d.ex[pick]], np.clip(ncx, 0, 8),
                                     d.cy[pick]], 0)
    valid &= ncode > 0
    pick, ncx, ncode, step = pick[valid], ncx[valid], ncode[valid], step[valid]
    return Detections(
        obj=np.concatenate([d.obj, d.obj[pick]]), ex=np.concatenate([d.ex, d.ex[pick]]),
        cx=np.concatenate([d.cx, ncx]), cy=np.concatenate([d.cy, d.cy[pick]]),
        fx=np.concatenate([d.fx, d.fx[pick] - step]), fy=np.concatenate([d.fy, d.fy[pick]]),
        code=np.concatenate([d.code, ncode]),
        is_dup=np.concatenate([np.zeros(d.obj.size, bool), np.ones(pick.size, bool)]),
    )


def make_detections(rng, objects: Objects, field_of_obj: np.ndarray, ex: Exposures, n_fields: int,
                    pc: Photcodes) -> Detections:
    d_obj, d_ex, d_cx, d_cy, d_fx, d_fy = _through_grid(rng, objects, field_of_obj, ex, n_fields)
    code_lut = chip_code_table(pc)
    d_code = code_lut[ex.cam[d_ex], ex.filter[d_ex], d_cx, d_cy]
    keep = d_code > 0  # GPC1 grid corners have no chip
    d = Detections(d_obj[keep], d_ex[keep], d_cx[keep], d_cy[keep], d_fx[keep], d_fy[keep], d_code[keep],
                   np.zeros(int(keep.sum()), bool))
    return _with_duplicates(rng, d, ex, code_lut)


def make_images(rng, d: Detections) -> ChipImages:
    """One image per (exposure, chip) that has a detection; IMAGE_ID is the 1-based row of Images.dat."""
    chip_index = d.cx * 8 + d.cy
    image_key = d.ex * 128 + chip_index
    keys, d_img = np.unique(image_key, return_inverse=True)
    n_img = keys.size
    img_code = np.zeros(n_img, dtype=np.int64)
    img_code[d_img] = d.code
    img_mcal = rng.normal(0.0, 0.03, n_img).astype(np.float32)
    img_nstar = np.bincount(d_img, minlength=n_img)
    return ChipImages(keys // 128, keys % 128, img_code, img_mcal, img_nstar, d_img)
