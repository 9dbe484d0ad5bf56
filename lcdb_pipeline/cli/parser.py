"""Every `lcdb` subcommand and option, in one place (argparse only: nothing heavy is imported here)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from lcdb_pipeline.bench.config import DEFAULT_ADMIN_URL
from lcdb_pipeline.cli import commands

SCALES = ("small", "medium", "large")
SYNTH_FORMATS = ("ps1_v1", "ps1_v5_load", "elixir")  # elixir: MEF mode, as catdir.grizy
DVO_ROOT_HELP = "directory holding SkyTable.fits, Photcodes.dat, Images.dat"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lcdb", description="DVO databases into LightcurveDB")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_demo(sub)
    _add_load(sub)
    _add_ui(sub)
    _add_backfill(sub)
    _add_worker(sub)
    _add_daemon(sub)
    _add_db(sub)
    _add_synth(sub)
    _add_bench(sub)
    return parser


def _add_demo(sub) -> None:
    demo = sub.add_parser("demo", help="synthetic DVO database → LightcurveDB through the Dagster job")
    demo.add_argument("--scale", default="small", choices=SCALES)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=commands.demo)


def _add_load(sub) -> None:
    load = _dvo_command(sub, "load", "load a DVO database (all populated regions, or --region ...)",
                        "region directory to load (repeatable), e.g. n0000")
    load.add_argument("--jobs", "-j", type=_positive, default=os.cpu_count() or 1,
                      help="region runs at once, each in a run process launched through Dagster; the "
                           "lcdb_writers pool still limits how many write at once (default: the number of "
                           "cores, %(default)s here; 1 runs the regions one after another in this process)")
    _add_table_workers(load)
    load.set_defaults(func=commands.load)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_table_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--table-workers", type=_positive, default=None,
                        help="processes loading one region's catalog tables at once, each table its own "
                             "transaction (default: LCDB_TABLE_WORKERS, else 1)")


def _add_ui(sub) -> None:
    ui = sub.add_parser("ui", help="the Dagster UI on the lcdb instance and database")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=commands.ui)


def _add_backfill(sub) -> None:
    backfill = _dvo_command(sub, "backfill", "submit a Dagster backfill of regions (run by the daemon)",
                            "region to backfill (repeatable); default: all")
    backfill.set_defaults(func=commands.backfill)


def _add_worker(sub) -> None:
    worker = sub.add_parser(
        "worker", help="a Celery worker executing region runs from lcdb's queue (pip install '.[celery]')",
        description="Serve lcdb's Celery queue: every region run the daemon hands to the workers executes in "
                    "this process, on the same Dagster instance. Needs LCDB_CELERY_BROKER_URL and "
                    "LCDB_CELERY_BACKEND_URL (see docs/scaling.md).")
    worker.add_argument("dvo_root", nargs="?", help=DVO_ROOT_HELP + " (default: LCDB_DVO_ROOT); the same path "
                        "on every worker")
    worker.add_argument("--name", help="worker name (default: lcdb-<pid>); Celery appends @<host>")
    worker.add_argument("--concurrency", type=_positive, default=1,
                        help="region runs this worker executes at once (threads; default 1: start one worker "
                             "per machine or per core instead)")
    worker.add_argument("--loglevel", default="INFO")
    _add_table_workers(worker)
    worker.set_defaults(func=commands.worker)


def _add_daemon(sub) -> None:
    daemon = sub.add_parser("daemon", help="the Dagster daemon alone (backfills, sensors, schedules, run "
                                           "queue and monitoring) on the lcdb instance, without the UI")
    daemon.set_defaults(func=commands.daemon)


def _dvo_command(sub, name: str, summary: str, region_help: str) -> argparse.ArgumentParser:
    """A subcommand on a DVO root and optional regions."""
    parser = sub.add_parser(name, help=summary)
    parser.add_argument("dvo_root", help=DVO_ROOT_HELP)
    parser.add_argument("--region", action="append", help=region_help)
    return parser


def _add_db(sub) -> None:
    db = sub.add_parser("db", help="LightcurveDB schema management")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="bring the database schema to the current migration").set_defaults(
        func=commands.db_upgrade)


def _add_synth(sub) -> None:
    synth = sub.add_parser("synth", help="write a synthetic DVO database (deterministic for a seed)",
                           description="Write a complete synthetic DVO database into OUT_DIR.")
    synth.add_argument("out_dir", metavar="OUT_DIR", help="directory to create (must be empty unless --force)")
    synth.add_argument("--scale", default="small", choices=SCALES,
                       help="small ≈ 50k, medium ≈ 300k, large ≈ 3.2M measurements (default small)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed → identical bytes)")
    synth.add_argument("--format", default="ps1_v1", choices=SYNTH_FORMATS, help="catalog table format")
    synth.add_argument("--force", action="store_true", help="replace a DVO database already in OUT_DIR")
    synth.set_defaults(func=commands.synth)


def _add_bench(sub) -> None:
    bench = sub.add_parser(
        "bench", help="benchmark: load a generated DVO database vs the COPY floor, a naive ORM loader, BJD, "
                      "memory, lightcurve fetches, the DVO reader")
    bench.add_argument("--scale", default="large", choices=SCALES)
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--format", dest="fmt", default="ps1_v5_load", choices=SYNTH_FORMATS)
    bench.add_argument("--workdir", type=Path, help="where the DVO database is generated or reused "
                       "(default $LCDB_HOME/bench)")
    bench.add_argument("--database-url", help="an empty LightcurveDB database to use (kept); default: a fresh "
                       "lcdb_bench_<pid> on --admin-url")
    bench.add_argument("--admin-url", help="superuser URL of the server to create the bench database on "
                       f"(default $LCDB_TEST_ADMIN_URL or {DEFAULT_ADMIN_URL}; the embedded server if unreachable)")
    bench.add_argument("--keep", action="store_true", help="keep the bench database")
    bench.add_argument("--naive-rows", type=int, default=30_000)
    bench.add_argument("--fetch-targets", type=int, default=1_000)
    bench.add_argument("--wide-rows", type=int, default=10_000, help="0 skips the wide-row probe")
    bench.add_argument("--writers", type=int, default=2, help="also time the load with this many region "
                       "runs at once, into a second fresh database (needs --admin-url's server; 1 skips it)")
    bench.add_argument("--read-passes", type=int, default=3, help="passes of the DVO reader over every catalog "
                       "table (the first reads what the page cache holds, the others are warm; 0 skips it)")
    bench.add_argument("--json", type=Path, help="also write the report as JSON")
    bench.set_defaults(func=commands.bench)
