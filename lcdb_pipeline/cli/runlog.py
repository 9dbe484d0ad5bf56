"""What a finished run said, read back from the instance's event log, as the CLI prints it."""

from __future__ import annotations

import logging

from dagster import DagsterEventType, DagsterInstance

from lcdb_schema.database import scrub_passwords


def step_failures(instance: DagsterInstance, run_id: str) -> list[str]:
    """One line per problem of a failed run, as the UI shows them (Failure descriptions, or error messages)."""
    lines: list[str] = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records:
        data = record.event_log_entry.dagster_event.step_failure_data
        user = data.user_failure_data
        if user and user.description:
            lines += [line for line in user.description.splitlines() if line.strip()]
        elif data.error:
            cause = data.error
            while cause.cause is not None and cause.cls_name in ("DagsterExecutionStepExecutionError",):
                cause = cause.cause
            first = (cause.message.strip().splitlines() or ["step failed"])[0]
            lines.append(scrub_passwords(first))
        else:
            lines.append("step failed")
    return lines


def run_warnings(instance: DagsterInstance, run_id: str) -> list[str]:
    """The WARNING messages the assets logged in a run (e.g. objects skipped for lack of a position)."""
    return [scrub_passwords(entry.user_message) for entry in instance.all_logs(run_id)
            if entry.dagster_event is None and entry.level == logging.WARNING]


#: What Dagster says when someone else (its code server, run monitoring) marked the run failed: the reason is
#: then the engine event logged just before.
_FAILED_FROM_OUTSIDE = "marked as failed from outside the execution context"


def run_failure(instance: DagsterInstance, run_id: str) -> list[str]:
    """Why the run failed when no step said so (its process died, it could not be launched): the failure
    event's message, or the engine event before it when the failure was reported from outside the run."""
    records = instance.get_records_for_run(
        run_id, of_type={DagsterEventType.RUN_FAILURE, DagsterEventType.ENGINE_EVENT}).records
    reason = None
    for record in records:
        event = record.event_log_entry.dagster_event
        message = (event.message or "").strip() if event else ""
        if event.event_type == DagsterEventType.ENGINE_EVENT:
            reason = message or reason
            continue
        if message and _FAILED_FROM_OUTSIDE not in message:
            reason = message
        break
    return [scrub_passwords(reason.splitlines()[0])] if reason else []
