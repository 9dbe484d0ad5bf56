"""Read speed of the DVO reader on a `large` synthetic database.

    .venv/bin/python benchmarks/read_speed.py DIR [--format ps1_v1|ps1_v5_load] [--seed N] [--repeat N]

Generates a `large` database in DIR (unless DIR already holds one: SkyTable.fits present), then reads every
catalog table of every populated region with `DVODatabase.read_table` (full validation, photcode check) and
prints MB/s and measurements/s. MB counts the bytes the reader consumed (headers + table data of .cpt and
.cpm, `CatalogTable.nbytes`). The first pass reads whatever the page cache holds (right after generation the
files are cached, so it is not a cold-disk number); later passes are warm.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help="database directory (generated when it holds no SkyTable.fits)")
    parser.add_argument("--format", default="ps1_v5_load", choices=["ps1_v1", "ps1_v5_load"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="read passes over the whole database")
    args = parser.parse_args(argv)

    from lcdb_pipeline.dvo import DVODatabase
    from lcdb_pipeline.synth import generate

    if not os.path.exists(os.path.join(args.dir, "SkyTable.fits")):
        s = generate(args.dir, scale="large", seed=args.seed, fmt=args.format)
        print(f"generated: {s.measurements:,} measurements, {s.objects:,} objects, {len(s.tables)} tables, "
              f"{s.bytes / 1e6:,.1f} MB in {s.seconds:.2f} s ({s.measurements / s.seconds:,.0f} measurements/s)")
    else:
        print(f"reusing the database in {args.dir}")

    for attempt in range(1, args.repeat + 1):
        db = DVODatabase(args.dir)
        t0 = time.perf_counter()
        nbytes = nmeas = ntables = 0
        for region in db.populated_regions():
            for name in db.tables_in_region(region):
                table = db.read_table(name)
                nbytes += table.nbytes
                nmeas += table.nmeas
                ntables += 1
        dt = time.perf_counter() - t0
        fmt = db.read_table(db.tables_in_region(db.populated_regions()[0])[0]).format
        print(f"pass {attempt}: {ntables} tables ({fmt}), {nmeas:,} measurements, {nbytes / 1e6:,.1f} MB in "
              f"{dt:.2f} s -> {nbytes / 1e6 / dt:,.0f} MB/s, {nmeas / dt:,.0f} measurements/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
