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
    in_process_executor,
    load_from_defs_folder,
)

from lcdb_pipeline.defs.resources import lcdb_resources


def build_definitions(resources: dict[str, ConfigurableResource] | None = None) -> Definitions:
    """Every definition of `lcdb_pipeline/defs`, with `resources` (default: from the environment).

    Every job executes its steps in its run process (in-process executor): a region is one step, region runs
    are the unit of parallelism (runs launched at once, Celery workers), and a run whose process dies takes
    its step with it instead of leaving an orphaned step process writing on (docs/scaling.md)."""
    return Definitions.merge(
        load_from_defs_folder(path_within_project=Path(__file__).parent),
        Definitions(resources=resources if resources is not None else lcdb_resources(),
                    executor=in_process_executor),
    )


@definitions
def defs() -> Definitions:
    return build_definitions()
