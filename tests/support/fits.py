"""FITS files at the byte level: damage a DVO table in place, read cells back, compare headers with the real
IPP header dumps."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from lcdb_pipeline.dvo.fits import BinTable

DATA = Path(__file__).parent.parent / "data"
HEADERS = DATA / "headers"
PV2 = DATA / "PV2.Photcodes.dat"


def patch_cell(path, column: str, row: int, value) -> None:
    """Overwrite one table cell in place with `value`, stored big-endian as the column's type."""
    t = BinTable(path)
    c = t.column(column)
    dtype = t.raw_dtype()[c.name]
    raw = np.array(value).astype(dtype.base.newbyteorder(">") if dtype.kind != "S" else dtype).tobytes()
    assert len(raw) == c.width, (column, len(raw), c.width)
    with open(path, "r+b") as f:
        f.seek(t.data_offset + row * t.row_bytes + c.offset)
        f.write(raw)


def read_cell(path, column: str, row: int):
    return read_column(path, column)[row]


def read_column(path, column: str) -> np.ndarray:
    return BinTable(path).read([(column, None, False)])[column]


def patch_card(path, hdu: int, key: str, value: str) -> None:
    """Replace the value text of header card `key` in HDU 0 or 1 (keeps the card 80 characters long)."""
    t = BinTable(path)
    start = 0 if hdu == 0 else t.data_offset - t.header.size
    size = t.primary.size if hdu == 0 else t.header.size
    with open(path, "r+b") as f:
        f.seek(start)
        block = bytearray(f.read(size))
        for i in range(0, size, 80):
            if block[i : i + 8].decode().strip() == key:
                block[i : i + 80] = f"{key:<8}= {value}".ljust(80)[:80].encode()
                break
        else:
            raise KeyError(key)
        f.seek(start)
        f.write(block)


def truncate_rows(path, rows_missing: int, extra_bytes: int = 10) -> tuple[int, int]:
    """Cut the table so its last `rows_missing` rows (and `extra_bytes` more) are gone; returns
    (first incomplete row, bytes missing)."""
    t = BinTable(path)
    keep = t.data_offset + (t.nrows - rows_missing) * t.row_bytes - extra_bytes
    with open(path, "r+b") as f:
        f.truncate(keep)
    return t.nrows - rows_missing - 1, rows_missing * t.row_bytes + extra_bytes


def parse_header_dump(path: Path) -> list[dict]:
    """The HDUs of a `dvo_reference/headers/*.hdr` text dump: keyword order, values and columns."""
    hdus: list[dict] = []
    cur = None
    for line in path.read_text().splitlines():
        if line.startswith("--- HDU"):
            cur = {"keys": [], "values": {}, "columns": {}}
            hdus.append(cur)
            continue
        if cur is None or line == "END" or len(line) < 10 or line[8:10] != "= ":
            continue
        key = line[:8].strip()
        text = line[10:].strip()
        if text.startswith("'"):
            value = text[1 : text.index("'", 1)].rstrip()
        else:
            value = text.split("/")[0].strip()
        cur["keys"].append(key)
        cur["values"][key] = value
        m = re.match(r"(TTYPE|TFORM|TUNIT)(\d+)$", key)
        if m:
            cur["columns"].setdefault(int(m.group(2)), {})[m.group(1)] = value
    return hdus


def written_header(path, tables: int = 1) -> list[dict]:
    """The same structure as `parse_header_dump`, from a FITS file on disk (primary + the first `tables`
    extensions: 4 for a MEF .cpt)."""
    headers = [BinTable(path).primary] + [BinTable(path, hdu).header for hdu in range(1, tables + 1)]
    out = []
    for h in headers:
        d = {"keys": [k for k, _, _ in h.cards], "values": {k: v for k, v, _ in h.cards}, "columns": {}}
        for k, v, _ in h.cards:
            m = re.match(r"(TTYPE|TFORM|TUNIT)(\d+)$", k)
            if m:
                d["columns"].setdefault(int(m.group(2)), {})[m.group(1)] = v
        out.append(d)
    return out


def file_bytes(root) -> dict[str, bytes]:
    """Every file under `root` (relative path → bytes)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out
