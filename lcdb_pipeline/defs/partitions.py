"""Region partitions: one per DVO region directory (n0000 … s8230) that SkyTable lists and that holds
catalog tables. Dynamic, so a newly populated region appears without a code change (see sensors)."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import DagsterInstance, DynamicPartitionsDefinition

dvo_regions = DynamicPartitionsDefinition(name="dvo_regions")


def register_regions(instance: DagsterInstance, regions: Iterable[str]) -> list[str]:
    """Add the regions not yet known to the instance as `dvo_regions` partitions; return the added ones."""
    known = set(instance.get_dynamic_partitions(dvo_regions.name))
    new = [region for region in dict.fromkeys(regions) if region not in known]
    if new:
        instance.add_dynamic_partitions(dvo_regions.name, new)
    return new
