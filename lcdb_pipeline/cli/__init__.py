"""The `lcdb` command line: parsers in `cli.parser`, subcommands in `cli.commands`."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    from lcdb_pipeline.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line for the operator, never a password
        if os.environ.get("LCDB_DEBUG"):
            raise
        from lcdb_pipeline.cli.errors import describe_error

        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 2


