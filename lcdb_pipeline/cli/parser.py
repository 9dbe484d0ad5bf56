"""Every `lcdb` subcommand and option, in one place (argparse only: nothing heavy is imported here)."""

from __future__ import annotations

import argparse
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
    load.set_defaults(func=commands.load)


def _add_ui(sub) -> None:
    ui = sub.add_parser("ui", help="the Dagster UI on the lcdb instance and database")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=commands.ui)


def _add_backfill(sub) -> None:
    backfill = _dvo_command(sub, "backfill", "submit a Dagster backfill of regions (run by the daemon)",
                            "region to backfill (repeatable); default: all")
    backfill.set_defaults(func=commands.backfill)


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
