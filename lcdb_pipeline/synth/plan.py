"""The sky plan of a synthetic database: which bands are populated, its catalog tables, the SkyTable rows.

Real IPP tables split every depth-3 region into 4 × 4 and cover the whole sky; here only the populated bands
(plus two special ones) get children, split 2 × 2 (small), 3 × 3 (medium) or 4 × 4 (large) — a reduced but
valid tree built as `libdvo/src/SkyTableFromGSC.c` builds the real one.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the IPP's 24 declination bands (SkyTableFromGSC.c)
BANDS = ["n0000", "n0730", "n1500", "n2230", "n3000", "n3730", "n4500", "n5230", "n6000", "n6730", "n7500",
         "n8230", "s0000", "s0730", "s1500", "s2230", "s3000", "s3730", "s4500", "s5230", "s6000", "s6730",
         "s7500", "s8230"]
BAND_DMIN = [0.0, 7.5, 15.0, 22.5, 30.0, 37.5, 45.0, 52.5, 60.0, 67.5, 75.0, 82.5,
             -7.5, -15.0, -22.5, -30.0, -37.5, -45.0, -52.5, -60.0, -67.5, -75.0, -82.5, -90.0]
POPULATED_BANDS = ["n0000", "n1500", "s2230", "n3000", "s0000"]
MISSING_DIR_BAND = "s0730"  # SkyTable lists its tables, the directory does not exist
EMPTY_DIR_BAND = "n0730"  # SkyTable lists its tables, the directory exists and is empty
FIELD_SIZE = 2.0  # degrees (RA and Dec) of each depth-3 region


@dataclass
class PlannedTable:
    name: str
    band: str
    bounds: tuple[float, float, float, float]  # rmin, rmax, dmin, dmax
    catid: int
    populated: bool
    sky_index: int = -1  # its row in SkyTable


def plan_sky(scale: dict) -> tuple[list[str], list[PlannedTable], list[dict]]:
    """Bands with children and their tables; the SkyTable rows (level by level, IPP order)."""
    populated = POPULATED_BANDS[: scale["bands"]]
    structured = [b for b in BANDS if b in populated or b in (MISSING_DIR_BAND, EMPTY_DIR_BAND)]
    rows: list[dict] = [dict(r=(0.0, 360.0, -90.0, 90.0), depth=0, parent=-1, name="fullsky", table=0)]
    l1 = {}
    for i, band in enumerate(BANDS):
        l1[band] = len(rows)
        rows.append(dict(r=(0.0, 360.0, BAND_DMIN[i], BAND_DMIN[i] + 7.5), depth=1, parent=0, name=band, table=0))
    boxes, l3, gsc = _segments_and_regions(structured, rows, l1)
    tables = _subdivisions(structured, populated, scale["ndiv"], rows, boxes, l3, gsc)
    # children ranges: rows are grouped by parent in order, so each parent's children are contiguous
    for i, row in enumerate(rows):
        kids = [k for k, r in enumerate(rows) if r["parent"] == i]
        row["child_s"], row["child_e"] = (kids[0], kids[-1] + 1) if kids else (0, 0)
    return populated, tables, rows


def _segments_and_regions(structured: list[str], rows: list[dict], l1: dict) -> tuple[dict, dict, dict]:
    """Depth 2 (RA segments) and depth 3 (one GSC-like region per band) rows."""
    l2, l3, boxes, gsc = {}, {}, {}, {}
    for j, band in enumerate(structured):
        dmin = BAND_DMIN[BANDS.index(band)]
        # n0000 straddles RA 0/360 (R_MAX > 360, as the IPP writes such regions): tests the RA wrap
        ra0 = 359.0 if band == "n0000" else 20.0 + 37.0 * j
        d0 = dmin + 2.0
        boxes[band] = (ra0, ra0 + FIELD_SIZE, d0, d0 + FIELD_SIZE)
        l2[band] = len(rows)
        rows.append(dict(r=(ra0, ra0 + 15.0, dmin, dmin + 7.5), depth=2, parent=l1[band],
                         name=f"{band}/z{j:03d}", table=0))
    for j, band in enumerate(structured):
        gsc[band] = 1 + 37 * j
        l3[band] = len(rows)
        rows.append(dict(r=boxes[band], depth=3, parent=l2[band], name=f"{band}/{gsc[band]:04d}", table=0))
    return boxes, l3, gsc


def _subdivisions(structured, populated, ndiv, rows, boxes, l3, gsc) -> list[PlannedTable]:
    """Depth 4: ndiv × ndiv catalog tables per region (TABLE set)."""
    tables: list[PlannedTable] = []
    for band in structured:
        rmin, rmax, dmin, dmax = boxes[band]
        dr, dd = (rmax - rmin) / ndiv, (dmax - dmin) / ndiv
        for k in range(ndiv * ndiv):
            ny, nx = divmod(k, ndiv)
            b = (rmin + nx * dr, rmin + (nx + 1) * dr, dmin + ny * dd, dmin + (ny + 1) * dd)
            name = f"{band}/{gsc[band]:04d}.{k:02d}"
            tables.append(PlannedTable(name, band, b, 100001 + len(tables), band in populated, len(rows)))
            rows.append(dict(r=b, depth=4, parent=l3[band], name=name, table=1))
    return tables
