"""How fast numpy arrays travel through the `lcdb_schema` column types, engine by engine.

`bench_schema_types(url)` writes and reads the same rows (one float8[] values, one float8[] errors and one
int4[] flags array of `cadences` elements each, the shape of a DataSet plus its flags) through:

* ``make_engine`` — `lcdb_schema.database.make_engine`, whose connections carry the numpy loaders (the fast
  path lcdb itself and the query module use);
* ``create_engine`` — a plain ``sqlalchemy.create_engine(url)``, as a user of the models would make it: no
  set-up call, numpy arrays still go out through the dumper `lcdb_schema.types` registers globally, results
  come back as lists that the column types turn into numpy arrays;
* ``copy`` — the loader's binary COPY (`lcdb_pipeline.loading.copy_binary.CopyWriter`), the bulk path of
  ``lcdb load``: no SQLAlchemy types at all, for scale.

Each figure is the median of `repeats` runs: rows/s and MB/s of array payload (8 bytes per float, 4 per flag)
by the wall clock, and the CPU seconds of this (client) process -- the part the column types decide, steadier
than the wall clock on a busy server. A path that fails reports its error instead of numbers. Run it from the command line::

    .venv/bin/python -m lcdb_pipeline.bench.schema_types [--url postgresql://postgres@127.0.0.1:5432/postgres]

(`url` is any database the role may create a scratch table in; the table is dropped at the end) or call
``bench_schema_types(url)`` (a dict) and ``format_schema_types(result)`` (the printed lines) from ``lcdb bench``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import sqlalchemy as sa

TABLE = "lcdb_bench_schema_types"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _table() -> sa.Table:
    from lcdb_schema.types import Float64Array, Int32Array

    return sa.Table(
        TABLE, sa.MetaData(),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("values", Float64Array, nullable=False),
        sa.Column("errors", Float64Array),
        sa.Column("flags", Int32Array, nullable=False),
    )


def _rows(n_rows: int, cadences: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = 18.0 + rng.normal(0, 0.05, (n_rows, cadences))
    values[rng.random((n_rows, cadences)) < 0.2] = np.nan  # gaps, as in DVO lightcurves
    errors = np.abs(rng.normal(0.02, 0.005, (n_rows, cadences)))
    flags = np.where(rng.random((n_rows, cadences)) < 0.05, 0x1008, 0).astype(np.int32)
    return {"id": np.arange(1, n_rows + 1), "values": values, "errors": errors, "flags": flags}


def _median_times(run: Callable[[], None], repeats: int) -> tuple[float, float]:
    """Median wall-clock seconds and median CPU seconds of this process (all its threads) of `repeats` runs:
    the CPU time is the client's own cost, what the column types and adapters decide; the wall clock also
    holds the server's work."""
    wall, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return statistics.median(wall), statistics.median(cpu)


def _rates(n_rows: int, payload_bytes: int, times: tuple[float, float]) -> dict[str, float]:
    seconds, cpu = times
    return {"seconds": round(seconds, 4), "client_cpu_s": round(cpu, 4), "rows_per_s": round(n_rows / seconds, 1),
            "mb_per_s": round(payload_bytes / 1e6 / seconds, 1)}


def _bench_engine(engine: sa.Engine, table: sa.Table, data: dict, repeats: int) -> dict:
    """Write (executemany INSERT through the bind processors) and read (SELECT through the result
    processors) every row; checks the read arrays equal the written ones."""
    n_rows = len(data["id"])
    payload = data["values"].nbytes + data["errors"].nbytes + data["flags"].nbytes
    params = [{"id": int(data["id"][i]), "values": data["values"][i], "errors": data["errors"][i],
               "flags": data["flags"][i]} for i in range(n_rows)]

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(table.delete())
            conn.execute(table.insert(), params)

    def read() -> None:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
        if not (np.array_equal(rows[-1].values, data["values"][-1], equal_nan=True)
                and np.array_equal(rows[-1].flags, data["flags"][-1])):
            raise AssertionError("the arrays read back differ from those written")

    out: dict = {}
    for what, run in (("write", write), ("read", read)):
        try:
            out[what] = _rates(n_rows, payload, _median_times(run, repeats))
        except sa.exc.DBAPIError as exc:
            out[what] = {"error": str(exc.orig).splitlines()[0]}
            if what == "write":
                _copy(engine, table, data)  # something to read
    return out


def _copy(engine: sa.Engine, table: sa.Table, data: dict) -> None:
    from lcdb_pipeline.loading.copy_binary import CopyWriter, Field

    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        cur.execute(f"TRUNCATE {TABLE}")
        with CopyWriter(cur) as writer:
            writer.submit(TABLE, [(len(data["id"]), [
                Field("id", "int8", data["id"]), Field("values", "float8[]", data["values"]),
                Field("errors", "float8[]", data["errors"]), Field("flags", "int4[]", data["flags"])])])


def bench_schema_types(url: str = DEFAULT_URL, rows: int = 2_000, cadences: int = 1_000,
                       repeats: int = 3) -> dict:
    """Rows/s and MB/s of numpy arrays written and read through `make_engine`, a plain `create_engine`,
    and the loader's binary COPY (see the module docstring). `url`: a database for a scratch table."""
    from lcdb_schema.database import make_engine, normalize_url

    data = _rows(rows, cadences)
    payload = data["values"].nbytes + data["errors"].nbytes + data["flags"].nbytes
    table = _table()
    fast = make_engine(url)
    plain = sa.create_engine(normalize_url(url))
    try:
        table.drop(fast, checkfirst=True)
        table.create(fast)
        result = {"rows": rows, "cadences": cadences, "repeats": repeats, "payload_mb": round(payload / 1e6, 1),
                  "make_engine": _bench_engine(fast, table, data, repeats),
                  "create_engine": _bench_engine(plain, table, data, repeats),
                  "copy": {"write": _rates(rows, payload, _median_times(lambda: _copy(fast, table, data),
                                                                        repeats))}}
        table.drop(fast)
    finally:
        fast.dispose()
        plain.dispose()
    return result


def format_schema_types(result: dict) -> list[str]:
    """The report of `bench_schema_types` as printable lines."""
    m = result["cadences"]
    title = (f"numpy arrays through the column types: {result['rows']} rows × (2 float8[{m}] + int4[{m}]), "
             f"{result['payload_mb']} MB, median of {result['repeats']}")
    lines = [title]
    for path in ("make_engine", "create_engine", "copy"):
        for what, rates in result[path].items():
            shown = (f"error: {rates['error']}" if "error" in rates else
                     f"{rates['rows_per_s']:>10,.0f} rows/s  {rates['mb_per_s']:>7,.1f} MB/s  "
                     f"client CPU {rates['client_cpu_s']:.2f} s")
            lines.append(f"  {path:<14} {what:<6} {shown}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="a database for the scratch table")
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--cadences", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    for line in format_schema_types(bench_schema_types(args.url, args.rows, args.cadences, args.repeats)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
