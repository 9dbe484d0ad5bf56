"""The one exception type (and one warning type) of the DVO reading layer."""

from __future__ import annotations

import os


class DVOError(Exception):
    """A DVO database file that cannot be read as it claims to be.

    `path` is the file at fault, `problem` says what is wrong, `row` is the 0-based table row (when there is
    one) and `key` the header keyword or column involved (when there is one). `str()` names all of them:

        /dvo/n0000/0001.03.cpm: row 17, AVE_REF: AVE_REF 4000 is beyond the 3999 objects of the .cpt
    """

    def __init__(self, path: str | os.PathLike | None, problem: str, row: int | None = None,
                 key: str | None = None) -> None:
        self.path = os.fspath(path) if path is not None else None
        self.problem = problem
        self.row = None if row is None else int(row)
        self.key = key
        super().__init__(path, problem, row, key)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.key:
            where.append(self.key)
        location = f"{self.path or '<unknown file>'}"
        if where:
            location += ": " + ", ".join(where)
        return f"{location}: {self.problem}"

    def __reduce__(self):  # picklable across processes (Dagster runs in subprocesses)
        return (type(self), (self.path, self.problem, self.row, self.key))


class DVOWarning(UserWarning):
    """Something the reader can work around but the caller should know (e.g. IMAGE_IDs not in Images.dat)."""
