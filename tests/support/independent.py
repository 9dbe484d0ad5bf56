"""An independent computation of what LightcurveDB must hold for a DVO catalog table.

Reads the FITS files with astropy.io.fits and maps them with pandas, sharing no code with lcdb_pipeline, so
the pipeline's reader, mapping and loader are all checked against a second implementation of DESIGN §5 and
docs/dvo.md: epoch measurements only (DEP photcodes named CAMERA.filter.CHIP with a detector chip, of a
camera with an observatory), errors per processing group, the duplicate rank, EXPTIME from Images.dat else
M_TIME; formats PS1_V1, PS1_V5_LOAD and ELIXIR (integer millimags), SPLIT and MEF files.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

REF_TYPE = 4
DEP_TYPE = 3
DETECTOR = re.compile(r"XY[0-9]{2}|[0-9]{1,3}")
CAMERAS_WITH_SITES = ("GPC1", "MEGACAM")  # the observatories lcdb configures by default


def _open(path: Path) -> fits.HDUList:
    """astropy refuses duplicate column names (PS1_V5_LOAD .cpm has two PADDING): rename repeats in the header
    cards before astropy parses them; the data bytes are untouched."""
    raw = bytearray(Path(path).read_bytes())
    seen: dict[bytes, int] = {}
    for start in range(0, len(raw), 80):
        card = bytes(raw[start : start + 80])
        if card.startswith(b"END     "):
            if seen:
                break
            continue
        if card.startswith(b"TTYPE"):
            value = card[10:].split(b"/")[0].strip()
            seen[value] = seen.get(value, 0) + 1
            if seen[value] > 1:
                renamed = value[:-1] + b"%d'" % seen[value]
                raw[start + 10 : start + 10 + len(renamed)] = renamed
    return fits.open(io.BytesIO(bytes(raw)))


def _u32(col) -> np.ndarray:
    return np.asarray(col).astype(np.int64) & 0xFFFFFFFF


def read_photcodes(root: Path) -> pd.DataFrame:
    with fits.open(root / "Photcodes.dat") as hdul:
        d = hdul[1].data
        df = pd.DataFrame({
            "code": np.asarray(d["CODE"]).astype(np.int64) & 0xFFFF,
            "name": [n.strip() for n in d["NAME"]],
            # TYPE is one raw byte (2 SEC, 3 DEP, 4 REF) stored as a 1-character string
            "type": [ord(t[:1]) if len(t) else 0 for t in d["TYPE"]],
            "k": np.asarray(d["K"], dtype=np.float64),
            "c_lam": np.asarray(d["C_LAM"], dtype=np.float64),
        })
    parts = df["name"].str.split(".")
    df["camera"] = parts.str[0]
    df["filter"] = [p[1] if len(p) > 1 else p[0] for p in parts]
    df["detector"] = [len(p) == 3 and DETECTOR.fullmatch(p[2]) is not None for p in parts]
    return df.set_index("code")


def read_images(root: Path) -> tuple[pd.Series, float]:
    with fits.open(root / "Images.dat") as hdul:
        zero_pt = float(hdul[0].header.get("ZERO_PT", 25.0))
        d = hdul[1].data
        ids = _u32(d["IMAGE_ID"]) if "IMAGE_ID" in d.columns.names else np.arange(1, len(d) + 1)
        exptime = pd.Series(np.asarray(d["EXPTIME"], dtype=np.float64), index=ids)
    return exptime, zero_pt


def _skytable_index(root: Path, table_name: str) -> int:
    with fits.open(root / "SkyTable.fits") as hdul:
        names = [n.strip() for n in hdul[1].data["NAME"]]
        return int(hdul[1].data["INDEX"][names.index(table_name)])


def _milli(col, null=0x7FFF) -> np.ndarray:
    """ELIXIR integer millimags: × 0.001 as the IPP's float, NaN for the null value."""
    raw = np.asarray(col).astype(np.int64)
    return np.where(raw == null, np.nan, (raw * 0.001).astype(np.float32)).astype(np.float64)


def read_objects(root: Path, table_name: str) -> tuple[pd.DataFrame, fits.Header]:
    with fits.open(root / f"{table_name}.cpt") as hdul:
        header = hdul[0].header.copy()
        cpt = hdul[1].data
        n = len(cpt)
        names = cpt.columns.names
        obj_id = _u32(cpt["OBJ_ID"]) if "OBJ_ID" in names else np.arange(n)
        if "CAT_ID" in names:
            cat_id = _u32(cpt["CAT_ID"])
        else:
            cat_id = np.full(n, int(header.get("CATID", _skytable_index(root, table_name))))
        obj = pd.DataFrame({"ra": np.asarray(cpt["RA"], dtype=np.float64),
                            "dec": np.asarray(cpt["DEC"], dtype=np.float64), "name": (cat_id << 32) | obj_id})
    return obj, header


def _measure_hdu(root: Path, table_name: str, header: fits.Header):
    """SPLIT: the file MEASURE names; MEF (no MEASURE keyword): HDU 2 of the .cpt."""
    if "MEASURE" in header:
        return _open(Path(root / table_name).parent / header["MEASURE"].strip()), 1
    return _open(root / f"{table_name}.cpt"), 2


def read_measurements(root: Path, table_name: str, header: fits.Header, obj: pd.DataFrame) -> pd.DataFrame:
    hdul, hdu = _measure_hdu(root, table_name, header)
    with hdul:
        cpm = hdul[hdu].data
        if hdul[hdu].header["EXTNAME"].strip() == "DVO_MEASURE_ELIXIR":
            return _elixir_measurements(cpm)
        cols = cpm.columns.names
        optional = lambda name: (np.asarray(cpm[name], dtype=np.float64) if name in cols  # noqa: E731
                                 else np.full(len(cpm), np.nan))
        return pd.DataFrame({
            "ave_ref": _u32(cpm["AVE_REF"]),
            "cadence": np.asarray(cpm["TIME"]).astype(np.int64) * 1000
            + (np.asarray(cpm["TIME_MSEC"]).astype(np.int64) & 0xFFFF),
            "mag": np.asarray(cpm["MAG"], dtype=np.float64),
            "mag_err": np.asarray(cpm["MAG_ERR"], dtype=np.float64),
            "mag_cal_err": optional("MAG_CAL_ERR"),
            "m_aper": np.asarray(cpm["M_APER"], dtype=np.float64),
            "m_aper_err": optional("M_APER_ERR"),
            "has_aper_err": "M_APER_ERR" in cols,
            "m_cal": np.asarray(cpm["M_CAL"], dtype=np.float64),
            "m_time": np.asarray(cpm["M_TIME"], dtype=np.float64),
            "airmass": np.asarray(cpm["AIRMASS"], dtype=np.float64),
            "m_flat": np.asarray(cpm["M_FLAT"], dtype=np.float64) if "M_FLAT" in cols else 0.0,
            "photcode": np.asarray(cpm["PHOTCODE"]).astype(np.int64) & 0xFFFF,
            "image_id": _u32(cpm["IMAGE_ID"]),
            "phot_flags": _u32(cpm["PHOT_FLAGS"]),
            "db_flags": _u32(cpm["DB_FLAGS"]),
        })


def _elixir_measurements(cpm) -> pd.DataFrame:
    """Measure_Elixir as the IPP converts it (dvo_convert_elixir.c)."""
    n = len(cpm)
    return pd.DataFrame({
        "ave_ref": _u32(cpm["averef"]), "cadence": _u32(cpm["t"]) * 1000,
        "mag": _milli(cpm["MAG"]), "mag_err": _milli(cpm["dM"], 0xFF), "mag_cal_err": np.full(n, np.nan),
        "m_aper": np.full(n, np.nan), "m_aper_err": np.full(n, np.nan), "has_aper_err": False,
        "m_cal": _milli(cpm["Mcal"]), "m_time": _milli(cpm["dt"]), "airmass": _milli(cpm["airmass"]),
        "m_flat": 0.0, "photcode": np.asarray(cpm["source"]).astype(np.int64) & 0xFFFF,
        "image_id": np.zeros(n, dtype=np.int64),
        # dophot is one raw byte (TFORM A): read the bytes, astropy's strings drop a trailing blank (0x20)
        "phot_flags": cpm.view(np.ndarray)["dophot"].view(np.uint8).astype(np.int64) << 16,
        "db_flags": np.asarray(cpm["flags"]).astype(np.int64) & 0xFFFF,
    })


@dataclass
class ExpectedObservation:
    camera: str
    filter_name: str
    cadences_ms: np.ndarray
    mid_unix: np.ndarray  # mid-exposure per cadence
    # target name → arrays aligned to cadences
    values: dict[str, dict[int, np.ndarray]]
    errors: dict[int, dict[str, np.ndarray]]  # target → processing group → errors
    phot_flags: dict[int, np.ndarray]
    db_flags: dict[int, np.ndarray]
    positions: dict[int, tuple[float, float]]
    duplicates: int


def expected_table(root: Path, table_name: str,
                   cameras=CAMERAS_WITH_SITES) -> dict[tuple[str, str], ExpectedObservation]:
    """Expected observations of catalog table `table_name` (e.g. 'n0000/0001.03'), keyed (camera, filter)."""
    photcodes = read_photcodes(root)
    exptime_by_image, zero_pt = read_images(root)
    obj, header = read_objects(root, table_name)
    m = read_measurements(root, table_name, header, obj)
    m["row"] = np.arange(len(m))
    pc = photcodes.loc[m["photcode"]]
    epoch = (pc["type"].to_numpy() == DEP_TYPE) & pc["detector"].to_numpy() & pc["camera"].isin(cameras).to_numpy()
    positioned = np.isfinite(obj["ra"].to_numpy()[m["ave_ref"]]) & np.isfinite(obj["dec"].to_numpy()[m["ave_ref"]])
    m = m[epoch & positioned]
    pc = photcodes.loc[m["photcode"]]
    m["camera"], m["filter"] = pc["camera"].to_numpy(), pc["filter"].to_numpy()
    flat = m["m_flat"].where(np.isfinite(m["m_flat"]), 0.0)
    m["calibrated"] = (m["mag"] - zero_pt + pc["k"].to_numpy() * (m["airmass"] - 1.0)
                       + 0.001 * pc["c_lam"].to_numpy() - m["m_cal"] - flat)
    m["err_relphot"] = np.where(np.isfinite(m["mag_cal_err"]), np.hypot(m["mag_err"], m["mag_cal_err"]), m["mag_err"])
    m["err_aperture"] = np.where(m["has_aper_err"], m["m_aper_err"], m["mag_err"])
    from_images = exptime_by_image.reindex(m["image_id"]).to_numpy()
    m["exptime"] = np.where(np.isfinite(from_images), from_images, 10.0 ** (m["m_time"] / 2.5))
    m["usable"] = np.isfinite(m["mag"]) & np.isfinite(m["mag_err"])
    m["err_rank"] = m["mag_err"].where(m["usable"], 0.0)
    m["unusable"] = ~m["usable"]

    out = {}
    for (camera, filter_name), g in m.groupby(["camera", "filter"], sort=True):
        best = (g.sort_values(["unusable", "err_rank", "row"], kind="stable")
                .drop_duplicates(["ave_ref", "cadence"], keep="first"))
        cadences = np.sort(g["cadence"].unique())
        known = g[np.isfinite(g["exptime"])].drop_duplicates("cadence").set_index("cadence")["exptime"]
        mid = cadences / 1000.0 + known.reindex(cadences).fillna(0.0).to_numpy() / 2.0
        col = np.searchsorted(cadences, best["cadence"].to_numpy())
        exp = ExpectedObservation(camera, filter_name, cadences, mid, {"mag": {}, "calibrated": {}, "m_aper": {}},
                                  {}, {}, {}, {}, duplicates=len(g) - len(best))
        best = best.assign(col=col)
        for ave_ref, rows in best.groupby("ave_ref"):
            name = int(obj["name"].iloc[ave_ref])
            c = rows["col"].to_numpy()

            def dense(values, fill, dtype):
                a = np.full(cadences.size, fill, dtype=dtype)
                a[c] = values
                return a

            for key in ("mag", "calibrated", "m_aper"):
                exp.values[key][name] = dense(rows[key].to_numpy(), np.nan, np.float64)
            exp.errors[name] = {group: dense(rows[col].to_numpy(), np.nan, np.float64) for group, col in
                                (("psf/instrumental", "mag_err"), ("psf/relphot", "err_relphot"),
                                 ("aperture/instrumental", "err_aperture"))}
            exp.phot_flags[name] = dense(rows["phot_flags"].to_numpy(), 0, np.int64).astype(np.uint32)
            exp.db_flags[name] = dense(rows["db_flags"].to_numpy(), 0, np.int64).astype(np.uint32)
            exp.positions[name] = (float(obj["ra"].iloc[ave_ref]), float(obj["dec"].iloc[ave_ref]))
        out[(camera, filter_name)] = exp
    return out
