"""The `lcdb` command line. Subcommands import their modules lazily so `lcdb --help` is instant."""

from __future__ import annotations

import argparse
import sys


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from lcdb_schema.database import database_url, redact_url
    from lcdb_schema.migrations import upgrade_database

    url = database_url()
    upgrade_database(url)
    print(f"LightcurveDB schema at head on {redact_url(url)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lcdb", description="DVO databases into LightcurveDB")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="LightcurveDB schema management")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="bring the database schema to the current migration").set_defaults(
        func=_cmd_db_upgrade
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
