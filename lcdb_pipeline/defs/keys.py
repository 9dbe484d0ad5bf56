"""Names shared by the definitions: asset keys and the writers' concurrency pool."""

from dagster import AssetKey

PREFIX = "lightcurvedb"
#: Every write to LightcurveDB holds a slot of this pool (limit in dagster.yaml).
WRITERS_POOL = "lcdb_writers"

MISSION = AssetKey([PREFIX, "mission"])
INSTRUMENTS = AssetKey([PREFIX, "instruments"])
PROCESSING_GROUPS = AssetKey([PREFIX, "processing_groups"])
REFERENCE_ASSETS = (MISSION, INSTRUMENTS, PROCESSING_GROUPS)

OBSERVATION = AssetKey([PREFIX, "observation"])
TARGET_SPECIFIC_TIME = AssetKey([PREFIX, "target_specific_time"])
DATA_SET = AssetKey([PREFIX, "data_set"])
QUALITY_FLAG_ARRAY = AssetKey([PREFIX, "quality_flag_array"])
REGION_ASSETS = (OBSERVATION, TARGET_SPECIFIC_TIME, DATA_SET, QUALITY_FLAG_ARRAY)
