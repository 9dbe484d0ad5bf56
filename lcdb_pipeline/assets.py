"""Software-defined assets: LightcurveDB reference data, and per DVO region the four product tables."""


import time
import warnings
from contextlib import contextmanager

import numpy as np
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

from lcdb_pipeline.dvo import DVOError, DVOWarning
from lcdb_pipeline.errors import describe_database_error, is_transient_database_error
from lcdb_pipeline.fingerprint import region_fingerprint
from lcdb_pipeline.instruments import instrument_specs
from lcdb_pipeline.loading import (
    ReferenceDataMissing,
    ReferenceStats,
    load_table,
    reference_ids,
    upsert_reference,
)
from lcdb_pipeline.mapping import map_table
from lcdb_pipeline.partitions import InvalidRegionKey, dvo_regions, region_tables
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
    try:
        database = dvo.open()
        specs = instrument_specs(database.photcodes)
    except DVOError as exc:
        raise Failure(f"reference data: {exc}", allow_retries=False) from None
    stats = _load_reference(lcdb, mission, specs)
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


def _load_reference(lcdb: LightcurveDBResource, mission: MissionResource, specs) -> ReferenceStats:
    """Schema at head, then the reference rows: idempotent and safe beside running region loads."""
    from lcdb_schema.migrations import upgrade_database

    with _database_errors("reference data", "upserting mission, instruments and processing groups",
                          retried=False):
        upgrade_database(lcdb.resolved_url())
        return upsert_reference(lcdb.engine(), mission.spec(), specs)


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
    other tables of the region load; the run then fails naming every damaged file, and is not retried
    (the same files would fail again). A lost PostgreSQL connection fails the run too — the table being
    written is rolled back by PostgreSQL — and that one is retried by the RetryPolicy.
    """
    region = context.partition_key
    try:
        region_path = dvo.region_path(region)  # validates the key before any file is opened
    except InvalidRegionKey as exc:
        raise Failure(f"region {region!r}: partition key {exc}", allow_retries=False) from None
    try:
        database = dvo.open()
        contents = region_tables(database, region)
    except DVOError as exc:
        raise Failure(f"region {region}: {exc}", allow_retries=False) from None
    fingerprint = region_fingerprint(region_path)
    with _database_errors(f"region {region}", "connecting", action="cannot connect to"):
        engine = lcdb.engine()
        try:
            refs = reference_ids(engine, mission.spec())
        except ReferenceDataMissing:
            # A region run on a fresh database (the sensor's first loads, a backfill): bring the reference
            # data in first rather than fail; the reference assets do exactly the same.
            context.log.info("reference data not in LightcurveDB yet: loading mission, instruments and "
                             "processing groups first")
            try:
                specs = instrument_specs(database.photcodes)
            except DVOError as exc:
                raise Failure(f"region {region}: reference data: {exc}", allow_retries=False) from None
            _load_reference(lcdb, mission, specs)
            refs = reference_ids(engine, mission.spec())
    sites = observatories.sites()

    if contents.absent:
        context.log.warning(
            f"SkyTable lists {len(contents.absent)} catalog table(s) in {region} whose files are absent "
            f"(nothing to load for them; rows loaded from them earlier are kept): {', '.join(contents.absent)}")
    summary = RegionSummary(region)
    summary.failed.update({name: str(exc) for name, exc in contents.damaged.items()})
    skipped_positions: dict[str, list[int]] = {}
    for table_name in contents.present:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", DVOWarning)
                table = database.read_table(table_name)
                mapping = map_table(table, database.photcodes, database.images, sites)
            for warning in caught:
                if issubclass(warning.category, DVOWarning):
                    context.log.warning(f"{table_name}: {warning.message}")
                else:
                    warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            bad = np.asarray(table.bad_position_rows, dtype=np.int64)
            if bad.size:
                skipped_positions[table_name] = bad.tolist()
                context.log.warning(
                    f"{table_name}: {bad.size} object(s) skipped, no valid position (RA/DEC NaN or infinite, or "
                    f"|DEC| > 90): {table.paths['cpt']} row(s) {_rows(bad)}; their measurements are not loaded")
            with _database_errors(f"region {region}", f"loading {table_name}", loaded=summary.tables_loaded):
                stats = load_table(engine, mapping, refs)
        except (DVOError, ReferenceDataMissing) as exc:
            context.log.error(f"{table_name}: not loaded: {exc}")
            summary.failed[table_name] = str(exc)
            continue
        summary.add(table, mapping, stats)
        context.log.info(f"{table_name}: {stats.rows} rows in {stats.seconds:.2f} s")

    if summary.failed:
        total = summary.tables_loaded + len(summary.failed)
        lines = [f"region {region}: {len(summary.failed)} of {total} catalog table(s) not loaded "
                 f"({summary.tables_loaded} loaded)"]
        lines += [f"region {region}: catalog table {name} not loaded: {error}"
                  for name, error in sorted(summary.failed.items())]
        raise Failure(
            description="\n".join(lines),
            metadata={"failed tables": MetadataValue.json(dict(sorted(summary.failed.items()))),
                      "loaded tables": summary.tables_loaded,
                      **({"objects skipped (no position)": MetadataValue.json(skipped_positions)}
                         if skipped_positions else {})},
            allow_retries=False,
        )

    with _database_errors(f"region {region}", "drawing the sample lightcurve"):
        plot = lightcurve_markdown(engine, region)
    version = DataVersion(fingerprint)
    common = summary.common_metadata()
    if skipped_positions:
        common["objects skipped (no position), .cpt rows"] = MetadataValue.json(skipped_positions)
    if contents.absent:
        common["catalog tables absent"] = MetadataValue.json(contents.absent)
    yield MaterializeResult(asset_key=OBSERVATION, data_version=version,
                            metadata={**common, **summary.table_metadata("observations")})
    yield MaterializeResult(asset_key=TARGET_SPECIFIC_TIME, data_version=version,
                            metadata={**common, **summary.table_metadata("target_specific_times")})
    yield MaterializeResult(asset_key=DATA_SET, data_version=version,
                            metadata={**common, **summary.table_metadata("datasets"),
                                      **({"sample lightcurve": MetadataValue.md(plot)} if plot else {})})
    yield MaterializeResult(asset_key=QUALITY_FLAG_ARRAY, data_version=version,
                            metadata={**common, **summary.table_metadata("quality_flag_arrays")})


def _rows(rows: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f", … ({rows.size} in all)" if rows.size > limit else "")


@contextmanager
def _database_errors(label: str, doing: str, loaded: int | None = None, action: str = "", retried: bool = True):
    """A lost or refused PostgreSQL connection (or a deadlock) becomes one clear, retryable Failure; the
    transaction in flight is rolled back by PostgreSQL, the catalog tables committed before it stay loaded."""
    try:
        yield
    except Exception as exc:
        if not is_transient_database_error(exc):
            raise
        done = (f"; {loaded} catalog table(s) of the region were loaded before it, this one was rolled back"
                if loaded is not None else "")
        raise Failure(
            description=f"{label}: {doing}: {describe_database_error(exc, action)}{done}"
                        + (" (retried per the RetryPolicy)" if retried else ""),
            allow_retries=True,
        ) from None
