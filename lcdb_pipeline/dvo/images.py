"""Images.dat: one row per chip image (IMAGE_ID → TZERO, EXPTIME, PHOTCODE, NAME) and the ZERO_PT keyword.

Every EXPTIME must be a plausible exposure time — finite, > 0 and at most `MAX_EXPTIME` — or the whole file
is refused, naming the row and its IMAGE_ID: a bad exposure time would silently move every BJD of that image
(the mid-exposure time is TIME + EXPTIME/2). ELIXIR's Images.dat stores no IMAGE_ID: its images are numbered
by row from 1, as the IPP assigns them (`dvo_convert_elixir.c`: "imageID = 0; determine on-the-fly").
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError, DVOWarning
from lcdb_pipeline.dvo.formats import open_table, read_fields

DEFAULT_ZERO_PT = 25.0
#: the longest exposure accepted, seconds (a night; PS1 and MegaCam exposures are 30–600 s)
MAX_EXPTIME = 43_200.0


@dataclass
class ImageMatch:
    """Images.dat values for many IMAGE_IDs: `row` is -1 and `exptime` NaN where an IMAGE_ID is unknown."""

    row: np.ndarray  # int64
    found: np.ndarray  # bool
    exptime: np.ndarray  # float64 seconds, NaN when unknown
    tzero: np.ndarray  # int64 unix seconds, -1 when unknown
    photcode: np.ndarray  # uint16, 0 when unknown


class Images:
    """Images.dat as column arrays: `image_id` uint32, `tzero` int64 (unix s), `exptime` float32,
    `photcode` uint16, `name` str; `zero_pt` from the primary header (default 25.0)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        t, layout = open_table(self.path, ["image"], "Images.dat")
        self.extname = t.extname
        self.format = layout.format
        zp = t.primary.get("ZERO_PT")
        self.zero_pt = float(zp) if isinstance(zp, (int, float)) and not isinstance(zp, bool) else DEFAULT_ZERO_PT
        self.header = dict(t.primary.values)
        d = read_fields(t, layout)
        self.nbytes = t.header_bytes + t.data_bytes
        self.image_id = d["image_id"] if "image_id" in d else np.arange(1, t.nrows + 1, dtype=np.uint32)
        self.tzero = d["tzero"]
        self.exptime = d["exptime"]
        self.photcode = d["photcode"]
        self.name = d["name"]
        self._order = np.argsort(self.image_id, kind="stable")
        self._sorted_ids = self.image_id[self._order]
        dup = np.flatnonzero(self._sorted_ids[1:] == self._sorted_ids[:-1])
        if dup.size:
            row = int(self._order[dup[0] + 1])
            raise DVOError(self.path, f"IMAGE_ID {int(self.image_id[row])} appears more than once", row=row,
                           key="IMAGE_ID")
        self._check_exptimes()

    def _check_exptimes(self) -> None:
        exptime = self.exptime.astype(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(exptime) | (exptime <= 0.0) | (exptime > MAX_EXPTIME)
        if bad.any():
            row = int(np.argmax(bad))
            raise DVOError(self.path, f"IMAGE_ID {int(self.image_id[row])} has EXPTIME = {float(exptime[row])!r} s, "
                                      f"not an exposure time (finite, > 0 and ≤ {MAX_EXPTIME:.0f} s); "
                                      f"{int(bad.sum())} image(s) of {bad.size} are affected", row=row,
                           key="EXPTIME")

    def __len__(self) -> int:
        return int(self.image_id.size)

    def rows_of(self, image_ids) -> np.ndarray:
        """Rows (int64) of many IMAGE_IDs at once; -1 where an IMAGE_ID is not in Images.dat."""
        ids = np.asarray(image_ids).astype(np.int64)
        if self._sorted_ids.size == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self._sorted_ids, ids)
        pos_c = np.minimum(pos, self._sorted_ids.size - 1)
        hit = self._sorted_ids[pos_c].astype(np.int64) == ids
        return np.where(hit, self._order[pos_c], -1).astype(np.int64)

    def lookup(self, image_ids, path: str | os.PathLike | None = None, warn: bool = True) -> ImageMatch:
        """Images.dat values for many IMAGE_IDs. Unknown IMAGE_IDs are not an error: their exposure time
        is NaN and (with `warn`) a `DVOWarning` names them (and `path`, the file they came from)."""
        rows = self.rows_of(image_ids)
        found = rows >= 0
        r = np.where(found, rows, 0)
        if len(self):
            exptime = np.where(found, self.exptime[r].astype(np.float64), np.nan)
            tzero = np.where(found, self.tzero[r], -1)
            photcode = np.where(found, self.photcode[r], 0).astype(np.uint16)
        else:
            exptime = np.full(rows.shape, np.nan)
            tzero = np.full(rows.shape, -1, dtype=np.int64)
            photcode = np.zeros(rows.shape, dtype=np.uint16)
        if warn and not found.all():
            warnings.warn(DVOWarning(self.unknown_ids_message(np.asarray(image_ids), found, path)), stacklevel=2)
        return ImageMatch(rows, found, exptime, tzero, photcode)

    def unknown_ids_message(self, image_ids: np.ndarray, found: np.ndarray, path) -> str:
        """The warning for the rows of `image_ids` not `found` in Images.dat (`path`: the file they are in)."""
        ids = image_ids.astype(np.int64)
        missing = np.unique(ids[~found])
        first = int(np.argmax(~found))
        listed = ", ".join(str(int(m)) for m in missing[:10]) + (" …" if missing.size > 10 else "")
        return (f"{os.fspath(path) if path else '<measurements>'}: {int((~found).sum())} measurements (first at "
                f"row {first}) have IMAGE_IDs not in {self.path}; their exposure time comes from M_TIME "
                f"(2.5·log10(EXPTIME)). Missing IMAGE_IDs ({missing.size}): {listed}")

    def exptime_of(self, image_ids, path: str | os.PathLike | None = None) -> np.ndarray:
        """EXPTIME (float64 s) for many IMAGE_IDs; NaN plus a `DVOWarning` where an IMAGE_ID is unknown."""
        return self.lookup(image_ids, path).exptime
