"""Sensor: newly populated DVO regions become partitions (and get loaded) without a code change."""


from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from lcdb_pipeline.defs import jobs
from lcdb_pipeline.defs.partitions import dvo_regions
from lcdb_pipeline.defs.resources import DVORootResource


@sensor(job=jobs.load_regions_job, minimum_interval_seconds=300, default_status=DefaultSensorStatus.RUNNING,
        description="Adds a partition for every region SkyTable lists that now holds catalog tables, "
        "and requests its first load.")
def new_dvo_regions_sensor(context: SensorEvaluationContext, dvo: DVORootResource):
    if not dvo.root:
        return SkipReason("LCDB_DVO_ROOT is not set")
    populated = dvo.open().populated_regions()
    known = set(context.instance.get_dynamic_partitions(dvo_regions.name))
    new = [region for region in populated if region not in known]
    if not new:
        return SkipReason(f"no new populated region ({len(populated)} known)")
    return SensorResult(
        run_requests=[RunRequest(partition_key=region, run_key=f"new-region-{region}") for region in new],
        dynamic_partitions_requests=[dvo_regions.build_add_request(new)],
    )
