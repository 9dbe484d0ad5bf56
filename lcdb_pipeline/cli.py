"""The `lcdb` command line. Subcommands import their modules lazily so `lcdb --help` is instant."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMO_DVO_DIR = "demo-dvo"


def _prepare_database() -> str:
    """The LightcurveDB URL (embedded server when LCDB_DATABASE_URL is unset), schema at head, Dagster home."""
    from lcdb_pipeline.instance import prepare_dagster_home
    from lcdb_schema.database import database_url
    from lcdb_schema.migrations import upgrade_database

    url = database_url()
    upgrade_database(url)
    prepare_dagster_home(url)
    _check_dagster_storage()
    return url


def _check_dagster_storage() -> None:
    """One clear line when Dagster's storage is unreachable (instead of dagster-postgres retrying with warnings
    and ending with "too many retries for DB connection")."""
    import psycopg

    from lcdb_pipeline.errors import OperatorError
    from lcdb_schema.database import connect_error_message, libpq_url

    url = os.environ.get("LCDB_DAGSTER_DATABASE_URL")
    if not url:
        return
    try:
        psycopg.connect(libpq_url(url), connect_timeout=10).close()
    except psycopg.Error as exc:
        raise OperatorError(
            f"Dagster instance storage (LCDB_DAGSTER_DATABASE_URL): {connect_error_message(exc, url)}") from None


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from lcdb_schema.database import database_url, redact_url
    from lcdb_schema.migrations import upgrade_database

    url = database_url()
    upgrade_database(url)
    print(f"LightcurveDB schema at head on {redact_url(url)}")
    return 0


def _print_report(report) -> None:
    """Successes on stdout; every error and warning on stderr, one self-contained line each."""
    for outcome in report.regions:
        for warning in outcome.warnings:
            print(f"warning: region {outcome.region}: {warning}", file=sys.stderr)
        if outcome.success:
            m = outcome.metadata
            print(f"  {outcome.region}: {m.get('catalog tables', 0)} tables, {m.get('measured objects', 0)} targets, "
                  f"{m.get('measurements', 0)} measurements ({m.get('duplicates dropped', 0)} duplicates dropped), "
                  f"{outcome.seconds:.1f} s")
            for check in outcome.failed_checks:
                print(f"error: region {outcome.region}: asset check FAILED: {check}", file=sys.stderr)
        else:
            for error in outcome.errors:
                prefix = "" if error.startswith(f"region {outcome.region}") else f"region {outcome.region}: "
                print(f"error: {prefix}{error}", file=sys.stderr)
    for error in report.reference_errors:
        prefix = "" if error.startswith("reference data") else "reference data: "
        print(f"error: {prefix}{error}", file=sys.stderr)


def _cmd_load(args: argparse.Namespace) -> int:
    from lcdb_pipeline.partitions import InvalidRegionKey, check_region_key
    from lcdb_pipeline.runner import load_regions

    for region in args.region or ():  # before any file or database is touched
        try:
            check_region_key(region)
        except InvalidRegionKey as exc:
            print(f"error: --region {exc}", file=sys.stderr)
            return 2
    root = Path(args.dvo_root)
    if not root.is_dir():
        print(f"error: DVO root {root} is not a directory", file=sys.stderr)
        return 2
    _prepare_database()
    report = load_regions(root, args.region or None, progress=lambda m: print(m, flush=True))
    _print_report(report)
    if not report.regions and report.reference_ok:
        print(f"error: {root}: no populated region (no region directory holds a catalog table SkyTable lists)",
              file=sys.stderr)
        return 1
    return 0 if report.success else 1


def _table_counts(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    from lcdb_schema.database import make_engine

    tables = ("mission", "instrument", "target", "observation", "data_set", "target_specific_time",
              "quality_flag_array")
    with make_engine(url).connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def _cmd_demo(args: argparse.Namespace) -> int:
    from lcdb_pipeline.instance import lcdb_home
    from lcdb_pipeline.runner import load_regions
    from lcdb_pipeline.synth import generate
    from lcdb_schema.database import redact_url

    home = lcdb_home()
    url = _prepare_database()
    print(f"LightcurveDB: {redact_url(url)}")
    dvo_root = home / DEMO_DVO_DIR
    if not (dvo_root / "SkyTable.fits").exists():
        print(f"writing a synthetic DVO database ({args.scale}) to {dvo_root} …", flush=True)
        generate(dvo_root, scale=args.scale, seed=args.seed)
    report = load_regions(dvo_root, progress=lambda m: print(m, flush=True))
    _print_report(report)
    print("\nLightcurveDB now holds:")
    for table, count in _table_counts(url).items():
        print(f"  {table:22s} {count:>10,d}")
    print(f"\nOpen the Dagster UI on this instance:  lcdb ui     (then http://127.0.0.1:3000)\n"
          f"Everything lives in {home} (remove it to start over).")
    return 0 if report.success else 1


def _cmd_ui(args: argparse.Namespace) -> int:
    from lcdb_pipeline.instance import lcdb_home

    _prepare_database()
    demo_root = lcdb_home() / DEMO_DVO_DIR
    if not os.environ.get("LCDB_DVO_ROOT") and (demo_root / "SkyTable.fits").exists():
        os.environ["LCDB_DVO_ROOT"] = str(demo_root)
    # This interpreter's dagster: the venv need not be activated.
    command = [sys.executable, "-m", "dagster", "dev", "-m", "lcdb_pipeline.definitions", "-h", args.host,
               "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (instance {os.environ['DAGSTER_HOME']})", flush=True)
    os.execvp(command[0], command)
    return 0  # not reached


def _cmd_backfill(args: argparse.Namespace) -> int:
    """Submit a Dagster backfill of regions to the lcdb instance; the daemon (`lcdb ui`) runs it."""
    import subprocess

    from dagster import DagsterInstance

    from lcdb_pipeline.dvo import DVODatabase
    from lcdb_pipeline.partitions import region_directory, register_regions

    root = Path(args.dvo_root).resolve()
    regions = args.region or DVODatabase(root).populated_regions()
    for region in regions:
        region_directory(root, region)  # refuse bad keys before anything is submitted
    _prepare_database()
    os.environ["LCDB_DVO_ROOT"] = str(root)
    register_regions(DagsterInstance.get(), regions)
    command = [sys.executable, "-m", "dagster", "job", "backfill", "-m", "lcdb_pipeline.definitions",
               "-j", "load_dvo_regions", "--partitions", ",".join(regions), "--noprompt"]
    status = subprocess.run(command, check=False).returncode
    if status == 0:
        print(f"backfill of {len(regions)} region(s) submitted; the Dagster daemon runs it "
              f"(`lcdb ui` starts one; progress under Overview → Backfills)")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lcdb", description="DVO databases into LightcurveDB")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="synthetic DVO database → LightcurveDB through the Dagster job")
    demo.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_cmd_demo)

    load = sub.add_parser("load", help="load a DVO database (all populated regions, or --region ...)")
    load.add_argument("dvo_root", help="directory holding SkyTable.fits, Photcodes.dat, Images.dat")
    load.add_argument("--region", action="append", help="region directory to load (repeatable), e.g. n0000")
    load.set_defaults(func=_cmd_load)

    ui = sub.add_parser("ui", help="the Dagster UI on the lcdb instance and database")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=_cmd_ui)

    backfill = sub.add_parser("backfill", help="submit a Dagster backfill of regions (run by the daemon)")
    backfill.add_argument("dvo_root", help="directory holding SkyTable.fits, Photcodes.dat, Images.dat")
    backfill.add_argument("--region", action="append", help="region to backfill (repeatable); default: all")
    backfill.set_defaults(func=_cmd_backfill)

    db = sub.add_parser("db", help="LightcurveDB schema management")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="bring the database schema to the current migration").set_defaults(
        func=_cmd_db_upgrade
    )
    # `lcdb synth` is registered by the DVO generator module.
    from lcdb_pipeline.synth import add_synth_command

    add_synth_command(sub)
    from lcdb_pipeline.bench import add_bench_command  # argparse only; the bench imports the rest when run

    add_bench_command(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for the operator, never a password
        from lcdb_pipeline.errors import describe_error

        if os.environ.get("LCDB_DEBUG"):
            raise

        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
