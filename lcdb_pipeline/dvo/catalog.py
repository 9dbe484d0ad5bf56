"""Catalog tables: objects (`.cpt`), measurements (`.cpm`), per-filter averages (`.cps`), missing (`.cpn`).

The table format is named by the .cpt EXTNAME (`DVO_AVERAGE_<FORMAT>`) and every table's layout is looked
up by its EXTNAME in the one table of definitions, `lcdb_pipeline.dvo.formats`, and checked against it
before anything is read. Formats read: PS1_V1, PS1_V5_LOAD and ELIXIR (see docs/dvo.md for the others).

Two file modes, as the IPP's `dvo_catalog.c` tells them apart: **SPLIT** — the .cpt primary header names its
siblings (`MEASURE = 'xxxx.cpm'`, `SECFILT`, `MISSING`) — and **MEF** — no `MEASURE` keyword: the tables are
the later HDUs of the .cpt itself, in the IPP's order (`dvo_catalog_mef.c`): average, measure, missing,
secfilt.

Measurement positions stored as offsets (`D_RA`, `D_DEC`, PS1_V1 and ELIXIR) are converted as the IPP does
(`dvo_convert_PS1_V1.c`, `dvo_convert_elixir.c`): `R = ave.R - dR / 3600`, `D = ave.D - dD / 3600` — **no
cos(dec) factor, and a minus sign** — then RA is wrapped into [0, 360). Unsigned fields stored as signed
integers without TZERO are reinterpreted bit for bit (see `formats.FIELDS`).

Header defaults as in the IPP: a missing `SORTED` means sorted (`dvo_catalog.c`: `if (!status)
catalog[0].sorted = TRUE;`) — the OFF_MEASURE/AVE_REF cross-check still guards such a table; a missing
`CATID` (legacy and ELIXIR databases) is the table's SkyTable INDEX, the value the IPP gives a new table
(`dvo_catalog_create.c`: `catalog[0].catID = region[0].index`); ELIXIR objects carry no OBJ_ID on disk and
are numbered by row.
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError
from lcdb_pipeline.dvo.fits import BinTable
from lcdb_pipeline.dvo.formats import CATALOG_FORMATS, Layout, layout, open_table, read_fields
from lcdb_pipeline.dvo.skytable import expand_ranges

#: the .cpt HDUs of each table in MEF mode (dvo_catalog_mef.c reads them in this order)
MEF_HDU = {"measure": 2, "missing": 3, "secfilt": 4}


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


def _header_sorted(t: BinTable) -> bool:
    """SORTED; absent means sorted (the IPP's default)."""
    v = t.primary.get("SORTED", True)
    if not isinstance(v, bool):
        raise DVOError(t.path, f"primary header keyword SORTED = {v!r} is not T/F", key="SORTED")
    return v


def open_average(cpt_path: str) -> tuple[BinTable, Layout]:
    """The .cpt table and its layout; DVOError for an unknown EXTNAME, a column not as its layout says, or
    a header not matching the table."""
    t, lay = open_table(cpt_path, ["average"], "a catalog table (.cpt)")
    nstars = _header_int(t, "NSTARS")
    if nstars != t.nrows:
        raise DVOError(cpt_path, f"NSTARS = {nstars} but the table holds {t.nrows} objects (NAXIS2)", key="NSTARS")
    return t, lay


def read_objects_of(t: BinTable, lay: Layout, default_catid: int = 0) -> Columns:
    """The objects; OBJ_ID and CAT_ID are made as the IPP makes them where the format has none (ELIXIR)."""
    d = read_fields(t, lay)
    if "obj_id" not in d:
        d["obj_id"] = np.arange(t.nrows, dtype=np.uint32)
    if "cat_id" not in d:
        d["cat_id"] = np.full(t.nrows, _catid(t, default_catid), dtype=np.uint32)
    return Columns(d, t.nrows)


def _catid(t: BinTable, default_catid: int) -> int:
    return int(_header_int(t, "CATID", required=False, default=default_catid))


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


def file_mode(cpt: BinTable) -> str:
    """"SPLIT" when the .cpt names its measurement file (MEASURE = …), else "MEF" (dvo_catalog.c)."""
    return "SPLIT" if "MEASURE" in cpt.primary else "MEF"


def _open_part(cpt: BinTable, lay: Layout, kind: str, mode: str, path: str) -> BinTable:
    """The measure/secfilt table of a catalog: its own file (SPLIT) or a later HDU of the .cpt (MEF),
    checked against the layout of the same format."""
    if mode == "SPLIT" and not os.path.exists(path):
        raise DVOError(path, f"missing sibling file: {cpt.path} names {kind.upper()} = "
                             f"{os.path.basename(path)!r} but it does not exist", key=kind.upper())
    where = f"the {kind} table (HDU {MEF_HDU[kind]} of a MEF .cpt)" if mode == "MEF" else f"a {kind} table"
    t, part = open_table(path, [kind], where, hdu=MEF_HDU[kind] if mode == "MEF" else 1)
    if part.format != lay.format:
        raise DVOError(t.path, f"EXTNAME {t.extname!r} does not match the {lay.format} .cpt (expected "
                               f"'DVO_{kind.upper()}_{lay.format}')", key="EXTNAME")
    return t

class CatalogTable:
    """One catalog table read from disk, validated.

    Attributes: `name` (`n0000/0148.03`), `region` (`n0000`), `format` (`PS1_V1` | `PS1_V5_LOAD` | `ELIXIR`),
    `mode` (`SPLIT` | `MEF`), `paths` ({"cpt", "cpm", "cps", "cpn"} → file path; in MEF mode all the .cpt),
    `nbytes` (bytes read so far), `header` (the .cpt
    primary header as a dict), `catid`, `sorted`, `nstars`, `nmeas`, `nsecfilt`, `objects` and
    `measurements` (`Columns`), `bad_position_rows` (object rows whose RA/DEC is NaN/inf or |DEC| > 90:
    kept, not an error — the caller decides), and `secfilt` (the .cps, read on first access).

    objects: `ra`, `dec` float64 deg; `obj_id`, `cat_id`, `nmeasure` uint32; `off_measure` int64;
    (PS1_V1 also `flags` uint32).
    measurements: `ave_ref` int64 (validated index into objects); `ra`, `dec` float64 absolute deg; `time`,
    `time_msec` int64 (0 where the format has none); `mag`, `mag_err`, `m_aper` (NaN where the format has
    none), `m_cal`, `m_time`, `airmass` float32; `photcode` uint16; `image_id` (0 = none), `db_flags`,
    `phot_flags` uint32; where the format has them `mag_cal_err`, `m_aper_err`, `m_flat` float32, `obj_id`,
    `cat_id`, `det_id` uint32, and the stored offsets `d_ra`, `d_dec` (arcsec). `has_image_ids` says
    whether the format stores IMAGE_ID (ELIXIR does not).
    """

    def __init__(self, name: str, region: str, layout: Layout, mode: str, paths: dict[str, str], header: dict,
                 objects: Columns, measurements: Columns, nbytes: int) -> None:
        self.name = name
        self.region = region
        self.layout = layout
        self.format = layout.format
        self.mode = mode
        self.paths = paths
        self.header = header
        self.catid = int(objects["cat_id"][0]) if len(objects) else int(header.get("CATID", 0) or 0)
        self.sorted = bool(header.get("SORTED", True))
        self.has_image_ids = "image_id" in CATALOG_FORMATS[self.format].layout("measure").fields
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
        cpt = BinTable(self.paths["cpt"])
        t = _open_part(cpt, self.layout, "secfilt", self.mode, self.paths["cps"])
        if t.nrows != self.nstars * self.nsecfilt:
            raise DVOError(t.path, f"{t.nrows} rows, but NSTARS × NSECFILT = {self.nstars} × {self.nsecfilt}",
                           key="NSECFILT")
        d = read_fields(t, _layout_of(t))
        self.nbytes += t.header_bytes + t.data_bytes
        shape = (self.nstars, self.nsecfilt)
        return Columns({k: v.reshape(shape) for k, v in d.items()}, self.nstars)


def _layout_of(t: BinTable) -> Layout:
    return layout(t.extname)


def read_catalog(cpt_path: str, name: str, region: str, photcodes=None, default_catid: int = 0) -> CatalogTable:
    """Read and validate one catalog table (see `CatalogTable`); `photcodes` (a `Photcodes`) also checks
    every measurement's PHOTCODE; `default_catid` is the CATID of a .cpt without one (its SkyTable INDEX)."""
    cpt, lay = open_average(cpt_path)
    is_sorted = _header_sorted(cpt)
    nmeas = _header_int(cpt, "NMEAS")
    mode = file_mode(cpt)
    if mode == "SPLIT":
        paths = {"cpt": cpt.path, "cpm": sibling_path(cpt, "MEASURE", "cpm"),
                 "cps": sibling_path(cpt, "SECFILT", "cps"), "cpn": sibling_path(cpt, "MISSING", "cpn")}
    else:
        paths = dict.fromkeys(("cpt", "cpm", "cps", "cpn"), cpt.path)
    cpm = _open_part(cpt, lay, "measure", mode, paths["cpm"])
    if nmeas != cpm.nrows:
        raise DVOError(cpt.path, f"NMEAS = {nmeas} but {cpm.path} holds {cpm.nrows} measurements (NAXIS2)",
                       key="NMEAS")
    objects = read_objects_of(cpt, lay, default_catid)
    meas = _measurements(cpm, objects, cpt.path)
    _check_counts(cpt.path, objects, meas["ave_ref"], is_sorted)
    if is_sorted:
        _check_offsets(cpt.path, cpm.path, objects, meas["ave_ref"], nmeas)
    measurements = Columns(meas, cpm.nrows)
    if photcodes is not None:
        photcodes.index_of(measurements["photcode"], path=cpm.path)
    header = dict(cpt.primary.values)
    return CatalogTable(name, region, lay, mode, paths, header, objects, measurements,
                        cpt.header_bytes + cpt.data_bytes + cpm.header_bytes + cpm.data_bytes)


def _measurements(cpm: BinTable, objects: Columns, cpt_path: str) -> dict[str, np.ndarray]:
    """The measurement fields, AVE_REF checked, absolute positions, and the defaults of fields the format
    does not store (TIME_MSEC 0, IMAGE_ID 0 = none, M_APER NaN)."""
    meas = read_fields(cpm, _layout_of(cpm))
    n, nstars = cpm.nrows, len(objects)
    ave_ref = meas["ave_ref"]
    bad = ave_ref >= nstars
    if bad.any():
        row = int(np.argmax(bad))
        raise DVOError(cpm.path, f"AVE_REF {int(ave_ref[row])} is beyond the {nstars} objects of {cpt_path}",
                       row=row, key="AVE_REF")
    meas.setdefault("time_msec", np.zeros(n, dtype=np.int64))
    meas.setdefault("m_aper", np.full(n, np.nan, dtype=np.float32))
    if "image_id" not in meas:
        meas["image_id"] = np.zeros(n, dtype=np.uint32)
    if "d_ra" in meas:
        ra = objects["ra"][ave_ref] - meas["d_ra"] / 3600.0
        np.mod(ra, 360.0, out=ra)
        meas = {"ra": ra, "dec": objects["dec"][ave_ref] - meas["d_dec"] / 3600.0, **meas}
    return meas


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
