"""The synthetic DVO database every section reads: generated once per (scale, seed, format) in the work
directory, reused by later runs."""

from __future__ import annotations

from pathlib import Path

from lcdb_pipeline.dvo import DVODatabase
from lcdb_pipeline.synth import generate


def catalog_tables(database: DVODatabase) -> list[str]:
    """Every catalog table of every populated region, region by region."""
    return [name for region in database.populated_regions() for name in database.tables_in_region(region)]


def prepare_dvo(scale: str, seed: int, fmt: str, workdir: Path) -> dict:
    """Generate the synthetic DVO database in `workdir` (or reuse the one already there); what it holds."""
    root = workdir / f"dvo-{scale}-seed{seed}-{fmt}"
    info: dict = {"root": str(root), "scale": scale, "seed": seed, "format": fmt}
    if (root / "SkyTable.fits").exists():
        info["generated_seconds"] = None
    else:
        summary = generate(root, scale=scale, seed=seed, fmt=fmt)
        info["generated_seconds"] = round(summary.seconds, 2)
    database = DVODatabase(root)
    nbytes = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    info.update(regions=len(database.populated_regions()), tables=len(catalog_tables(database)),
                disk_mb=round(nbytes / 1e6, 1))
    return info
