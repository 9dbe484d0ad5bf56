"""The `lcdb` subcommands. Each imports what it needs when it runs, so `lcdb --help` stays instant."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

DEMO_DVO_DIR = "demo-dvo"


def db_upgrade(args: argparse.Namespace) -> int:
    from lcdb_schema.database import database_url, redact_url
    from lcdb_schema.migrations import upgrade_database

    url = database_url()
    upgrade_database(url)
    print(f"LightcurveDB schema at head on {redact_url(url)}")
    return 0


def load(args: argparse.Namespace) -> int:
    from lcdb_pipeline.cli.instance import prepare_database
    from lcdb_pipeline.cli.report import print_report
    from lcdb_pipeline.cli.runner import plan_load, run_load
    from lcdb_pipeline.dvo import InvalidRegionKey

    try:  # before any file or database is touched
        plan = plan_load(Path(args.dvo_root), args.region, jobs=args.jobs,
                         table_workers=args.table_workers or _env_int("LCDB_TABLE_WORKERS", 1))
    except InvalidRegionKey as exc:
        print(f"error: --region {exc}", file=sys.stderr)
        return 2
    if not Path(args.dvo_root).is_dir():
        print(f"error: DVO root {args.dvo_root} is not a directory", file=sys.stderr)
        return 2
    prepare_database()
    report = run_load(plan, progress=lambda m: print(m, flush=True))
    print_report(report)
    if not report.regions and report.reference_ok:
        print(f"error: {args.dvo_root}: no populated region (no region directory holds a catalog table SkyTable "
              "lists)", file=sys.stderr)
        return 1
    return 0 if report.success else 1


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        raise SystemExit(f"error: {name} must be a whole number, not {os.environ[name]!r}") from None


def demo(args: argparse.Namespace) -> int:
    from lcdb_pipeline.cli.instance import prepare_database
    from lcdb_pipeline.cli.report import print_report, table_counts
    from lcdb_pipeline.cli.runner import load_regions
    from lcdb_pipeline.synth import generate
    from lcdb_schema.database import lcdb_home, redact_url

    home = lcdb_home()
    url = prepare_database()
    print(f"LightcurveDB: {redact_url(url)}")
    dvo_root = home / DEMO_DVO_DIR
    if not (dvo_root / "SkyTable.fits").exists():
        print(f"writing a synthetic DVO database ({args.scale}) to {dvo_root} …", flush=True)
        generate(dvo_root, scale=args.scale, seed=args.seed)
    report = load_regions(dvo_root, progress=lambda m: print(m, flush=True))
    print_report(report)
    print("\nLightcurveDB now holds:")
    for table, count in table_counts(url).items():
        print(f"  {table:22s} {count:>10,d}")
    print(f"\nOpen the Dagster UI on this instance:  lcdb ui     (then http://127.0.0.1:3000)\n"
          f"Everything lives in {home} (remove it to start over).")
    return 0 if report.success else 1


def ui(args: argparse.Namespace) -> int:
    from lcdb_pipeline.cli.instance import prepare_database, workspace_file
    from lcdb_pipeline.cli.worker import check_distributed_setup
    from lcdb_schema.database import lcdb_home

    prepare_database()
    check_distributed_setup()
    demo_root = lcdb_home() / DEMO_DVO_DIR
    env = dict(os.environ)
    if not env.get("LCDB_DVO_ROOT") and (demo_root / "SkyTable.fits").exists():
        env["LCDB_DVO_ROOT"] = str(demo_root)
    # This interpreter's dagster: the venv need not be activated.
    command = [sys.executable, "-m", "dagster", "dev", "-w", workspace_file(), "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (instance {env['DAGSTER_HOME']})", flush=True)
    os.execvpe(command[0], command, env)
    return 0  # not reached


def backfill(args: argparse.Namespace) -> int:
    """Submit a Dagster backfill of regions to the lcdb instance; the daemon (`lcdb ui`) runs it."""
    from dagster import DagsterInstance

    from lcdb_pipeline.cli.instance import prepare_database, workspace_file
    from lcdb_pipeline.cli.runner import plan_load
    from lcdb_pipeline.cli.worker import check_distributed_setup
    from lcdb_pipeline.defs.partitions import register_regions
    from lcdb_pipeline.dvo import DVODatabase

    plan = plan_load(Path(args.dvo_root), args.region)  # refuse bad keys before anything is submitted
    regions = plan.regions or DVODatabase(plan.root).populated_regions()
    prepare_database()
    workers = check_distributed_setup()
    register_regions(DagsterInstance.get(), regions)
    command = [sys.executable, "-m", "dagster", "job", "backfill", "-w", workspace_file(),
               "-j", "load_dvo_regions", "--partitions", ",".join(regions), "--noprompt"]
    status = subprocess.run(command, check=False, env={**os.environ, "LCDB_DVO_ROOT": str(plan.root)}).returncode
    if status == 0:
        where = f"on the Celery workers of queue {workers.queue} (`lcdb worker`)" if workers else "on its machine"
        print(f"backfill of {len(regions)} region(s) submitted; the Dagster daemon runs it {where} "
              f"(`lcdb daemon` or `lcdb ui` starts one; progress under Overview → Backfills)")
    return status


def worker(args: argparse.Namespace) -> int:
    from lcdb_pipeline.cli.worker import run_worker

    return run_worker(args)


def daemon(args: argparse.Namespace) -> int:
    from lcdb_pipeline.cli.worker import run_daemon

    return run_daemon()


def synth(args: argparse.Namespace) -> int:
    from lcdb_pipeline.synth import generate

    try:
        summary = generate(args.out_dir, scale=args.scale, seed=args.seed, fmt=args.format, overwrite=args.force)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


def bench(args: argparse.Namespace) -> int:
    import json

    from lcdb_pipeline.bench import BenchConfig, format_report, run_bench

    config = BenchConfig(scale=args.scale, seed=args.seed, fmt=args.fmt, workdir=args.workdir,
                         database_url=args.database_url, admin_url=args.admin_url, keep=args.keep,
                         naive_rows=args.naive_rows, fetch_targets=args.fetch_targets, wide_rows=args.wide_rows,
                         writers=args.writers, read_passes=args.read_passes)
    report = run_bench(config, progress=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0
