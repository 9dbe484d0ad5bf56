"""`lcdb bench`: how fast lcdb loads a DVO database, next to the PostgreSQL COPY floor and a naive ORM loader.

One run (``lcdb bench [--scale large] [--workdir DIR] [--database-url URL] [--keep]``) prints, side by side
with the baselines issue 5 measured on the development machine, one section per module:

* `dvo` — the synthetic DVO database, generated in the work directory or reused;
* `load` — every region through the Dagster job (`lcdb_pipeline.cli.runner.load_regions`, the same code path
  as ``lcdb load``), in a child process (`child`, ``python -m lcdb_pipeline.bench --load-child SPEC``) so its
  peak RSS is the loader's own: seconds, measurements/s, MB/s of COPY data written, RSS after each catalog
  table and region; and the same load with ``--writers`` processes at once, into a second fresh database;
* `floor` — the rows that load wrote, replayed by plain ``COPY … FROM STDIN`` into empty ``LIKE … INCLUDING
  ALL`` tables: the ratio load / floor;
* `naive` — one ORM object per row, ``session.add``, one commit per catalog table, on a subset extrapolated
  per row: the speed-up;
* `wide` — the loader's COPY path on rows of 3 × float8[200] + int4[200], default vs EXTERNAL storage;
* `bjd` — the vectorised BJD_TDB vs astropy's ``Time.light_travel_time`` per (target, epoch);
* `fetch` — all lightcurves of one random target by name (p50/p95 over N targets);
* `read` — the DVO reader over every catalog table (MB/s, measurements/s; ``--read-passes``).

`run` runs them (`run.SECTIONS`), `report` derives the ratios and prints; `config` holds `BenchConfig`, the
baselines and the targets; `database` the bench database (a fresh ``lcdb_bench_<pid>`` on ``--admin-url``,
dropped at the end unless ``--keep``; or an empty ``--database-url``, kept) and the scratch schemas sections
write into; `system` the RSS readings. docs/benchmarks.md explains every number.

Adding a section:

1. a module here with a function that measures and returns a JSON-able dict (its scratch tables, if any, in
   ``with database.scratch_schema(url, "lcdb_bench_<name>")``);
2. a `run.Section` in `run.SECTIONS`, where it should run: its report key, progress message, the call, the
   database it needs (none, `run.LOADED` or `run.FRESH`) and, for an optional one, when it is enabled — with a
   `BenchConfig` field, and its option in ``lcdb_pipeline/cli/parser.py`` (``_add_bench``), passed on in
   ``cli/commands.py::bench``;
3. its (report key, row function) in `report.TABLE`, where it should print (a section that did not run prints
   nothing), and any target in `config.TARGETS` / `report._targets`;
4. its assertions in ``tests/bench/test_bench_smoke.py`` and its paragraph in docs/benchmarks.md.

Importing this package is light (`BenchConfig` only): `run_bench` and `format_report` are loaded on first
use, so that the load child's RSS and ``lcdb --help`` pay for no section's imports.
"""

from __future__ import annotations

from lcdb_pipeline.bench.config import BenchConfig

__all__ = ["BenchConfig", "format_report", "run_bench"]


def __getattr__(name: str):
    if name == "run_bench":
        from lcdb_pipeline.bench.run import run_bench

        return run_bench
    if name == "format_report":
        from lcdb_pipeline.bench.report import format_report

        return format_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
