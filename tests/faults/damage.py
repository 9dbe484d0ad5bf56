"""Byte-level damage to the FITS files of a DVO database (a copy of it)."""

from __future__ import annotations

import numpy as np

from lcdb_pipeline.dvo.fits import BinTable


def patch_cell(path, column: str, row: int, value) -> None:
    """Overwrite one table cell in place with `value`, stored big-endian as the column's type."""
    t = BinTable(path)
    c = t.column(column)
    dtype = t.raw_dtype()[c.name]
    raw = np.array(value).astype(dtype.base.newbyteorder(">")).tobytes()
    assert len(raw) == c.width, (column, len(raw), c.width)
    with open(path, "r+b") as f:
        f.seek(t.data_offset + row * t.row_bytes + c.offset)
        f.write(raw)


def read_column(path, column: str) -> np.ndarray:
    return BinTable(path).read([(column, None, False)])[column]


def patch_extension_card(path, key: str, value: str) -> None:
    """Replace the value of header card `key` of the table extension (HDU 1), keeping 80-character cards."""
    t = BinTable(path)
    start, size = t.data_offset - t.header.size, t.header.size
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
