"""Software-defined assets: LightcurveDB reference data, and per DVO region the four product tables."""


import time

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    multi_asset,
)

from lcdb_pipeline.dvo import DVOError
from lcdb_pipeline.fingerprint import region_fingerprint
from lcdb_pipeline.instruments import instrument_specs
from lcdb_pipeline.loading import ReferenceDataMissing, load_table, reference_ids, upsert_reference
from lcdb_pipeline.mapping import map_table
from lcdb_pipeline.partitions import dvo_regions
from lcdb_pipeline.plots import lightcurve_markdown
from lcdb_pipeline.resources import (
    DVORootResource,
    LightcurveDBResource,
    MissionResource,
    ObservatoriesResource,
)
from lcdb_pipeline.summary import RegionSummary

PREFIX = "lightcurvedb"
WRITERS_POOL = "lcdb_writers"

MISSION = AssetKey([PREFIX, "mission"])
INSTRUMENTS = AssetKey([PREFIX, "instruments"])
PROCESSING_GROUPS = AssetKey([PREFIX, "processing_groups"])
OBSERVATION = AssetKey([PREFIX, "observation"])
TARGET_SPECIFIC_TIME = AssetKey([PREFIX, "target_specific_time"])
DATA_SET = AssetKey([PREFIX, "data_set"])
QUALITY_FLAG_ARRAY = AssetKey([PREFIX, "quality_flag_array"])
REGION_ASSETS = (OBSERVATION, TARGET_SPECIFIC_TIME, DATA_SET, QUALITY_FLAG_ARRAY)


@multi_asset(
    name="lightcurvedb_reference",
    specs=[
        AssetSpec(MISSION, group_name="reference", kinds={"postgres"},
                  description="The Mission (DVO time system: unix seconds, UTC) and its MissionCatalog."),
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
    """Upsert the reference rows every region load refers to (ids never change on re-runs)."""
    started = time.perf_counter()
    from lcdb_schema.migrations import upgrade_database

    upgrade_database(lcdb.resolved_url())
    database = dvo.open()
    specs = instrument_specs(database.photcodes)
    stats = upsert_reference(lcdb.engine(), mission.spec(), specs)
    seconds = round(time.perf_counter() - started, 3)
    yield MaterializeResult(asset_key=MISSION, metadata={
        "mission": mission.mission_name, "catalog": mission.catalog_name,
        "time_format_name": mission.time_format_name, "seconds": seconds})
    yield MaterializeResult(asset_key=INSTRUMENTS, metadata={
        "instruments": stats.instruments,
        "cameras": MetadataValue.text(", ".join(sorted({s.name for s in specs if s.parent is None}))[:2000]),
        "photcodes": len(database.photcodes), "seconds": seconds})
    yield MaterializeResult(asset_key=PROCESSING_GROUPS, metadata={
        "processing_groups": stats.processing_groups, "seconds": seconds})


def _region_spec(key: AssetKey, description: str) -> AssetSpec:
    return AssetSpec(key, group_name="lightcurves", kinds={"postgres"}, description=description,
                     deps=[MISSION, INSTRUMENTS, PROCESSING_GROUPS], partitions_def=dvo_regions)


@multi_asset(
    name="dvo_region",
    specs=[
        _region_spec(OBSERVATION, "One DVOObservation per (catalog table, camera, filter); cadence grid in ms."),
        _region_spec(TARGET_SPECIFIC_TIME, "BJD_TDB per target and cadence, mid-exposure."),
        _region_spec(DATA_SET, "Lightcurves: psf/instrumental, psf/relphot, aperture/instrumental."),
        _region_spec(QUALITY_FLAG_ARRAY, "PHOT_FLAGS and DB_FLAGS per target and cadence."),
    ],
    partitions_def=dvo_regions,
    backfill_policy=BackfillPolicy.multi_run(max_partitions_per_run=1),
    retry_policy=RetryPolicy(max_retries=2, delay=5),
    pool=WRITERS_POOL,
    code_version="1",
)
def dvo_region(
    context: AssetExecutionContext,
    lcdb: LightcurveDBResource,
    dvo: DVORootResource,
    mission: MissionResource,
    observatories: ObservatoriesResource,
):
    """Read each catalog table of the region once and replace its rows in all four tables.

    Every catalog table is its own transaction: a damaged table is reported and left untouched while the
    other tables of the region load; the run then fails naming every damaged file.
    """
    region = context.partition_key
    region_path = dvo.region_path(region)  # validates the key before any file is opened
    database = dvo.open()
    fingerprint = region_fingerprint(region_path)
    engine = lcdb.engine()
    try:
        refs = reference_ids(engine, mission.spec())
    except ReferenceDataMissing as exc:
        raise Failure(str(exc), allow_retries=False) from None
    sites = observatories.sites()

    summary = RegionSummary(region)
    for table_name in database.tables_in_region(region):
        try:
            table = database.read_table(table_name)
            mapping = map_table(table, database.photcodes, database.images, sites)
            stats = load_table(engine, mapping, refs)
        except DVOError as exc:
            context.log.error(f"{table_name}: not loaded: {exc}")
            summary.failed[table_name] = str(exc)
            continue
        summary.add(table, mapping, stats)
        context.log.info(f"{table_name}: {stats.rows} rows in {stats.seconds:.2f} s")
    for name in database.missing_tables(region):
        summary.failed[name] = f"SkyTable lists catalog table {name} but its files are absent"

    if summary.failed:
        raise Failure(
            description=f"region {region}: {len(summary.failed)} catalog table(s) not loaded:\n"
            + "\n".join(summary.failed.values()),
            metadata={"failed tables": MetadataValue.json(summary.failed),
                      "loaded tables": summary.tables_loaded},
            allow_retries=False,
        )

    version = DataVersion(fingerprint)
    common = summary.common_metadata()
    yield MaterializeResult(asset_key=OBSERVATION, data_version=version,
                            metadata={**common, **summary.table_metadata("observations")})
    yield MaterializeResult(asset_key=TARGET_SPECIFIC_TIME, data_version=version,
                            metadata={**common, **summary.table_metadata("target_specific_times")})
    plot = lightcurve_markdown(engine, region)
    yield MaterializeResult(asset_key=DATA_SET, data_version=version,
                            metadata={**common, **summary.table_metadata("datasets"),
                                      **({"sample lightcurve": MetadataValue.md(plot)} if plot else {})})
    yield MaterializeResult(asset_key=QUALITY_FLAG_ARRAY, data_version=version,
                            metadata={**common, **summary.table_metadata("quality_flag_arrays")})
