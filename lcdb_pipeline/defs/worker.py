"""Which process ran a region: its host and pid, recorded on the run (tags) and on the materializations
(metadata). Wherever the run executes — `lcdb load` itself, a run process it launched, a Celery worker, a
Kubernetes pod — the worker tags name the process that holds the region's transactions, so a run whose
process died can be recognised (`lcdb_pipeline.cli.instance.recover_orphaned_runs`); the `lcdb/pid` and
`lcdb/host` tags keep naming the `lcdb` process that created the run."""

import os
import socket

from dagster import AssetExecutionContext

#: Run tags naming the `lcdb` process that created the run.
PID_TAG = "lcdb/pid"
HOST_TAG = "lcdb/host"
#: Run tags naming the process executing the run (set when its region step starts).
WORKER_PID_TAG = "lcdb/worker_pid"
WORKER_HOST_TAG = "lcdb/worker_host"


def process_tags() -> dict[str, str]:
    """The creator tags naming this process."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def record_run_worker(context: AssetExecutionContext) -> dict[str, object]:
    """Tag the run with the process executing it and return the same as materialization metadata."""
    host, pid = socket.gethostname(), os.getpid()
    context.instance.add_run_tags(context.run.run_id, {WORKER_PID_TAG: str(pid), WORKER_HOST_TAG: host})
    return {"worker host": host, "worker pid": pid}


def run_process(tags: dict[str, str]) -> tuple[str, int] | None:
    """(host, pid) of the process a run depends on: its worker once the region step started, else the `lcdb`
    process that created it; None when the tags name neither."""
    for host_tag, pid_tag in ((WORKER_HOST_TAG, WORKER_PID_TAG), (HOST_TAG, PID_TAG)):
        if host_tag in tags:
            try:
                return tags[host_tag], int(tags.get(pid_tag, "0"))
            except ValueError:
                return None
    return None
