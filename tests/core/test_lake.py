"""The lake's files as the fingerprints of the pipeline and the quality step's kept figures see
them: from the file system alone, without the files a write has not committed yet."""

from __future__ import annotations

import os
from pathlib import Path

from citybrain.core.lake import visible_files


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
