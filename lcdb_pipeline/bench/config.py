"""What a bench run is asked to do (`BenchConfig`), and what it is measured against: issue 5's baselines
and targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The server the bench database is created on unless `--admin-url` / ``$LCDB_TEST_ADMIN_URL`` say otherwise.
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

#: Issue 5's measurements on the development machine (2 cores, PostgreSQL 15).
BASELINES = {
    "orm": "ORM add_all ≈ 1,000 rows/s (5 MB/s), rows of 3×float8[200]+int4[200]",
    "copy": "psycopg binary COPY + numpy dumper ≈ 17,000 rows/s (97 MB/s)",
    "replay": "server replays a binary COPY stream ≈ 146 MB/s",
    "bjd_astropy": "astropy light_travel_time per element ≈ 150 µs",
    "bjd_vector": "vectorised ≈ 57 ns per pair, within ~2 µs of astropy",
    "fits": "FITS tables read ≈ 1.2 GB/s",
}
#: Issue 5's targets.
TARGETS = {
    "load_floor_ratio": 2.0,  # ≤
    "naive_speedup": 30.0,  # ≥
    "bjd_ns": 100.0,  # ≤ ns per target·epoch
    "bjd_diff_us": 10.0,  # ≤ µs
    "peak_rss_mb": 1500.0,  # <
    "fetch_p95_ms": 5.0,  # <
}


@dataclass
class BenchConfig:
    scale: str = "large"
    seed: int = 0
    fmt: str = "ps1_v5_load"
    workdir: Path | None = None
    database_url: str | None = None
    admin_url: str | None = None
    keep: bool = False
    naive_rows: int = 30_000  # product rows the naive loader writes (then extrapolated)
    fetch_targets: int = 1_000
    bjd_grid: tuple[int, int] = (20_000, 250)  # targets × epochs for the vectorised timing
    bjd_astropy_pairs: int = 200  # (target, epoch) pairs computed by astropy one at a time
    wide_rows: int = 10_000  # rows of the wide-row COPY probe (0: skip)
    writers: int = 2  # also load with this many processes at once, into a second fresh database (<2: skip)
    read_passes: int = 3  # passes of the DVO reader over every catalog table (0: skip)
