"""Column types: PostgreSQL arrays as numpy arrays, and file paths as `pathlib.Path`.

Lightcurves are long arrays (10^3-10^5 cadences, billions of rows), so nothing here touches elements one by
one in Python:

* writing: a psycopg 3 binary `Dumper` for `numpy.ndarray` builds PostgreSQL's binary array format with numpy
  (a header, then one ``(int32 length, value)`` big-endian record per element, made by a structured array's
  ``tobytes()``). Importing this module registers it in psycopg's global adapters, so numpy arrays can be
  bound on any psycopg 3 connection -- any SQLAlchemy engine a user makes, no set-up call. That changes
  nothing else: psycopg refuses numpy arrays without it.
* reading: the array columns select ``array_send(column)`` (`NumpyArray.column_expression`), PostgreSQL's
  binary array format as ``bytea``, which every psycopg connection returns as bytes; `np.frombuffer` of a
  structured dtype decodes it. So any engine reads numpy arrays, 3-4x faster than the text format of
  ``float8[]`` (docs/benchmarks.md, `lcdb_pipeline.bench.schema_types`).
* plain SQL (``text(...)``, ``exec_driver_sql``) sees the columns themselves: psycopg `Loader`s for
  ``float8[]``, ``int8[]`` and ``int4[]`` decode them into numpy on the connections of
  `lcdb_schema.database.make_engine` (`install_numpy_adapters`). They are per connection, never global, so
  other code in the process keeps getting lists from its own array columns.
"""

from __future__ import annotations

import json
import pathlib
import re
from typing import Any

import numpy as np
import psycopg
import sqlalchemy as sa
from psycopg import abc as pg_abc
from psycopg.adapt import Dumper, Loader, PyFormat
from psycopg.pq import Format
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import operators

__all__ = [
    "Float64Array",
    "Int64Array",
    "Int32Array",
    "IntList",
    "NumpyArray",
    "PathType",
    "install_numpy_adapters",
    "register_numpy_adapters",
]

# PostgreSQL type oids (pg_type.dat): element oid, array oid, element size in bytes.
_PG_TYPES: dict[str, tuple[int, int, int]] = {
    # numpy dtype.str (big-endian) -> (element oid, array oid, size)
    ">f8": (701, 1022, 8),  # float8
    ">f4": (700, 1021, 4),  # float4
    ">i8": (20, 1016, 8),  # int8
    ">i4": (23, 1007, 4),  # int4
    ">i2": (21, 1005, 2),  # int2
    "|b1": (16, 1000, 1),  # bool
}
_ARRAY_OID_TO_DTYPE: dict[int, np.dtype] = {
    1022: np.dtype(np.float64),
    1016: np.dtype(np.int64),
    1007: np.dtype(np.int32),
}
#: element oid -> the big-endian dtype its values travel as in PostgreSQL's binary format.
_ELEMENT_OID_TO_WIRE: dict[int, np.dtype] = {oid: np.dtype(wire) for wire, (oid, _, _) in _PG_TYPES.items()}
_INT32_MIN, _UINT32_MAX = -(2**31), 2**32 - 1


# --------------------------------------------------------------------------------------------------------
# psycopg adapters
# --------------------------------------------------------------------------------------------------------


def _wire_dtype(array: np.ndarray) -> str:
    """The big-endian dtype an array is sent as; refuses types PostgreSQL has no signed equivalent for."""
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "f" and size in (2, 4, 8):
        return ">f8" if size == 8 else ">f4"  # float16 goes out as float4
    if kind == "i":
        return {1: ">i2", 2: ">i2", 4: ">i4", 8: ">i8"}[size]
    if kind == "u" and size <= 2:
        return ">i2" if size == 1 else ">i4"  # fits the next signed type
    if kind == "b":
        return "|b1"
    raise TypeError(
        f"cannot send a numpy array of dtype {array.dtype} to PostgreSQL: convert it to a signed integer, "
        "float or bool dtype first (for a uint32 bit pattern: `array.view(np.int32)`)"
    )


class _NDArrayBinaryDumper(Dumper):
    """Dumps a numpy array as a PostgreSQL array in binary format; the array type follows the dtype."""

    format = Format.BINARY
    _wire: str | None = None

    def get_key(self, obj: np.ndarray, format: PyFormat) -> pg_abc.DumperKey:
        return (self.cls, _wire_dtype(obj))

    def upgrade(self, obj: np.ndarray, format: PyFormat) -> Dumper:
        wire = _wire_dtype(obj)
        dumper = _NDArrayBinaryDumper(self.cls)
        dumper._wire = wire
        dumper.oid = _PG_TYPES[wire][1]
        return dumper

    def dump(self, obj: np.ndarray) -> bytes:
        wire = self._wire or _wire_dtype(obj)
        return dump_array_binary(obj, wire)


#: PostgreSQL element type name -> the big-endian numpy dtype it travels as (binary COPY, binary arrays).
PG_ELEMENT_WIRE: dict[str, str] = {"float8": ">f8", "float4": ">f4", "int8": ">i8", "int4": ">i4", "int2": ">i2",
                                   "bool": "|b1"}


def binary_array_dtype(wire: str, shape: tuple[int, ...]) -> np.dtype:
    """PostgreSQL's binary array format (``array_send``) of an array of `shape` as one numpy structured dtype.

    Layout: int32 ndim, int32 has-nulls (0), int32 element oid, then per dimension (int32 size, int32 lower
    bound), then per element (int32 byte length, value), all big-endian; an empty array has no dimension.
    The one definition of the format: `dump_array_binary` and the loader's binary COPY both use it."""
    size = int(np.prod(shape)) if shape else 0
    fields: list[tuple] = [("ndim", ">i4"), ("hasnull", ">i4"), ("oid", ">i4")]
    if size:
        fields.append(("dims", [("size", ">i4"), ("lbound", ">i4")], (len(shape),)))
        fields.append(("elements", [("length", ">i4"), ("value", wire)], (size,)))
    return np.dtype(fields)


def fill_binary_array_header(records: np.ndarray, wire: str, shape: tuple[int, ...]) -> None:
    """Write everything of `binary_array_dtype(wire, shape)` records but the element values."""
    elem_oid, _, elem_size = _PG_TYPES[wire]
    size = int(np.prod(shape)) if shape else 0
    records["ndim"] = len(shape) if size else 0
    records["hasnull"] = 0
    records["oid"] = elem_oid
    if size:
        records["dims"]["size"] = shape
        records["dims"]["lbound"] = 1
        records["elements"]["length"] = elem_size


def dump_array_binary(array: np.ndarray, wire: str | None = None) -> bytes:
    """PostgreSQL's binary array format (``array_send``) for a numpy array, built without Python loops."""
    wire = wire or _wire_dtype(array)
    if array.ndim == 0:
        raise ValueError("cannot store a 0-d numpy array as a PostgreSQL array")
    record = np.empty((), dtype=binary_array_dtype(wire, array.shape))
    fill_binary_array_header(record, wire, array.shape)
    if array.size:
        record["elements"]["value"] = array.reshape(-1)  # C order is PostgreSQL's element order
    return record.tobytes()


def _load_binary(data: pg_abc.Buffer, dtype: np.dtype) -> np.ndarray:
    """PostgreSQL's binary array format (``array_send``) as a numpy array of `dtype`, by `np.frombuffer`."""
    ndim, has_nulls, elem_oid = (int(v) for v in np.frombuffer(data, dtype=">i4", count=3))
    wire = _wire_of_element(elem_oid, dtype)
    if ndim == 0:
        return np.empty(0, dtype=dtype)
    dims = np.frombuffer(data, dtype=">i4", count=2 * ndim, offset=12)[::2]
    shape = tuple(int(d) for d in dims)
    offset = 12 + 8 * ndim
    if has_nulls:
        return _load_binary_with_nulls(data, wire, dtype, shape, offset)
    records = np.frombuffer(data, dtype=[("length", ">i4"), ("value", wire)], count=int(np.prod(shape)),
                            offset=offset)
    if (records["length"] != wire.itemsize).any():
        raise ValueError(f"unexpected element size in a PostgreSQL {wire} array")
    return records["value"].astype(dtype).reshape(shape)


def _wire_of_element(elem_oid: int, dtype: np.dtype) -> np.dtype:
    """The big-endian dtype of the elements of oid `elem_oid`, if they convert to `dtype` without loss of
    kind (integers to integers or floats, floats to floats)."""
    wire = _ELEMENT_OID_TO_WIRE.get(elem_oid)
    if wire is None or (wire.kind == "f" and dtype.kind != "f") or (wire.kind == "b") != (dtype.kind == "b"):
        raise ValueError(f"cannot read a PostgreSQL array of element type oid {elem_oid} as numpy {dtype}")
    return wire


def _load_binary_with_nulls(data: pg_abc.Buffer, wire: np.dtype, dtype: np.dtype, shape: tuple[int, ...],
                            offset: int) -> np.ndarray:
    # Rare (LightcurveDB never writes NULL elements): walk the records; NULL becomes NaN for floats.
    if dtype.kind != "f":
        raise ValueError(f"a PostgreSQL {dtype} array holds NULL elements, which a numpy {dtype} array cannot")
    buf = memoryview(data)
    out = np.empty(int(np.prod(shape)), dtype=dtype)
    for i in range(out.size):
        (length,) = np.frombuffer(buf, dtype=">i4", count=1, offset=offset)
        offset += 4
        if length < 0:
            out[i] = np.nan
        else:
            out[i] = np.frombuffer(buf, dtype=wire, count=1, offset=offset)[0]
            offset += int(length)
    return out.reshape(shape)


_TEXT_BOUNDS = re.compile(r"^\[[-\d:\[\]]+\]=")


def _load_text(data: pg_abc.Buffer, dtype: np.dtype) -> np.ndarray:
    text = bytes(data).decode("ascii")
    if text.startswith("["):
        text = _TEXT_BOUNDS.sub("", text)  # arrays with non-default lower bounds: "[0:2]={...}"
    if text == "{}":
        return np.empty(0, dtype=dtype)
    if text.startswith("{{"):
        return _load_text_nd(text, dtype)
    # float()/int() per item beat a numpy string array + astype 2-3x at every length (5 to 5000 items).
    items = text[1:-1].split(",")
    if dtype.kind == "f":
        if "NULL" in items:
            items = ["nan" if item == "NULL" else item for item in items]
        # float() parses PostgreSQL's NaN/Infinity/-Infinity
        return np.array(list(map(float, items)), dtype=dtype)
    if "NULL" in items:
        raise ValueError(f"a PostgreSQL {dtype} array holds NULL elements, which a numpy {dtype} array cannot")
    return np.array(list(map(int, items)), dtype=dtype)


def _load_text_nd(text: str, dtype: np.dtype) -> np.ndarray:
    # Multi-dimensional arrays never come from LightcurveDB columns; parse them the simple way.
    nested = json.loads(text.replace("{", "[").replace("}", "]").replace("NULL", "NaN"))
    return np.array(nested, dtype=dtype)


def _make_loaders(array_oid: int, dtype: np.dtype) -> tuple[type[Loader], type[Loader]]:
    class TextLoader(Loader):
        format = Format.TEXT

        def load(self, data: pg_abc.Buffer) -> np.ndarray:
            return _load_text(data, dtype)

    class BinaryLoader(Loader):
        format = Format.BINARY

        def load(self, data: pg_abc.Buffer) -> np.ndarray:
            return _load_binary(data, dtype)

    name = {np.float64: "Float8", np.int64: "Int8", np.int32: "Int4"}[dtype.type]
    TextLoader.__name__ = TextLoader.__qualname__ = f"Numpy{name}ArrayTextLoader"
    BinaryLoader.__name__ = BinaryLoader.__qualname__ = f"Numpy{name}ArrayBinaryLoader"
    return TextLoader, BinaryLoader


_LOADERS = {oid: _make_loaders(oid, dtype) for oid, dtype in _ARRAY_OID_TO_DTYPE.items()}


def register_numpy_adapters(context: pg_abc.AdaptContext) -> None:
    """Install the numpy array dumper and the float8[]/int8[]/int4[] loaders on a psycopg connection
    (or cursor, or `AdaptersMap`). After this, such arrays are returned as numpy arrays by every query
    on that connection, plain SQL included, not only through the column types."""
    adapters = context.adapters
    adapters.register_dumper(np.ndarray, _NDArrayBinaryDumper)
    for oid, (text_loader, binary_loader) in _LOADERS.items():
        adapters.register_loader(oid, text_loader)
        adapters.register_loader(oid, binary_loader)


def install_numpy_adapters(engine: sa.engine.Engine) -> sa.engine.Engine:
    """Make every connection `engine` opens (psycopg 3 driver) use the numpy loaders too; returns `engine`.

    Not needed for the models (their columns read and write numpy arrays through any engine): it makes plain
    SQL results numpy as well. `lcdb_schema.database.make_engine` calls it. Connections already in the
    engine's pool are disposed of, so none misses the adapters."""
    if engine.dialect.driver != "psycopg":
        raise ValueError(f"numpy adapters need the psycopg (3) driver, not {engine.dialect.driver!r}")
    if not sa.event.contains(engine, "connect", _on_connect):
        sa.event.listen(engine, "connect", _on_connect)
        engine.dispose()
    return engine


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    register_numpy_adapters(dbapi_connection)


# Global, for every psycopg connection of the process: only the dumper (numpy arrays are otherwise refused,
# so no other code's behaviour changes); the loaders would turn every list result into numpy.
psycopg.adapters.register_dumper(np.ndarray, _NDArrayBinaryDumper)


# --------------------------------------------------------------------------------------------------------
# SQLAlchemy types
# --------------------------------------------------------------------------------------------------------


class NumpyArray(sa.types.TypeDecorator):
    """A one-dimensional PostgreSQL array read and written as a numpy array of a fixed dtype.

    Values are converted with numpy as a whole (``np.asarray``): numpy arrays and plain lists are accepted.
    The bind and result processors of `postgresql.ARRAY` are bypassed on purpose: they walk the elements in
    Python. Selected, the column is ``array_send(column)`` (binary, decoded by numpy), whatever the engine.

    Array expressions work as on `postgresql.ARRAY`, with PostgreSQL's 1-based indexes:
    ``TargetSpecificTime.barycentric_julian_dates[1] > x`` (an element, compared as a float),
    ``DataSet.values[2:5]`` (a slice, read back as a numpy array), ``sa.any_(Observation.cadence_reference)
    == c``, ``.contains(array)``, ``.overlap(array)``, ``== array``.
    """

    impl = postgresql.ARRAY(sa.Double)
    cache_ok = True
    dtype: np.dtype = np.dtype(np.float64)

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        convert = self.to_numpy

        def process(value: Any) -> np.ndarray | None:
            return None if value is None else convert(value)

        return process

    def column_expression(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        # Top-level SELECT columns only (SQLAlchemy leaves subqueries, INSERT ... SELECT, WHERE alone).
        return sa.func.array_send(column, type_=self)

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        dtype = self.dtype

        def process(value: Any) -> np.ndarray | None:
            if value is None:
                return None
            if isinstance(value, (bytes, memoryview)):  # array_send
                return _load_binary(value, dtype)
            # plain SQL typed with this column type: a numpy array (make_engine's loaders) or a list
            return np.asarray(value, dtype=dtype)

        return process

    def coerce_compared_value(self, op: Any, value: Any) -> sa.types.TypeEngine[Any]:
        """The type a literal compared with the column is bound as: an index is an integer, an array is
        this column type, a scalar (``array == 5`` makes no sense, but ``5 == any_(array)`` does) the
        element type."""
        if op is operators.getitem:
            return sa.Integer()
        if isinstance(value, (list, tuple, np.ndarray)):
            return self
        return self.impl.item_type

    def to_numpy(self, value: Any) -> np.ndarray:
        """`value` as a contiguous 1-d array of this column's dtype (raises if it does not fit)."""
        array = np.asarray(value)
        if array.dtype == self.dtype:
            out = array
        elif array.size == 0:
            out = array.astype(self.dtype)
        elif self.dtype.kind in "iu" and array.dtype.kind in "iu":
            out = self._convert_integers(array)
        elif self.dtype.kind == "f" and array.dtype.kind in "iuf":
            out = array.astype(self.dtype)
        else:
            raise TypeError(f"cannot store an array of {array.dtype} in a {self.dtype} array column")
        if out.ndim != 1:
            raise ValueError(f"expected a one-dimensional array, got shape {out.shape}")
        return np.ascontiguousarray(out)

    def _convert_integers(self, array: np.ndarray) -> np.ndarray:
        info = np.iinfo(self.dtype)
        if np.can_cast(array.dtype, self.dtype, casting="safe"):
            return array.astype(self.dtype)
        lo, hi = array.min(), array.max()
        if lo >= info.min and hi <= info.max:
            return array.astype(self.dtype)
        raise ValueError(f"values [{lo}, {hi}] do not fit a {self.dtype} array column")


class Float64Array(NumpyArray):
    """``float8[]`` as ``numpy.float64``: fluxes, magnitudes, errors, Julian dates. NaN and ±inf round-trip."""

    impl = postgresql.ARRAY(sa.Double)
    cache_ok = True
    dtype = np.dtype(np.float64)


class Int64Array(NumpyArray):
    """``int8[]`` as ``numpy.int64``: cadence numbers / exposure times."""

    impl = postgresql.ARRAY(sa.BigInteger)
    cache_ok = True
    dtype = np.dtype(np.int64)


class Int32Array(NumpyArray):
    """``int4[]`` as ``numpy.int32``: 32-bit flag words.

    Flags are bit sets, often unsigned in the source (DVO's PHOT_FLAGS and DB_FLAGS are uint32): any value in
    [-2**31, 2**32) is accepted and stored as its 32-bit pattern, so 0x80000000 and 0xFFFFFFFF survive.
    Read back with ``array.view(np.uint32)`` to see them unsigned again.
    """

    impl = postgresql.ARRAY(sa.Integer)
    cache_ok = True
    dtype = np.dtype(np.int32)

    def _convert_integers(self, array: np.ndarray) -> np.ndarray:
        if array.dtype in (np.dtype(np.uint32), np.dtype(np.int32)):
            return array.view(np.int32)
        if np.can_cast(array.dtype, np.int32, casting="safe"):
            return array.astype(np.int32)
        lo, hi = int(array.min()), int(array.max())
        if lo < _INT32_MIN or hi > _UINT32_MAX:
            raise ValueError(f"values [{lo}, {hi}] are not 32-bit flag words")
        # wrap to the two's-complement pattern: 0xFFFFFFFF -> -1
        return array.astype(np.int64).astype(np.uint32).view(np.int32)


class IntList(sa.types.TypeDecorator):
    """``int4[]`` as a plain ``list[int]``: short integer tuples such as FITS ``NAXISn`` values."""

    impl = postgresql.ARRAY(sa.Integer)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> list[int] | None:
        return None if value is None else [int(v) for v in value]

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> list[int] | None:
        return None if value is None else np.asarray(value).astype(int).tolist()

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        # skip ARRAY's own processor; the ints go out as a list through psycopg's list dumper
        process_param = self.process_bind_param
        return lambda value: process_param(value, dialect)

    def result_processor(self, dialect: sa.Dialect, coltype: Any) -> Any:
        process_value = self.process_result_value
        return lambda value: process_value(value, dialect)


class PathType(sa.types.TypeDecorator):
    """A file-system path stored as text and exposed as `pathlib.Path`."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else str(pathlib.Path(value))

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> pathlib.Path | None:
        return None if value is None else pathlib.Path(value)
