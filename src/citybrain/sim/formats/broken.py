"""Files damaged on purpose (truncated, a wrong row width, invalid bytes) and the record of
each for the truth."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from citybrain.sim.formats.batches import aside


@dataclass(frozen=True)
class BrokenFile:
    """What was broken in a file, for the truth: 1-based physical line numbers affected."""

    path: str
    kind: Literal["truncated", "bad_row_width", "invalid_bytes"]
    lines: tuple[int, ...]
    detail: str


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def truncate_file(path: Path, *, keep_fraction: float = 0.6) -> BrokenFile:
    """Cut the file part-way through a row, as an interrupted export or transfer leaves it."""
    size = path.stat().st_size
    cut = max(1, int(size * keep_fraction))
    with path.open("rb") as f:
        f.seek(cut - 1)
        # Cutting right after a newline would leave a clean (if short) file: move into the row.
        if f.read(1) == b"\n" and cut > 1:
            cut -= 1
    with path.open("r+b") as f:
        f.truncate(cut)
    last = _count_lines(path) + 1
    return BrokenFile(str(path), "truncated", (last,), f"cut at byte {cut} of {size}")


def _pick_data_lines(path: Path, rng: np.random.Generator, rows: int, header: bool) -> list[int]:
    first = 2 if header else 1
    total = _count_lines(path)
    if total < first:
        raise ValueError(f"{path}: no data rows to break")
    count = min(rows, total - first + 1)
    picked = rng.choice(np.arange(first, total + 1), size=count, replace=False)
    return sorted(int(x) for x in picked)


def _rewrite_lines(path: Path, lines: Sequence[int], edit: Any) -> None:
    """Stream the file through, passing the chosen lines (1-based) through `edit`."""
    wanted = set(lines)
    with aside(path) as tmp, path.open("rb") as fin, tmp.open("wb") as fout:
        for number, line in enumerate(fin, start=1):
            fout.write(edit(line) if number in wanted else line)


def _split_eol(line: bytes) -> tuple[bytes, bytes]:
    body = line.rstrip(b"\r\n")
    return body, line[len(body) :]


def break_row_width(
    path: Path,
    rng: np.random.Generator,
    *,
    rows: int = 1,
    delimiter: str = ",",
    header: bool = True,
) -> BrokenFile:
    """Give some data rows one field too many (a stray delimiter in an unquoted value)."""
    chosen = _pick_data_lines(path, rng, rows, header)
    sep = delimiter.encode("ascii")

    def edit(line: bytes) -> bytes:
        body, eol = _split_eol(line)
        return body + sep + b"?" + eol

    _rewrite_lines(path, chosen, edit)
    return BrokenFile(str(path), "bad_row_width", tuple(chosen), "one extra field")


def inject_invalid_bytes(
    path: Path,
    rng: np.random.Generator,
    *,
    rows: int = 1,
    delimiter: str = ",",
    header: bool = True,
) -> BrokenFile:
    """Put a 0xFF byte at the start of a field in some rows.

    0xFF is invalid in UTF-8, GBK and GB18030 alike (it is never a lead byte, nor a GBK trail byte),
    so the file fails to decode in whichever of those encodings it declares.
    """
    chosen = _pick_data_lines(path, rng, rows, header)
    sep = delimiter.encode("ascii")

    def edit(line: bytes) -> bytes:
        i = line.find(sep)
        return line[: i + 1] + b"\xff" + line[i + 1 :] if i >= 0 else b"\xff" + line

    _rewrite_lines(path, chosen, edit)
    return BrokenFile(str(path), "invalid_bytes", tuple(chosen), "0xFF byte inserted")
