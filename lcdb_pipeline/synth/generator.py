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
  of the real IPP headers (`lcdb_pipeline.dvo.formats`).

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

import os
import shutil
import time
from dataclasses import dataclass, field, replace
from importlib import resources

import numpy as np

from lcdb_pipeline.dvo.photcodes import Photcodes, PhotcodeType
from lcdb_pipeline.synth.cameras import CAMERAS, per_camera
from lcdb_pipeline.synth.detections import ChipImages, Detections, make_detections, make_images
from lcdb_pipeline.synth.elixir import quantize
from lcdb_pipeline.synth.exposures import Exposures, make_exposures
from lcdb_pipeline.synth.extras import add_extra_rows
from lcdb_pipeline.dvo.formats import CATALOG_FORMATS
from lcdb_pipeline.synth.measurements import Measured, make_measured
from lcdb_pipeline.synth.objects import Objects, make_objects
from lcdb_pipeline.synth.plan import EMPTY_DIR_BAND, MISSING_DIR_BAND, PlannedTable, plan_sky
from lcdb_pipeline.synth.writing import TableContent, write_catalog_table, write_images, write_skytable

__all__ = ["CAMERAS", "FORMATS", "SCALES", "SynthSummary", "generate", "pv3_photcodes_path"]

FORMATS = {"ps1_v1": "PS1_V1", "ps1_v5_load": "PS1_V5_LOAD", "elixir": "ELIXIR"}  # ELIXIR: MEF mode

#: per scale: populated bands, depth-4 split (ndiv × ndiv per region), objects per table, epochs per filter
SCALES = {
    "small": dict(bands=3, ndiv=2, objects=220, gpc1_epochs=3, megacam_epochs=2),
    "medium": dict(bands=4, ndiv=3, objects=450, gpc1_epochs=3, megacam_epochs=2),
    "large": dict(bands=5, ndiv=4, objects=500, gpc1_epochs=12, megacam_epochs=8),  # ~PS1 3pi: 12 per filter
}


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
    no_sorted_table: str = ""  # its .cpt has no SORTED keyword (sorted, the IPP's default)
    unknown_image_table: str = ""  # a few of its measurements have IMAGE_IDs Images.dat does not know
    unknown_image_rows: tuple[int, ...] = ()  # their .cpm rows
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


@dataclass
class _Sky:
    """Everything simulated before the catalog tables are cut out of it."""

    objects: Objects
    exposures: Exposures
    detections: Detections
    images: ChipImages
    measured: Measured


def _check_arguments(scale: str, fmt: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, not {scale!r}")
    if fmt.lower() not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, not {fmt!r}")
    return FORMATS[fmt.lower()]


def generate(out_dir: str | os.PathLike, scale: str = "small", seed: int = 0, fmt: str = "ps1_v1", *,
             overwrite: bool = False, keep_truth: bool = False) -> SynthSummary:
    """Write a synthetic DVO database into `out_dir` (created; must be empty unless `overwrite`, which
    replaces a previous DVO database there). Returns a `SynthSummary`."""
    t0 = time.perf_counter()
    fmt_name = _check_arguments(scale, fmt)
    out_dir = os.fspath(out_dir)
    _prepare(out_dir, overwrite)
    sc = SCALES[scale]
    rng = np.random.default_rng(seed)
    populated, tables, sky_rows = plan_sky(sc)
    nbytes = write_skytable(os.path.join(out_dir, "SkyTable.fits"), sky_rows)
    shutil.copyfile(pv3_photcodes_path(), os.path.join(out_dir, "Photcodes.dat"))
    nbytes += os.path.getsize(os.path.join(out_dir, "Photcodes.dat"))
    pc = Photcodes(os.path.join(out_dir, "Photcodes.dat"))
    data_tables = [t for t in tables if t.populated]
    sky = _simulate(rng, sc, populated, data_tables, pc, fmt_name)
    written = _write_tables(out_dir, rng, sc["objects"], data_tables, sky, pc, fmt_name, keep_truth)
    os.makedirs(os.path.join(out_dir, EMPTY_DIR_BAND), exist_ok=True)
    nbytes += written["bytes"]
    nbytes += write_images(os.path.join(out_dir, "Images.dat"), fmt_name, seed, sky.images, sky.exposures)
    return SynthSummary(
        out_dir=out_dir, format=fmt_name, scale=scale, seed=seed, regions=sorted(populated),
        tables=[t.name for t in data_tables], objects=sky.objects.n, measurements=written["measurements"],
        images=sky.images.n, bytes=nbytes, seconds=time.perf_counter() - t0,
        unsorted_table=data_tables[written["unsorted"]].name,
        high_obj_id_table=data_tables[written["high_id"]].name,
        nan_position=(data_tables[written["nan_table"]].name, written["nan_row"]), truth=written["truth"],
        no_sorted_table=data_tables[written["no_sorted"]].name,
        unknown_image_table=data_tables[written["unknown_image"]].name,
        unknown_image_rows=written["unknown_image_rows"],
    )


def _simulate(rng, sc: dict, populated: list[str], data_tables: list[PlannedTable], pc: Photcodes,
              fmt_name: str) -> _Sky:
    """Objects, exposures, detections, images and measured values, in this order (the seed's stream)."""
    objects = make_objects(rng, np.array([t.bounds for t in data_tables]), sc["objects"])
    field_box = np.array([[min(t.bounds[0] for t in data_tables if t.band == band),
                           max(t.bounds[1] for t in data_tables if t.band == band),
                           min(t.bounds[2] for t in data_tables if t.band == band),
                           max(t.bounds[3] for t in data_tables if t.band == band)] for band in populated])
    exposures = make_exposures(rng, field_box, sc)
    if fmt_name == "ELIXIR":  # no TIME_MSEC in ELIXIR: exposures start on whole seconds
        exposures = replace(exposures, msec=np.zeros_like(exposures.msec))
    fields = {band: i for i, band in enumerate(populated)}
    field_of_obj = np.array([fields[t.band] for t in data_tables])[objects.table_of_obj]
    detections = make_detections(rng, objects, field_of_obj, exposures, len(populated), pc)
    images = make_images(rng, detections)
    measured = make_measured(rng, objects, detections, exposures, images, pc, fmt_name == "PS1_V5_LOAD")
    detections, measured, image_of = add_extra_rows(rng, objects, field_of_obj, detections, exposures, measured, pc,
                                                    images.of_detection)
    return _Sky(objects, exposures, detections, replace(images, of_detection=image_of), measured)


def _sec_of_detection(pc: Photcodes, rows_pc: np.ndarray) -> tuple[np.ndarray, int]:
    """Per detection: the index of its SEC filter in the .cps (Photcodes.dat order), -1 for none."""
    sec_rows = np.flatnonzero(pc.type == PhotcodeType.SEC)
    sec_of_code = np.full(0x10000, -1, dtype=np.int64)
    sec_of_code[pc.code[sec_rows]] = np.arange(sec_rows.size)
    eq = pc.equiv_row[rows_pc]
    return np.where(eq >= 0, sec_of_code[pc.code[np.maximum(eq, 0)]], -1), int(sec_rows.size)


def _write_tables(out_dir, rng, n_obj_table: int, data_tables: list[PlannedTable], sky: _Sky, pc: Photcodes,
                  fmt_name: str, keep_truth: bool) -> dict:
    """Cut each catalog table out of the simulated sky and write it; the traps are placed here."""
    d, meas = sky.detections, sky.measured
    n_tables = len(data_tables)
    det_sec, nsecfilt = _sec_of_detection(pc, meas.rows_pc)
    # the one object with a NaN position, and the table whose OBJ_IDs cross 2**31
    nan_table = 0
    nan_row = int(np.argmax(np.bincount(d.obj[sky.objects.table_of_obj[d.obj] == nan_table],
                                        minlength=n_obj_table)[:n_obj_table] > 0))
    traps = dict(nan_table=nan_table, nan_row=nan_row, unsorted=1 if n_tables > 1 else 0,
                 high_id=2 if n_tables > 2 else 0, no_sorted=3 if n_tables > 3 else 0,
                 unknown_image=4 if n_tables > 4 else 0, unknown_image_rows=())
    sort_key = np.lexsort((d.code, meas.time, d.obj))  # by object, then time, then chip
    bounds = np.searchsorted(d.obj[sort_key], np.arange(n_tables + 1) * n_obj_table)
    out = dict(bytes=0, measurements=0, truth={})
    det_id = 0
    for ti, tab in enumerate(data_tables):
        in_table = sort_key[bounds[ti] : bounds[ti + 1]]
        content = _table_content(rng, ti, tab, in_table, n_obj_table, det_id, sky, fmt_name, traps, det_sec,
                                 nsecfilt)
        n = content.m["ave_ref"].size
        det_id += n
        out["bytes"] += write_catalog_table(out_dir, content)
        out["measurements"] += n
        if keep_truth:
            out["truth"][tab.name] = {"objects": content.o, "measurements": content.m,
                                      "sorted": not content.unsorted, "catid": content.table.catid,
                                      "bounds": tab.bounds}
    return {**traps, **out}


def _table_objects(ti: int, tab: PlannedTable, in_table: np.ndarray, n_obj_table: int, sky: _Sky,
                   traps: dict) -> dict:
    lo = ti * n_obj_table
    nmeasure = np.bincount(sky.detections.obj[in_table] - lo, minlength=n_obj_table)
    off_measure = np.cumsum(nmeasure) - nmeasure
    ora = sky.objects.ra[lo : lo + n_obj_table].copy()
    odec = sky.objects.dec[lo : lo + n_obj_table].copy()
    np.mod(ora, 360.0, out=ora)
    if ti == traps["nan_table"]:
        ora[traps["nan_row"]] = np.nan
        odec[traps["nan_row"]] = np.nan
    obj_id = np.arange(n_obj_table, dtype=np.int64) + (2**31 - n_obj_table // 2 if ti == traps["high_id"] else 0)
    return dict(ra=ora, dec=odec, obj_id=obj_id.astype(np.uint32), cat_id=np.full(n_obj_table, tab.catid, np.uint32),
                nmeasure=nmeasure.astype(np.uint32), off_measure=off_measure.astype(np.int64))


def _measurement_positions(sel, ave_ref, lo, n_obj_table, o, sky: _Sky, fmt_name: str):
    """True measurement positions (degrees): the object position minus the IPP-convention offsets (PS1_V1
    stores the offsets as float32, from the written object positions)."""
    meas = sky.measured
    if fmt_name == "PS1_V1":
        mra = np.mod(o["ra"][ave_ref] - meas.dra[sel].astype(np.float32).astype(np.float64) / 3600.0, 360.0)
        mdec = o["dec"][ave_ref] - meas.ddec[sel].astype(np.float32).astype(np.float64) / 3600.0
        return mra, mdec
    true_obj_ra = sky.objects.ra[lo : lo + n_obj_table]
    true_obj_dec = sky.objects.dec[lo : lo + n_obj_table]
    mra = np.mod(true_obj_ra[ave_ref] - meas.dra[sel] / 3600.0, 360.0)
    return mra, true_obj_dec[ave_ref] - meas.ddec[sel] / 3600.0


def _table_content(rng, ti, tab, in_table, n_obj_table, det_id, sky: _Sky, fmt_name, traps, det_sec,
                   nsecfilt) -> TableContent:
    d, meas, ex = sky.detections, sky.measured, sky.exposures
    unsorted = ti == traps["unsorted"]
    sel = in_table[rng.permutation(in_table.size)] if unsorted else in_table  # OFF_MEASURE keeps sorted offsets
    lo = ti * n_obj_table
    ave_ref = d.obj[sel] - lo
    o = _table_objects(ti, tab, in_table, n_obj_table, sky, traps)
    mra, mdec = _measurement_positions(sel, ave_ref, lo, n_obj_table, o, sky, fmt_name)
    n = sel.size
    m = dict(
        ra=mra, dec=mdec,
        mag=meas.mag[sel].astype(np.float32), mag_err=meas.mag_err[sel].astype(np.float32),
        m_aper=meas.m_aper[sel].astype(np.float32), m_cal=meas.m_cal[sel].astype(np.float32),
        airmass=meas.airmass[sel].astype(np.float32), time=ex.time[d.ex[sel]].astype(np.int64),
        time_msec=ex.msec[d.ex[sel]].astype(np.int64), photcode=d.code[sel].astype(np.uint16),
        image_id=(sky.images.of_detection[sel] + 1).astype(np.uint32), db_flags=meas.db_flags[sel],
        phot_flags=meas.phot_flags[sel], ave_ref=ave_ref.astype(np.int64), obj_id=o["obj_id"][ave_ref],
        cat_id=np.full(n, tab.catid, np.uint32), det_id=(det_id + np.arange(n)).astype(np.uint32),
        duplicate=d.is_dup[sel], exptime=ex.exptime[d.ex[sel]],
    )
    if fmt_name == "PS1_V5_LOAD":
        m["m_flat"] = meas.m_flat[sel].astype(np.float32)
    ints = None
    if fmt_name == "ELIXIR":
        tab = replace(tab, catid=tab.sky_index)  # no CATID keyword: the reader takes the SkyTable INDEX
        o, m, ints = quantize(o, m, meas.dra[sel], meas.ddec[sel], tab.catid)
    elif ti == traps["unknown_image"]:  # IMAGE_IDs Images.dat does not know: EXPTIME from M_TIME
        rows = np.flatnonzero(m["image_id"] > 0)[:5]
        m["image_id"][rows] = 4_000_000_000 + np.arange(rows.size, dtype=np.uint32)
        traps["unknown_image_rows"] = tuple(int(r) for r in rows)
    pltscale = per_camera([c.pltscale for c in CAMERAS], ex.cam[d.ex[sel]], dtype=np.float32)
    return TableContent(tab, fmt_name, _layouts(fmt_name), o, m, meas.dra[sel], meas.ddec[sel],
                        meas.x_ccd[sel], meas.y_ccd[sel], pltscale, det_sec[sel], meas.cal[sel], nsecfilt, unsorted,
                        omit_sorted=ti == traps["no_sorted"], elixir_ints=ints)


def _layouts(fmt_name: str) -> dict:
    """The layouts of one catalog format by file extension."""
    fmt = CATALOG_FORMATS[fmt_name]
    return {"cpt": fmt.layout("average"), "cpm": fmt.layout("measure"), "cps": fmt.layout("secfilt"),
            "cpn": fmt.layout("missing")}


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
