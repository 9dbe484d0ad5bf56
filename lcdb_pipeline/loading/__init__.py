"""The load layer: the map layer's dataclasses into PostgreSQL — binary COPY, one transaction and one
advisory lock per catalog table, reference upserts. No FITS, no Dagster."""

from lcdb_pipeline.loading.errors import (
    describe_database_error,
    is_transient_database_error,
)
from lcdb_pipeline.loading.reference import (
    ReferenceDataMissing,
    ReferenceIds,
    ReferenceStats,
    reference_ids,
    upsert_reference,
)
from lcdb_pipeline.loading.tables import TableLoadStats, load_table

__all__ = [
    "ReferenceDataMissing", "ReferenceIds", "ReferenceStats", "TableLoadStats", "describe_database_error",
    "is_transient_database_error", "load_table", "reference_ids", "upsert_reference",
]
