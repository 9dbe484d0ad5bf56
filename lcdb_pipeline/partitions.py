"""Region partitions: one per DVO region directory (n0000 … s8230) that SkyTable lists and that holds
catalog tables. Dynamic, so a newly populated region appears without a code change (see sensors)."""

from __future__ import annotations

import re
from pathlib import Path

from dagster import DynamicPartitionsDefinition

dvo_regions = DynamicPartitionsDefinition(name="dvo_regions")

REGION_NAME = re.compile(r"[ns]\d{4}")


class InvalidRegionKey(ValueError):
    """A partition key that is not a DVO region name, or that would leave the DVO root."""


def region_directory(root: Path, region: str) -> Path:
    """`root/region`, checked before any file is opened: a region name (n0000 … s8230), inside `root`."""
    if not isinstance(region, str) or not REGION_NAME.fullmatch(region):
        raise InvalidRegionKey(
            f"partition key {region!r} is not a DVO region name (expected n0000 … s8230, e.g. 'n0730')"
        )
    root = Path(root).resolve()
    path = (root / region).resolve()
    if path.parent != root:
        raise InvalidRegionKey(f"partition key {region!r} resolves outside the DVO root {root}")
    return path
