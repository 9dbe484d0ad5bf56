"""An independent computation of what LightcurveDB must hold for a DVO catalog table.

Reads the FITS files with astropy.io.fits and maps them with pandas, sharing no code with lcdb_pipeline, so
the pipeline's reader, mapping and loader are all checked against a second implementation of DESIGN §5.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

REF_TYPE = 4


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
    return df.set_index("code")


def read_images(root: Path) -> tuple[pd.Series, float]:
    with fits.open(root / "Images.dat") as hdul:
        zero_pt = float(hdul[0].header.get("ZERO_PT", 25.0))
        d = hdul[1].data
        ids = _u32(d["IMAGE_ID"]) if "IMAGE_ID" in d.columns.names else np.arange(1, len(d) + 1)
        exptime = pd.Series(np.asarray(d["EXPTIME"], dtype=np.float64), index=ids)
    return exptime, zero_pt


@dataclass
class ExpectedObservation:
    camera: str
    filter_name: str
    cadences_ms: np.ndarray
    mid_unix: np.ndarray  # mid-exposure per cadence
    # target name → arrays aligned to cadences
    values: dict[str, dict[int, np.ndarray]]
    errors: dict[int, np.ndarray]
    phot_flags: dict[int, np.ndarray]
    db_flags: dict[int, np.ndarray]
    positions: dict[int, tuple[float, float]]
    duplicates: int


def expected_table(root: Path, table_name: str) -> dict[tuple[str, str], ExpectedObservation]:
    """Expected observations of catalog table `table_name` (e.g. 'n0000/0001.03'), keyed (camera, filter)."""
    photcodes = read_photcodes(root)
    exptime_by_image, zero_pt = read_images(root)
    with fits.open(root / f"{table_name}.cpt") as hdul:
        cpt = hdul[1].data
        obj = pd.DataFrame({
            "ra": np.asarray(cpt["RA"], dtype=np.float64), "dec": np.asarray(cpt["DEC"], dtype=np.float64),
            "name": (_u32(cpt["CAT_ID"]) << 32) | _u32(cpt["OBJ_ID"]),
        })
        measure_file = hdul[0].header["MEASURE"].strip()
    with _open(Path(root / table_name).parent / measure_file) as hdul:
        cpm = hdul[1].data
        cols = cpm.columns.names
        m = pd.DataFrame({
            "ave_ref": _u32(cpm["AVE_REF"]),
            "cadence": np.asarray(cpm["TIME"]).astype(np.int64) * 1000 + np.asarray(cpm["TIME_MSEC"]).astype(np.int64),
            "time": np.asarray(cpm["TIME"]).astype(np.int64),
            "mag": np.asarray(cpm["MAG"], dtype=np.float64),
            "mag_err": np.asarray(cpm["MAG_ERR"], dtype=np.float64),
            "m_aper": np.asarray(cpm["M_APER"], dtype=np.float64),
            "m_cal": np.asarray(cpm["M_CAL"], dtype=np.float64),
            "airmass": np.asarray(cpm["AIRMASS"], dtype=np.float64),
            "m_flat": np.asarray(cpm["M_FLAT"], dtype=np.float64) if "M_FLAT" in cols else 0.0,
            "photcode": np.asarray(cpm["PHOTCODE"]).astype(np.int64) & 0xFFFF,
            "image_id": _u32(cpm["IMAGE_ID"]),
            "phot_flags": _u32(cpm["PHOT_FLAGS"]),
            "db_flags": _u32(cpm["DB_FLAGS"]),
        })
    m = m[np.isfinite(obj["ra"].to_numpy()[m["ave_ref"]]) & np.isfinite(obj["dec"].to_numpy()[m["ave_ref"]])]
    pc = photcodes.loc[m["photcode"]]
    m["camera"], m["filter"] = pc["camera"].to_numpy(), pc["filter"].to_numpy()
    flat = m["m_flat"].where(np.isfinite(m["m_flat"]), 0.0)
    m["calibrated"] = np.where(
        pc["type"].to_numpy() == REF_TYPE, m["mag"],
        m["mag"] - zero_pt + pc["k"].to_numpy() * (m["airmass"] - 1.0) + 0.001 * pc["c_lam"].to_numpy()
        - m["m_cal"] - flat,
    )
    m["exptime"] = exptime_by_image.reindex(m["image_id"]).to_numpy()
    m["err_rank"] = m["mag_err"].where(np.isfinite(m["mag_err"]), np.inf)

    out = {}
    for (camera, filter_name), g in m.groupby(["camera", "filter"], sort=True):
        best = g.sort_values("err_rank", kind="stable").drop_duplicates(["ave_ref", "cadence"], keep="first")
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
            exp.errors[name] = dense(rows["mag_err"].to_numpy(), np.nan, np.float64)
            exp.phot_flags[name] = dense(rows["phot_flags"].to_numpy(), 0, np.int64).astype(np.uint32)
            exp.db_flags[name] = dense(rows["db_flags"].to_numpy(), 0, np.int64).astype(np.uint32)
            exp.positions[name] = (float(obj["ra"].iloc[ave_ref]), float(obj["dec"].iloc[ave_ref]))
        out[(camera, filter_name)] = exp
    return out
