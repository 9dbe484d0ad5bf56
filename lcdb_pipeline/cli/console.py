"""What `lcdb load` shows of Dagster's event log on the console: one compact line per message the assets
log, no Dagster stack traces (the full log is in the instance, visible in the UI)."""

from __future__ import annotations

import logging
import os
import sys
import time

from dagster import DagsterEventType, Field, JobDefinition, logger

from lcdb_schema.database import scrub_passwords

#: The run config that turns the console logger on at INFO.
CONSOLE_LOGGING = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


class _CompactFormatter(logging.Formatter):
    """`HH:MM:SS region LEVEL message` for what the asset logs; Dagster's own events (step failures with
    their stack traces, skipped checks) are left to the summary the CLI prints at the end and to the UI."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        tags = meta.get("job_tags") or {}
        where = tags.get("dagster/partition") or meta.get("job_name") or ""
        message = meta.get("orig_message") or record.getMessage()
        event = meta.get("dagster_event")
        if event is not None and event.event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            message = f"will retry: {message}"
        return compact_line(record.created, where, record.levelno, message)


def compact_line(timestamp: float, where: str, level: int, message: str) -> str:
    """`HH:MM:SS where [level: ]message` on one line, passwords scrubbed."""
    stamp = time.strftime("%H:%M:%S", time.localtime(timestamp))
    prefix = "" if level == logging.INFO else f"{logging.getLevelName(level).lower()}: "
    return scrub_passwords(f"{stamp} {where} {prefix}{message}".replace("\n", " | "))


def entry_line(entry, where: str) -> str | None:
    """The console line of an event-log entry of a run executed elsewhere (a run process `lcdb load --jobs`
    launched), or None for what the console does not show — the same selection as `_UserMessages`."""
    event = entry.dagster_event
    if entry.level < logging.INFO:
        return None
    if event is not None:
        if event.event_type != DagsterEventType.STEP_UP_FOR_RETRY:
            return None
        return compact_line(entry.timestamp, where, entry.level, f"will retry: {event.message or ''}")
    if entry.user_message.startswith("Dependencies for step"):
        return None
    return compact_line(entry.timestamp, where, entry.level, entry.user_message)


class _UserMessages(logging.Filter):
    """What the assets log, and retries; not Dagster's step events, nor its "not executing" notes about the
    asset checks a failed load skips."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None:
            return event.event_type == DagsterEventType.STEP_UP_FOR_RETRY
        return not str(meta.get("orig_message", "")).startswith("Dependencies for step")


@logger(config_schema={"log_level": Field(str, is_required=False, default_value="INFO")},
        description="lcdb's console: one line per message the assets log, no Dagster stack traces.")
def compact_console_logger(init_context) -> logging.Logger:
    log = logging.Logger("lcdb.run", level=init_context.logger_config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CompactFormatter())
    handler.addFilter(_UserMessages())
    log.addHandler(handler)
    return log


def with_console(job: JobDefinition) -> JobDefinition:
    """The job with lcdb's compact console logger, unless LCDB_DEBUG asks for Dagster's full output."""
    if os.environ.get("LCDB_DEBUG"):
        return job
    return job.with_logger_defs({"console": compact_console_logger})
