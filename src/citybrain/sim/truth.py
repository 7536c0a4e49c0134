"""Ground truth, written only under ``DIR/truth/`` (the pipeline never reads it).

Link tables say which source rows belong to which true entity: each row names a system, its table
(file stem), the key column and a key value, and the entity id. The key column is the row key of
the table, or, for monthly readings, the account number that every reading row of that account
carries. Other truth tables are written whole (they are small) or streamed (group rental by month).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

Entity = Literal["person", "enterprise", "dwelling"]

LINK_SCHEMA = pa.schema(
    [
        ("system", pa.string()),
        ("table", pa.string()),
        ("key_field", pa.string()),
        ("key", pa.string()),
        ("entity_id", pa.int64()),
    ]
)
DIRT_SCHEMA = pa.schema(
    [
        ("system", pa.string()),
        ("table", pa.string()),
        ("key_field", pa.string()),
        ("key", pa.string()),
        ("field", pa.string()),
        ("kind", pa.string()),
    ]
)
BROKEN_SCHEMA = pa.schema(
    [
        ("system", pa.string()),
        ("path", pa.string()),
        ("kind", pa.string()),
        ("lines", pa.list_(pa.int64())),
        ("detail", pa.string()),
    ]
)
_FLUSH_ROWS = 1 << 20


README = """# Ground truth of the synthetic city (示例高新区)

Evaluation reads this folder; the pipeline never does. One row per …

- links_person, links_enterprise, links_dwelling: source row (system, table, key_field, key)
  and the true entity id. `table` "*" means every file of the system; for monthly readings
  `key_field` is the account number that every reading row of the account carries.
- persons, enterprises, dwellings: true entity (the ids the links use); dwellings carry the
  standard address id, situation and confounder.
- group_rental: residential dwelling and month: group_rental flag, confounder (large_family,
  home_business, shared_meter, vacant, students), true occupants, registered count.
- enterprise_distress: enterprise, distress flag and start month, seasonal and new firms.
- policy_eligibility, enterprise_precursors: firm and policy it qualifies for; precursor months.
- credit_outcomes: credit commitment, kept or broken, whether the result shows in the data.
- truck_violations: truck and day: outside_hours, illegal_dumping (with place), no_permit,
  off_route (with a point of the detour).
- bike_overparking, bike_zones: zone and snapshot over its quota; the zones.
- road_congestion: road segment (road, number along it, middle) and hour jammed on most weekdays.
- pollution_episodes, pollution_affected_sensors: episode with source kind, place, pollutant
  and time; sensors it raised. faulty_sensors: sensor broken (stuck, zero, impossible, drift)
  from start to end, never while an episode raises it.
- project_delays: major project, delayed or not, from which month, cause.
- infections, contacts, epidemic_episodes: infected person (imported or household, source);
  close contacts (travel, household, neighbour).
- dirt: source row and field where dirt was planted, and its kind.
- broken_files, schema_changes: files damaged on purpose (lines); schema changes by month.
- manifest.json: scale, seed, period, rows per system.
"""


class _Stream:
    """A Parquet file appended to in large row groups."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self.writer: pq.ParquetWriter | None = None
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.rows = 0

    def append(self, table: pa.Table) -> None:
        self.buffer.append(table.cast(self.schema))
        self.buffered += table.num_rows
        if self.buffered >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.write_table(pa.concat_tables(self.buffer))
        self.rows += self.buffered
        self.buffer, self.buffered = [], 0

    def close(self) -> None:
        self.flush()
        if self.writer is None:
            pq.write_table(self.schema.empty_table(), self.path, compression="zstd")
        else:
            self.writer.close()


def _append_files(stream: _Stream, paths: list[Path]) -> None:
    for path in paths:
        f = pq.ParquetFile(path)
        for i in range(f.num_row_groups):
            stream.append(f.read_row_group(i))


class TruthSink:
    """Collects every truth table of one generation run.

    With ``streams`` given, streamed tables go to that folder instead of ``truth/`` (one system
    module's share, written in a worker process); `merge` appends such shares in module order, so
    the truth files do not depend on how many processes generated them.
    """

    def __init__(self, root: Path, streams: Path | None = None) -> None:
        self.root = root / "truth"
        self.root.mkdir(parents=True, exist_ok=True)
        self.streams = streams or self.root
        self.streams.mkdir(parents=True, exist_ok=True)
        self._streams: dict[str, _Stream] = {}
        self._adopted: set[str] = set()  # streams moved in whole from a task's share
        self.meta: dict[str, Any] = {}

    def _stream(self, name: str, schema: pa.Schema) -> _Stream:
        if name not in self._streams:
            self._streams[name] = _Stream(self.streams / f"{name}.parquet", schema)
        return self._streams[name]

    def merge(self, shares: list[Path], threads: int = 1) -> None:
        """Append the streamed tables tasks wrote to ``shares`` (see `close_streams`), in the order
        given. A table only one share holds is moved as it is; the others are appended row group
        by row group, one table per thread (each file is still written in order)."""
        parts: dict[str, list[Path]] = {}
        for share in shares:
            for path in sorted(share.glob("*.parquet")):
                parts.setdefault(path.stem, []).append(path)
        appended = []
        for name, paths in sorted(parts.items()):
            if len(paths) == 1:
                paths[0].replace(self.streams / f"{name}.parquet")
                self._adopted.add(name)
            else:
                appended.append((self._stream(name, pq.read_schema(paths[0])), paths))
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            list(pool.map(lambda job: _append_files(*job), appended))

    def close_streams(self) -> None:
        """Finish the streamed tables only (a module's share; the run's `close` does the rest)."""
        for s in self._streams.values():
            s.close()

    def link(
        self,
        entity: Entity,
        system: str,
        table: str,
        key_field: str,
        keys: pa.Array | pa.ChunkedArray,
        ids: np.ndarray,
    ) -> None:
        """Source rows (by key) that are the true entity ``ids`` (negative ids are skipped)."""
        ids = np.asarray(ids, dtype=np.int64)
        keep = ids >= 0
        n = int(keep.sum())
        if n == 0:
            return
        k = keys.cast(pa.string()).filter(pa.array(keep))
        self._stream(f"links_{entity}", LINK_SCHEMA).append(
            pa.table(
                {
                    "system": pa.repeat(pa.scalar(system), n),
                    "table": pa.repeat(pa.scalar(table), n),
                    "key_field": pa.repeat(pa.scalar(key_field), n),
                    "key": k,
                    "entity_id": ids[keep],
                }
            )
        )

    def dirt(
        self,
        system: str,
        table: str,
        key_field: str,
        keys: pa.Array | pa.ChunkedArray,
        mask: np.ndarray,
        field: str,
        kind: str,
    ) -> None:
        """Rows where dirt of ``kind`` was planted in ``field``."""
        n = int(mask.sum())
        if n == 0:
            return
        self._stream("dirt", DIRT_SCHEMA).append(
            pa.table(
                {
                    "system": pa.repeat(pa.scalar(system), n),
                    "table": pa.repeat(pa.scalar(table), n),
                    "key_field": pa.repeat(pa.scalar(key_field), n),
                    "key": keys.cast(pa.string()).filter(pa.array(mask)),
                    "field": pa.repeat(pa.scalar(field), n),
                    "kind": pa.repeat(pa.scalar(kind), n),
                }
            )
        )

    def broken_file(
        self, system: str, path: Path, kind: str, lines: tuple[int, ...], detail: str
    ) -> None:
        """A file damaged on purpose (relative to the output folder)."""
        rel = str(path.relative_to(self.root.parent))
        self.append(
            "broken_files",
            pa.table(
                {
                    "system": [system],
                    "path": [rel],
                    "kind": [kind],
                    "lines": pa.array([list(lines)], pa.list_(pa.int64())),
                    "detail": [detail],
                }
            ),
        )

    def schema_change(
        self,
        system: str,
        month: str,
        renamed: dict[str, str],
        added: tuple[str, ...],
        dropped: tuple[str, ...],
    ) -> None:
        """A system's delivery schema changes from ``month`` on."""
        self.append(
            "schema_changes",
            pa.table(
                {
                    "system": [system],
                    "from_month": [month],
                    "renamed": [json.dumps(renamed, ensure_ascii=False, sort_keys=True)],
                    "added": [",".join(added)],
                    "dropped": [",".join(dropped)],
                }
            ),
        )

    def append(self, name: str, table: pa.Table) -> None:
        """Stream rows into ``truth/<name>.parquet`` (first call fixes the schema)."""
        self._stream(name, table.schema).append(table)

    def write(self, name: str, table: pa.Table) -> None:
        """A whole small truth table."""
        pq.write_table(table, self.root / f"{name}.parquet", compression="zstd")

    def close(self) -> None:
        self.close_streams()
        done = self._streams.keys() | self._adopted
        for name in ("links_person", "links_enterprise", "links_dwelling", "dirt"):
            if name not in done:
                schema = DIRT_SCHEMA if name == "dirt" else LINK_SCHEMA
                pq.write_table(schema.empty_table(), self.root / f"{name}.parquet")
        if "broken_files" not in done:
            pq.write_table(BROKEN_SCHEMA.empty_table(), self.root / "broken_files.parquet")
        (self.root / "README.md").write_text(README, encoding="utf-8")
        (self.root / "manifest.json").write_text(
            json.dumps(self.meta, ensure_ascii=False, sort_keys=True, indent=2) + "\n",
            encoding="utf-8",
        )
