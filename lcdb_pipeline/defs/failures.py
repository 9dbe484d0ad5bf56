"""How failures reach Dagster: input faults fail a step unretried, a lost database connection retryably."""

from __future__ import annotations

from contextlib import contextmanager

from dagster import Failure

from lcdb_pipeline.loading import describe_database_error, is_transient_database_error


@contextmanager
def database_errors(label: str, doing: str, loaded: int | None = None, action: str = "", retried: bool = True):
    """A lost or refused PostgreSQL connection (or a deadlock) becomes one clear, retryable Failure; the
    transaction in flight is rolled back by PostgreSQL, the catalog tables committed before it stay loaded."""
    try:
        yield
    except Exception as exc:
        if not is_transient_database_error(exc):
            raise
        done = (f"; {loaded} catalog table(s) of the region were loaded before it, this one was rolled back"
                if loaded is not None else "")
        raise Failure(
            description=f"{label}: {doing}: {describe_database_error(exc, action)}{done}"
                        + (" (retried per the RetryPolicy)" if retried else ""),
            allow_retries=True,
        ) from None
