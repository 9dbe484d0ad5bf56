"""A small FITS binary-table reader: exactly what DVO files need, nothing more.

Reading: the primary header and the header of the requested extension are parsed from 2880-byte blocks;
the table is memory-mapped as a big-endian numpy structured array whose dtype comes from TTYPEn/TFORMn
(with explicit offsets, so every field sits where NAXIS1 says); columns are fetched **by name** and
converted to native byte order in one chunked pass over the rows (each chunk of rows is read once, while it
is in cache, for every requested column). TSCALn/TZEROn are honoured when present and non-trivial. The file
length is checked against NAXIS1 × NAXIS2 before anything is mapped.

(The writer the synthetic generator uses is `lcdb_pipeline.synth.fits_writer`.)

Every problem raises `DVOError` naming the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lcdb_pipeline.dvo.errors import DVOError

BLOCK = 2880
CARD = 80

#: bytes per element of each binary-table TFORM code
_WIDTH = {"L": 1, "X": None, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16,
          "P": 8, "Q": 16}
#: big-endian numpy type of each numeric TFORM code
BIG_ENDIAN_TYPES = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8", "C": ">c8", "M": ">c16",
       "L": "u1"}
_UNSIGNED_BE = {"I": ">u2", "J": ">u4", "K": ">u8", "B": "u1"}
_TFORM_RE = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])(.*)$")

#: rows converted per chunk: big enough to amortise Python overhead, small enough to stay in cache
CHUNK_BYTES = 4 << 20


# --------------------------------------------------------------------------------------------------- headers

@dataclass
class Header:
    """The cards of one HDU header: `cards` in file order, `values` keyword → value (first occurrence)."""

    cards: list[tuple[str, object, str]]
    values: dict[str, object]
    offset: int  # byte offset of the header in the file
    size: int  # bytes taken by the header blocks

    def get(self, key: str, default=None):
        return self.values.get(key.upper(), default)

    def __contains__(self, key: str) -> bool:
        return key.upper() in self.values

    def __getitem__(self, key: str):
        return self.values[key.upper()]


def _parse_value(text: str, path: str, key: str) -> tuple[object, str]:
    """Value and comment of the part of a card after '= '."""
    s = text.lstrip()
    if s.startswith("'"):
        i, out = 1, []
        while True:
            j = s.find("'", i)
            if j < 0:
                raise DVOError(path, f"unterminated string value in header card {key}", key=key)
            out.append(s[i:j])
            if s[j + 1 : j + 2] == "'":  # '' is an escaped quote
                out.append("'")
                i = j + 2
                continue
            rest = s[j + 1 :]
            break
        comment = rest.split("/", 1)[1].strip() if "/" in rest else ""
        return "".join(out).rstrip(), comment
    raw, _, comment = s.partition("/")
    raw = raw.strip()
    comment = comment.strip()
    if raw == "":
        return None, comment
    if raw == "T":
        return True, comment
    if raw == "F":
        return False, comment
    try:
        return int(raw), comment
    except ValueError:
        pass
    try:
        return float(raw.replace("D", "E").replace("d", "e")), comment
    except ValueError:
        return raw, comment  # complex or odd values: keep the text


def read_header(f, path: str, offset: int, file_size: int, hdu: int) -> Header:
    """Parse the header starting at `offset` (a multiple of 2880) up to and including its END card."""
    cards: list[tuple[str, object, str]] = []
    values: dict[str, object] = {}
    pos = offset
    f.seek(offset)
    while True:
        block = f.read(BLOCK)
        if len(block) < BLOCK:
            if pos == offset and hdu == 0 and len(block) == 0:
                raise DVOError(path, "not a FITS file: the file is empty")
            raise DVOError(
                path, f"truncated or not a FITS file: the header of HDU {hdu} (from byte {offset}) has no END "
                      f"card before the end of the file ({file_size} bytes)")
        try:
            text = block.decode("ascii")
        except UnicodeDecodeError as exc:
            if hdu == 0 and pos == 0:
                raise DVOError(path, "not a FITS file: the first header block is not ASCII text") from None
            raise DVOError(path, f"header of HDU {hdu} holds a non-ASCII byte at file offset "
                                 f"{pos + exc.start}") from None
        for i in range(0, BLOCK, CARD):
            card = text[i : i + CARD]
            key = card[:8].strip().upper()
            if pos == offset and i == 0:
                expected = "SIMPLE" if hdu == 0 else "XTENSION"
                if key != expected:
                    what = "not a FITS file" if hdu == 0 else f"HDU {hdu} is missing"
                    raise DVOError(path, f"{what}: the header at byte {offset} starts with {card[:30]!r}, "
                                         f"not {expected}", key=expected)
            if key == "END":
                return Header(cards, values, offset, pos + BLOCK - offset)
            if card[8:10] == "= " and key not in ("COMMENT", "HISTORY", ""):
                value, comment = _parse_value(card[10:], path, key)
                cards.append((key, value, comment))
                values.setdefault(key, value)
            elif key:
                cards.append((key, card[8:].rstrip(), ""))
        pos += BLOCK


def _data_size(h: Header) -> int:
    """Bytes of the data unit following header `h` (without padding)."""
    naxis = int(h.get("NAXIS", 0) or 0)
    if naxis == 0:
        return 0
    n = 1
    for i in range(1, naxis + 1):
        n *= int(h.get(f"NAXIS{i}", 0) or 0)
    bitpix = abs(int(h.get("BITPIX", 8)))
    return (bitpix // 8) * int(h.get("GCOUNT", 1) or 1) * (n + int(h.get("PCOUNT", 0) or 0))


def padded(n: int) -> int:
    return ((n + BLOCK - 1) // BLOCK) * BLOCK


# --------------------------------------------------------------------------------------------------- columns

@dataclass(frozen=True)
class Column:
    name: str  # disambiguated field name (duplicate TTYPEs get _2, _3, ...)
    ttype: str  # TTYPE as written
    tform: str
    code: str  # L X B I J K A E D C M
    repeat: int
    offset: int  # byte offset within the row
    width: int  # bytes
    unit: str
    tscal: float
    tzero: float

    @property
    def scaled(self) -> bool:
        return self.tscal != 1.0 or self.tzero != 0.0

    @property
    def unsigned_offset(self) -> bool:
        """TZERO is the standard unsigned-integer offset (2**(bits-1)) with TSCAL 1."""
        bits = {"I": 16, "J": 32, "K": 64}.get(self.code)
        return bits is not None and self.tscal == 1.0 and self.tzero == float(2 ** (bits - 1))


def parse_tform(tform: str, path: str, key: str) -> tuple[int, str, int]:
    """(repeat, code, width in bytes) of a binary-table TFORM."""
    m = _TFORM_RE.match(tform or "")
    if not m:
        raise DVOError(path, f"unsupported or malformed TFORM {tform!r}", key=key)
    repeat = int(m.group(1)) if m.group(1) else 1
    code = m.group(2)
    if code in ("P", "Q"):
        raise DVOError(path, f"variable-length array column (TFORM {tform!r}) is not supported", key=key)
    if code == "X":
        width = (repeat + 7) // 8
    else:
        width = repeat * _WIDTH[code]
    return repeat, code, width


# --------------------------------------------------------------------------------------------------- tables

class BinTable:
    """One FITS BINTABLE extension of a file, ready to be read column by column.

    Opening parses the headers and checks the file is long enough; no table data is read until `read`.
    """

    def __init__(self, path: str | os.PathLike, hdu: int = 1) -> None:
        self.path = os.fspath(path)
        try:
            self.file_size = os.path.getsize(self.path)
            f = open(self.path, "rb")
        except FileNotFoundError:
            raise DVOError(self.path, "file not found") from None
        except OSError as exc:
            raise DVOError(self.path, f"cannot open: {exc.strerror or exc}") from None
        with f:
            self.primary = read_header(f, self.path, 0, self.file_size, 0)
            offset = padded(self.primary.size + _data_size(self.primary))
            for n in range(1, hdu + 1):
                if offset >= self.file_size:
                    raise DVOError(self.path, f"truncated: HDU {n} (the table) should start at byte {offset} but "
                                              f"the file has only {self.file_size} bytes")
                header = read_header(f, self.path, offset, self.file_size, n)
                if n < hdu:
                    offset = padded(offset + header.size + _data_size(header))
        self.header = header
        self.header_bytes = self.primary.size + header.size
        xt = str(header.get("XTENSION", "")).strip()
        if xt != "BINTABLE":
            raise DVOError(self.path, f"HDU {hdu} is a {xt!r} extension, not a BINTABLE", key="XTENSION")
        self.extname = str(header.get("EXTNAME", "") or "").strip()
        self.row_bytes = self._int_key("NAXIS1")
        self.nrows = self._int_key("NAXIS2")
        self.data_offset = offset + header.size
        self.columns = self._columns()
        self._by_name = {c.name.upper(): c for c in self.columns}
        for c in self.columns:  # TTYPE lookups find the first column of that name
            self._by_name.setdefault(c.ttype.upper(), c)
        self.data_bytes = self.row_bytes * self.nrows
        end = self.data_offset + self.data_bytes
        if self.file_size < end:
            have = max(0, self.file_size - self.data_offset)
            row = have // self.row_bytes if self.row_bytes else 0
            raise DVOError(
                self.path,
                f"truncated: the table needs {end} bytes ({self.nrows} rows of {self.row_bytes} bytes from byte "
                f"{self.data_offset}) but the file has {self.file_size}; {end - self.file_size} bytes are "
                f"missing and row {row} is the first incomplete row",
                row=row)
        self._raw: np.ndarray | None = None

    def _int_key(self, key: str) -> int:
        v = self.header.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise DVOError(self.path, f"header keyword {key} is missing or not a non-negative integer ({v!r})",
                           key=key)
        return v

    def _columns(self) -> list[Column]:
        h = self.header
        tfields = self._int_key("TFIELDS")
        cols, offset, seen = [], 0, {}
        for i in range(1, tfields + 1):
            tform = h.get(f"TFORM{i}")
            if not isinstance(tform, str):
                raise DVOError(self.path, f"TFORM{i} is missing", key=f"TFORM{i}")
            repeat, code, width = parse_tform(tform, self.path, f"TFORM{i}")
            ttype = str(h.get(f"TTYPE{i}") or f"COL{i}").strip()
            n = seen.get(ttype.upper(), 0) + 1
            seen[ttype.upper()] = n
            name = ttype if n == 1 else f"{ttype}_{n}"
            tscal = h.get(f"TSCAL{i}", 1.0)
            tzero = h.get(f"TZERO{i}", 0.0)
            cols.append(Column(name, ttype, tform.strip(), code, repeat, offset, width,
                               str(h.get(f"TUNIT{i}") or "").strip(),
                               float(tscal) if tscal is not None else 1.0,
                               float(tzero) if tzero is not None else 0.0))
            offset += width
        if offset != self.row_bytes:
            raise DVOError(self.path, f"the TFORMs add up to {offset} bytes per row but NAXIS1 is "
                                      f"{self.row_bytes}", key="NAXIS1")
        return cols

    # -- access -------------------------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name.upper() in self._by_name

    def column(self, name: str) -> Column:
        try:
            return self._by_name[name.upper()]
        except KeyError:
            raise DVOError(self.path, f"column {name} is missing from the {self.extname or 'table'} table",
                           key=name) from None

    def _field_dtype(self, c: Column, unsigned: bool = False):
        if c.code == "A":
            return f"S{c.repeat}"
        if c.code == "X":
            return ("u1", (c.width,))
        base = _UNSIGNED_BE[c.code] if unsigned and c.code in _UNSIGNED_BE else BIG_ENDIAN_TYPES[c.code]
        return base if c.repeat == 1 else (base, (c.repeat,))

    def raw_dtype(self, unsigned: Iterable[str] = ()) -> np.dtype:
        """The big-endian structured dtype of a row; columns named in `unsigned` as unsigned integers."""
        uns = {u.upper() for u in unsigned}
        names, formats, offsets = [], [], []
        for c in self.columns:
            if c.width == 0:
                continue
            names.append(c.name)
            formats.append(self._field_dtype(c, c.name.upper() in uns))
            offsets.append(c.offset)
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": self.row_bytes})

    def raw(self, unsigned: Iterable[str] = ()) -> np.ndarray:
        """The table as a read-only memory-mapped big-endian structured array (no bytes read yet)."""
        dtype = self.raw_dtype(unsigned)
        if self.nrows == 0 or self.row_bytes == 0:
            return np.zeros(self.nrows if self.row_bytes == 0 else 0, dtype=dtype)
        return np.memmap(self.path, dtype=dtype, mode="r", offset=self.data_offset, shape=(self.nrows,))

    def read(self, spec: Sequence[tuple[str, object, bool]]) -> dict[str, np.ndarray]:
        """Read columns in one chunked pass: `spec` is (column name, output dtype, unsigned) per column.

        Returns {column name as given: native array}. `unsigned` reinterprets the bits of a signed integer
        column stored without TZERO (the DVO convention for unsigned fields). String columns (TFORM A) come
        back as numpy unicode arrays with trailing blanks and NULs removed (or, for a 1-byte A column read
        with dtype uint8, as the raw byte); logical columns (L) as bool.
        """
        cols = [self.column(name) for name, _, _ in spec]
        unsigned = [c.name for c, (_, _, u) in zip(cols, spec) if (u or c.unsigned_offset) and c.code in "IJK"]
        raw = self.raw(unsigned)
        n = raw.shape[0]
        out: dict[str, np.ndarray] = {}
        plans = []
        for (name, dtype, _), c in zip(spec, cols):
            shape = (n,) if c.repeat == 1 else (n, c.repeat)
            if c.code == "A" and dtype is not None and np.dtype(dtype) == np.uint8 and c.repeat == 1:
                out[name], how = np.empty(n, dtype=np.uint8), "B"  # a raw byte (e.g. a type code)
            elif c.code == "A":
                out[name], how = np.empty(n, dtype=f"S{c.repeat}"), "N"
            elif c.code == "X":
                out[name], how = np.empty((n, c.width), dtype=np.uint8), "N"
            elif c.code == "L":
                out[name], how = np.empty(shape, dtype=bool), "L"
            elif c.unsigned_offset:  # the standard FITS unsigned convention: flip the sign bit
                native = np.dtype(_UNSIGNED_BE[c.code]).newbyteorder("=")
                out[name], how = np.empty(shape, dtype=native if dtype is None else dtype), "U"
            elif c.scaled:
                out[name], how = np.empty(shape, dtype=np.float64 if dtype is None else dtype), "S"
            else:
                native = np.dtype(self._field_dtype(c, c.name in unsigned)).base.newbyteorder("=")
                out[name], how = np.empty(shape, dtype=native if dtype is None else dtype), "N"
            plans.append((name, c, how))
        chunk = max(1, CHUNK_BYTES // max(1, self.row_bytes))
        for start in range(0, n, chunk):
            block = raw[start : start + chunk]
            for name, c, how in plans:
                src = block[c.name]
                dst = out[name][start : start + chunk]
                if how == "N":
                    dst[...] = src
                elif how == "B":
                    dst[...] = src.view(np.uint8)
                elif how == "L":
                    dst[...] = src == ord("T")
                elif how == "U":
                    sign = np.array(1 << (src.dtype.itemsize * 8 - 1), dtype=src.dtype.newbyteorder("="))
                    dst[...] = src ^ sign
                else:
                    dst[...] = src * c.tscal + c.tzero
        for name, c, how in plans:
            if c.code == "A" and how == "N":
                out[name] = _decode_strings(out[name])
        return out


def _decode_strings(a: np.ndarray) -> np.ndarray:
    """Fixed-width byte strings → unicode, cutting at the first NUL and stripping trailing blanks."""
    if a.size == 0:
        return a.astype("U1")
    width = a.dtype.itemsize
    b = a.view(np.uint8).reshape(a.size, width)
    nul = b == 0
    if nul.any():
        # everything from the first NUL on becomes a NUL (C strings may hold garbage after the terminator)
        after = np.cumsum(nul, axis=1) > 0
        b = np.where(after, 0, b).astype(np.uint8)
    strings = np.ascontiguousarray(b).view(f"S{width}").reshape(a.shape)
    return np.char.rstrip(np.char.decode(strings, "ascii", errors="replace"))
