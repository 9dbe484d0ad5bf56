"""Writing the synthetic database's files with the layouts (EXTNAMEs, columns, TFORMs, primary keywords)
of the real IPP headers."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.synth.cameras import CAMERAS, FILTERS, per_camera
from lcdb_pipeline.synth.detections import ChipImages
from lcdb_pipeline.synth.elixir import write_mef
from lcdb_pipeline.synth.exposures import Exposures
from lcdb_pipeline.synth.fits_writer import write_bintable
from lcdb_pipeline.dvo.formats import Layout, layout
from lcdb_pipeline.synth.measurements import ZERO_PT
from lcdb_pipeline.synth.plan import PlannedTable

DATE = "2020/02/02,18:51:36"


def _u32(a) -> np.ndarray:
    """Unsigned bits stored in a signed J column."""
    return np.asarray(a).astype(np.uint32).view(np.int32)


def _u16(a) -> np.ndarray:
    """Unsigned bits stored in a signed I column."""
    return np.asarray(a).astype(np.uint16).view(np.int16)


def primary_cards(lay: Layout, values: dict, style: str | None = None, omit: tuple[str, ...] = ()) -> list[tuple]:
    """Primary cards: exactly the keywords (and order) of the real header of this layout (less `omit`)."""
    base = {"SIMPLE": True, "BITPIX": 8, "NAXIS": 0, "PCOUNT": 0, "GCOUNT": 1, "BSCALE": 1.0, "BZERO": 0.0,
            "EXTEND": False}
    base.update(values)
    keys = [k for k in lay.primary(style) if k not in omit]
    missing = [k for k in keys if k not in base]
    if missing:
        raise AssertionError(f"{lay.extname}: no value for primary keywords {missing}")
    return [(k, base[k]) for k in keys]


def write_layout(path: str, lay: Layout, data: np.ndarray, primary: dict | None = None,
                 style: str | None = None, omit: tuple[str, ...] = ()) -> int:
    """One file: the layout's primary keywords and its table, in `style` (default: the layout's own)."""
    style = style or lay.style
    return write_bintable(path, primary_cards(lay, primary or {}, style, omit), lay.extname, lay.columns, data,
                          scale_keywords=style == "v1")


def write_skytable(path: str, rows: list[dict]) -> int:
    sky_region = layout("SKY_REGION")
    a = sky_region.empty(len(rows))
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
    return write_layout(path, sky_region, a, {"EXTEND": True})


@dataclass
class TableContent:
    """One catalog table as written: `o` objects and `m` measurements (the ground truth), plus the
    per-measurement values only the files need."""

    table: PlannedTable
    fmt: str
    layouts: dict
    o: dict
    m: dict
    dra: np.ndarray
    ddec: np.ndarray
    x_ccd: np.ndarray
    y_ccd: np.ndarray
    pltscale: np.ndarray
    sec: np.ndarray  # per measurement: its SEC filter index (-1 none)
    cal: np.ndarray
    nsecfilt: int
    unsorted: bool
    omit_sorted: bool = False  # write no SORTED keyword (the IPP then takes the table as sorted)
    elixir_ints: dict | None = None  # ELIXIR: the stored integers (synth.elixir.quantize)


def write_catalog_table(out_dir: str, c: TableContent) -> int:
    """The .cpt, .cpm, .cps and .cpn of one catalog table; returns the bytes written."""
    directory = os.path.join(out_dir, c.table.band)
    os.makedirs(directory, exist_ok=True)
    stem = c.table.name.split("/", 1)[1]
    if c.fmt == "ELIXIR":  # MEF mode: every table in the .cpt
        mean = _sec_means(c)[0].reshape(c.o["ra"].size, c.nsecfilt)
        return write_mef(os.path.join(directory, f"{stem}.cpt"), c.table, c.o, c.m, c.elixir_ints, mean, DATE,
                         c.omit_sorted, c.unsorted)
    size = write_layout(os.path.join(directory, f"{stem}.cpt"), c.layouts["cpt"], _cpt_rows(c),
                        _cpt_primary(c, stem), omit=("SORTED",) if c.omit_sorted else ())
    size += write_layout(os.path.join(directory, f"{stem}.cpm"), c.layouts["cpm"], _cpm_rows(c))
    size += write_layout(os.path.join(directory, f"{stem}.cps"), c.layouts["cps"], _cps_rows(c))
    # .cpn: no missing detections recorded (DVO_MISSING, in the header style of the table's format)
    size += write_layout(os.path.join(directory, f"{stem}.cpn"), c.layouts["cpn"], c.layouts["cpn"].empty(0),
                         style=c.layouts["cpt"].style)
    return size


def _cpt_rows(c: TableContent) -> np.ndarray:
    o = c.o
    a = c.layouts["cpt"].empty(o["ra"].size)
    a["RA"], a["DEC"] = o["ra"], o["dec"]
    a["OBJ_ID"], a["CAT_ID"] = _u32(o["obj_id"]), _u32(o["cat_id"])
    a["NMEASURE"] = _u16(o["nmeasure"])
    a["OFF_MEASURE"] = _u32(o["off_measure"])
    if c.fmt == "PS1_V1":
        a["RA_ERR"] = 0.01
        a["DEC_ERR"] = 0.01
        a["NUMBER_POS"] = _u16(o["nmeasure"])
        a["OFF_MISSING"] = -1
        a["OFF_EXTEND"] = -1
        a["FLAGS"] = _u32(np.where(o["nmeasure"] > 0, 0x02000000, 0))
        a["SIGMA_POS"] = 5.0
    else:
        a["OFF_LENSING"] = -1
        a["OFF_GALPHOT"] = -1
    return a


def _cpt_primary(c: TableContent, stem: str) -> dict:
    nobj = c.o["ra"].size
    names = {"MEASURE": f"{stem}.cpm", "MISSING": f"{stem}.cpn", "SECFILT": f"{stem}.cps",
             "LENSING": f"{stem}.cpx", "LENSOBJ": f"{stem}.cpy", "STARPAR": f"{stem}.cpz", "GALPHOT": f"{stem}.cpq"}
    rmin, rmax, dmin, dmax = c.table.bounds
    return {"EXTEND": True, **names, "RA0": rmin, "DEC0": dmin, "RA1": rmax, "DEC1": dmax, "CATID": c.table.catid,
            "DATE": DATE, "SORTED": not c.unsorted, "NSTARS": nobj, "NMEAS": c.m["ave_ref"].size, "NMISS": 0,
            "NSECFILT": c.nsecfilt, "NLENSING": 0, "NLENSOBJ": 0, "NSTARPAR": 0, "NGALPHOT": 0,
            "OBJID": int(c.o["obj_id"][-1]) + 1 if nobj else 0}


def _cpm_rows(c: TableContent) -> np.ndarray:
    m = c.m
    a = c.layouts["cpm"].empty(m["ave_ref"].size)
    if c.fmt == "PS1_V1":
        a["D_RA"], a["D_DEC"] = c.dra, c.ddec
    else:
        a["RA"], a["DEC"] = m["ra"], m["dec"]
        a["M_FLAT"] = m["m_flat"]
        a["M_APER_ERR"] = m["mag_err"]
        a["X_FIX"], a["Y_FIX"] = c.x_ccd, c.y_ccd
        a["FLUX_PSF"] = 10 ** (-0.4 * (m["mag"].astype(np.float64) - ZERO_PT))
        a["PSF_QF_PEFECT"] = 0.98
        a["POS_SYS_ERR"] = 3
    a["MAG"], a["MAG_ERR"], a["M_APER"], a["M_CAL"] = m["mag"], m["mag_err"], m["m_aper"], m["m_cal"]
    a["MAG_CAL_ERR"] = 0.01
    a["M_TIME"] = 2.5 * np.log10(m["exptime"])
    a["AIRMASS"] = m["airmass"]
    a["AZ"] = 180.0
    a["X_CCD"], a["Y_CCD"] = c.x_ccd, c.y_ccd
    a["SKY_FLUX"] = 20.0
    a["SKY_FLUX_ERR"] = 2.0
    a["TIME"] = m["time"]
    a["AVE_REF"] = _u32(m["ave_ref"])
    a["DET_ID"] = _u32(m["det_id"])
    a["IMAGE_ID"] = _u32(m["image_id"])
    a["OBJ_ID"] = _u32(m["obj_id"])
    a["CAT_ID"] = _u32(m["cat_id"])
    _cpm_constants(a)
    a["TIME_MSEC"] = _u16(m["time_msec"])
    a["PHOTCODE"] = _u16(m["photcode"])
    a["PLTSCALE"] = c.pltscale
    a["DB_FLAGS"] = _u32(m["db_flags"])
    a["PHOT_FLAGS"] = _u32(m["phot_flags"])
    return a


def _cpm_constants(a: np.ndarray) -> None:
    """Plausible constant values of the columns the pipeline does not read."""
    a["PSF_QF"] = 0.99
    a["PSF_CHISQ"] = 1.0
    a["PSF_NDOF"] = 20
    a["PSF_NPIX"] = 25
    a["EXT_NSIGMA"] = 0.1
    a["FWHM_MAJOR"] = 450
    a["FWHM_MINOR"] = 420
    a["X_CCD_ERR"] = 5
    a["Y_CCD_ERR"] = 5


def _sec_means(c: TableContent) -> tuple[np.ndarray, ...]:
    """Per object and SEC filter (flat, object-major): mean and scatter of the calibrated magnitudes of the
    measurements, their count and the count of finite ones."""
    nobj, nsecfilt = c.o["ra"].size, c.nsecfilt
    good = c.sec >= 0
    cell = c.m["ave_ref"][good] * nsecfilt + c.sec[good]
    cal = c.cal[good]
    finite = np.isfinite(c.m["mag"][good])
    ncode = np.bincount(cell, minlength=nobj * nsecfilt)
    nused = np.bincount(cell, weights=finite, minlength=nobj * nsecfilt)
    s1 = np.bincount(cell, weights=np.where(finite, cal, 0.0), minlength=nobj * nsecfilt)
    s2 = np.bincount(cell, weights=np.where(finite, cal * cal, 0.0), minlength=nobj * nsecfilt)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(nused > 0, s1 / nused, np.nan)
        sd = np.sqrt(np.maximum(np.where(nused > 1, s2 / nused - mean ** 2, np.nan), 0.0))
    return mean, sd, ncode, nused


def _cps_rows(c: TableContent) -> np.ndarray:
    """Per object and SEC filter, the mean calibrated magnitude of the measurements."""
    mean, sd, ncode, nused = _sec_means(c)
    a = c.layouts["cps"].empty(mean.size)
    a["MAG"] = mean
    a["NCODE"] = np.minimum(ncode, 0x7FFF)
    a["NUSED"] = np.minimum(nused, 0x7FFF)
    if c.fmt == "PS1_V1":
        a["MAG_ERR"] = np.where(nused > 0, sd / np.sqrt(np.maximum(nused, 1)), np.nan)
        a["MAG_CHI"] = np.where(nused > 0, 1.0, np.nan)
        m20 = np.where(np.isfinite(mean), np.round((mean - sd) * 1000), 0x7FFF)
        m80 = np.where(np.isfinite(mean), np.round((mean + sd) * 1000), 0x7FFF)
        a["MAG_20"] = np.clip(np.nan_to_num(m20, nan=0x7FFF), -0x7FFF, 0x7FFF)
        a["MAG_80"] = np.clip(np.nan_to_num(m80, nan=0x7FFF), -0x7FFF, 0x7FFF)
    return a


def write_images(path: str, fmt: str, seed: int, images: ChipImages, ex: Exposures) -> int:
    lay = layout(f"DVO_IMAGE_{fmt}")
    n = images.n
    a = lay.empty(n)
    cams = ex.cam[images.ex]
    cx, cy = images.chip // 8, images.chip % 8
    fov = per_camera([c.fov for c in CAMERAS], cams)
    nxg = per_camera([c.nx for c in CAMERAS], cams)
    nyg = per_camera([c.ny for c in CAMERAS], cams)
    px = per_camera([c.chip_px for c in CAMERAS], cams, dtype=np.float64)
    chip_ra = ex.cen_ra[images.ex] - fov / 2 + (cx + 0.5) * fov / nxg
    chip_dec = ex.cen_dec[images.ex] - fov / 2 + (cy + 0.5) * fov / nyg
    a["CRVAL1"], a["CRVAL2"] = chip_ra, chip_dec
    a["CRPIX1"], a["CRPIX2"] = px[:, 0] / 2, px[:, 1] / 2
    a["CDELT1"] = fov / nxg / px[:, 0]
    a["CDELT2"] = fov / nyg / px[:, 1]
    a["PC1_1"], a["PC2_2"] = 1.0, 1.0
    a["CTYPE"] = b"RA---TAN"
    a["TZERO"] = ex.time[images.ex]
    a["NSTAR"] = images.nstar
    a["NX"], a["NY"] = px[:, 0].astype(np.int16), px[:, 1].astype(np.int16)
    a["EXPTIME"] = ex.exptime[images.ex]
    a["CCDNUM"] = (cy * nxg + cx).astype(np.uint8)
    if fmt == "ELIXIR":  # millimag / milliairmass shorts, SOURCE for the photcode, no IMAGE_ID
        a["SECZ"] = np.round(ex.airmass[images.ex] * 1000.0).astype(np.int16)
        a["MCAL"] = np.round(images.mcal * 1000.0).astype(np.int16)
        a["DMCAL"] = 10
        a["SOURCE"] = images.code.astype(np.uint16).view(np.int16)
        a["NAME"] = [n[:31] for n in _image_names(images, ex, cams, cx, cy)]
    else:
        _ps1_image_columns(a, fmt, images, ex, cams, fov, nxg, chip_ra, chip_dec)
        a["NAME"] = _image_names(images, ex, cams, cx, cy)
    dbid = hashlib.md5(f"lcdb-synth/{seed}/{fmt}".encode()).hexdigest()
    prim = {"EXTEND": True, "NIMAGES": n, "ZERO_PT": ZERO_PT, "DVO_DBID": dbid, "FORMAT": fmt, "IMAGEID": n + 1}
    return write_layout(path, lay, a, prim)


def _ps1_image_columns(a, fmt, images: ChipImages, ex: Exposures, cams, fov, nxg, chip_ra, chip_dec) -> None:
    a["SECZ"] = ex.airmass[images.ex]
    a["MCAL"] = images.mcal
    a["DMCAL"] = 0.01
    a["PHOTCODE"] = images.code.astype(np.uint16).view(np.int16)
    a["LAT"] = per_camera([c.latitude for c in CAMERAS], cams, dtype=np.float32)
    a["IMAGE_ID"] = np.arange(1, images.n + 1, dtype=np.int64).astype(np.int32)
    a["SOURCE_ID"] = cams + 1
    if fmt == "PS1_V5_LOAD":
        a["RA_CENTER"], a["DEC_CENTER"] = chip_ra, chip_dec
        a["RADIUS"] = fov / nxg * 0.75


def _image_names(images: ChipImages, ex: Exposures, cams, cx, cy) -> list[bytes]:
    cam_names = np.array([c.name for c in CAMERAS])[cams]
    chip_names = [CAMERAS[c].chip_name(int(x), int(y)) or "" for c, x, y in zip(cams, cx, cy)]
    return [f"{cn}.{FILTERS[f]}.o{int(e):06d}.{ch}".encode() for cn, f, e, ch in
            zip(cam_names, ex.filter[images.ex], images.ex, chip_names)]
