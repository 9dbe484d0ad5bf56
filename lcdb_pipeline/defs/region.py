"""The region asset: per DVO region directory, the four product tables of every catalog table in it."""

import warnings

import numpy as np
import sqlalchemy as sa
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

from lcdb_pipeline.defs.failures import database_errors
from lcdb_pipeline.defs.keys import (
    DATA_SET,
    OBSERVATION,
    QUALITY_FLAG_ARRAY,
    REFERENCE_ASSETS,
    TARGET_SPECIFIC_TIME,
    WRITERS_POOL,
)
from lcdb_pipeline.defs.metadata import RegionSummary, row_list
from lcdb_pipeline.defs.partitions import dvo_regions
from lcdb_pipeline.defs.plots import lightcurve_markdown
from lcdb_pipeline.defs.reference import load_reference
from lcdb_pipeline.defs.resources import (
    DVORootResource,
    LightcurveDBResource,
    MissionResource,
    ObservatoriesResource,
    TableWorkersResource,
)
from lcdb_pipeline.defs.table_spread import TableJob, spread_tables
from lcdb_pipeline.defs.worker import record_run_worker
from lcdb_pipeline.dvo import (
    DVODatabase,
    DVOError,
    DVOWarning,
    InvalidRegionKey,
    RegionTables,
    region_fingerprint,
)
from lcdb_pipeline.dvo import region_tables as list_region_tables
from lcdb_pipeline.loading import (
    ReferenceDataMissing,
    ReferenceIds,
    load_table,
    reference_ids,
)
from lcdb_pipeline.mapping import Observatory, instrument_specs, map_table


def _region_spec(key: AssetKey, description: str) -> AssetSpec:
    return AssetSpec(key, group_name="lightcurves", kinds={"postgres"}, description=description,
                     deps=list(REFERENCE_ASSETS), partitions_def=dvo_regions)


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
    table_workers: TableWorkersResource,
):
    """Read each catalog table of the region once and replace its rows in all four tables.

    Every catalog table is its own transaction: a damaged table is reported and left untouched while the
    other tables of the region load; the run then fails naming every damaged file, and is not retried
    (the same files would fail again). A lost PostgreSQL connection fails the run too — the table being
    written is rolled back by PostgreSQL — and that one is retried by the RetryPolicy.
    """
    region = context.partition_key
    worker = record_run_worker(context)
    database, contents, fingerprint = _open_region(dvo, region)
    time_scale = mission.spec().time_epoch_scale
    with database_errors(f"region {region}", "connecting", action="cannot connect to"):
        engine = lcdb.engine()
        refs = _reference_ids(context, lcdb, mission, database, region)
    sites = observatories.sites()
    if contents.absent:
        context.log.warning(
            f"SkyTable lists {len(contents.absent)} catalog table(s) in {region} whose files are absent "
            f"(nothing to load for them; rows loaded from them earlier are kept): {', '.join(contents.absent)}")
    summary = RegionSummary(region, absent=contents.absent)
    summary.failed.update({name: str(exc) for name, exc in contents.damaged.items()})
    if table_workers.count > 1 and len(contents.present) > 1:
        job = TableJob(dvo.root, lcdb.resolved_url(), region, refs, sites, time_scale)
        spread_tables(context, job, contents.present, table_workers.count, summary)
    else:
        for table_name in contents.present:
            _load_catalog_table(context, engine, database, table_name, refs, sites, summary, time_scale)
    if summary.failed:
        raise _region_failure(summary)
    with database_errors(f"region {region}", "drawing the sample lightcurve"):
        plot = lightcurve_markdown(engine, region)
    yield from _materializations(summary, DataVersion(fingerprint), plot, worker)


def _open_region(dvo: DVORootResource, region: str) -> tuple[DVODatabase, RegionTables, str]:
    """The DVO database, what the region holds, and its fingerprint; the key is validated before any file
    is opened. Unretried `Failure`s for a bad key or a region with nothing to load."""
    try:
        region_path = dvo.region_path(region)
    except InvalidRegionKey as exc:
        raise Failure(f"region {region!r}: partition key {exc}", allow_retries=False) from None
    try:
        database = dvo.open()
        contents = list_region_tables(database, region)
    except DVOError as exc:
        raise Failure(f"region {region}: {exc}", allow_retries=False) from None
    try:  # every table needs them: a damaged one is reported once, as reference data
        _ = database.photcodes, database.images
    except DVOError as exc:
        raise Failure(f"region {region}: reference data: {exc}", allow_retries=False) from None
    return database, contents, region_fingerprint(region_path)


def _reference_ids(context: AssetExecutionContext, lcdb: LightcurveDBResource, mission: MissionResource,
                   database: DVODatabase, region: str) -> ReferenceIds:
    """The reference ids; on a fresh database (the sensor's first loads, a backfill) the reference data is
    brought in first rather than fail — the reference assets do exactly the same."""
    try:
        return reference_ids(lcdb.engine(), mission.spec())
    except ReferenceDataMissing:
        context.log.info("reference data not in LightcurveDB yet: loading mission, instruments and "
                         "processing groups first")
    try:
        specs = instrument_specs(database.photcodes)
    except DVOError as exc:
        raise Failure(f"region {region}: reference data: {exc}", allow_retries=False) from None
    load_reference(lcdb, mission, specs)
    return reference_ids(lcdb.engine(), mission.spec())


def _load_catalog_table(context: AssetExecutionContext, engine: sa.Engine, database: DVODatabase,
                        table_name: str, refs: ReferenceIds, sites: dict[str, Observatory],
                        summary: RegionSummary, time_scale: str) -> None:
    """Read, map and load one catalog table in its own transaction; a DVO problem is recorded in `summary`."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DVOWarning)
            table = database.read_table(table_name)
            mapping = map_table(table, database.photcodes, database.images, sites, time_scale)
        _forward_warnings(context, table_name, caught)
        bad = np.asarray(table.bad_position_rows, dtype=np.int64)
        if bad.size:
            summary.skipped_positions[table_name] = bad.tolist()
            context.log.warning(
                f"{table_name}: {bad.size} object(s) skipped, no valid position (RA/DEC NaN or infinite, or "
                f"|DEC| > 90): {table.paths['cpt']} row(s) {row_list(bad)}; their measurements are not loaded")
        with database_errors(f"region {summary.region}", f"loading {table_name}", loaded=summary.tables_loaded):
            stats = load_table(engine, mapping, refs)
    except (DVOError, ReferenceDataMissing) as exc:
        context.log.error(f"{table_name}: not loaded: {exc}")
        summary.failed[table_name] = str(exc)
        return
    summary.add(table, mapping, stats)
    context.log.info(f"{table_name}: {stats.rows} rows in {stats.seconds:.2f} s")


def _forward_warnings(context: AssetExecutionContext, table_name: str, caught: list) -> None:
    """DVO warnings go to the run log; any other warning is re-issued as it was."""
    for warning in caught:
        if issubclass(warning.category, DVOWarning):
            context.log.warning(f"{table_name}: {warning.message}")
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def _region_failure(summary: RegionSummary) -> Failure:
    """One unretried Failure naming every catalog table that was not loaded, and why."""
    region, failed = summary.region, sorted(summary.failed.items())
    total = summary.tables_loaded + len(failed)
    lines = [f"region {region}: {len(failed)} of {total} catalog table(s) not loaded "
             f"({summary.tables_loaded} loaded)"]
    lines += [f"region {region}: catalog table {name} not loaded: {error}" for name, error in failed]
    metadata = {"failed tables": MetadataValue.json(dict(failed)), "loaded tables": summary.tables_loaded}
    if summary.skipped_positions:
        metadata["objects skipped (no position)"] = MetadataValue.json(summary.skipped_positions)
    return Failure(description="\n".join(lines), metadata=metadata, allow_retries=False)


def _materializations(summary: RegionSummary, version: DataVersion, plot: str | None, worker: dict):
    common = {**summary.common_metadata(), **worker}
    sample = {"sample lightcurve": MetadataValue.md(plot)} if plot else {}
    for key, rows, extra in ((OBSERVATION, "observations", {}),
                             (TARGET_SPECIFIC_TIME, "target_specific_times", {}),
                             (DATA_SET, "datasets", sample),
                             (QUALITY_FLAG_ARRAY, "quality_flag_arrays", {})):
        yield MaterializeResult(asset_key=key, data_version=version,
                                metadata={**common, **summary.table_metadata(rows), **extra})
