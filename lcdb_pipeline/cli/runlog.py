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


def run_failure(instance: DagsterInstance, run_id: str) -> list[str]:
    """The message of the run's failure event (e.g. its process died), when it has one."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_FAILURE).records
    messages = [r.event_log_entry.dagster_event.message for r in records if r.event_log_entry.dagster_event]
    return [scrub_passwords(m.splitlines()[0]) for m in messages if m and m.strip()]
