"""The lake's files as the fingerprints of the pipeline and the quality step's kept figures see
them: from the file system alone, without the files a write has not committed yet."""

from __future__ import annotations

import os
from pathlib import Path

from citybrain.core.lake import appended_parts, visible_files


def test_visible_files_walks_partitions_and_skips_writes_in_progress(tmp_path: Path) -> None:
    table = tmp_path / "vehicle_ping"
    (table / "day=2025-01-01").mkdir(parents=True)
    (table / "day=2025-01-01" / "part-a.parquet").write_bytes(b"abc")
    (table / "part-b.parquet").write_bytes(b"abcdef")
    (table / "_citybrain.json").write_text("{}")
    (table / ".vehicle_ping.123-ab.tmp").mkdir()  # a write in progress
    (table / ".vehicle_ping.123-ab.tmp" / "part-c.parquet").write_bytes(b"x")
    os.utime(table / "part-b.parquet", ns=(1_000_000_000, 2_000_000_000))

    found = sorted(visible_files(table))

    assert [(path, size) for path, size, _ in found] == [
        ("_citybrain.json", 2),
        (str(Path("day=2025-01-01") / "part-a.parquet"), 3),
        ("part-b.parquet", 6),
    ]
    assert found[2][2] == 2_000_000_000


def test_a_table_not_written_yet_has_no_files(tmp_path: Path) -> None:
    assert list(visible_files(tmp_path / "missing")) == []


def test_appended_parts_are_the_added_ones_when_none_changed_or_went() -> None:
    before = {"part-a.parquet": (10, 1), "part-b.parquet": (20, 2)}
    grown = {**before, "part-d.parquet": (5, 4), "part-c.parquet": (5, 3)}
    assert appended_parts(before, grown) == ["part-c.parquet", "part-d.parquet"]
    assert appended_parts({}, grown) == sorted(grown)
    assert appended_parts(before, dict(before)) is None  # nothing added
    rewritten = {**grown, "part-a.parquet": (10, 9)}  # same size, written again
    assert appended_parts(before, rewritten) is None
    gone = {"part-b.parquet": (20, 2), "part-c.parquet": (5, 3), "part-d.parquet": (5, 4)}
    assert appended_parts(before, gone) is None
