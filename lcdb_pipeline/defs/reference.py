"""The reference assets: Mission and MissionCatalog, the Instrument tree, the ProcessingGroups."""

import time

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from lcdb_pipeline.defs.failures import database_errors
from lcdb_pipeline.defs.keys import (
    INSTRUMENTS,
    MISSION,
    PROCESSING_GROUPS,
    WRITERS_POOL,
)
from lcdb_pipeline.defs.resources import (
    DVORootResource,
    LightcurveDBResource,
    MissionResource,
)
from lcdb_pipeline.dvo import DVOError
from lcdb_pipeline.loading import ReferenceStats, upsert_reference
from lcdb_pipeline.mapping import InstrumentSpec, instrument_specs


@multi_asset(
    name="lightcurvedb_reference",
    specs=[
        AssetSpec(MISSION, group_name="reference", kinds={"postgres"},
                  description="The Mission (DVO time system: whole unix seconds, in LCDB_DVO_TIME_SCALE, default "
                              "UTC) and its MissionCatalog."),
        AssetSpec(INSTRUMENTS, group_name="reference", kinds={"postgres"},
                  description="Instrument tree from Photcodes.dat: camera → chip; bare REF names as roots."),
        AssetSpec(PROCESSING_GROUPS, group_name="reference", kinds={"postgres"},
                  description="PhotometricSources psf/aperture × DetrendingMethods instrumental/relphot."),
    ],
    pool=WRITERS_POOL,
)
def lightcurvedb_reference(
    context: AssetExecutionContext, lcdb: LightcurveDBResource, dvo: DVORootResource, mission: MissionResource
):
    """Upsert the reference rows every region load refers to (ids never change on re-runs). Images.dat is
    checked here too, so a damaged one is reported once, as reference data, before any region runs."""
    started = time.perf_counter()
    try:
        database = dvo.open()
        specs = instrument_specs(database.photcodes)
        images = len(database.images)
    except DVOError as exc:
        raise Failure(f"reference data: {exc}", allow_retries=False) from None
    stats = load_reference(lcdb, mission, specs)
    seconds = round(time.perf_counter() - started, 3)
    yield MaterializeResult(asset_key=MISSION, metadata={
        "mission": mission.mission_name, "catalog": mission.catalog_name,
        "time_format_name": mission.time_format_name, "time scale": mission.spec().time_epoch_scale,
        "images": images, "seconds": seconds})
    yield MaterializeResult(asset_key=INSTRUMENTS, metadata={
        "instruments": stats.instruments,
        "cameras": MetadataValue.text(", ".join(sorted({s.name for s in specs if s.parent is None}))[:2000]),
        "photcodes": len(database.photcodes), "seconds": seconds})
    yield MaterializeResult(asset_key=PROCESSING_GROUPS, metadata={
        "processing_groups": stats.processing_groups, "seconds": seconds})


def load_reference(lcdb: LightcurveDBResource, mission: MissionResource,
                   specs: list[InstrumentSpec]) -> ReferenceStats:
    """Schema at head, then the reference rows: idempotent and safe beside running region loads."""
    from lcdb_schema.migrations import upgrade_database

    with database_errors("reference data", "upserting mission, instruments and processing groups", retried=False):
        upgrade_database(lcdb.resolved_url())
        return upsert_reference(lcdb.engine(), mission.spec(), specs)
