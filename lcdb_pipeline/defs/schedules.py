"""Schedule: re-ingest only the regions whose DVO files changed since their last successful load."""


from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from lcdb_pipeline.defs import jobs
from lcdb_pipeline.defs.keys import DATA_SET
from lcdb_pipeline.defs.partitions import dvo_regions
from lcdb_pipeline.defs.resources import DVORootResource
from lcdb_pipeline.dvo import InvalidRegionKey, region_fingerprint


def changed_regions(context, dvo: DVORootResource) -> list[tuple[str, str]]:
    """(region, fingerprint) of every known region whose files differ from its last loaded data version."""
    changed = []
    for region in sorted(context.instance.get_dynamic_partitions(dvo_regions.name)):
        try:
            fingerprint = region_fingerprint(dvo.region_path(region))
        except InvalidRegionKey as exc:  # one bad partition must not stop the others' reloads
            context.log.warning(f"skipping partition {region!r}: {exc}")
            continue
        record = context.instance.get_latest_data_version_record(DATA_SET, partition_key=region)
        loaded = None
        if record is not None:
            loaded = record.event_log_entry.dagster_event.materialization.tags.get("dagster/data_version")
        if loaded != fingerprint:
            changed.append((region, fingerprint))
    return changed


@schedule(job=jobs.load_regions_job, cron_schedule="0 * * * *", execution_timezone="UTC",
          default_status=DefaultScheduleStatus.RUNNING,
          description="Hourly: reload the regions whose .cpt/.cpm/.cps/.cpn files changed.")
def changed_regions_schedule(context: ScheduleEvaluationContext, dvo: DVORootResource):
    if not dvo.root:
        return SkipReason("LCDB_DVO_ROOT is not set")
    changed = changed_regions(context, dvo)
    if not changed:
        return SkipReason("no region changed since its last load")
    return [RunRequest(partition_key=region, run_key=f"{region}-{fp}") for region, fp in changed]
