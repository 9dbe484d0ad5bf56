"""The ELIXIR format in MEF mode, as `catdir.grizy` has it: one `.cpt` per catalog table holding the average,
measure, missing and secfilt tables as HDUs 1–4 under one primary header (no MEASURE keyword, no CATID, no
OBJID), integer millimag columns with DVO's NAN_S_SHORT / NAN_U_CHAR sentinels, positions as offsets in
1/100 arcsec, no TIME_MSEC and no IMAGE_ID (`libdvo/src/dvo_convert_elixir.c`, `MeasureInternalTo_Elixir`).

`quantize` turns a table's ground truth into exactly what such a file can hold (what a reader must get back);
`write_mef` writes it.
"""

from __future__ import annotations

import os

import numpy as np

from lcdb_pipeline.dvo.formats import NAN_S_SHORT, NAN_U_CHAR, CATALOG_FORMATS
from lcdb_pipeline.synth.fits_writer import write_tables

ELIXIR = CATALOG_FORMATS["ELIXIR"]


def _milli(x, null=NAN_S_SHORT, top=32767) -> np.ndarray:
    """Values × 1000 as integers, `null` for NaN (the IPP's isnan(x) ? NAN_S_SHORT : x * 1000.0)."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    return np.where(finite, np.clip(np.round(np.where(finite, x, 0.0) * 1000.0), -top, top - 1), null).astype(np.int64)


def _unmilli(k: np.ndarray, null=NAN_S_SHORT) -> np.ndarray:
    return np.where(k == null, np.nan, k * 0.001).astype(np.float32)


def quantize(o: dict, m: dict, dra: np.ndarray, ddec: np.ndarray, catid: int) -> tuple[dict, dict, dict]:
    """(objects, measurements, stored integers) as an ELIXIR file holds them."""
    ints = {
        "MAG": _milli(m["mag"]), "dM": _milli(m["mag_err"], NAN_U_CHAR, 255), "Mcal": _milli(m["m_cal"]),
        "airmass": _milli(m["airmass"]), "dt": _milli(2.5 * np.log10(m["exptime"].astype(np.float64))),
        "D_RA": np.round(dra * 100.0).astype(np.int64), "D_DEC": np.round(ddec * 100.0).astype(np.int64),
        "flags": m["db_flags"].astype(np.int64) & 0xFFFF, "dophot": (m["phot_flags"].astype(np.int64) >> 16) & 0xFF,
    }
    as_float = {k: o[k].astype(np.float32).astype(np.float64) for k in ("ra", "dec")}  # TFORM E in ELIXIR
    objects = dict(o, **as_float,
                   obj_id=np.arange(o["ra"].size, dtype=np.uint32), cat_id=np.full(o["ra"].size, catid, np.uint32))
    ave = m["ave_ref"]
    meas = dict(m, mag=_unmilli(ints["MAG"]), mag_err=_unmilli(ints["dM"], NAN_U_CHAR), m_cal=_unmilli(ints["Mcal"]),
                airmass=_unmilli(ints["airmass"]), m_time=_unmilli(ints["dt"]),
                m_aper=np.full(ave.size, np.nan, np.float32),
                time_msec=np.zeros(ave.size, np.int64), image_id=np.zeros(ave.size, np.uint32),
                db_flags=ints["flags"].astype(np.uint32), phot_flags=(ints["dophot"] << 16).astype(np.uint32),
                obj_id=objects["obj_id"][ave], cat_id=objects["cat_id"][ave])
    meas["ra"] = np.mod(objects["ra"][ave] - ints["D_RA"] * 0.01 / 3600.0, 360.0)
    meas["dec"] = objects["dec"][ave] - ints["D_DEC"] * 0.01 / 3600.0
    for key in ("m_flat", "mag_cal_err"):
        meas.pop(key, None)
    return objects, meas, ints


def _average_rows(o: dict, first_sec: np.ndarray) -> np.ndarray:
    a = ELIXIR.layout("average").empty(o["ra"].size)
    a["RA"], a["DEC"] = o["ra"], o["dec"]
    a["NMEAS"] = o["nmeasure"].astype(np.uint16).view(np.int16)
    a["offset"] = o["off_measure"]
    a["MAG"] = _milli(first_sec)
    a["MAG_ERR"] = NAN_S_SHORT
    a["code"] = np.where(o["nmeasure"] > 0, 1, 0)
    return a


def _measure_rows(m: dict, ints: dict) -> np.ndarray:
    a = ELIXIR.layout("measure").empty(m["ave_ref"].size)
    for column in ("D_RA", "D_DEC", "MAG", "Mcal", "airmass", "dt", "flags"):
        a[column] = ints[column].astype(np.uint16).view(np.int16) if column == "flags" else ints[column]
    a["dM"] = ints["dM"].astype(np.uint8)
    a["dophot"] = [bytes([int(v)]) for v in ints["dophot"]]
    a["Mgal"] = NAN_S_SHORT
    a["FWx"] = 90
    a["fwy"] = 93
    a["source"] = m["photcode"].astype(np.uint16).view(np.int16)
    a["t"] = m["time"].astype(np.uint32).view(np.int32)
    a["averef"] = m["ave_ref"].astype(np.uint32).view(np.int32)
    return a


def write_mef(path: str, table, o: dict, m: dict, ints: dict, sec_mags: np.ndarray, date: str,
              omit_sorted: bool, unsorted: bool) -> int:
    """The one MEF `.cpt`: HDU 1 average, 2 measure, 3 missing, 4 secfilt (NSECFILT filters after the first,
    which the average table holds, as the IPP writes ELIXIR)."""
    nobj, nsec = o["ra"].size, sec_mags.shape[1]
    rmin, rmax, dmin, dmax = table.bounds
    values = {"EXTEND": True, "RA0": rmin, "DEC0": dmin, "RA1": rmax, "DEC1": dmax, "DATE": date,
              "SORTED": not unsorted, "NSTARS": nobj, "NMEAS": m["ave_ref"].size, "NMISS": 0, "NSECFILT": nsec - 1}
    base = {"SIMPLE": True, "BITPIX": 8, "NAXIS": 0, "PCOUNT": 0, "GCOUNT": 1, "BSCALE": 1.0, "BZERO": 0.0}
    keys = [k for k in ELIXIR.layout("average").primary() if not (omit_sorted and k == "SORTED")]
    cards = [(k, {**base, **values}[k]) for k in keys]
    secfilt = ELIXIR.layout("secfilt").empty(nobj * (nsec - 1))
    secfilt["MAG"] = _milli(sec_mags[:, 1:].ravel())
    secfilt["MAG_CHI"], secfilt["MAG_ERR"] = 0, NAN_S_SHORT
    tables = [(ELIXIR.layout("average"), _average_rows(o, sec_mags[:, 0])),
              (ELIXIR.layout("measure"), _measure_rows(m, ints)),
              (ELIXIR.layout("missing"), ELIXIR.layout("missing").empty(0)),
              (ELIXIR.layout("secfilt"), secfilt)]
    return write_tables(os.fspath(path), cards, [(lay.extname, lay.columns, data) for lay, data in tables],
                        scale_keywords=True)
