"""Guess a delimited file's compression, encoding, delimiter and header from its first bytes."""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Literal

from charset_normalizer import from_bytes

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", "\t", ";", "|")
_CHINESE = {"gbk", "gb2312", "gb18030", "hz", "cp936"}
Compression = Literal["gzip", "bz2", "zip"]
_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"PK\x03\x04", "zip"),
)


class NotOneFile(Exception):
    """A zip holding several files (or none) where one export was expected."""


#: what a damaged or truncated compressed file raises besides OSError
DECOMPRESS_ERRORS: tuple[type[Exception], ...] = (
    EOFError,
    zlib.error,
    zipfile.BadZipFile,
    NotOneFile,
)


def detect_compression(path: Path) -> Compression | None:
    """gzip, bz2 or zip by the file's first bytes (not its name: exports are often misnamed)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


class Delivered:
    """A delivered text file opened for reading, decompressed on the fly when it is compressed.

    ``stream`` reads the text's bytes; ``consumed()`` is how far the file on disk has been read,
    for progress measured against the file's size. A zip must hold exactly one file (folders and
    macOS ``__MACOSX`` entries aside): a department zips one export, and which of several to land
    is not ours to guess.
    """

    def __init__(self, path: Path) -> None:
        self.compression = detect_compression(path)
        self._raw: BinaryIO = path.open("rb")
        try:
            self.stream = self._open(path)
        except BaseException:
            self._raw.close()
            raise

    def _open(self, path: Path) -> BinaryIO:
        if self.compression == "gzip":
            return gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[return-value]
        if self.compression == "bz2":
            return bz2.BZ2File(self._raw, mode="rb")  # type: ignore[return-value]
        if self.compression == "zip":
            archive = zipfile.ZipFile(self._raw)
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            if len(members) != 1:
                names = ", ".join(m.filename for m in members[:5]) or "nothing"
                raise NotOneFile(f"the zip holds {len(members)} files ({names}), not one")
            return archive.open(members[0])  # type: ignore[return-value]
        return self._raw

    def consumed(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        if self.stream is not self._raw:
            self.stream.close()
        self._raw.close()

    def __enter__(self) -> Delivered:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_sample(path: Path, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` bytes of the delivered text (decompressed)."""
    with Delivered(path) as delivered:
        return delivered.stream.read(size)


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig, utf-8, gb18030, or what charset-normalizer finds.

    A city's files are UTF-8 or a Chinese codepage, so those are tried first and a few bad bytes do
    not change the verdict (their rows are quarantined). GB18030 is a superset of GBK and GB2312,
    so decoding any of them as GB18030 is safe.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    errors = {candidate: _decode_errors(sample, candidate) for candidate in ("utf-8", "gb18030")}
    if errors["utf-8"] == 0:
        return "utf-8"
    fewest = min(errors, key=lambda c: (errors[c], c != "utf-8"))
    if errors[fewest] <= max(2, len(sample) // 1000):
        return fewest
    best = from_bytes(sample[: 64 * 1024]).best()
    if best is None:
        return "gb18030"
    name = best.encoding.lower().replace("-", "").replace("_", "")
    if name in _CHINESE or name.startswith("gb"):
        return "gb18030"
    if name in ("utf8", "ascii"):
        return "utf-8"
    return str(best.encoding)


def _decode_errors(sample: bytes, encoding: str) -> int:
    """Characters that fail to decode, not counting one cut in half at the sample's end."""
    text = sample.decode(encoding, "replace")
    return text.count("\ufffd") - (1 if text.endswith("\ufffd") else 0)


def normalise_encoding(name: str) -> str:
    key = name.lower().replace("-", "").replace("_", "")
    if key in ("gbk", "gb2312", "cp936"):
        return "gb18030"
    if key == "utf8":
        return "utf-8"
    if key == "utf8sig":
        return "utf-8-sig"
    codecs.lookup(name)  # raises LookupError for an unknown name
    return name


def detect_delimiter(lines: Sequence[str], quote: str = '"') -> str:
    """The delimiter that splits the sample lines into the most, most consistent fields."""
    sample = "\n".join(lines)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS))
        if dialect.delimiter in DELIMITERS:
            return dialect.delimiter
    except csv.Error:
        pass
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        counts = [
            len(row)
            for row in csv.reader(io.StringIO(sample), delimiter=delim, quotechar=quote)
            if row
        ]
        if not counts or max(counts) < 2:
            continue
        mode = max(set(counts), key=counts.count)
        score = counts.count(mode) / len(counts) * mode
        if score > best_score:
            best, best_score = delim, score
    return best


def split_line(line: str, delimiter: str, quote: str = '"') -> list[str]:
    rows = list(csv.reader(io.StringIO(line), delimiter=delimiter, quotechar=quote))
    return [f.strip() for f in rows[0]] if rows else []


def find_header(
    rows: Sequence[list[str]], expected: Sequence[str], lines: Sequence[str], *, max_scan: int = 20
) -> int | None:
    """Index of the header row among the first rows, or None when the file has no header.

    With expected column names (from the contract) the header is the row naming most of them; this
    also skips title rows above it. Without them, csv.Sniffer's heuristic decides for the first row.
    """
    wanted = set(expected)
    if wanted:
        best, best_hits = None, 0
        for i, row in enumerate(rows[:max_scan]):
            hits = len(wanted.intersection(row))
            if hits > best_hits:
                best, best_hits = i, hits
        if best is not None and best_hits * 2 >= min(len(wanted), len(rows[best])):
            return best
        # no row names the contract's columns: headerless if the first row is as wide as the data
        return None if rows and len(rows[0]) == len(wanted) else 0
    try:
        return 0 if csv.Sniffer().has_header("\n".join(lines[:50])) else None
    except csv.Error:
        return 0
