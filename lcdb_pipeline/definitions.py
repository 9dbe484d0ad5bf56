"""The lcdb code location: everything Dagster loads (`dagster dev`, `dagster definitions validate`)."""

from dagster import Definitions

from lcdb_pipeline.assets import dvo_region, lightcurvedb_reference
from lcdb_pipeline.checks import all_checks
from lcdb_pipeline.jobs import load_regions_job, reference_job
from lcdb_pipeline.resources import build_resources
from lcdb_pipeline.schedules import changed_regions_schedule
from lcdb_pipeline.sensors import new_dvo_regions_sensor


def build_definitions() -> Definitions:
    """Definitions with resources read from the environment now (the `lcdb` command sets it first)."""
    return Definitions(
        assets=[lightcurvedb_reference, dvo_region],
        asset_checks=all_checks,
        jobs=[reference_job, load_regions_job],
        schedules=[changed_regions_schedule],
        sensors=[new_dvo_regions_sensor],
        resources=build_resources(),
    )


defs = build_definitions()
