"""Asset checks: verify, per region, what the load wrote — read back from PostgreSQL, not from memory."""


import warnings

import numpy as np
import sqlalchemy as sa
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetKey,
    PreviewWarning,
    asset_check,
)

from lcdb_pipeline.defs.keys import (
    DATA_SET,
    OBSERVATION,
    QUALITY_FLAG_ARRAY,
    TARGET_SPECIFIC_TIME,
)
from lcdb_pipeline.defs.partitions import dvo_regions
from lcdb_pipeline.defs.resources import DVORootResource, LightcurveDBResource, ObservatoriesResource
from lcdb_pipeline.dvo import DVOError, MeasurementKind, bad_position_rows
from lcdb_pipeline.mapping import PROCESSING_GROUPS

# Partitioned asset checks are a Dagster "preview" feature; we rely on it knowingly (one check per region).
warnings.filterwarnings("ignore", category=PreviewWarning, message=".*partitions_def on an AssetCheckSpec.*")

ARRAY_COLUMNS = {
    DATA_SET: ("data_set", "values"),
    TARGET_SPECIFIC_TIME: ("target_specific_time", "barycentric_julian_dates"),
    QUALITY_FLAG_ARRAY: ("quality_flag_array", "quality_flags"),
}


def _cadence_grid_check(asset: AssetKey):
    table, column = ARRAY_COLUMNS[asset]
    extra = " OR cardinality(p.errors) <> cardinality(o.cadence_reference)" if table == "data_set" else ""
    query = sa.text(f"""
        SELECT count(*) AS rows,
               count(*) FILTER (WHERE cardinality(p.{column}) <> cardinality(o.cadence_reference){extra}) AS bad
        FROM {table} p JOIN observation o ON o.id = p.observation_id
        WHERE o.region = :region
    """)

    @asset_check(asset=asset, name="arrays_match_cadence_grid", partitions_def=dvo_regions,
                 description=f"Every {table}.{column} has its observation's cadence-grid length.")
    def check(context: AssetCheckExecutionContext, lcdb: LightcurveDBResource) -> AssetCheckResult:
        with lcdb.engine().connect() as conn:
            rows, bad = conn.execute(query, {"region": context.partition_key}).one()
        return AssetCheckResult(passed=bad == 0, metadata={"rows checked": rows, "rows with wrong length": bad})

    return check




@asset_check(asset=DATA_SET, name="one_dataset_per_target_observation_group", partitions_def=dvo_regions,
             description="Each (target, observation) has exactly one DataSet per processing group.")
def one_dataset_per_group(context: AssetCheckExecutionContext, lcdb: LightcurveDBResource) -> AssetCheckResult:
    query = sa.text("""
        SELECT count(*) FROM (
            SELECT d.target_id, d.observation_id
            FROM data_set d JOIN observation o ON o.id = d.observation_id
            WHERE o.region = :region
            GROUP BY d.target_id, d.observation_id
            HAVING count(*) <> :groups OR count(DISTINCT d.processing_group_id) <> :groups
        ) AS wrong
    """)
    with lcdb.engine().connect() as conn:
        wrong = conn.execute(query, {"region": context.partition_key, "groups": len(PROCESSING_GROUPS)}).scalar_one()
    return AssetCheckResult(passed=wrong == 0, metadata={"(target, observation) pairs not 1 per group": wrong})


def _objects_with_epochs(database, name: str, cameras: set[str]) -> int:
    """Objects of one catalog table with a position and an epoch measurement of a camera in `cameras`."""
    table = database.read_table(name)
    pc = database.photcodes
    rows = pc.index_of(table.measurements["photcode"])
    epoch = (pc.kind[rows] == MeasurementKind.EPOCH) & np.isin(pc.root[rows].astype(str), list(cameras))
    with_epoch = np.zeros(len(table.objects), dtype=bool)
    with_epoch[table.measurements["ave_ref"][epoch]] = True
    with_epoch[bad_position_rows(table.objects["ra"], table.objects["dec"])] = False
    return int(with_epoch.sum())


@asset_check(asset=OBSERVATION, name="measured_objects_match_cpt", partitions_def=dvo_regions,
             description="Targets with lightcurves in the region = .cpt objects with a position and at "
                         "least one epoch measurement (a detector chip of a camera with an observatory).")
def measured_objects_match_cpt(
    context: AssetCheckExecutionContext, lcdb: LightcurveDBResource, dvo: DVORootResource,
    observatories: ObservatoriesResource,
) -> AssetCheckResult:
    region = context.partition_key
    database = dvo.open()
    cameras = set(observatories.sites())
    expected = 0
    for name in database.tables_in_region(region):
        try:
            expected += _objects_with_epochs(database, name, cameras)
        except DVOError:  # a damaged table is not loaded; the region's run reports it
            continue
    query = sa.text("""
        SELECT count(DISTINCT t.target_id) FROM target_specific_time t
        JOIN observation o ON o.id = t.observation_id WHERE o.region = :region
    """)
    with lcdb.engine().connect() as conn:
        written = conn.execute(query, {"region": region}).scalar_one()
    return AssetCheckResult(passed=written == expected,
                            metadata={"targets written": written, ".cpt objects with measurements": expected})


all_checks = [*(_cadence_grid_check(asset) for asset in ARRAY_COLUMNS), one_dataset_per_group,
              measured_objects_match_cpt]
