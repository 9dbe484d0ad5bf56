"""The synthetic DVO database generator (imported lazily through `lcdb_pipeline.synth`).

`generate(out_dir, scale, seed, fmt)` writes a complete DVO database (`lcdb synth OUT_DIR …`):

* `SkyTable.fits` — the IPP hierarchy (row 0 full sky, the 24 declination bands n0000 … s8230 at depth 1,
  all listed; RA segments `band/z000` at depth 2; one GSC-like region `band/NNNN` at depth 3; its
  subdivisions `band/NNNN.00 …` at depth 4 with TABLE set). Real IPP tables split every depth-3 region into
  4 × 4 and cover the whole sky; here only the populated bands (plus two special ones) get children, split
  2 × 2 (small), 3 × 3 (medium) or 4 × 4 (large) — a reduced but valid tree.
* `Photcodes.dat` — the real PS1 PV3 file (package data), byte for byte.
* `Images.dat` — one row per chip image, `DVO_IMAGE_PS1_V1` or `DVO_IMAGE_PS1_V5_LOAD` to match the
  catalog format; ZERO_PT = 25.
* per depth-4 table `.cpt`, `.cpm`, `.cps`, `.cpn` with the EXTNAMEs, columns, TFORMs and primary keywords
  of the real IPP headers (`lcdb_pipeline.dvo.layouts`).

Content: two cameras, GPC1 (filters g r i z y, 60 chips `XY01 … XY76` on an 8 × 8 grid without corners)
and MEGACAM (u g r i z, 36 chips `00 … 35` on 9 × 4), exposures 2010–2020 (TIME, TIME_MSEC), chip gaps (each
object is seen in a subset of the exposures), duplicate detections of one object on two neighbouring chips
of one exposure (different MAG_ERR), NaN magnitudes, PHOT_FLAGS/DB_FLAGS with bit 31 set (and all-ones),
objects never measured, variable stars, airmass, per-image M_CAL, magnitudes consistent with the
photcodes' K and C_LAM, exactly one `SORTED = F` table (measurements shuffled, AVE_REF right, OFF_MEASURE
stale), one table whose OBJ_IDs cross 2³¹ (unsigned handling), and one object with NaN RA/DEC.
Special regions: `s0730` is listed in SkyTable (with tables) but has no directory; `n0730` is listed and
its directory exists but is empty.

Everything is numpy-vectorised; the same seed gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from lcdb_pipeline.dvo.photcodes import Photcodes, PhotcodeType
from lcdb_pipeline.synth.fits_writer import write_bintable
from lcdb_pipeline.synth.layouts import (
    CATALOG_LAYOUTS,
    IMAGE_LAYOUTS,
    SKY_REGION,
    Layout,
)

FORMATS = {"ps1_v1": "PS1_V1", "ps1_v5_load": "PS1_V5_LOAD"}

#: per scale: populated bands, depth-4 split (ndiv × ndiv per region), objects per table, epochs per filter
SCALES = {
    "small": dict(bands=3, ndiv=2, objects=220, gpc1_epochs=3, megacam_epochs=2),
    "medium": dict(bands=4, ndiv=3, objects=450, gpc1_epochs=3, megacam_epochs=2),
    "large": dict(bands=5, ndiv=4, objects=500, gpc1_epochs=12, megacam_epochs=8),  # ~PS1 3pi: 12 per filter
}

#: the IPP's 24 declination bands (SkyTableFromGSC.c)
BANDS = ["n0000", "n0730", "n1500", "n2230", "n3000", "n3730", "n4500", "n5230", "n6000", "n6730", "n7500",
         "n8230", "s0000", "s0730", "s1500", "s2230", "s3000", "s3730", "s4500", "s5230", "s6000", "s6730",
         "s7500", "s8230"]
BAND_DMIN = [0.0, 7.5, 15.0, 22.5, 30.0, 37.5, 45.0, 52.5, 60.0, 67.5, 75.0, 82.5,
             -7.5, -15.0, -22.5, -30.0, -37.5, -45.0, -52.5, -60.0, -67.5, -75.0, -82.5, -90.0]
POPULATED_BANDS = ["n0000", "n1500", "s2230", "n3000", "s0000"]
MISSING_DIR_BAND = "s0730"  # SkyTable lists its tables, the directory does not exist
EMPTY_DIR_BAND = "n0730"  # SkyTable lists its tables, the directory exists and is empty

ZERO_PT = 25.0
DATE = "2020/02/02,18:51:36"
T_START = 1262304000  # 2010-01-01T00:00:00Z
T_END = 1609459199  # 2020-12-31T23:59:59Z
FIELD_SIZE = 2.0  # degrees (RA and Dec) of each depth-3 region

FILTERS = ["u", "g", "r", "i", "z", "y"]  # common filter index for magnitudes
COLOR = np.array([1.2, 0.5, 0.0, -0.2, -0.3, -0.35])  # mean colour relative to r


@dataclass(frozen=True)
class Camera:
    name: str
    filters: tuple[str, ...]
    nx: int  # chip grid
    ny: int
    fov: float  # degrees covered by the grid (square)
    chip_px: tuple[int, int]
    exptime: dict
    pltscale: float
    latitude: float

    def chip_name(self, x: int, y: int) -> str | None:
        if self.name == "GPC1":
            if (x, y) in ((0, 0), (0, 7), (7, 0), (7, 7)):
                return None
            return f"XY{x}{y}"
        return f"{y * self.nx + x:02d}"


CAMERAS = (
    Camera("GPC1", ("g", "r", "i", "z", "y"), 8, 8, 2.4, (4846, 4868),
           {"g": 43.0, "r": 40.0, "i": 45.0, "z": 30.0, "y": 30.0}, 0.258, 20.7071),
    Camera("MEGACAM", ("u", "g", "r", "i", "z"), 9, 4, 2.3, (2048, 4612),
           {"u": 300.0, "g": 200.0, "r": 150.0, "i": 150.0, "z": 200.0}, 0.187, 19.8253),
)

GAP = 0.03  # fraction of a chip lost to the gap on each side, in x and in y
OVERLAP = 0.08  # detections within this fraction of a chip edge may also land on the neighbour
P_DETECT = 0.92
P_DUPLICATE = 0.06
P_NEVER_SEEN = 0.03
P_VARIABLE = 0.08
PHOT_BITS = np.array([0x1, 0x8, 0x10, 0x20, 0x100, 0x1000, 0x10000, 0x100000, 0x200000, 0x10000000],
                     dtype=np.uint32)
DB_BITS = np.array([0x40, 0x80, 0x400, 0x800, 0x100000, 0x200000, 0x1000000], dtype=np.uint32)


@dataclass
class SynthSummary:
    """What `generate` wrote. `truth` (with keep_truth=True) holds, per catalog table, the objects and the
    measurements exactly as written (measurement rows in file order; `ra`/`dec` before any encoding)."""

    out_dir: str
    format: str
    scale: str
    seed: int
    regions: list[str]
    tables: list[str]
    objects: int
    measurements: int
    images: int
    bytes: int
    seconds: float
    unsorted_table: str
    high_obj_id_table: str
    nan_position: tuple[str, int]
    missing_dir_region: str = MISSING_DIR_BAND
    empty_dir_region: str = EMPTY_DIR_BAND
    truth: dict = field(default_factory=dict, repr=False)

    def lines(self) -> list[str]:
        mb = self.bytes / 1e6
        return [
            f"DVO database ({self.format}, scale {self.scale}, seed {self.seed}) in {self.out_dir}",
            f"  regions     {len(self.regions)} populated: {', '.join(self.regions)}"
            f" (+ {self.missing_dir_region} listed without directory, {self.empty_dir_region} empty)",
            f"  tables      {len(self.tables)} (unsorted: {self.unsorted_table})",
            f"  objects     {self.objects:,}",
            f"  measurements {self.measurements:,}",
            f"  images      {self.images:,}",
            f"  bytes       {self.bytes:,} ({mb:,.1f} MB)",
            f"  seconds     {self.seconds:.2f}",
        ]


def pv3_photcodes_path() -> str:
    return str(resources.files("lcdb_pipeline") / "data" / "PV3.Photcodes.dat")


# ------------------------------------------------------------------------------------------------ the plan

@dataclass
class _Table:
    name: str
    band: str
    bounds: tuple[float, float, float, float]  # rmin, rmax, dmin, dmax
    catid: int
    populated: bool


def _plan(scale: dict) -> tuple[list[str], list[_Table], list[tuple]]:
    """Bands with children and their tables; the SkyTable rows (level by level, IPP order)."""
    populated = POPULATED_BANDS[: scale["bands"]]
    structured = [b for b in BANDS if b in populated or b in (MISSING_DIR_BAND, EMPTY_DIR_BAND)]
    ndiv = scale["ndiv"]
    rows: list[dict] = [dict(r=(0.0, 360.0, -90.0, 90.0), depth=0, parent=-1, name="fullsky", table=0)]
    l1 = {}
    for i, band in enumerate(BANDS):
        l1[band] = len(rows)
        rows.append(dict(r=(0.0, 360.0, BAND_DMIN[i], BAND_DMIN[i] + 7.5), depth=1, parent=0, name=band, table=0))
    l2, l3 = {}, {}
    boxes = {}
    for j, band in enumerate(structured):
        dmin = BAND_DMIN[BANDS.index(band)]
        # n0000 straddles RA 0/360 (R_MAX > 360, as the IPP writes such regions): tests the RA wrap
        ra0 = 359.0 if band == "n0000" else 20.0 + 37.0 * j
        d0 = dmin + 2.0
        boxes[band] = (ra0, ra0 + FIELD_SIZE, d0, d0 + FIELD_SIZE)
        l2[band] = len(rows)
        rows.append(dict(r=(ra0, ra0 + 15.0, dmin, dmin + 7.5), depth=2, parent=l1[band],
                         name=f"{band}/z{j:03d}", table=0))
    gsc = {}
    for j, band in enumerate(structured):
        gsc[band] = 1 + 37 * j
        l3[band] = len(rows)
        rows.append(dict(r=boxes[band], depth=3, parent=l2[band], name=f"{band}/{gsc[band]:04d}", table=0))
    tables: list[_Table] = []
    for j, band in enumerate(structured):
        rmin, rmax, dmin, dmax = boxes[band]
        dr, dd = (rmax - rmin) / ndiv, (dmax - dmin) / ndiv
        for k in range(ndiv * ndiv):
            ny, nx = divmod(k, ndiv)
            b = (rmin + nx * dr, rmin + (nx + 1) * dr, dmin + ny * dd, dmin + (ny + 1) * dd)
            name = f"{band}/{gsc[band]:04d}.{k:02d}"
            rows.append(dict(r=b, depth=4, parent=l3[band], name=name, table=1))
            tables.append(_Table(name, band, b, 100001 + len(tables), band in populated))
    # children ranges: rows are grouped by parent in order, so each parent's children are contiguous
    for i, row in enumerate(rows):
        kids = [k for k, r in enumerate(rows) if r["parent"] == i]
        row["child_s"], row["child_e"] = (kids[0], kids[-1] + 1) if kids else (0, 0)
    return populated, tables, rows


def _write_skytable(path: str, rows: list[dict]) -> int:
    lay = SKY_REGION
    a = lay.empty(len(rows))
    a["R_MIN"] = [r["r"][0] for r in rows]
    a["R_MAX"] = [r["r"][1] for r in rows]
    a["D_MIN"] = [r["r"][2] for r in rows]
    a["D_MAX"] = [r["r"][3] for r in rows]
    a["CHILD_S"] = [r["child_s"] for r in rows]
    a["CHILD_E"] = [r["child_e"] for r in rows]
    a["PARENT"] = [r["parent"] for r in rows]
    a["INDEX"] = np.arange(len(rows))
    a["DEPTH"] = [bytes([r["depth"]]) for r in rows]
    a["CHILD"] = [bytes([1 if r["child_e"] > r["child_s"] else 0]) for r in rows]
    a["TABLE"] = [bytes([r["table"]]) for r in rows]
    a["NAME"] = [r["name"].encode() for r in rows]
    return write_bintable(path, _primary(lay, {"EXTEND": True}), lay.extname, lay.columns, a,
                          scale_keywords=lay.style == "v1")


def _primary(layout: Layout, values: dict) -> list[tuple]:
    """Primary cards: exactly the keywords (and order) of the real header of this layout."""
    base = {"SIMPLE": True, "BITPIX": 8, "NAXIS": 0, "PCOUNT": 0, "GCOUNT": 1, "BSCALE": 1.0, "BZERO": 0.0,
            "EXTEND": False}
    base.update(values)
    missing = [k for k in layout.primary if k not in base]
    if missing:
        raise AssertionError(f"{layout.extname}: no value for primary keywords {missing}")
    return [(k, base[k]) for k in layout.primary]


# ------------------------------------------------------------------------------------------------ generation

def generate(out_dir: str | os.PathLike, scale: str = "small", seed: int = 0, fmt: str = "ps1_v1", *,
             overwrite: bool = False, keep_truth: bool = False) -> SynthSummary:
    """Write a synthetic DVO database into `out_dir` (created; must be empty unless `overwrite`, which
    replaces a previous DVO database there). Returns a `SynthSummary`."""
    t0 = time.perf_counter()
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}")
    if fmt.lower() not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, not {fmt!r}")
    fmt_name = FORMATS[fmt.lower()]
    out_dir = os.fspath(out_dir)
    _prepare(out_dir, overwrite)
    sc = SCALES[scale]
    rng = np.random.default_rng(seed)
    populated, tables, sky_rows = _plan(sc)
    nbytes = _write_skytable(os.path.join(out_dir, "SkyTable.fits"), sky_rows)
    shutil.copyfile(pv3_photcodes_path(), os.path.join(out_dir, "Photcodes.dat"))
    nbytes += os.path.getsize(os.path.join(out_dir, "Photcodes.dat"))
    pc = Photcodes(os.path.join(out_dir, "Photcodes.dat"))

    data_tables = [t for t in tables if t.populated]
    n_obj_table = sc["objects"]
    n_tables = len(data_tables)
    n_obj = n_obj_table * n_tables

    # -- objects -----------------------------------------------------------------------------------------
    table_of_obj = np.repeat(np.arange(n_tables), n_obj_table)
    b = np.array([t.bounds for t in data_tables])
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

    # -- exposures (per band field: every camera, filter, epoch) -----------------------------------------
    fields = {band: i for i, band in enumerate(populated)}
    field_box = np.array([[min(t.bounds[0] for t in data_tables if t.band == band),
                           max(t.bounds[1] for t in data_tables if t.band == band),
                           min(t.bounds[2] for t in data_tables if t.band == band),
                           max(t.bounds[3] for t in data_tables if t.band == band)] for band in populated])
    ex_field, ex_cam, ex_filter = [], [], []
    for f in range(len(populated)):
        for ci, cam in enumerate(CAMERAS):
            epochs = sc["gpc1_epochs"] if cam.name == "GPC1" else sc["megacam_epochs"]
            for flt in cam.filters:
                for _ in range(epochs):
                    ex_field.append(f)
                    ex_cam.append(ci)
                    ex_filter.append(FILTERS.index(flt))
    ex_field = np.array(ex_field)
    ex_cam = np.array(ex_cam)
    ex_filter = np.array(ex_filter)
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

    # -- detections: object × exposure of the same field, through the chip grid ---------------------------
    band_of_table = np.array([fields[t.band] for t in data_tables])
    field_of_obj = band_of_table[table_of_obj]
    d_obj, d_ex, d_cx, d_cy, d_fx, d_fy = [], [], [], [], [], []
    for f in range(len(populated)):
        objs = np.flatnonzero(field_of_obj == f)
        exs = np.flatnonzero(ex_field == f)
        o = np.repeat(objs, exs.size)
        e = np.tile(exs, objs.size)
        cams = ex_cam[e]
        fov = np.array([c.fov for c in CAMERAS])[cams]
        nx = np.array([c.nx for c in CAMERAS])[cams]
        ny = np.array([c.ny for c in CAMERAS])[cams]
        gx = (obj_ra[o] - cen_ra[e] + fov / 2) / fov * nx
        gy = (obj_dec[o] - cen_dec[e] + fov / 2) / fov * ny
        cx, cy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
        fx, fy = gx - cx, gy - cy
        ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
        ok &= (fx > GAP) & (fx < 1 - GAP) & (fy > GAP) & (fy < 1 - GAP)
        ok &= rng.random(o.size) < P_DETECT
        ok &= ~never_seen[o]
        d_obj.append(o[ok])
        d_ex.append(e[ok])
        d_cx.append(cx[ok])
        d_cy.append(cy[ok])
        d_fx.append(fx[ok])
        d_fy.append(fy[ok])
    d_obj, d_ex, d_cx, d_cy, d_fx, d_fy = (np.concatenate(a) for a in (d_obj, d_ex, d_cx, d_cy, d_fx, d_fy))

    # photcode per (camera, filter, chip x, chip y); 0 where the camera has no chip there
    code_lut = np.zeros((len(CAMERAS), len(FILTERS), 9, 8), dtype=np.int64)
    for ci, cam in enumerate(CAMERAS):
        for flt in cam.filters:
            for x in range(cam.nx):
                for y in range(cam.ny):
                    chip = cam.chip_name(x, y)
                    if chip is not None:
                        code_lut[ci, FILTERS.index(flt), x, y] = pc.by_name(f"{cam.name}.{flt}.{chip}").code
    d_code = code_lut[ex_cam[d_ex], ex_filter[d_ex], d_cx, d_cy]
    keep = d_code > 0  # GPC1 grid corners have no chip
    d_obj, d_ex, d_cx, d_cy, d_fx, d_fy, d_code = (a[keep] for a in (d_obj, d_ex, d_cx, d_cy, d_fx, d_fy,
                                                                      d_code))

    # duplicates: a detection near a chip edge in x seen again on the neighbouring chip
    near = (d_fx < OVERLAP) | (d_fx > 1 - OVERLAP)
    pick = np.flatnonzero(near & (rng.random(d_obj.size) < P_DUPLICATE))
    step = np.where(d_fx[pick] < 0.5, -1, 1)
    ncx = d_cx[pick] + step
    nxmax = np.array([c.nx for c in CAMERAS])[ex_cam[d_ex[pick]]]
    valid = (ncx >= 0) & (ncx < nxmax)
    ncode = np.where(valid, code_lut[ex_cam[d_ex[pick]], ex_filter[d_ex[pick]], np.clip(ncx, 0, 8),
                                     d_cy[pick]], 0)
    valid &= ncode > 0
    pick, ncx, ncode, step = pick[valid], ncx[valid], ncode[valid], step[valid]
    is_dup = np.concatenate([np.zeros(d_obj.size, bool), np.ones(pick.size, bool)])
    d_obj = np.concatenate([d_obj, d_obj[pick]])
    d_ex = np.concatenate([d_ex, d_ex[pick]])
    d_cx = np.concatenate([d_cx, ncx])
    d_cy = np.concatenate([d_cy, d_cy[pick]])
    d_fx = np.concatenate([d_fx, d_fx[pick] - step])
    d_fy = np.concatenate([d_fy, d_fy[pick]])
    d_code = np.concatenate([d_code, ncode])
    n_det = d_obj.size

    # -- images: one per (exposure, chip) that has a detection -------------------------------------------
    chip_index = d_cx * 8 + d_cy
    image_key = d_ex * 128 + chip_index
    keys, d_img = np.unique(image_key, return_inverse=True)
    n_img = keys.size
    img_ex = keys // 128
    img_chip = keys % 128
    img_code = np.zeros(n_img, dtype=np.int64)
    img_code[d_img] = d_code
    img_mcal = rng.normal(0.0, 0.03, n_img).astype(np.float32)
    img_nstar = np.bincount(d_img, minlength=n_img)
    d_image_id = d_img + 1  # IMAGE_ID is the 1-based row of Images.dat

    # -- measured values ---------------------------------------------------------------------------------
    rows_pc = pc.index_of(d_code)
    k = pc.k[rows_pc].astype(np.float64)
    c_lam = pc.c_lam[rows_pc].astype(np.float64)
    t = ex_time[d_ex].astype(np.float64) + ex_msec[d_ex] / 1000.0
    flt = ex_filter[d_ex]
    true_mag = obj_mag[d_obj, flt] + amp[d_obj] * np.sin(2 * np.pi * t / period[d_obj] + phase0[d_obj])
    mag_err = np.sqrt(0.005 ** 2 + (0.02 * 10 ** (0.4 * (true_mag - 20.0))) ** 2)
    mag_err = np.where(is_dup, mag_err * 1.4 + 0.004, mag_err)  # the overlap copy is the worse one
    cal = true_mag + rng.normal(0.0, 1.0, n_det) * mag_err
    airmass = ex_airmass[d_ex].astype(np.float64)
    m_cal = img_mcal[d_img].astype(np.float64)
    m_flat = rng.normal(0.0, 0.005, n_det)
    m_flat[rng.random(n_det) < 0.01] = np.nan
    flat_term = np.where(np.isfinite(m_flat), m_flat, 0.0) if fmt_name == "PS1_V5_LOAD" else 0.0
    # the IPP's PhotRel inverted: MAG = cal + ZERO_PT - K (AIRMASS - 1) - 0.001 C_LAM + M_CAL + M_FLAT
    mag = cal + ZERO_PT - k * (airmass - 1.0) - 0.001 * c_lam + m_cal + flat_term
    m_aper = mag + rng.normal(-0.02, 0.01, n_det)
    nan_all = rng.random(n_det) < 0.007
    nan_aper = rng.random(n_det) < 0.003
    mag[nan_all] = np.nan
    mag_err[nan_all] = np.nan
    m_aper[nan_all | nan_aper] = np.nan
    # flag words: each allowed bit set with probability 1/8 (the AND of three random words), bit 31 for 2 %,
    # and a few all-ones words (every pattern is a real value)
    words = rng.integers(0, 2**32, (6, n_det), dtype=np.uint32)
    phot_flags = words[0] & words[1] & words[2] & np.uint32(np.bitwise_or.reduce(PHOT_BITS))
    db_flags = words[3] & words[4] & words[5] & np.uint32(np.bitwise_or.reduce(DB_BITS))
    del words
    phot_flags[rng.random(n_det) < 0.02] |= np.uint32(0x80000000)
    phot_flags[rng.random(n_det) < 0.002] = np.uint32(0xFFFFFFFF)
    db_flags[rng.random(n_det) < 0.02] |= np.uint32(0x80000000)
    # positions: scatter of 0.05" around the object, in degrees
    meas_dra = rng.normal(0.0, 0.05, n_det)  # arcsec, IPP convention dR = 3600 (ave.R - R) (no cos dec)
    meas_ddec = rng.normal(0.0, 0.05, n_det)
    cams_d = ex_cam[d_ex]
    px = np.array([c.chip_px for c in CAMERAS], dtype=np.float64)[cams_d]
    x_ccd = d_fx * px[:, 0]
    y_ccd = d_fy * px[:, 1]

    # the one object with a NaN position, and the table whose OBJ_IDs cross 2**31
    nan_table = 0
    nan_row = int(np.argmax(np.bincount(d_obj[table_of_obj[d_obj] == nan_table],
                                        minlength=n_obj_table)[:n_obj_table] > 0))
    unsorted_table = 1 if n_tables > 1 else 0
    high_id_table = 2 if n_tables > 2 else 0

    # -- write the tables --------------------------------------------------------------------------------
    layouts = CATALOG_LAYOUTS[fmt_name]
    sec_rows = np.flatnonzero(pc.type == PhotcodeType.SEC)
    nsecfilt = int(sec_rows.size)
    sec_of_code = np.full(0x10000, -1, dtype=np.int64)
    sec_of_code[pc.code[sec_rows]] = np.arange(nsecfilt)
    det_sec = np.where(pc.equiv_row[rows_pc] >= 0, sec_of_code[pc.code[np.maximum(pc.equiv_row[rows_pc], 0)]], -1)

    sort_key = np.lexsort((d_code, t, d_obj))  # by object, then time, then chip
    d_obj_sorted = d_obj[sort_key]
    bounds = np.searchsorted(d_obj_sorted, np.arange(n_tables + 1) * n_obj_table)
    truth: dict = {}
    det_id = 0
    total_meas = 0
    for ti, tab in enumerate(data_tables):
        sel = sort_key[bounds[ti] : bounds[ti + 1]]
        if ti == unsorted_table:  # shuffled rows; OFF_MEASURE keeps the (now stale) sorted offsets
            sel = sel[rng.permutation(sel.size)]
        lo = ti * n_obj_table
        ave_ref = d_obj[sel] - lo
        nmeasure = np.bincount(d_obj[sort_key[bounds[ti] : bounds[ti + 1]]] - lo, minlength=n_obj_table)
        off_measure = np.cumsum(nmeasure) - nmeasure
        ora = obj_ra[lo : lo + n_obj_table].copy()
        odec = obj_dec[lo : lo + n_obj_table].copy()
        np.mod(ora, 360.0, out=ora)
        if ti == nan_table:
            ora[nan_row] = np.nan
            odec[nan_row] = np.nan
        obj_id = np.arange(n_obj_table, dtype=np.int64) + (2**31 - n_obj_table // 2 if ti == high_id_table else 0)
        obj_id_u32 = obj_id.astype(np.uint32)
        # true measurement positions (degrees): the object position minus the IPP-convention offsets
        true_obj_ra = obj_ra[lo : lo + n_obj_table]
        true_obj_dec = obj_dec[lo : lo + n_obj_table]
        mra = np.mod(true_obj_ra[ave_ref] - meas_dra[sel] / 3600.0, 360.0)
        mdec = true_obj_dec[ave_ref] - meas_ddec[sel] / 3600.0
        if fmt_name == "PS1_V1":
            mra = np.mod(ora[ave_ref] - meas_dra[sel].astype(np.float32).astype(np.float64) / 3600.0, 360.0)
            mdec = odec[ave_ref] - meas_ddec[sel].astype(np.float32).astype(np.float64) / 3600.0
        n = sel.size
        m = dict(
            ra=mra, dec=mdec,
            mag=mag[sel].astype(np.float32), mag_err=mag_err[sel].astype(np.float32),
            m_aper=m_aper[sel].astype(np.float32), m_cal=m_cal[sel].astype(np.float32),
            airmass=airmass[sel].astype(np.float32), time=ex_time[d_ex[sel]].astype(np.int64),
            time_msec=ex_msec[d_ex[sel]].astype(np.int64), photcode=d_code[sel].astype(np.uint16),
            image_id=d_image_id[sel].astype(np.uint32), db_flags=db_flags[sel], phot_flags=phot_flags[sel],
            ave_ref=ave_ref.astype(np.int64), obj_id=obj_id_u32[ave_ref], cat_id=np.full(n, tab.catid, np.uint32),
            det_id=(det_id + np.arange(n)).astype(np.uint32), duplicate=is_dup[sel],
            exptime=ex_exptime[d_ex[sel]],
        )
        if fmt_name == "PS1_V5_LOAD":
            m["m_flat"] = m_flat[sel].astype(np.float32)
        det_id += n
        o = dict(ra=ora, dec=odec, obj_id=obj_id_u32, cat_id=np.full(n_obj_table, tab.catid, np.uint32),
                 nmeasure=nmeasure.astype(np.uint32), off_measure=off_measure.astype(np.int64))
        nbytes += _write_table(out_dir, tab, fmt_name, layouts, o, m, sel, meas_dra, meas_ddec, x_ccd, y_ccd,
                               cams_d, d_ex, ex_airmass, ex_exptime, det_sec, cal, nsecfilt, ti == unsorted_table,
                               pc, rows_pc)
        total_meas += n
        if keep_truth:
            truth[tab.name] = {"objects": o, "measurements": m, "sorted": ti != unsorted_table,
                               "catid": tab.catid, "bounds": tab.bounds}
    os.makedirs(os.path.join(out_dir, EMPTY_DIR_BAND), exist_ok=True)

    nbytes += _write_images(os.path.join(out_dir, "Images.dat"), fmt_name, seed, img_ex, img_chip, img_code,
                            img_mcal, img_nstar, ex_cam, ex_filter, ex_time, ex_exptime, ex_airmass, cen_ra, cen_dec)
    return SynthSummary(
        out_dir=out_dir, format=fmt_name, scale=scale, seed=seed, regions=sorted(populated),
        tables=[t.name for t in data_tables], objects=n_obj, measurements=total_meas, images=n_img, bytes=nbytes,
        seconds=time.perf_counter() - t0, unsorted_table=data_tables[unsorted_table].name,
        high_obj_id_table=data_tables[high_id_table].name, nan_position=(data_tables[nan_table].name, nan_row),
        truth=truth,
    )


def _prepare(out_dir: str, overwrite: bool) -> None:
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise FileExistsError(f"{out_dir} exists and is not a directory")
        if os.listdir(out_dir):
            if not overwrite:
                raise FileExistsError(f"{out_dir} is not empty (use overwrite=True / --force to replace a DVO "
                                      f"database there)")
            if not os.path.exists(os.path.join(out_dir, "SkyTable.fits")):
                raise FileExistsError(f"{out_dir} is not empty and does not hold a DVO database: not replacing it")
            shutil.rmtree(out_dir)
    os.makedirs(out_dir, exist_ok=True)


def _write_table(out_dir, tab: _Table, fmt, layouts, o, m, sel, meas_dra, meas_ddec, x_ccd, y_ccd, cams_d, d_ex,
                 ex_airmass, ex_exptime, det_sec, cal, nsecfilt, unsorted, pc, rows_pc) -> int:
    directory = os.path.join(out_dir, tab.band)
    os.makedirs(directory, exist_ok=True)
    stem = tab.name.split("/", 1)[1]
    nobj, n = o["ra"].size, m["ave_ref"].size
    i32 = lambda a: np.asarray(a).astype(np.uint32).view(np.int32)  # noqa: E731 (unsigned bits → J)
    i16 = lambda a: np.asarray(a).astype(np.uint16).view(np.int16)  # noqa: E731 (unsigned bits → I)

    # .cpt
    lay = layouts["cpt"]
    a = lay.empty(nobj)
    a["RA"], a["DEC"] = o["ra"], o["dec"]
    a["OBJ_ID"], a["CAT_ID"] = i32(o["obj_id"]), i32(o["cat_id"])
    a["NMEASURE"] = i16(o["nmeasure"])
    a["OFF_MEASURE"] = i32(o["off_measure"])
    if fmt == "PS1_V1":
        a["RA_ERR"] = 0.01
        a["DEC_ERR"] = 0.01
        a["NUMBER_POS"] = i16(o["nmeasure"])
        a["OFF_MISSING"] = -1
        a["OFF_EXTEND"] = -1
        a["FLAGS"] = i32(np.where(o["nmeasure"] > 0, 0x02000000, 0))
        a["SIGMA_POS"] = 5.0
    else:
        a["OFF_LENSING"] = -1
        a["OFF_GALPHOT"] = -1
    names = {"MEASURE": f"{stem}.cpm", "MISSING": f"{stem}.cpn", "SECFILT": f"{stem}.cps",
             "LENSING": f"{stem}.cpx", "LENSOBJ": f"{stem}.cpy", "STARPAR": f"{stem}.cpz", "GALPHOT": f"{stem}.cpq"}
    rmin, rmax, dmin, dmax = tab.bounds
    prim = {"EXTEND": True, **names, "RA0": rmin, "DEC0": dmin, "RA1": rmax, "DEC1": dmax, "CATID": tab.catid,
            "DATE": DATE, "SORTED": not unsorted, "NSTARS": nobj, "NMEAS": n, "NMISS": 0, "NSECFILT": nsecfilt,
            "NLENSING": 0, "NLENSOBJ": 0, "NSTARPAR": 0, "NGALPHOT": 0, "OBJID": int(o["obj_id"][-1]) + 1 if nobj else 0}
    size = write_bintable(os.path.join(directory, f"{stem}.cpt"), _primary(lay, prim), lay.extname, lay.columns,
                          a, scale_keywords=lay.style == "v1")

    # .cpm
    lay = layouts["cpm"]
    a = lay.empty(n)
    if fmt == "PS1_V1":
        a["D_RA"], a["D_DEC"] = meas_dra[sel], meas_ddec[sel]
    else:
        a["RA"], a["DEC"] = m["ra"], m["dec"]
        a["M_FLAT"] = m["m_flat"]
        a["M_APER_ERR"] = m["mag_err"]
        a["X_FIX"], a["Y_FIX"] = x_ccd[sel], y_ccd[sel]
        a["FLUX_PSF"] = 10 ** (-0.4 * (m["mag"].astype(np.float64) - ZERO_PT))
        a["PSF_QF_PEFECT"] = 0.98
        a["POS_SYS_ERR"] = 3
    a["MAG"], a["MAG_ERR"], a["M_APER"], a["M_CAL"] = m["mag"], m["mag_err"], m["m_aper"], m["m_cal"]
    a["MAG_CAL_ERR"] = 0.01
    a["M_TIME"] = 2.5 * np.log10(m["exptime"])
    a["AIRMASS"] = m["airmass"]
    a["AZ"] = 180.0
    a["X_CCD"], a["Y_CCD"] = x_ccd[sel], y_ccd[sel]
    a["SKY_FLUX"] = 20.0
    a["SKY_FLUX_ERR"] = 2.0
    a["TIME"] = m["time"]
    a["AVE_REF"] = i32(m["ave_ref"])
    a["DET_ID"] = i32(m["det_id"])
    a["IMAGE_ID"] = i32(m["image_id"])
    a["OBJ_ID"] = i32(m["obj_id"])
    a["CAT_ID"] = i32(m["cat_id"])
    a["PSF_QF"] = 0.99
    a["PSF_CHISQ"] = 1.0
    a["PSF_NDOF"] = 20
    a["PSF_NPIX"] = 25
    a["EXT_NSIGMA"] = 0.1
    a["FWHM_MAJOR"] = 450
    a["FWHM_MINOR"] = 420
    a["TIME_MSEC"] = i16(m["time_msec"])
    a["PHOTCODE"] = i16(m["photcode"])
    a["X_CCD_ERR"] = 5
    a["Y_CCD_ERR"] = 5
    a["PLTSCALE"] = np.array([c.pltscale for c in CAMERAS], dtype=np.float32)[cams_d[sel]]
    a["DB_FLAGS"] = i32(m["db_flags"])
    a["PHOT_FLAGS"] = i32(m["phot_flags"])
    size += write_bintable(os.path.join(directory, f"{stem}.cpm"), _primary(lay, {}), lay.extname, lay.columns, a,
                           scale_keywords=lay.style == "v1")

    # .cps: per object and SEC filter, the mean calibrated magnitude of the measurements
    lay = layouts["cps"]
    a = lay.empty(nobj * nsecfilt)
    sec = det_sec[sel]
    good = sec >= 0
    cell = m["ave_ref"][good] * nsecfilt + sec[good]
    c = cal[sel][good]
    finite = np.isfinite(m["mag"][good])
    ncode = np.bincount(cell, minlength=nobj * nsecfilt)
    nused = np.bincount(cell, weights=finite, minlength=nobj * nsecfilt)
    s1 = np.bincount(cell, weights=np.where(finite, c, 0.0), minlength=nobj * nsecfilt)
    s2 = np.bincount(cell, weights=np.where(finite, c * c, 0.0), minlength=nobj * nsecfilt)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(nused > 0, s1 / nused, np.nan)
        sd = np.sqrt(np.maximum(np.where(nused > 1, s2 / nused - mean ** 2, np.nan), 0.0))
    a["MAG"] = mean
    a["NCODE"] = np.minimum(ncode, 0x7FFF)
    a["NUSED"] = np.minimum(nused, 0x7FFF)
    if fmt == "PS1_V1":
        a["MAG_ERR"] = np.where(nused > 0, sd / np.sqrt(np.maximum(nused, 1)), np.nan)
        a["MAG_CHI"] = np.where(nused > 0, 1.0, np.nan)
        m20 = np.where(np.isfinite(mean), np.round((mean - sd) * 1000), 0x7FFF)
        m80 = np.where(np.isfinite(mean), np.round((mean + sd) * 1000), 0x7FFF)
        a["MAG_20"] = np.clip(np.nan_to_num(m20, nan=0x7FFF), -0x7FFF, 0x7FFF)
        a["MAG_80"] = np.clip(np.nan_to_num(m80, nan=0x7FFF), -0x7FFF, 0x7FFF)
    size += write_bintable(os.path.join(directory, f"{stem}.cps"), _primary(lay, {}), lay.extname, lay.columns, a,
                           scale_keywords=lay.style == "v1")

    # .cpn: no missing detections recorded
    lay = layouts["cpn"]
    size += write_bintable(os.path.join(directory, f"{stem}.cpn"), _primary(lay, {}), lay.extname, lay.columns,
                           lay.empty(0), scale_keywords=lay.style == "v1")
    return size


def _write_images(path, fmt, seed, img_ex, img_chip, img_code, img_mcal, img_nstar, ex_cam, ex_filter, ex_time,
                  ex_exptime, ex_airmass, cen_ra, cen_dec) -> int:
    lay = IMAGE_LAYOUTS[fmt]
    n = img_ex.size
    a = lay.empty(n)
    cams = ex_cam[img_ex]
    cx, cy = img_chip // 8, img_chip % 8
    fov = np.array([c.fov for c in CAMERAS])[cams]
    nxg = np.array([c.nx for c in CAMERAS])[cams]
    nyg = np.array([c.ny for c in CAMERAS])[cams]
    px = np.array([c.chip_px for c in CAMERAS], dtype=np.float64)[cams]
    chip_ra = cen_ra[img_ex] - fov / 2 + (cx + 0.5) * fov / nxg
    chip_dec = cen_dec[img_ex] - fov / 2 + (cy + 0.5) * fov / nyg
    a["CRVAL1"], a["CRVAL2"] = chip_ra, chip_dec
    a["CRPIX1"], a["CRPIX2"] = px[:, 0] / 2, px[:, 1] / 2
    a["CDELT1"] = fov / nxg / px[:, 0]
    a["CDELT2"] = fov / nyg / px[:, 1]
    a["PC1_1"], a["PC2_2"] = 1.0, 1.0
    a["CTYPE"] = b"RA---TAN"
    a["TZERO"] = ex_time[img_ex]
    a["NSTAR"] = img_nstar
    a["SECZ"] = ex_airmass[img_ex]
    a["NX"], a["NY"] = px[:, 0].astype(np.int16), px[:, 1].astype(np.int16)
    a["MCAL"] = img_mcal
    a["DMCAL"] = 0.01
    a["PHOTCODE"] = img_code.astype(np.uint16).view(np.int16)
    a["EXPTIME"] = ex_exptime[img_ex]
    a["LAT"] = np.array([c.latitude for c in CAMERAS], dtype=np.float32)[cams]
    a["CCDNUM"] = (cy * nxg + cx).astype(np.uint8)
    a["IMAGE_ID"] = np.arange(1, n + 1, dtype=np.int64).astype(np.int32)
    a["SOURCE_ID"] = cams + 1
    if fmt == "PS1_V5_LOAD":
        a["RA_CENTER"], a["DEC_CENTER"] = chip_ra, chip_dec
        a["RADIUS"] = fov / nxg * 0.75
    cam_names = np.array([c.name for c in CAMERAS])[cams]
    chip_names = [CAMERAS[c].chip_name(int(x), int(y)) or "" for c, x, y in zip(cams, cx, cy)]
    a["NAME"] = [f"{cn}.{FILTERS[f]}.o{int(e):06d}.{ch}".encode() for cn, f, e, ch in
                 zip(cam_names, ex_filter[img_ex], img_ex, chip_names)]
    dbid = hashlib.md5(f"lcdb-synth/{seed}/{fmt}".encode()).hexdigest()
    prim = {"EXTEND": True, "NIMAGES": n, "ZERO_PT": ZERO_PT, "DVO_DBID": dbid, "FORMAT": fmt, "IMAGEID": n + 1}
    return write_bintable(path, _primary(lay, prim), lay.extname, lay.columns, a, scale_keywords=lay.style == "v1")
