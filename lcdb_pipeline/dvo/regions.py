"""Region directories of a DVO database: which names are region keys, where they are, what they hold.

A region key (`n0000` … `s8230`) comes from users and from Dagster partition keys, so it is checked as a
string before any file is opened, then confined to the DVO root (`region_directory`, the one place that
does both). `region_tables` says what a region holds: the catalog tables to load, the ones SkyTable lists
but whose files are absent, and the damaged ones.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lcdb_pipeline.dvo.database import DVODatabase
from lcdb_pipeline.dvo.errors import DVOError

#: A region key is a declination band directory name: no separator, no dot, nothing that leaves the root.
REGION_NAME = re.compile(r"[ns]\d{4}")


class InvalidRegionKey(ValueError):
    """A partition key that is not a DVO region name, or that would leave the DVO root."""

    def __init__(self, key: object, problem: str) -> None:
        super().__init__(key, problem)
        self.key = key
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.key!r} {self.problem}"


def check_region_key(region: object) -> str:
    """`region` if it is a region name (`n0000` … `s8230`); `InvalidRegionKey` otherwise. Pure string check:
    nothing on disk is touched, so a key like `../x` or `/etc` is refused before any file is opened."""
    if not isinstance(region, str) or not REGION_NAME.fullmatch(region):
        raise InvalidRegionKey(
            region, "is not a DVO region name (expected a declination band n0000 … n8230 or s0000 … s8230, "
                    "e.g. 'n0730')"
        )
    return region


def region_directory(root: Path, region: str) -> Path:
    """`root/region`, checked before any file is opened: a region name (n0000 … s8230), inside `root`."""
    check_region_key(region)
    root = Path(root).resolve()
    path = (root / region).resolve()
    if path.parent != root:  # a symlinked region directory pointing elsewhere
        raise InvalidRegionKey(region, f"resolves outside the DVO root {root}")
    return path


@dataclass
class RegionTables:
    """What a region holds: the catalog tables to load, those SkyTable lists but that are absent, and the
    damaged ones (a listed table whose .cpt is missing while its other files are there)."""

    region: str
    present: list[str]
    absent: list[str] = field(default_factory=list)
    damaged: dict[str, DVOError] = field(default_factory=dict)

    @property
    def listed(self) -> int:
        return len(self.present) + len(self.absent) + len(self.damaged)


def _names(tables: list[str], limit: int = 3) -> str:
    shown = ", ".join(tables[:limit])
    return shown + (f", … ({len(tables)} in all)" if len(tables) > limit else "")


def region_tables(database: DVODatabase, region: str) -> RegionTables:
    """The catalog tables of `region` (a key `region_directory` accepted); `DVOError` naming the region
    directory when there is nothing to load (SkyTable does not list the region, or its directory is
    missing, or it holds none of the listed tables)."""
    directory = os.path.join(database.root, region)
    listed = database.skytable.tables_in(region)
    if region not in database.skytable.regions:
        raise DVOError(directory, f"SkyTable ({database.skytable.path}) does not list a region {region}: "
                                  "nothing to load")
    if not os.path.isdir(directory):
        what = (f"SkyTable lists {len(listed)} catalog table(s) there ({_names(listed)})" if listed
                else "SkyTable lists no catalog table there")
        raise DVOError(directory, f"region directory does not exist; {what}: nothing to load")
    present, missing = database.tables_in_region(region), database.missing_tables(region)
    if not present:
        what = (f"none of the {len(listed)} catalog table(s) SkyTable lists there ({_names(listed)})" if listed
                else "no catalog table (SkyTable lists none there)")
        raise DVOError(directory, f"region directory holds {what}: nothing to load")
    tables = RegionTables(region, present)
    for name in missing:
        damage = _half_present(database, name)
        if damage is None:
            tables.absent.append(name)
        else:
            tables.damaged[name] = damage
    return tables


def _half_present(database: DVODatabase, name: str) -> DVOError | None:
    """The error for a listed table whose .cpt is missing while a sibling file exists; None if all are absent."""
    siblings = [database.table_path(name, ext) for ext in ("cpm", "cps", "cpn")]
    present = [os.path.basename(path) for path in siblings if os.path.exists(path)]
    if not present:
        return None
    return DVOError(database.table_path(name, "cpt"),
                    f"missing, while {', '.join(present)} of the same catalog table exist (half-copied or "
                    "half-deleted table?)", key=name)
