"""The lcdb code location: everything Dagster loads (`dagster dev`, `dagster definitions validate`).

The definitions are the modules of `lcdb_pipeline/defs` (Dagster's defs-folder layout); the resources are
bound here, from the LCDB_* environment, or from the settings the `lcdb` command passes.
"""

from __future__ import annotations

from pathlib import Path

from dagster import (
    ConfigurableResource,
    Definitions,
    definitions,
    load_from_defs_folder,
)

from lcdb_pipeline.defs.resources import lcdb_resources


def build_definitions(resources: dict[str, ConfigurableResource] | None = None) -> Definitions:
    """Every definition of `lcdb_pipeline/defs`, with `resources` (default: from the environment)."""
    return Definitions.merge(
        load_from_defs_folder(path_within_project=Path(__file__).parent),
        Definitions(resources=resources if resources is not None else lcdb_resources()),
    )


@definitions
def defs() -> Definitions:
    return build_definitions()
