"""``Lake.stamp``: what the API's caches (the address book, the parking lots) compare to know
the std tables they were built from were rewritten."""

from __future__ import annotations

import os
from pathlib import Path

from citybrain.api.deps import Lake
from citybrain.core import Workspace


def test_stamp_changes_when_a_table_is_rewritten_and_ignores_absent_ones(tmp_path: Path) -> None:
    lake = Lake(Workspace.init(tmp_path / "ws"))
    assert lake.stamp("parking_occupancy", "standard_address") == ()
    folder = lake.workspace.zone("std") / "parking_occupancy"
    (folder / "part").mkdir(parents=True)
    part = folder / "part" / "a.parquet"
    part.write_bytes(b"1234")
    first = lake.stamp("parking_occupancy", "standard_address")
    assert first == ((str(part), 4, part.stat().st_mtime_ns),)
    assert lake.stamp("parking_occupancy") == first  # unchanged files, same stamp
    os.utime(part, ns=(part.stat().st_atime_ns, part.stat().st_mtime_ns + 1_000_000))
    assert lake.stamp("parking_occupancy") != first  # rewritten in place
    (folder / "b.parquet").write_bytes(b"12")
    assert len(lake.stamp("parking_occupancy")) == 2  # a new file
    assert lake.stamp("parking_occupancy", zone="topic") == ()
