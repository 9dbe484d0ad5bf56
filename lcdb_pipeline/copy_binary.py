"""PostgreSQL binary COPY streams built with numpy: one structured record per row, no per-value Python.

Every row of a LightcurveDB product table has fixed-width fields once its observation is fixed (all its
arrays have the cadence grid's length), so a whole chunk of rows is one numpy structured array whose bytes
are exactly the COPY BINARY wire format: int16 field count, then per field an int32 length and the value
(an array value is a 12/20-byte header followed by (int32 length, element) pairs), all big-endian.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)

# PostgreSQL type oids of array elements, with their big-endian numpy dtype.
ELEMENT_TYPES: dict[str, tuple[int, str]] = {
    "float8": (701, ">f8"),
    "int8": (20, ">i8"),
    "int4": (23, ">i4"),
}
SCALAR_TYPES: dict[str, str] = {"int4": ">i4", "int8": ">i8"}


@dataclass(frozen=True)
class Field:
    """One column of the COPY: a scalar (`int4`, `int8`), fixed text (`text`), or an array (`float8[]` …)."""

    name: str
    pg_type: str
    values: object  # (n,) array, a scalar broadcast to every row, or (n, m) for arrays; str for text


def encode_rows(n_rows: int, fields: list[Field]) -> bytes:
    """The COPY BINARY body (no header/trailer) for `n_rows` rows of `fields`."""
    layout: list[tuple] = [("nfields", ">i2")]
    for i, f in enumerate(fields):
        layout.append((f"len{i}", ">i4"))
        if f.pg_type.endswith("[]"):
            m = np.shape(f.values)[-1]
            oid, dtype = ELEMENT_TYPES[f.pg_type[:-2]]
            layout += [(f"ndim{i}", ">i4"), (f"hasnull{i}", ">i4"), (f"oid{i}", ">i4")]
            if m:
                layout += [(f"dim{i}", ">i4"), (f"lbound{i}", ">i4")]
                layout.append((f"arr{i}", [("len", ">i4"), ("val", dtype)], (m,)))
        elif f.pg_type == "text":
            layout.append((f"val{i}", f"S{len(f.values.encode())}"))
        else:
            layout.append((f"val{i}", SCALAR_TYPES[f.pg_type]))
    rec = np.empty(n_rows, dtype=np.dtype(layout))
    rec["nfields"] = len(fields)
    for i, f in enumerate(fields):
        if f.pg_type.endswith("[]"):
            m = np.shape(f.values)[-1]
            oid, dtype = ELEMENT_TYPES[f.pg_type[:-2]]
            elem_size = np.dtype(dtype).itemsize
            rec[f"len{i}"] = 12 + (8 + m * (4 + elem_size) if m else 0)
            rec[f"ndim{i}"] = 1 if m else 0
            rec[f"hasnull{i}"] = 0
            rec[f"oid{i}"] = oid
            if m:
                rec[f"dim{i}"] = m
                rec[f"lbound{i}"] = 1
                arr = rec[f"arr{i}"]
                arr["len"] = elem_size
                arr["val"] = f.values
        elif f.pg_type == "text":
            encoded = f.values.encode()
            rec[f"len{i}"] = len(encoded)
            rec[f"val{i}"] = encoded
        else:
            rec[f"len{i}"] = np.dtype(SCALAR_TYPES[f.pg_type]).itemsize
            rec[f"val{i}"] = f.values
    return rec.tobytes()


def copy_rows(cursor, table: str, n_rows: int, fields: list[Field]) -> int:
    """COPY `n_rows` rows into `table` over an open psycopg cursor; return the bytes sent."""
    if n_rows == 0:
        return 0
    body = encode_rows(n_rows, fields)
    columns = ", ".join(f.name for f in fields)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(HEADER)
        copy.write(body)
        copy.write(TRAILER)
    return len(HEADER) + len(body) + len(TRAILER)
