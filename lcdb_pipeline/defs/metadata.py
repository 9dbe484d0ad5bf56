"""What a region load did, in the numbers a person reads in the Dagster UI."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from dagster import MetadataValue

from lcdb_pipeline.dvo import CatalogTable
from lcdb_pipeline.loading import TableLoadStats
from lcdb_pipeline.mapping import EXCLUSION_KINDS, TableMapping


@dataclass
class RegionSummary:
    region: str
    started: float = field(default_factory=time.perf_counter)
    tables_loaded: int = 0
    objects: int = 0
    measured_objects: int = 0
    measurements: int = 0
    duplicates_dropped: int = 0
    skipped_bad_positions: int = 0
    bytes_read: int = 0
    bytes_copied: int = 0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("observations", "target_specific_times", "datasets", "quality_flag_arrays"), 0))
    failed: dict[str, str] = field(default_factory=dict)
    skipped_positions: dict[str, list[int]] = field(default_factory=dict)  # catalog table → .cpt rows
    absent: list[str] = field(default_factory=list)  # listed catalog tables without files
    excluded: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXCLUSION_KINDS, 0))  # not epochs

    def add(self, table: CatalogTable, mapping: TableMapping, stats: TableLoadStats) -> None:
        self.tables_loaded += 1
        self.objects += mapping.n_objects
        self.measured_objects += mapping.n_measured_objects
        self.measurements += mapping.n_measurements
        self.duplicates_dropped += mapping.duplicates_dropped
        self.skipped_bad_positions += mapping.skipped_bad_positions
        for kind, n in mapping.excluded.items():
            self.excluded[kind] += n
        self.bytes_read += int(table.nbytes)
        self.bytes_copied += stats.bytes_copied
        for key in self.rows:
            self.rows[key] += getattr(stats, key)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def common_metadata(self) -> dict:
        seconds = self.seconds
        metadata = {
            "region": self.region,
            "catalog tables": self.tables_loaded,
            "objects": self.objects,
            "measured objects": self.measured_objects,
            "measurements": self.measurements,
            "duplicates dropped": self.duplicates_dropped,
            "measurements excluded (not epochs)": sum(self.excluded.values()),
            "measurements excluded, per kind": MetadataValue.json(dict(self.excluded)),
            "objects skipped (no position)": self.skipped_bad_positions,
            "MB read": round(self.bytes_read / 1e6, 2),
            "MB written": round(self.bytes_copied / 1e6, 2),
            "seconds": round(seconds, 3),
            "measurements/s": round(self.measurements / seconds) if seconds else 0,
        }
        if self.skipped_positions:
            metadata["objects skipped (no position), .cpt rows"] = MetadataValue.json(self.skipped_positions)
        if self.absent:
            metadata["catalog tables absent"] = MetadataValue.json(self.absent)
        return metadata

    def table_metadata(self, key: str) -> dict:
        rows = self.rows[key]
        return {"rows written": MetadataValue.int(rows),
                "rows/s": round(rows / self.seconds) if self.seconds else 0}


def row_list(rows: np.ndarray, limit: int = 10) -> str:
    """The first `limit` row numbers, and how many there are in all."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return shown + (f", … ({rows.size} in all)" if rows.size > limit else "")
