"""The lcdb benchmark, runnable from a checkout: the same as `lcdb bench` (see lcdb_pipeline/bench.py).

    .venv/bin/python benchmarks/bench.py [--scale large] [--workdir DIR] [--database-url URL] [--keep] [--json F]

Generates (or reuses) a synthetic DVO database, loads it through the Dagster job into a fresh PostgreSQL
database and prints the load next to the COPY floor, a naive ORM loader, BJD vectorised vs astropy, peak RSS
and lightcurve fetch latencies, with the baselines of issue 5. docs/benchmarks.md explains every number.
"""

from __future__ import annotations

import sys

from lcdb_pipeline.bench import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
