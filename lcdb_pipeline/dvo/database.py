"""A DVO database root: SkyTable.fits, Photcodes.dat, Images.dat and the region directories."""

from __future__ import annotations

import os
from functools import cached_property

from lcdb_pipeline.dvo.catalog import (
    CatalogTable,
    Columns,
    open_average,
    read_catalog,
    read_objects_of,
)
from lcdb_pipeline.dvo.errors import DVOError
from lcdb_pipeline.dvo.images import Images
from lcdb_pipeline.dvo.photcodes import Photcodes
from lcdb_pipeline.dvo.skytable import SkyTable, region_of


class DVODatabase:
    """A DVO database on disk. SkyTable, Photcodes and Images are opened on first use.

    ```
    db = DVODatabase("/data/catdir")
    db.skytable.regions                # every region SkyTable names (n0000 …)
    db.populated_regions()             # regions whose directory holds ≥ 1 listed catalog table (sorted)
    db.tables_in_region("n0000")       # catalog tables SkyTable lists there whose .cpt exists (sorted)
    db.missing_tables("n0000")         # catalog tables SkyTable lists there whose .cpt does not exist
    table = db.read_table("n0000/0001.03")
    ```
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = os.fspath(root)
        if not os.path.isdir(self.root):
            raise DVOError(self.root, "not a directory: a DVO database root holds SkyTable.fits, Photcodes.dat, "
                                      "Images.dat and the region directories")

    def __repr__(self) -> str:
        return f"DVODatabase({self.root!r})"

    # -- top-level files ----------------------------------------------------------------------------------

    def _top(self, name: str) -> str:
        path = os.path.join(self.root, name)
        if not os.path.exists(path):
            raise DVOError(path, f"missing: a DVO database has {name} at its root")
        return path

    @cached_property
    def skytable(self) -> SkyTable:
        return SkyTable(self._top("SkyTable.fits"))

    @cached_property
    def photcodes(self) -> Photcodes:
        return Photcodes(self._top("Photcodes.dat"))

    @cached_property
    def images(self) -> Images:
        return Images(self._top("Images.dat"))

    # -- regions and tables -------------------------------------------------------------------------------

    def table_path(self, name: str, ext: str = "cpt") -> str:
        """`<root>/<NAME>.<ext>` for a SkyTable NAME."""
        return os.path.join(self.root, *name.split("/")) + f".{ext}"

    def _present(self, region: str) -> tuple[list[str], list[str]]:
        listed = self.skytable.tables_in(region)
        directory = os.path.join(self.root, region)
        try:
            files = set(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            files = set()
        present, missing = [], []
        for name in listed:
            cpt = self.table_path(name)
            same_dir = os.path.dirname(cpt) == directory
            ok = (os.path.basename(cpt) in files) if same_dir else os.path.exists(cpt)
            (present if ok else missing).append(name)
        return sorted(present), sorted(missing)

    def tables_in_region(self, region: str) -> list[str]:
        """Catalog tables SkyTable lists in `region` whose .cpt file exists, sorted by name."""
        return self._present(region)[0]

    def missing_tables(self, region: str) -> list[str]:
        """Catalog tables SkyTable lists in `region` whose .cpt file does not exist, sorted by name."""
        return self._present(region)[1]

    def populated_regions(self) -> list[str]:
        """Regions SkyTable lists whose directory exists and holds the .cpt of ≥ 1 listed table (sorted)."""
        return sorted(r for r in self.skytable.regions
                      if os.path.isdir(os.path.join(self.root, r)) and self._present(r)[0])

    def _cpt_of(self, name: str) -> str:
        self.skytable.row_of(name)  # DVOError if SkyTable does not list it
        cpt = self.table_path(name)
        if not os.path.exists(cpt):
            raise DVOError(cpt, f"SkyTable lists catalog table {name!r} but its file is missing", key=name)
        return cpt

    def read_table(self, name: str, check_photcodes: bool = True) -> CatalogTable:
        """Read and validate one catalog table (`.cpt` + `.cpm`; `.cps` on access of `.secfilt`).

        With `check_photcodes` (the default) every measurement PHOTCODE must be in Photcodes.dat.
        """
        cpt = self._cpt_of(name)
        return read_catalog(cpt, name, region_of(name), self.photcodes if check_photcodes else None,
                            default_catid=self.skytable.row_of(name))

    def read_objects(self, name: str) -> Columns:
        """Only the objects (.cpt) of a catalog table; NSTARS is checked, the .cpm is not read."""
        t, lay = open_average(self._cpt_of(name))
        return read_objects_of(t, lay, default_catid=self.skytable.row_of(name))
