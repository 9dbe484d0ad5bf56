"""The DVO reading layer: FITS bytes and DVO layouts in, validated native numpy arrays out.

Knows FITS and DVO only (no SQL, no Dagster). See docs/dvo.md.
"""

from lcdb_pipeline.dvo.catalog import CatalogTable, Columns, bad_position_rows
from lcdb_pipeline.dvo.database import DVODatabase
from lcdb_pipeline.dvo.errors import DVOError, DVOWarning
from lcdb_pipeline.dvo.fingerprint import region_fingerprint
from lcdb_pipeline.dvo.images import ImageMatch, Images
from lcdb_pipeline.dvo.photcodes import (
    InstrumentNode,
    MeasurementKind,
    Photcode,
    Photcodes,
    PhotcodeType,
    split_name,
)
from lcdb_pipeline.dvo.regions import (
    InvalidRegionKey,
    RegionTables,
    check_region_key,
    region_directory,
    region_tables,
)
from lcdb_pipeline.dvo.skytable import SkyTable, region_of

__all__ = [
    "CatalogTable", "Columns", "DVODatabase", "DVOError", "DVOWarning", "ImageMatch", "Images",
    "InstrumentNode", "InvalidRegionKey", "MeasurementKind", "Photcode", "Photcodes", "PhotcodeType", "RegionTables",
    "SkyTable", "bad_position_rows", "check_region_key", "region_directory", "region_fingerprint", "region_of",
    "region_tables", "split_name",
]
