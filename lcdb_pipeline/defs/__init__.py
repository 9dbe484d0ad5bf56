"""The orchestration layer: Dagster assets, checks, partitions, resources, sensors, schedules and jobs, one
small module each, loaded into one `Definitions` by `load_from_defs_folder` (`lcdb_pipeline.definitions`)."""
