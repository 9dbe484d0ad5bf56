"""Photcodes.dat: every filter / chip combination the database knows, with its calibration constants.

A photcode NAME is `CAMERA.filter.CHIP` (`GPC1.g.XY01`, `MEGACAM.g.04`), `CAMERA.filter`
(`ISP-Apogee-01.g`) or a bare name (`2MASS_J`, or the average filters `g`, `r`, …). TYPE is a raw byte,
numbered as in the IPP's `dvo.h` (`DVOPhotCodeTypes`): 1 PRI (commented out there, kept for completeness),
2 SEC, 3 DEP, 4 REF (5 ALT and 6 MAG are "never stored"). A DEP photcode's EQUIV is the CODE of the SEC
photcode (the average filter `g`, `r`, …) it calibrates to; 0 means "undefined" (e.g. `MEGACAM.u.*` in PV3).
X[0..NC-1] are colour terms; the rest of X is garbage (the IPP loops `for i < Nc`).

CODE is an unsigned 16-bit value (the IPP hashes codes into a 0x10000 table); the masks are unsigned 32-bit
bit sets (TFORM I in PS1_V1, J in PS1_V5/V6), reinterpreted from the signed on-disk integers.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError
from lcdb_pipeline.dvo.fits import BinTable
from lcdb_pipeline.dvo.formats import open_table


MASK_COLUMNS = ("ASTROM_POOR_MASK", "ASTROM_BAD_MASK", "PHOTOM_POOR_MASK", "PHOTOM_BAD_MASK")


class PhotcodeType(enum.IntEnum):
    """Photcode TYPE byte (IPP `dvo.h`: PHOT_SEC 0x02, PHOT_DEP 0x03, PHOT_REF 0x04; PRI was 0x01)."""

    PRI = 1
    SEC = 2
    DEP = 3
    REF = 4


class MeasurementKind(enum.IntEnum):
    """What a measurement with this photcode is (DESIGN §5 "epoch measurements"; docs/dvo.md, the photcode
    name rule). Only EPOCH rows — single-exposure detections on a detector chip — make lightcurves."""

    EPOCH = 0  # DEP, CAMERA.filter.CHIP with a detector chip name (XYnn, or 1–3 digits)
    REFERENCE = 1  # REF (external catalogue) and SEC/PRI (filter average) rows
    STACK = 2  # CAMERA.filter.SkyChip: photometry on stacks
    FORCED = 3  # CAMERA.filter.ForcedWarp: forced photometry on warps
    OTHER = 4  # DEP names that are not a detector chip: plates (USNO.103AE.AMB2), SIMTEST.g.Chip, 2-part and
    #            bare DEP names


#: a detector chip: GPC1's XY01 … XY76, or a CCD number (MegaCam 00 … 39, CFH12K, MOSAIC2, UKIRT, SDSS 11 … 56)
DETECTOR_CHIP = re.compile(r"XY\d\d|\d{1,3}")
STACK_CHIP = "SkyChip"
FORCED_CHIP = "ForcedWarp"


def measurement_kind(type_byte: int, chip: str | None) -> MeasurementKind:
    """The kind of measurement a photcode (TYPE byte, last part of a 3-part name or None) stands for."""
    if type_byte != PhotcodeType.DEP:
        return MeasurementKind.REFERENCE
    if chip == STACK_CHIP:
        return MeasurementKind.STACK
    if chip == FORCED_CHIP:
        return MeasurementKind.FORCED
    if chip is not None and DETECTOR_CHIP.fullmatch(chip):
        return MeasurementKind.EPOCH
    return MeasurementKind.OTHER


def split_name(name: str) -> tuple[str | None, str | None, str | None]:
    """(camera, filter, chip) of a photcode NAME (DESIGN §5).

    `GPC1.g.XY01` → (GPC1, g, XY01); `ISP-Apogee-01.g` → (ISP-Apogee-01, g, None); `2MASS_J` → (None, None,
    None). Names with more than three parts keep the first as camera, the last as chip and the middle as filter.
    """
    parts = name.split(".")
    if len(parts) == 1 or not all(parts):
        return None, None, None
    if len(parts) == 2:
        return parts[0], parts[1], None
    return parts[0], ".".join(parts[1:-1]), parts[-1]


@dataclass(frozen=True)
class Photcode:
    """One Photcodes.dat row, typed. `x` holds only the NC meaningful colour terms."""

    row: int
    code: int
    name: str
    type: PhotcodeType
    c_lam: int
    c_lam_err: int
    x_err: int
    k: float
    c1: int
    c2: int
    equiv: int
    nc: int
    x: tuple[float, ...]
    astrom_err_sys: float
    astrom_err_scale: float
    astrom_err_mag_scale: float
    photom_err_sys: float
    astrom_poor_mask: int
    astrom_bad_mask: int
    photom_poor_mask: int
    photom_bad_mask: int
    camera: str | None
    filter: str | None
    chip: str | None
    equiv_name: str | None  # NAME of the SEC photcode EQUIV points to (None when EQUIV is 0 or not a SEC)

    @property
    def root(self) -> str:
        """The instrument-tree root: the camera, or the whole name for a bare name."""
        return self.camera or self.name


@dataclass
class InstrumentNode:
    """One root of the camera → chip tree: photcodes at the root (2-part and bare names) and per chip."""

    name: str
    photcodes: list[Photcode] = field(default_factory=list)
    chips: dict[str, list[Photcode]] = field(default_factory=dict)

    @property
    def filters(self) -> list[str]:
        out = {p.filter for p in self.photcodes if p.filter}
        out |= {p.filter for codes in self.chips.values() for p in codes if p.filter}
        return sorted(out)


class Photcodes:
    """All photcodes of a Photcodes.dat, as column arrays (one element per row) plus lookups.

    Arrays: `code` uint16, `name` str, `type` uint8 (compare with `PhotcodeType`), `c_lam`, `c_lam_err`,
    `x_err` int16, `k` float32, `c1`, `c2`, `equiv`, `nc` int32, `x` float32 (n, 4) as stored,
    `astrom_err_sys`, `astrom_err_scale`, `astrom_err_mag_scale`, `photom_err_sys` float32, the four masks
    uint32, and derived `camera`, `filter`, `chip` (object arrays, None where absent), `root` (camera or
    bare name), `equiv_name`.

    `kind[row]` is the `MeasurementKind` (uint8) of each photcode: only EPOCH rows make lightcurves.

    `observation_key[row]` numbers the distinct (root, filter) pairs (`observation_names(key)`): the unit of
    one DVOObservation. A bare name's filter is its EQUIV SEC name when it has one, else the name itself.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        t, layout = open_table(self.path, ["photcode"], "Photcodes.dat")  # PS1_V1 masks are 16-bit (TFORM I)
        self.extname = t.extname
        self.format = layout.format
        self._read_columns(t)
        self._check_types()
        self._index_codes()
        self._derive_names()

    def _read_columns(self, t: BinTable) -> None:
        spec = [("CODE", np.uint16, True), ("NAME", None, False), ("TYPE", np.uint8, False),
                ("C_LAM", np.int16, False), ("C_LAM_ERR", np.int16, False), ("X_ERR", np.int16, False),
                ("K", np.float32, False), ("C1", np.int32, False), ("C2", np.int32, False),
                ("EQUIV", np.int32, False), ("NC", np.int32, False), ("X", np.float32, False),
                ("ASTROM_ERR_SYS", np.float32, False), ("ASTROM_ERR_SCALE", np.float32, False),
                ("ASTROM_ERR_MAG_SCALE", np.float32, False), ("PHOTOM_ERR_SYS", np.float32, False)]
        spec += [(m, np.uint32, True) for m in MASK_COLUMNS]
        d = t.read(spec)
        self.nbytes = t.header_bytes + t.data_bytes
        self.code = d["CODE"]
        self.name = d["NAME"].astype(object)
        self.type = d["TYPE"]
        self.c_lam, self.c_lam_err, self.x_err = d["C_LAM"], d["C_LAM_ERR"], d["X_ERR"]
        self.k = d["K"]
        self.c1, self.c2, self.equiv, self.nc = d["C1"], d["C2"], d["EQUIV"], d["NC"]
        x = d["X"]
        self.x = x.reshape(len(self.code), -1) if x.ndim == 1 else x
        self.astrom_err_sys = d["ASTROM_ERR_SYS"]
        self.astrom_err_scale = d["ASTROM_ERR_SCALE"]
        self.astrom_err_mag_scale = d["ASTROM_ERR_MAG_SCALE"]
        self.photom_err_sys = d["PHOTOM_ERR_SYS"]
        self.astrom_poor_mask = d["ASTROM_POOR_MASK"].astype(np.uint32)
        self.astrom_bad_mask = d["ASTROM_BAD_MASK"].astype(np.uint32)
        self.photom_poor_mask = d["PHOTOM_POOR_MASK"].astype(np.uint32)
        self.photom_bad_mask = d["PHOTOM_BAD_MASK"].astype(np.uint32)

    def _check_types(self) -> None:
        bad = ~np.isin(self.type, [int(v) for v in PhotcodeType])
        if bad.any():
            row = int(np.argmax(bad))
            raise DVOError(self.path, f"photcode {self.name[row]!r} has TYPE byte {int(self.type[row])}, not one "
                                      f"of PRI 1, SEC 2, DEP 3, REF 4", row=row, key="TYPE")

    def _index_codes(self) -> None:
        """code → row lookup table (codes are 16-bit); duplicates are an error, as in the IPP."""
        self._lut = np.full(0x10000, -1, dtype=np.int64)
        order = np.argsort(self.code, kind="stable")
        dup = np.flatnonzero(self.code[order][1:] == self.code[order][:-1])
        if dup.size:
            row = int(order[dup[0] + 1])
            first = int(order[dup[0]])
            raise DVOError(self.path, f"CODE {int(self.code[row])} ({self.name[row]!r}) duplicates row {first} "
                                      f"({self.name[first]!r})", row=row, key="CODE")
        self._lut[self.code] = np.arange(self.code.size)

    def _derive_names(self) -> None:
        """camera / filter / chip / root per row, the SEC photcode EQUIV points to, and the observation keys."""
        split = [split_name(s) for s in self.name]  # one pass over ~1000 names at open, not per measurement
        self.camera = np.array([s[0] for s in split], dtype=object)
        self.filter = np.array([s[1] for s in split], dtype=object)
        self.chip = np.array([s[2] for s in split], dtype=object)
        self.root = np.where(self.camera == None, self.name, self.camera)  # noqa: E711 (elementwise)
        eq_row = np.where((self.equiv > 0) & (self.equiv < 0x10000), self._lut[np.clip(self.equiv, 0, 0xFFFF)], -1)
        eq_ok = eq_row >= 0
        eq_ok[eq_ok] = self.type[eq_row[eq_ok]] == PhotcodeType.SEC
        self.equiv_row = np.where(eq_ok, eq_row, -1)
        self.equiv_name = np.array([self.name[r] if r >= 0 else None for r in self.equiv_row], dtype=object)
        obs_filter = np.where(self.filter == None, np.where(self.equiv_name == None, self.name,  # noqa: E711
                                                            self.equiv_name), self.filter)
        keys: dict[tuple[str, str], int] = {}
        self.observation_key = np.array([keys.setdefault(p, len(keys)) for p in zip(self.root, obs_filter)],
                                        dtype=np.int64)
        self._observation_names = list(keys)
        self.n_observation_keys = len(keys)
        self._by_name = {str(s): i for i, s in enumerate(self.name)}
        self.kind = np.array([measurement_kind(int(t), c) for t, c in zip(self.type, self.chip)], dtype=np.uint8)

    # -- lookups ------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.code.size)

    def __iter__(self):
        return (self.record(i) for i in range(len(self)))

    def __contains__(self, code: int) -> bool:
        return 0 <= int(code) < 0x10000 and self._lut[int(code)] >= 0

    def row_of(self, code: int) -> int:
        """Row of one CODE; KeyError when absent."""
        if not (0 <= int(code) < 0x10000) or self._lut[int(code)] < 0:
            raise KeyError(code)
        return int(self._lut[int(code)])

    def index_of(self, codes, path: str | os.PathLike | None = None) -> np.ndarray:
        """Rows (int64) of many PHOTCODEs at once; DVOError naming the first unknown one and its row.

        `path` names the file the codes came from (e.g. the .cpm); the error's row is the index into `codes`.
        """
        codes = np.asarray(codes)
        if codes.size == 0:
            return np.zeros(codes.shape, dtype=np.int64)
        c = codes.astype(np.int64)
        inside = (c >= 0) & (c < 0x10000)
        rows = np.where(inside, self._lut[np.where(inside, c, 0)], -1)
        bad = rows < 0
        if bad.any():
            i = int(np.argmax(bad.ravel()))
            n_bad = int(bad.sum())
            unknown = np.unique(c.ravel()[bad.ravel()])
            listed = ", ".join(str(int(u)) for u in unknown[:10]) + (" …" if unknown.size > 10 else "")
            raise DVOError(path or self.path,
                           f"PHOTCODE {int(c.ravel()[i])} is not in {self.path} ({n_bad} measurements with "
                           f"unknown photcodes: {listed})", row=i, key="PHOTCODE")
        return rows

    def record(self, row: int) -> Photcode:
        nc = int(self.nc[row])
        return Photcode(
            row=int(row), code=int(self.code[row]), name=str(self.name[row]),
            type=PhotcodeType(int(self.type[row])), c_lam=int(self.c_lam[row]),
            c_lam_err=int(self.c_lam_err[row]), x_err=int(self.x_err[row]), k=float(self.k[row]),
            c1=int(self.c1[row]), c2=int(self.c2[row]), equiv=int(self.equiv[row]), nc=nc,
            x=tuple(float(v) for v in self.x[row, : max(0, min(nc, self.x.shape[1]))]),
            astrom_err_sys=float(self.astrom_err_sys[row]), astrom_err_scale=float(self.astrom_err_scale[row]),
            astrom_err_mag_scale=float(self.astrom_err_mag_scale[row]),
            photom_err_sys=float(self.photom_err_sys[row]),
            astrom_poor_mask=int(self.astrom_poor_mask[row]), astrom_bad_mask=int(self.astrom_bad_mask[row]),
            photom_poor_mask=int(self.photom_poor_mask[row]), photom_bad_mask=int(self.photom_bad_mask[row]),
            camera=self.camera[row], filter=self.filter[row], chip=self.chip[row],
            equiv_name=self.equiv_name[row],
        )

    def by_code(self, code: int) -> Photcode:
        return self.record(self.row_of(code))

    def by_name(self, name: str) -> Photcode:
        return self.record(self._by_name[name])

    def observation_names(self, key: int) -> tuple[str, str]:
        """(camera or bare root, filter) of an `observation_key`."""
        return self._observation_names[int(key)]

    def equiv_of(self, code: int) -> Photcode | None:
        """The SEC photcode a DEP photcode calibrates to (via EQUIV), or None."""
        r = int(self.equiv_row[self.row_of(code)])
        return self.record(r) if r >= 0 else None

    def instrument_tree(self) -> dict[str, InstrumentNode]:
        """The camera → chip tree (DESIGN §5): every camera with detector chips (`MeasurementKind.EPOCH`
        photcodes, one chip per last name part), and each bare REF name as a root of its own. Stacks, forced
        photometry, plates, test cameras and filter averages are not instruments."""
        tree: dict[str, InstrumentNode] = {}
        for p in self:
            kind = self.kind[p.row]
            if kind == MeasurementKind.EPOCH:
                tree.setdefault(p.root, InstrumentNode(p.root)).chips.setdefault(p.chip, []).append(p)
            elif p.type == PhotcodeType.REF and p.camera is None:
                tree.setdefault(p.root, InstrumentNode(p.root)).photcodes.append(p)
        return tree
