"""How `lcdb load` and `lcdb demo` print what happened: successes on stdout; every error and warning on
stderr, one self-contained line each."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from lcdb_pipeline.cli.runner import LoadReport, RegionOutcome
from lcdb_schema.database import make_engine

COUNTED_TABLES = ("mission", "instrument", "target", "observation", "data_set", "target_specific_time",
                  "quality_flag_array")


def print_report(report: LoadReport) -> None:
    for outcome in report.regions:
        for warning in outcome.warnings:
            print(f"warning: region {outcome.region}: {warning}", file=sys.stderr)
        if outcome.success:
            _print_success(outcome)
        else:
            for error in outcome.errors:
                prefix = "" if error.startswith(f"region {outcome.region}") else f"region {outcome.region}: "
                print(f"error: {prefix}{error}", file=sys.stderr)
    for error in report.reference_errors:
        prefix = "" if error.startswith("reference data") else "reference data: "
        print(f"error: {prefix}{error}", file=sys.stderr)


def _print_success(outcome: RegionOutcome) -> None:
    m = outcome.metadata
    print(f"  {outcome.region}: {m.get('catalog tables', 0)} tables, {m.get('measured objects', 0)} targets, "
          f"{m.get('measurements', 0)} measurements ({m.get('duplicates dropped', 0)} duplicates dropped, "
          f"{m.get('measurements excluded (not epochs)', 0)} not epochs{_excluded(m)}), {outcome.seconds:.1f} s")
    for check in outcome.failed_checks:
        print(f"error: region {outcome.region}: asset check FAILED: {check}", file=sys.stderr)


def _excluded(metadata: dict) -> str:
    """`: 12 reference/secondary, 3 stack (SkyChip)` — the kinds of the rows set aside, when there are any."""
    kinds = metadata.get("measurements excluded, per kind") or {}
    shown = [f"{n} {kind}" for kind, n in kinds.items() if n]
    return f": {', '.join(shown)}" if shown else ""


def table_counts(url: str) -> dict[str, int]:
    """Rows per LightcurveDB table, for the demo's closing summary."""
    with make_engine(url).connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED_TABLES}
