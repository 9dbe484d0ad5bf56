"""Which process ran a region: its host and pid, recorded on the run (tags) and on the materializations
(metadata). Wherever the run executes — `lcdb load` itself, a run process it launched, a Celery worker, a
Kubernetes pod — the tags name the process that holds the region's transactions, so a run whose process
died can be recognised (`lcdb_pipeline.cli.instance.recover_orphaned_runs`)."""

import os
import socket

from dagster import AssetExecutionContext

#: Run tags naming the process executing the run.
PID_TAG = "lcdb/pid"
HOST_TAG = "lcdb/host"


def process_tags() -> dict[str, str]:
    """The tags naming this process."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def record_run_worker(context: AssetExecutionContext) -> dict[str, object]:
    """Tag the run with this process (replacing the tags of the process that created the run) and return
    the same as materialization metadata."""
    tags = process_tags()
    context.instance.add_run_tags(context.run.run_id, tags)
    return {"worker host": tags[HOST_TAG], "worker pid": int(tags[PID_TAG])}
