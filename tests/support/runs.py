"""What region runs did, read back from a Dagster instance: status, where they ran, when they wrote."""

from __future__ import annotations

from dagster import DagsterEventType

from lcdb_pipeline.defs.keys import DATA_SET

REGION_STEP = "dvo_region"


def worker_of(instance, run_id: str) -> tuple[str, int] | None:
    """(host, pid) the run's region materialization records."""
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records:
        materialization = record.event_log_entry.asset_materialization
        if materialization.asset_key == DATA_SET:
            metadata = materialization.metadata
            return metadata["worker host"].value, int(metadata["worker pid"].value)
    return None


def step_window(instance, run_id: str, step_key: str = REGION_STEP) -> tuple[float, float] | None:
    """(start, end) timestamps of the region step — the time it held its writers-pool slot."""
    start = end = None
    for record in instance.get_records_for_run(run_id).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None or event.step_key != step_key:
            continue
        if event.event_type == DagsterEventType.STEP_START and start is None:
            start = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            end = entry.timestamp
    return (start, end) if start is not None and end is not None else None


def run_window(instance, run_id: str) -> tuple[float, float]:
    record = instance.get_run_record_by_id(run_id)
    return record.start_time, record.end_time


def max_overlap(windows: list[tuple[float, float]]) -> int:
    """The most windows open at one instant."""
    edges = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    open_now = peak = 0
    for _, step in edges:
        open_now += step
        peak = max(peak, open_now)
    return peak
