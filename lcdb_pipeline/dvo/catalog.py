"""Catalog tables: `<name>.cpt` (objects), `.cpm` (measurements), `.cps` (per-filter averages), `.cpn`.

Two table formats are read, told apart by the .cpt EXTNAME:

* `DVO_AVERAGE_PS1_V1` / `DVO_MEASURE_PS1_V1` (the seed's format): measurement positions are stored as
  offsets `D_RA`, `D_DEC` ("arcsec") from the object's average position. The IPP converts them
  (`libdvo/src/dvo_convert_PS1_V1.c`, `Measure_PS1_V1_ToInternal`) as
  `R = ave.R - dR / 3600`, `D = ave.D - dD / 3600` — **no cos(dec) factor, and a minus sign** (it writes
  `dR = 3600 (ave.R - R)`). The reader does exactly that, then wraps RA into [0, 360).
* `DVO_AVERAGE_PS1_V5_LOAD` / `DVO_MEASURE_PS1_V5_LOAD`: absolute `RA`, `DEC` (degrees) per measurement,
  and an `M_FLAT` column.

Unsigned fields stored as signed integers without TZERO (OBJ_ID, CAT_ID, DET_ID, IMAGE_ID, AVE_REF,
PHOTCODE, NMEASURE, TIME_MSEC, DB_FLAGS, PHOT_FLAGS; OFF_MEASURE in PS1_V1, where it is `uint32_t`) are
reinterpreted bit for bit. Every column is found by name.
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError
from lcdb_pipeline.dvo.fits import BinTable
from lcdb_pipeline.dvo.skytable import expand_ranges

AVERAGE_EXTNAMES = {"DVO_AVERAGE_PS1_V1": "PS1_V1", "DVO_AVERAGE_PS1_V5_LOAD": "PS1_V5_LOAD"}
MEASURE_EXTNAMES = {"PS1_V1": "DVO_MEASURE_PS1_V1", "PS1_V5_LOAD": "DVO_MEASURE_PS1_V5_LOAD"}
SECFILT_EXTNAMES = {"PS1_V1": "DVO_SECFILT_PS1_V1", "PS1_V5_LOAD": "DVO_SECFILT_PS1_V5_LOAD"}

# (column, output name, output dtype, unsigned) per format
_OBJECT_COLUMNS = {
    "PS1_V1": [("RA", "ra", np.float64, False), ("DEC", "dec", np.float64, False),
               ("OBJ_ID", "obj_id", np.uint32, True), ("CAT_ID", "cat_id", np.uint32, True),
               ("NMEASURE", "nmeasure", np.uint32, True), ("OFF_MEASURE", "off_measure", np.int64, True),
               ("FLAGS", "flags", np.uint32, True)],
    "PS1_V5_LOAD": [("RA", "ra", np.float64, False), ("DEC", "dec", np.float64, False),
                    ("OBJ_ID", "obj_id", np.uint32, True), ("CAT_ID", "cat_id", np.uint32, True),
                    ("NMEASURE", "nmeasure", np.uint32, True), ("OFF_MEASURE", "off_measure", np.int64, False)],
}
_MEASURE_COMMON = [
    ("MAG", "mag", np.float32, False), ("MAG_ERR", "mag_err", np.float32, False),
    ("M_APER", "m_aper", np.float32, False), ("M_CAL", "m_cal", np.float32, False),
    ("AIRMASS", "airmass", np.float32, False), ("TIME", "time", np.int64, False),
    ("TIME_MSEC", "time_msec", np.int64, True), ("PHOTCODE", "photcode", np.uint16, True),
    ("IMAGE_ID", "image_id", np.uint32, True), ("DB_FLAGS", "db_flags", np.uint32, True),
    ("PHOT_FLAGS", "phot_flags", np.uint32, True), ("AVE_REF", "ave_ref", np.int64, True),
    ("OBJ_ID", "obj_id", np.uint32, True), ("CAT_ID", "cat_id", np.uint32, True),
    ("DET_ID", "det_id", np.uint32, True),
]
_MEASURE_COLUMNS = {
    "PS1_V1": [("D_RA", "d_ra", np.float32, False), ("D_DEC", "d_dec", np.float32, False)] + _MEASURE_COMMON,
    "PS1_V5_LOAD": [("RA", "ra", np.float64, False), ("DEC", "dec", np.float64, False)] + _MEASURE_COMMON
                   + [("M_FLAT", "m_flat", np.float32, False)],
}
_SECFILT_COLUMNS = {
    "PS1_V1": [("MAG", "mag", np.float32, False), ("MAG_ERR", "mag_err", np.float32, False),
               ("MAG_CHI", "mag_chi", np.float32, False), ("NCODE", "ncode", np.int16, False),
               ("NUSED", "nused", np.int16, False), ("MAG_20", "mag_20", np.int16, False),
               ("MAG_80", "mag_80", np.int16, False)],
    "PS1_V5_LOAD": [("MAG", "mag", np.float32, False), ("NCODE", "ncode", np.int16, False),
                    ("NUSED", "nused", np.int16, False)],
}


class Columns:
    """Named native numpy arrays of one table, all of the same length: `cols.ra` or `cols["ra"]`.

    `len(cols)` is the number of rows; `cols.names` the column names; `cols.get(name)` is None for a column
    this format does not have (e.g. `m_flat` in PS1_V1).
    """

    def __init__(self, arrays: dict[str, np.ndarray], nrows: int) -> None:
        self.__dict__["_arrays"] = dict(arrays)
        self.__dict__["_nrows"] = int(nrows)

    def __getattr__(self, name: str) -> np.ndarray:
        arrays = self.__dict__.get("_arrays")
        if arrays is not None and name in arrays:
            return arrays[name]
        raise AttributeError(name)

    def __setattr__(self, name, value) -> None:
        raise AttributeError("Columns are read-only; use .with_column()")

    def __getstate__(self):
        return self.__dict__

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __contains__(self, name: str) -> bool:
        return name in self._arrays

    def __len__(self) -> int:
        return self._nrows

    def __iter__(self):
        return iter(self._arrays)

    def __repr__(self) -> str:
        return f"Columns({self._nrows} rows: {', '.join(self._arrays)})"

    @property
    def names(self) -> list[str]:
        return list(self._arrays)

    def get(self, name: str, default=None):
        return self._arrays.get(name, default)

    def keys(self):
        return self._arrays.keys()

    def items(self):
        return self._arrays.items()

    def with_column(self, name: str, values: np.ndarray) -> Columns:
        return Columns({**self._arrays, name: values}, self._nrows)


def _header_int(t: BinTable, key: str, required: bool = True, default: int | None = None) -> int | None:
    v = t.primary.get(key)
    if v is None:
        if required:
            raise DVOError(t.path, f"primary header keyword {key} is missing", key=key)
        return default
    if isinstance(v, bool) or not isinstance(v, int):
        raise DVOError(t.path, f"primary header keyword {key} = {v!r} is not an integer", key=key)
    return v


def _header_bool(t: BinTable, key: str) -> bool:
    v = t.primary.get(key)
    if not isinstance(v, bool):
        raise DVOError(t.path, f"primary header keyword {key} = {v!r} is missing or not T/F", key=key)
    return v


def open_average(cpt_path: str) -> tuple[BinTable, str]:
    """The .cpt table and its format; DVOError for an unknown EXTNAME or a header not matching the table."""
    t = BinTable(cpt_path)
    fmt = AVERAGE_EXTNAMES.get(t.extname)
    if fmt is None:
        raise DVOError(cpt_path, f"unknown EXTNAME {t.extname!r} for a catalog table (.cpt); supported: "
                                 f"{', '.join(sorted(AVERAGE_EXTNAMES))}", key="EXTNAME")
    nstars = _header_int(t, "NSTARS")
    if nstars != t.nrows:
        raise DVOError(cpt_path, f"NSTARS = {nstars} but the table holds {t.nrows} objects (NAXIS2)", key="NSTARS")
    return t, fmt


def read_objects_of(t: BinTable, fmt: str) -> Columns:
    spec = _OBJECT_COLUMNS[fmt]
    d = t.read([(col, dt, uns) for col, _, dt, uns in spec])
    return Columns({out: d[col] for col, out, _, _ in spec}, t.nrows)


def bad_position_rows(ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Rows whose RA or DEC is not finite, or whose |DEC| > 90 (int64)."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(ra) | ~np.isfinite(dec) | (np.abs(dec) > 90.0)
    return np.flatnonzero(bad).astype(np.int64)


def sibling_path(t: BinTable, key: str, ext: str) -> str:
    """Path of a sibling named by a .cpt primary keyword (MEASURE, SECFILT, MISSING), or <base>.<ext>."""
    name = t.primary.get(key)
    base = os.path.dirname(t.path)
    if isinstance(name, str) and name.strip():
        return os.path.join(base, name.strip())
    stem = os.path.basename(t.path)
    stem = stem[:-4] if stem.endswith(".cpt") else stem
    return os.path.join(base, f"{stem}.{ext}")


class CatalogTable:
    """One catalog table read from disk, validated.

    Attributes: `name` (`n0000/0148.03`), `region` (`n0000`), `format` (`PS1_V1` | `PS1_V5_LOAD`),
    `paths` ({"cpt", "cpm", "cps", "cpn"} → file path), `nbytes` (bytes read so far), `header` (the .cpt
    primary header as a dict), `catid`, `sorted`, `nstars`, `nmeas`, `nsecfilt`, `objects` and
    `measurements` (`Columns`), `bad_position_rows` (object rows whose RA/DEC is NaN/inf or |DEC| > 90:
    kept, not an error — the caller decides), and `secfilt` (the .cps, read on first access).

    objects: `ra`, `dec` float64 deg; `obj_id`, `cat_id`, `nmeasure` uint32; `off_measure` int64;
    (PS1_V1 also `flags` uint32).
    measurements: `ave_ref` int64 (validated index into objects); `ra`, `dec` float64 absolute deg; `time`,
    `time_msec` int64; `mag`, `mag_err`, `m_aper`, `m_cal`, `airmass` float32; `photcode` uint16;
    `image_id`, `db_flags`, `phot_flags`, `obj_id`, `cat_id`, `det_id` uint32; PS1_V5_LOAD also `m_flat`
    float32; PS1_V1 also the stored offsets `d_ra`, `d_dec` float32.
    """

    def __init__(self, name: str, region: str, fmt: str, paths: dict[str, str], header: dict, objects: Columns,
                 measurements: Columns, nbytes: int) -> None:
        self.name = name
        self.region = region
        self.format = fmt
        self.paths = paths
        self.header = header
        self.catid = int(header["CATID"])
        self.sorted = bool(header["SORTED"])
        self.nstars = int(header["NSTARS"])
        self.nmeas = int(header["NMEAS"])
        nsec = header.get("NSECFILT")
        self.nsecfilt = int(nsec) if isinstance(nsec, int) and not isinstance(nsec, bool) else 0
        self.objects = objects
        self.measurements = measurements
        self.nbytes = nbytes
        self.bad_position_rows = bad_position_rows(objects["ra"], objects["dec"])

    def __repr__(self) -> str:
        return (f"CatalogTable({self.name!r}, {self.format}, {self.nstars} objects, {self.nmeas} measurements, "
                f"sorted={self.sorted})")

    def measurements_by_object(self) -> tuple[np.ndarray, np.ndarray]:
        """(order, offsets): `measurements[order[offsets[i]:offsets[i+1]]]` are object i's measurements."""
        ave_ref = self.measurements["ave_ref"]
        order = np.argsort(ave_ref, kind="stable")
        counts = np.bincount(ave_ref, minlength=self.nstars)
        offsets = np.zeros(self.nstars + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return order, offsets

    @cached_property
    def secfilt(self) -> Columns:
        """The .cps: per object and SEC filter (Nsec order of Photcodes.dat) arrays of shape
        (nstars, nsecfilt)."""
        path = self.paths["cps"]
        if not os.path.exists(path):
            raise DVOError(path, f"missing sibling file: the .cpt names SECFILT = {os.path.basename(path)!r} "
                                 "but it does not exist", key="SECFILT")
        t = BinTable(path)
        if t.extname != SECFILT_EXTNAMES[self.format]:
            raise DVOError(path, f"EXTNAME {t.extname!r} is not {SECFILT_EXTNAMES[self.format]!r}, the secfilt "
                                 f"table of a {self.format} catalog", key="EXTNAME")
        if t.nrows != self.nstars * self.nsecfilt:
            raise DVOError(path, f"{t.nrows} rows, but NSTARS × NSECFILT = {self.nstars} × {self.nsecfilt}",
                           key="NSECFILT")
        spec = _SECFILT_COLUMNS[self.format]
        d = t.read([(col, dt, uns) for col, _, dt, uns in spec])
        self.nbytes += t.header_bytes + t.data_bytes
        shape = (self.nstars, self.nsecfilt)
        return Columns({out: d[col].reshape(shape) for col, out, _, _ in spec}, self.nstars)


def read_catalog(cpt_path: str, name: str, region: str, photcodes=None) -> CatalogTable:
    """Read and validate one catalog table (see `CatalogTable`); `photcodes` (a `Photcodes`) also checks
    every measurement's PHOTCODE."""
    cpt, fmt = open_average(cpt_path)
    _header_int(cpt, "CATID")  # required keyword: a .cpt without it is refused here
    is_sorted = _header_bool(cpt, "SORTED")
    nmeas = _header_int(cpt, "NMEAS")
    paths = {"cpt": cpt.path, "cpm": sibling_path(cpt, "MEASURE", "cpm"),
             "cps": sibling_path(cpt, "SECFILT", "cps"), "cpn": sibling_path(cpt, "MISSING", "cpn")}
    if not os.path.exists(paths["cpm"]):
        raise DVOError(paths["cpm"], f"missing sibling file: {cpt.path} names MEASURE = "
                                     f"{os.path.basename(paths['cpm'])!r} but it does not exist", key="MEASURE")
    cpm = BinTable(paths["cpm"])
    if cpm.extname != MEASURE_EXTNAMES[fmt]:
        known = cpm.extname in MEASURE_EXTNAMES.values()
        raise DVOError(cpm.path, (f"EXTNAME {cpm.extname!r} does not match the {fmt} .cpt (expected "
                                  f"{MEASURE_EXTNAMES[fmt]!r})" if known else
                                  f"unknown EXTNAME {cpm.extname!r} for a measurement table (.cpm); expected "
                                  f"{MEASURE_EXTNAMES[fmt]!r}"), key="EXTNAME")
    if nmeas != cpm.nrows:
        raise DVOError(cpt.path, f"NMEAS = {nmeas} but {cpm.path} holds {cpm.nrows} measurements (NAXIS2)",
                       key="NMEAS")

    objects = read_objects_of(cpt, fmt)
    spec = _MEASURE_COLUMNS[fmt]
    d = cpm.read([(col, dt, uns) for col, _, dt, uns in spec])
    meas = {out: d[col] for col, out, _, _ in spec}
    nstars = cpt.nrows

    ave_ref = meas["ave_ref"]
    bad = ave_ref >= nstars
    if bad.any():
        row = int(np.argmax(bad))
        raise DVOError(cpm.path, f"AVE_REF {int(ave_ref[row])} is beyond the {nstars} objects of {cpt.path}",
                       row=row, key="AVE_REF")
    _check_counts(cpt.path, objects, ave_ref, is_sorted)
    if is_sorted:
        _check_offsets(cpt.path, cpm.path, objects, ave_ref, nmeas)

    if fmt == "PS1_V1":
        ra0 = objects["ra"][ave_ref]
        dec0 = objects["dec"][ave_ref]
        ra = ra0 - meas["d_ra"].astype(np.float64) / 3600.0
        np.mod(ra, 360.0, out=ra)
        meas = {"ra": ra, "dec": dec0 - meas["d_dec"].astype(np.float64) / 3600.0, **meas}
    measurements = Columns(meas, cpm.nrows)
    if photcodes is not None:
        photcodes.index_of(measurements["photcode"], path=cpm.path)
    header = dict(cpt.primary.values)
    return CatalogTable(name, region, fmt, paths, header, objects, measurements,
                        cpt.header_bytes + cpt.data_bytes + cpm.header_bytes + cpm.data_bytes)


def _check_counts(cpt_path: str, objects: Columns, ave_ref: np.ndarray, is_sorted: bool) -> None:
    """NMEASURE of every object equals the number of measurements whose AVE_REF points at it."""
    nmeasure = objects["nmeasure"]
    counts = np.bincount(ave_ref, minlength=nmeasure.size)
    bad = counts != nmeasure
    if bad.any():
        row = int(np.argmax(bad))
        raise DVOError(cpt_path, f"NMEASURE = {int(nmeasure[row])} but {int(counts[row])} measurements have "
                                 f"AVE_REF = {row} (NMEASURE sums to {int(nmeasure.sum())}, the .cpm holds "
                                 f"{ave_ref.size}; SORTED = {'T' if is_sorted else 'F'})", row=row, key="NMEASURE")


def _check_offsets(cpt_path: str, cpm_path: str, objects: Columns, ave_ref: np.ndarray, nmeas: int) -> None:
    """SORTED = T: each object's measurements are rows OFF_MEASURE … OFF_MEASURE + NMEASURE − 1."""
    n = objects["nmeasure"].astype(np.int64)
    off = objects["off_measure"]
    has = n > 0
    bad = has & ((off < 0) | (off + n > nmeas))
    if bad.any():
        row = int(np.argmax(bad))
        raise DVOError(cpt_path, f"OFF_MEASURE {int(off[row])} + NMEASURE {int(n[row])} lies outside the "
                                 f"{nmeas} measurements of the .cpm (SORTED = T)", row=row, key="OFF_MEASURE")
    idx = expand_ranges(np.where(has, off, 0), n)
    owner = np.repeat(np.arange(n.size, dtype=np.int64), n)
    bad = ave_ref[idx] != owner
    if bad.any():
        i = int(np.argmax(bad))
        row, m = int(owner[i]), int(idx[i])
        raise DVOError(cpt_path, f"OFF_MEASURE/NMEASURE say measurement row {m} of {cpm_path} belongs to this "
                                 f"object, but its AVE_REF is {int(ave_ref[m])} (SORTED = T)", row=row,
                       key="OFF_MEASURE")
