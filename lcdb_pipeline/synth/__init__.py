"""A synthetic DVO database: faithful file formats, realistic content, deterministic for a seed.

```python
from lcdb_pipeline.synth import generate
summary = generate("/tmp/dvo", scale="small", seed=0, fmt="ps1_v1")   # or fmt="ps1_v5_load"
```
or `lcdb synth OUT_DIR [--scale small|medium|large] [--seed N] [--format ps1_v1|ps1_v5_load] [--force]`.

This module stays light (argparse only) so `lcdb --help` is instant; `generate`, `SynthSummary`, … are
loaded from `lcdb_pipeline.synth.generator` on first use. See that module and docs/dvo.md for the content.
"""

from __future__ import annotations

import argparse
import sys

SCALE_CHOICES = ("small", "medium", "large")
FORMAT_CHOICES = ("ps1_v1", "ps1_v5_load")
_LAZY = ("generate", "SynthSummary", "SCALES", "FORMATS", "CAMERAS", "pv3_photcodes_path")

__all__ = ["add_synth_command", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from lcdb_pipeline.synth import generator

        return getattr(generator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _cmd_synth(args: argparse.Namespace) -> int:
    from lcdb_pipeline.synth.generator import generate

    try:
        summary = generate(args.out_dir, scale=args.scale, seed=args.seed, fmt=args.format, overwrite=args.force)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(summary.lines()))
    return 0


def add_synth_command(subparsers) -> argparse.ArgumentParser:
    """Register `lcdb synth` on the `lcdb` sub-command parsers."""
    p = subparsers.add_parser("synth", help="write a synthetic DVO database (deterministic for a seed)",
                              description="Write a complete synthetic DVO database into OUT_DIR.")
    p.add_argument("out_dir", metavar="OUT_DIR", help="directory to create (must be empty unless --force)")
    p.add_argument("--scale", default="small", choices=SCALE_CHOICES,
                   help="small ≈ 50k, medium ≈ 300k, large ≈ 3.2M measurements (default small)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed → identical bytes)")
    p.add_argument("--format", default="ps1_v1", choices=FORMAT_CHOICES, help="catalog table format")
    p.add_argument("--force", action="store_true", help="replace a DVO database already in OUT_DIR")
    p.set_defaults(func=_cmd_synth)
    return p


def main(argv: list[str] | None = None) -> int:
    """`python -m lcdb_pipeline.synth OUT_DIR …` (the same as `lcdb synth`)."""
    parser = argparse.ArgumentParser(prog="lcdb")
    add_synth_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["synth", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
