"""SkyTable.fits: the sky partition of a DVO database.

Layout (IPP `SkyRegion.d`; hierarchy built as in `libdvo/src/SkyTableFromGSC.c`): one row per region at any
level of a tree. Row 0 is the full sky (depth 0, PARENT -1); its children are the 24 declination bands
`n0000 … n8230`, `s0000 … s8230` (depth 1); each band's children are RA segments `n0000/z000` (depth 2),
their children the GSC regions `n0000/0148` (depth 3), and theirs the subdivisions `n0000/0148.00 …`
(depth 4). CHILD_S/CHILD_E give a node's children as the row range [CHILD_S, CHILD_E) of the whole table;
PARENT and INDEX are row numbers too. DEPTH, CHILD and TABLE are single raw bytes ("gfbyte"): CHILD says
whether the row has children, TABLE whether the row has a catalog table on disk (`<catdir>/<NAME>.cpt`, …).

Here a **catalog table** is a row with TABLE ≠ 0 (as the IPP tests it, `region.table == FALSE` meaning "not
a table"); its **region** is the directory part of its NAME (`n0000` for `n0000/0148.03`). `regions` lists
every region (directory) name the table mentions — the depth-1 bands plus any directory a table sits in.
"""

from __future__ import annotations

import os

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError
from lcdb_pipeline.dvo.formats import open_table

def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[i], starts[i] + counts[i]) as one int64 array, without a Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.cumsum(counts) - counts  # position of each range's first element in the output
    return np.repeat(np.asarray(starts, dtype=np.int64) - first, counts) + np.arange(total, dtype=np.int64)


def region_of(table_name: str) -> str:
    """The region directory of a catalog table name: `n0000/0148.03` → `n0000`."""
    return table_name.split("/", 1)[0]


class SkyTable:
    """SkyTable.fits as column arrays (`name`, `depth`, `child`, `table`, `child_s`, `child_e`, `parent`,
    `index`, `r_min`, `r_max`, `d_min`, `d_max`) plus the catalog tables and regions derived from them."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)
        t, _ = open_table(self.path, ["skytable"], "SkyTable.fits")
        d = t.read([("R_MIN", np.float64, False), ("R_MAX", np.float64, False), ("D_MIN", np.float64, False),
                    ("D_MAX", np.float64, False), ("CHILD_S", np.int64, False), ("CHILD_E", np.int64, False),
                    ("PARENT", np.int64, False), ("INDEX", np.int64, False), ("DEPTH", np.uint8, False),
                    ("CHILD", np.uint8, False), ("TABLE", np.uint8, False), ("NAME", None, False)])
        self.nbytes = t.header_bytes + t.data_bytes
        self.r_min, self.r_max, self.d_min, self.d_max = d["R_MIN"], d["R_MAX"], d["D_MIN"], d["D_MAX"]
        self.child_s, self.child_e = d["CHILD_S"], d["CHILD_E"]
        self.parent, self.index = d["PARENT"], d["INDEX"]
        self.depth, self.child, self.table = d["DEPTH"], d["CHILD"], d["TABLE"]
        self.name = d["NAME"]
        self.is_table = self.table != 0
        table_rows = np.flatnonzero(self.is_table)
        self.tables: list[str] = [str(n) for n in self.name[table_rows]]
        self._table_row = {name: int(r) for name, r in zip(self.tables, table_rows)}
        if len(self._table_row) != len(self.tables):
            seen: set[str] = set()
            for r in table_rows:
                if str(self.name[r]) in seen:
                    raise DVOError(self.path, f"catalog table {self.name[r]!r} is listed twice", row=int(r),
                                   key="NAME")
                seen.add(str(self.name[r]))
        regions: dict[str, None] = {}
        for r in np.flatnonzero(self.depth == 1):
            regions.setdefault(str(self.name[r]).split("/", 1)[0], None)
        self._by_region: dict[str, list[str]] = {}
        for name in self.tables:
            reg = region_of(name)
            regions.setdefault(reg, None)
            self._by_region.setdefault(reg, []).append(name)
        self.regions: list[str] = [r for r in regions if r]

    def __len__(self) -> int:
        return int(self.name.size)

    def tables_in(self, region: str) -> list[str]:
        """The catalog tables SkyTable lists in a region (whether or not their files exist)."""
        return list(self._by_region.get(region, []))

    def row_of(self, table_name: str) -> int:
        try:
            return self._table_row[table_name]
        except KeyError:
            raise DVOError(self.path, f"{table_name!r} is not a catalog table of this SkyTable",
                           key=table_name) from None

    def depth_of(self, table_name: str) -> int:
        return int(self.depth[self.row_of(table_name)])

    def bounds_of(self, table_name: str) -> tuple[float, float, float, float]:
        """(R_MIN, R_MAX, D_MIN, D_MAX) of a catalog table, degrees."""
        r = self.row_of(table_name)
        return float(self.r_min[r]), float(self.r_max[r]), float(self.d_min[r]), float(self.d_max[r])

    def check_hierarchy(self) -> None:
        """Raise DVOError at the first row breaking the tree rules the IPP's SkyTableValidate checks:
        INDEX equals the row, every child lies in its parent's [CHILD_S, CHILD_E), every row in a node's
        child range names that node as PARENT, and a catalog table has no children."""
        n = len(self)
        rows = np.arange(n)
        bad = np.flatnonzero(self.index != rows)
        if bad.size:
            r = int(bad[0])
            raise DVOError(self.path, f"INDEX {int(self.index[r])} is not the row number", row=r, key="INDEX")
        has_parent = self.parent >= 0
        bad = np.flatnonzero(has_parent & (self.parent >= n))
        if bad.size:
            r = int(bad[0])
            raise DVOError(self.path, f"PARENT {int(self.parent[r])} is beyond the {n} rows", row=r, key="PARENT")
        p = np.where(has_parent, self.parent, 0)
        inside = (rows >= self.child_s[p]) & (rows < self.child_e[p])
        bad = np.flatnonzero(has_parent & ~inside)
        if bad.size:
            r = int(bad[0])
            raise DVOError(self.path, f"row is not within the CHILD_S..CHILD_E range of its PARENT "
                                      f"{int(self.parent[r])}", row=r, key="PARENT")
        span = np.where(self.child != 0, self.child_e - self.child_s, 0)
        bad = np.flatnonzero((span < 0) | ((self.child != 0) & ((self.child_s < 0) | (self.child_e > n))))
        if bad.size:
            r = int(bad[0])
            raise DVOError(self.path, "CHILD_S..CHILD_E is not a valid row range", row=r, key="CHILD_S")
        owner = np.repeat(rows, span)
        kids = expand_ranges(self.child_s, span)
        bad = np.flatnonzero(self.parent[kids] != owner)
        if bad.size:
            r = int(kids[bad[0]])
            raise DVOError(self.path, f"row is in the child range of row {int(owner[bad[0]])} but its PARENT is "
                                      f"{int(self.parent[r])}", row=r, key="PARENT")
        bad = np.flatnonzero(self.is_table & (self.child != 0))
        if bad.size:
            r = int(bad[0])
            raise DVOError(self.path, "a catalog table (TABLE set) also has children", row=r, key="TABLE")
