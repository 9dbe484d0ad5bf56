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
from lcdb_pipeline.defs.resources import DVORootResource, LightcurveDBResource
from lcdb_pipeline.dvo import bad_position_rows
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


@asset_check(asset=OBSERVATION, name="measured_objects_match_cpt", partitions_def=dvo_regions,
             description="Targets with lightcurves in the region = .cpt objects with measurements "
                         "(and a position).")
def measured_objects_match_cpt(
    context: AssetCheckExecutionContext, lcdb: LightcurveDBResource, dvo: DVORootResource
) -> AssetCheckResult:
    region = context.partition_key
    database = dvo.open()
    expected = 0
    for name in database.tables_in_region(region):
        objects = database.read_objects(name)
        has_position = np.ones(len(objects), dtype=bool)
        has_position[bad_position_rows(objects["ra"], objects["dec"])] = False
        expected += int(((objects["nmeasure"] > 0) & has_position).sum())
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
