"""Replacing one catalog table's rows in LightcurveDB (PostgreSQL). Knows SQL; knows nothing of FITS or Dagster.

Each catalog table is replaced in ONE transaction, under a transaction-scoped advisory lock on its name:
targets upserted, observations upserted (ids kept), their old product rows deleted, new rows streamed by
binary COPY. A crash at any point leaves the table fully old; two writers of one table queue, not interleave.
The hot path is numpy only: a chunk of rows is one structured array in COPY BINARY layout, sent by a writer
thread while the next chunk is encoded; foreign keys are checked in bulk (locks on the referenced rows)
instead of by per-row triggers when the role may (`_check_references_in_bulk`). No ORM objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from lcdb_pipeline.loading.copy_binary import CopyWriter, Field, copy_rows
from lcdb_pipeline.loading.locks import lock_catalog_table
from lcdb_pipeline.loading.reference import ReferenceDataMissing, ReferenceIds
from lcdb_pipeline.mapping.contract import (
    ObservationBlock,
    ObservationChunk,
    TableMapping,
)
from lcdb_schema import DBFlagsArray, DVOObservation, PhotFlagsArray

PHOT_FLAGS_TYPE = PhotFlagsArray.__mapper_args__["polymorphic_identity"]
DB_FLAGS_TYPE = DBFlagsArray.__mapper_args__["polymorphic_identity"]
DVO_OBSERVATION_TYPE = DVOObservation.__mapper_args__["polymorphic_identity"]
PRODUCT_TABLES = ("data_set", "target_specific_time", "quality_flag_array")


@dataclass
class TableLoadStats:
    catalog_table: str
    observations: int = 0
    targets: int = 0
    datasets: int = 0
    target_specific_times: int = 0
    quality_flag_arrays: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.observations + self.datasets + self.target_specific_times + self.quality_flag_arrays


def load_table(engine: sa.Engine, mapping: TableMapping, refs: ReferenceIds) -> TableLoadStats:
    """Replace everything LightcurveDB holds for one catalog table, atomically."""
    started = time.perf_counter()
    stats = TableLoadStats(mapping.catalog_table)
    with engine.begin() as conn:
        cur = conn.connection.driver_connection.cursor()
        lock_catalog_table(cur, mapping.catalog_table)
        names = mapping.target_names()
        target_ids = _upsert_targets(cur, refs.catalog_id, names)
        stats.targets = int(names.size)
        obs_ids = _upsert_observations(cur, mapping, refs)
        stats.observations = len(obs_ids)
        _delete_old_products(cur, mapping.catalog_table, obs_ids)
        checked_in_bulk = _check_references_in_bulk(cur, refs)
        with CopyWriter(cur) as writer:
            for block, obs_id in zip(mapping.blocks, obs_ids):
                for chunk in block.chunks():
                    _copy_chunk(writer, chunk, target_ids[np.searchsorted(names, chunk.target_names)], obs_id,
                                refs.processing_group_ids, stats)
        if checked_in_bulk:
            cur.execute("SET LOCAL session_replication_role = origin")
    stats.seconds = time.perf_counter() - started
    return stats


def _upsert_observations(cur, mapping: TableMapping, refs: ReferenceIds) -> list[int]:
    """Ids of the table's observations, in block order; existing rows keep their ids."""
    return [_upsert_observation(cur, block, refs) for block in mapping.blocks]


def _upsert_observation(cur, block: ObservationBlock, refs: ReferenceIds) -> int:
    camera_id = refs.camera_ids.get(block.camera)
    if camera_id is None:
        raise ReferenceDataMissing(f"instrument {block.camera!r} is not in LightcurveDB: "
                                   "re-materialize the reference assets (Photcodes changed?)")
    cur.execute(
        "INSERT INTO observation (type, cadence_reference, instrument_id, region, catalog_table, filter_name)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (catalog_table, instrument_id, filter_name)"
        " DO UPDATE SET cadence_reference = EXCLUDED.cadence_reference, region = EXCLUDED.region"
        " RETURNING id",
        (DVO_OBSERVATION_TYPE, block.cadences_ms, camera_id, block.region, block.catalog_table, block.filter_name),
    )
    return cur.fetchone()[0]


def _delete_old_products(cur, catalog_table: str, obs_ids: list[int]) -> None:
    """The table's observations that no longer occur (a filter vanished) go with their products; the
    products of the others are deleted, to be written again."""
    cur.execute(
        "DELETE FROM observation WHERE type = %s AND catalog_table = %s AND NOT (id = ANY(%s))",
        (DVO_OBSERVATION_TYPE, catalog_table, obs_ids),
    )
    for product in ("data_set", "target_specific_time"):
        cur.execute(f"DELETE FROM {product} WHERE observation_id = ANY(%s)", (obs_ids,))
    cur.execute(
        "DELETE FROM quality_flag_array WHERE observation_id = ANY(%s) AND type IN (%s, %s)",
        (obs_ids, PHOT_FLAGS_TYPE, DB_FLAGS_TYPE),
    )


def _copy_chunk(writer: CopyWriter, chunk: ObservationChunk, tids: np.ndarray, obs_id: int, group_ids: tuple[int, ...],
                stats: TableLoadStats) -> None:
    """Three COPY statements for a chunk of targets: its DataSets (all processing groups: one COPY, the shared
    errors encoded straight from one array), its TargetSpecificTimes, its two QualityFlagArray kinds."""
    n, k = chunk.target_names.size, len(group_ids)
    m = chunk.errors.shape[-1]
    stats.bytes_copied += writer.submit("data_set", [(k * n, [
        Field("processing_group_id", "int4", np.repeat(np.asarray(group_ids, dtype=np.int32), n)),
        Field("target_id", "int8", np.broadcast_to(tids, (k, n))),
        Field("observation_id", "int4", obs_id),
        Field("values", "float8[]", chunk.values[:k]),
        Field("errors", "float8[]", np.broadcast_to(chunk.errors, (k, n, m))),
    ])])
    stats.datasets += n * k
    stats.bytes_copied += writer.submit("target_specific_time", [(n, [
        Field("target_id", "int8", tids), Field("observation_id", "int4", obs_id),
        Field("barycentric_julian_dates", "float8[]", chunk.bjd),
    ])])
    stats.target_specific_times += n
    stats.bytes_copied += writer.submit("quality_flag_array", [(n, [
        Field("type", "text", flag_type), Field("observation_id", "int4", obs_id),
        Field("target_id", "int8", tids), Field("quality_flags", "int4[]", flags),
    ]) for flag_type, flags in ((PHOT_FLAGS_TYPE, chunk.phot_flags), (DB_FLAGS_TYPE, chunk.db_flags))])
    stats.quality_flag_arrays += 2 * n


def _check_references_in_bulk(cur, refs: ReferenceIds) -> bool:
    """Let the COPYs skip PostgreSQL's per-row foreign-key triggers, when the role may, and check the keys
    in bulk instead; return whether it did.

    A foreign-key check is a trigger per inserted row and key (three per DataSet row) — on narrow rows it
    costs more than the COPY itself. Every key a product row of this transaction references is already
    held: the targets by `_upsert_targets` (`FOR KEY SHARE`, or inserted here), the observations by their
    upsert; the processing groups are locked (and counted) here. With those rows locked nothing can delete
    them before commit, which is all the per-row checks would guarantee. `session_replication_role =
    replica` (transaction-local) skips the triggers; it needs a superuser or, on PostgreSQL >= 15,
    ``GRANT SET ON PARAMETER session_replication_role TO <role>``. Without that the per-row checks run.

    Only the foreign-key triggers may be skipped: when a product table has any trigger of its own (someone's
    audit trigger, a test's), the per-row path runs, so such triggers fire exactly as they would otherwise.
    """
    cur.execute(
        "SELECT (current_setting('is_superuser')::bool"
        "        OR has_parameter_privilege('session_replication_role', 'SET'))"
        "   AND NOT EXISTS (SELECT FROM pg_trigger WHERE tgrelid = ANY(%s::regclass[])"
        "                   AND NOT tgisinternal AND tgenabled <> 'D')",
        (list(PRODUCT_TABLES),),
    )
    if not cur.fetchone()[0]:
        return False
    cur.execute("SELECT count(*) FROM (SELECT id FROM processing_group WHERE id = ANY(%s) FOR KEY SHARE) g",
                (list(refs.processing_group_ids),))
    if cur.fetchone()[0] != len(set(refs.processing_group_ids)):
        raise ReferenceDataMissing("a processing group vanished: re-materialize the reference assets")
    cur.execute("SET LOCAL session_replication_role = replica")
    return True


def _upsert_targets(cur, catalog_id: int, names: np.ndarray) -> np.ndarray:
    """Target ids aligned with the sorted unique `names`, inserting the new ones."""
    if names.size == 0:
        return np.zeros(0, dtype=np.int64)
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS lcdb_stage_names (name int8) ON COMMIT DELETE ROWS")
    copy_rows(cur, "lcdb_stage_names", names.size, [Field("name", "int8", names)])
    cur.execute(
        "INSERT INTO target (catalog_id, name) SELECT %s, s.name FROM lcdb_stage_names s"
        " ORDER BY s.name ON CONFLICT (catalog_id, name) DO NOTHING",
        (catalog_id,),
    )
    cur.execute(
        "SELECT t.name, t.id FROM target t JOIN lcdb_stage_names s ON s.name = t.name"
        " WHERE t.catalog_id = %s ORDER BY t.name FOR KEY SHARE OF t",
        (catalog_id,),
    )
    rows = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
    if not np.array_equal(rows[:, 0], names):
        raise RuntimeError("target upsert returned a different set of names than was staged")
    return rows[:, 1]
