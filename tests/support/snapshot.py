"""What LightcurveDB holds, per catalog table: row keys and md5s of the arrays, to compare two loads."""

from __future__ import annotations

import psycopg

from support.databases import conninfo

_SNAPSHOT = {
    "observation": """
        SELECT o.catalog_table, i.name, o.filter_name, o.region, md5(o.cadence_reference::text)
        FROM observation o JOIN instrument i ON i.id = o.instrument_id""",
    "data_set": """
        SELECT o.catalog_table, i.name, o.filter_name, t.name, g.name, md5(d.values::text || ';' || d.errors::text)
        FROM data_set d JOIN observation o ON o.id = d.observation_id JOIN instrument i ON i.id = o.instrument_id
        JOIN target t ON t.id = d.target_id JOIN processing_group g ON g.id = d.processing_group_id""",
    "target_specific_time": """
        SELECT o.catalog_table, i.name, o.filter_name, t.name, md5(s.barycentric_julian_dates::text)
        FROM target_specific_time s JOIN observation o ON o.id = s.observation_id
        JOIN instrument i ON i.id = o.instrument_id JOIN target t ON t.id = s.target_id""",
    "quality_flag_array": """
        SELECT o.catalog_table, i.name, o.filter_name, t.name, q.type, md5(q.quality_flags::text)
        FROM quality_flag_array q JOIN observation o ON o.id = q.observation_id
        JOIN instrument i ON i.id = o.instrument_id JOIN target t ON t.id = q.target_id""",
}


def snapshot(url: str) -> dict[str, dict[str, dict[tuple, str]]]:
    """catalog table → product table → {(camera, filter, target name, ...): md5 of the arrays}.

    Every row is a distinct key (asserted), so equal snapshots mean equal rows, no duplicates."""
    out: dict[str, dict[str, dict[tuple, str]]] = {}
    with psycopg.connect(conninfo(url)) as conn:
        for kind, sql in _SNAPSHOT.items():
            rows = conn.execute(sql).fetchall()
            for row in rows:
                per_kind = out.setdefault(row[0], {k: {} for k in _SNAPSHOT})[kind]
                assert row[1:-1] not in per_kind, f"duplicate {kind} row {row[:-1]}"
                per_kind[row[1:-1]] = row[-1]
    return out


def target_names(table_snapshot: dict[str, dict[tuple, str]]) -> set[int]:
    return {key[2] for key in table_snapshot["target_specific_time"]}


def count_rows_of_targets(url: str, names: set[int]) -> dict[str, int]:
    """Rows in target and in every product table that belong to targets named `names`."""
    names = sorted(names)
    with psycopg.connect(conninfo(url)) as conn:
        counts = {"target": conn.execute("SELECT count(*) FROM target WHERE name = ANY(%s)", (names,)).fetchone()[0]}
        for table in ("data_set", "target_specific_time", "quality_flag_array"):
            counts[table] = conn.execute(
                f"SELECT count(*) FROM {table} p JOIN target t ON t.id = p.target_id WHERE t.name = ANY(%s)",
                (names,)).fetchone()[0]
    return counts


def observations_of(url: str, catalog_table: str) -> int:
    with psycopg.connect(conninfo(url)) as conn:
        return conn.execute("SELECT count(*) FROM observation WHERE catalog_table = %s",
                            (catalog_table,)).fetchone()[0]
