"""The DVO reading layer: FITS bytes and DVO layouts in, validated native numpy arrays out.

Knows FITS and DVO only (no SQL, no Dagster). See docs/dvo.md.
"""

from lcdb_pipeline.dvo.catalog import CatalogTable, Columns
from lcdb_pipeline.dvo.database import DVODatabase
from lcdb_pipeline.dvo.errors import DVOError, DVOWarning
from lcdb_pipeline.dvo.images import ImageMatch, Images
from lcdb_pipeline.dvo.photcodes import InstrumentNode, Photcode, Photcodes, PhotcodeType, split_name
from lcdb_pipeline.dvo.skytable import SkyTable, region_of

__all__ = [
    "CatalogTable", "Columns", "DVODatabase", "DVOError", "DVOWarning", "ImageMatch", "Images",
    "InstrumentNode", "Photcode", "Photcodes", "PhotcodeType", "SkyTable", "region_of", "split_name",
]
