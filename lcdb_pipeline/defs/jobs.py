"""Jobs: load the reference data; load DVO regions (one partition = one region)."""

from dagster import AssetSelection, define_asset_job

from lcdb_pipeline.defs.keys import MISSION, REGION_ASSETS

reference_job = define_asset_job(
    "load_reference", selection=AssetSelection.assets(MISSION).required_multi_asset_neighbors(),
    description="Mission, catalog, instruments and processing groups.",
)
load_regions_job = define_asset_job(
    "load_dvo_regions", selection=AssetSelection.assets(*REGION_ASSETS),
    description="Read each catalog table of a region once; replace its rows in the four product tables.",
)
