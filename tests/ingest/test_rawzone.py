"""The raw zone's Parquet parts: what the writer records, and that fragmented chunks land whole."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.ingest.manifest import MANIFEST_FILE
from citybrain.ingest.rawzone import FRAGMENT_ROWS, RawZone, _defragmented, statistics_columns


def _chunk(n: int, start: int = 0) -> pa.Table:
    return pa.table(
        {
            "account_no": pa.array([f"W{i:09d}" for i in range(start, start + n)]),
            "volume_m3": pa.array([i / 4 for i in range(start, start + n)], pa.float64()),
            "_load_id": pa.DictionaryArray.from_arrays(
                pa.array([0] * n, pa.int32()), pa.array(["load-1"])
            ),
            "_row": pa.array(range(start + 1, start + n + 1), pa.int64()),
        }
    )


def test_min_max_recorded_for_all_but_text_columns() -> None:
    schema = pa.schema(
        [("name", pa.string()), ("big", pa.large_string()), ("n", pa.int64()),
         ("day", pa.date32()), ("_load_id", pa.dictionary(pa.int32(), pa.string()))]
    )  # fmt: skip
    assert statistics_columns(schema) == ["n", "day", "_load_id"]


def test_a_chunk_of_many_slices_is_written_whole_with_every_row(tmp_path: Path) -> None:
    whole = _chunk(3_000)
    # a chunk with bad rows 10, 20, 30, … cut out: hundreds of zero-copy slices, as mapping makes
    kept = [whole.slice(i + 1, 9) for i in range(0, 3_000, 10)]
    sliced = pa.concat_tables(kept)
    assert sliced.column(0).num_chunks == 300
    assert _defragmented(sliced).column(0).num_chunks == 1
    big = pa.concat_tables([_chunk(FRAGMENT_ROWS), _chunk(FRAGMENT_ROWS, FRAGMENT_ROWS)])
    assert _defragmented(big) is big  # large pieces are written as they are, not copied

    staging = RawZone(tmp_path / "lake", "water").begin("load-1")
    staging.landed.write(sliced)
    staging.landed.write(_chunk(5, 10_000))
    staging.finish()
    [part] = staging.landed.parts
    read = pq.read_table(part)
    assert read.num_rows == staging.landed.rows == 2_705
    expected = pa.concat_tables([sliced, _chunk(5, 10_000)])
    assert read.column("_row").to_pylist() == expected.column("_row").to_pylist()
    assert read.column("account_no").to_pylist() == expected.column("account_no").to_pylist()
    columns = pq.ParquetFile(part).metadata.row_group(0)
    stats = {columns.column(i).path_in_schema: columns.column(i).statistics for i in range(4)}
    assert stats["account_no"] is None
    assert stats["_row"] is not None and stats["_row"].min == 2 and stats["_row"].max == 3_000
    assert stats["volume_m3"] is not None and stats["volume_m3"].has_min_max
    staging.abort()


def test_recover_removes_staging_and_quarantine_parts_of_loads_never_committed(
    tmp_path: Path,
) -> None:
    zone = RawZone(tmp_path, "water")
    committed, killed = "load_id=a", "load_id=b"
    (zone.raw / committed).mkdir(parents=True)
    (zone.raw / committed / MANIFEST_FILE).write_text("{}")
    for part in (committed, killed):
        (zone.quarantine / part).mkdir(parents=True)
    (zone.raw / "_staging" / "load_id=c").mkdir(parents=True)
    removed = zone.recover()
    assert sorted(p.name for p in removed) == ["load_id=b", "load_id=c"]
    assert [p.name for p in zone.quarantine.iterdir()] == [committed]
    assert not (zone.raw / "_staging").exists()
