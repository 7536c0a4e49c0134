"""Measures kept between assessments, so that the quality of an unchanged source is not measured
again: a nightly run that brought one source new rows rescans that source's table only.

What is kept are the figures a scan of the data gives — per std table, the filled values and the
flags by source and load, and per source the rows, the rows with an event time and the latest
event time; per consistency check, what it compared and found agreeing; per stream with a declared
cadence, its expected and missing slots — each beside the files it was measured on. Everything
else a report holds is worked out from these figures at every assessment, as a full one does:
the score (weights, contracts' keys and columns, owners), and what depends on the date —
timeliness, from the last load's time and the latest event time.

A table's figures are reused while its Parquet parts are the same files (path, size, modification
time: a table is replaced whole when rewritten, see `citybrain.core.lake`) and its schema and the
measure definitions (`MEASURES_VERSION`, the std model of the table) are the same. A table that only
gained parts (new loads' rows appended) is measured in its new parts alone and the figures added:
they are sums and a maximum. Anything else measures the table whole again.

The figures live in ``cache/quality_measures.json`` in the workspace; deleting it costs one full
assessment.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.dataset as ds

from citybrain import __version__
from citybrain.core import lake
from citybrain.core.engine import Engine
from citybrain.core.engine.base import conform
from citybrain.core.stdmodel import FLAGS_COLUMN, StdTable
from citybrain.govern.quality.measures import (
    DUPLICATE_FLAG,
    Counts,
    EventTimes,
    add,
    flag_counts,
    later,
    table_counts,
)

#: Raise when what a measure counts changes (a new flag rule, another notion of "filled"): every
#: kept figure is then measured again.
MEASURES_VERSION = 1
FILE = Path("cache") / "quality_measures.json"
#: the view the new parts of an appended table are read through (one chunk at a time, replaced)
_NEW_PARTS = "_cb_quality_new_parts"
CHUNK_ROWS = 1_000_000  # rows of new parts in memory at once

How = Literal["reused", "new parts", "scanned"]


def digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Listing:
    """A lake table's Parquet parts (relative path → size, mtime in ns) and its schema."""

    parts: dict[str, tuple[int, int]]
    schema: str  # the sidecar's text ("" without one)

    @property
    def print(self) -> str:
        return digest(sorted(self.parts.items()), self.schema)


def listing(table_dir: Path) -> Listing:
    """The parts of the table in ``table_dir``, from the file system alone (no data read)."""
    sidecar = table_dir / lake.SIDECAR
    text = sidecar.read_text("utf-8") if sidecar.is_file() else ""
    return Listing(lake.parquet_parts(table_dir), text)


def basis(*definition: object) -> str:
    """What figures depend on besides the data: the measures' version and ``definition``."""
    return digest(MEASURES_VERSION, __version__, FLAGS_COLUMN, DUPLICATE_FLAG, *definition)


def table_basis(std: StdTable) -> str:
    """What a table's figures depend on besides its data: the std model of the table."""
    return basis([(c.name, c.type, c.role) for c in std.columns])


@dataclass
class TableMeasures:
    """One std table's figures, and the parts and basis they were measured on."""

    basis: str
    listing: Listing
    filled: Counts
    flags: Counts
    times: dict[str, EventTimes]

    def plus(self, more: TableMeasures) -> TableMeasures:
        """These figures and those of ``more`` (measured on other rows of the same table)."""
        filled = {key: dict(counts) for key, counts in self.filled.items()}
        flags = {key: dict(counts) for key, counts in self.flags.items()}
        for into, extra in ((filled, more.filled), (flags, more.flags)):
            for key, counts in extra.items():
                add(into.setdefault(key, {}), counts)
        times = dict(self.times)
        for system, new in more.times.items():
            old = times.get(system)
            times[system] = new if old is None else later(old, new)
        return TableMeasures(self.basis, more.listing, filled, flags, times)


def measure_table(engine: Engine, table: ir.Table, std: StdTable, at: Listing) -> TableMeasures:
    """Scan ``table`` (the std table, or some of its rows) for its figures: the filled values
    and event times (`table_counts`), the flags (a row holds any number)."""
    filled, times = table_counts(engine, table, std)
    return TableMeasures(table_basis(std), at, filled, flag_counts(engine, table), times)


@dataclass
class MeasureStore:
    """The kept figures, and how this assessment came by each (`how`: reused, read in the new
    parts of a table only, or scanned)."""

    tables: dict[str, TableMeasures] = field(default_factory=dict)
    # other figures: key → [inputs' print, the figures as JSON values]
    figures: dict[str, list[Any]] = field(default_factory=dict)
    how: dict[str, How] = field(default_factory=dict)
    _listings: dict[str, Listing] = field(default_factory=dict, repr=False)

    def start(self) -> None:
        """A new assessment: tables are listed afresh (they may have changed since the last)."""
        self.how.clear()
        self._listings.clear()

    def listing(self, engine: Engine, name: str) -> Listing:
        """The std table's parts, listed once per assessment (`start`)."""
        if name not in self._listings:
            table_dir = engine.table_dir("std", name)
            lake.recover(table_dir)  # a killed write finished first, as a read of the table would
            self._listings[name] = listing(table_dir)
        return self._listings[name]

    def table(self, engine: Engine, std: StdTable) -> TableMeasures:
        """The std table's figures: kept, kept plus those of its new parts, or measured whole."""
        now = self.listing(engine, std.name)
        kept = self.tables.get(std.name)
        how: How = "scanned"
        if kept is not None and kept.basis == table_basis(std) and kept.listing == now:
            measured, how = kept, "reused"
        elif (
            kept is not None
            and kept.basis == table_basis(std)
            and (new := _new_parts(kept.listing, now)) is not None
        ):
            measured, how = replace(kept, listing=now), "new parts"
            for rows in _parts(engine, engine.table_dir("std", std.name), new, now.schema):
                measured = measured.plus(measure_table(engine, rows, std, now))
        else:
            measured = measure_table(engine, engine.table("std", std.name), std, now)
        self.how[f"std.{std.name}"] = how
        if how == "scanned" and listing(engine.table_dir("std", std.name)) != now:
            # written to while scanned: what was read is not known, so nothing is kept
            self.tables.pop(std.name, None)
            return measured
        self.tables[std.name] = measured
        return measured

    def remember(self, key: str, inputs: str, compute: Callable[[], Any]) -> Any:
        """Figures (JSON values) that depend only on ``inputs`` (a print): kept or computed."""
        kept = self.figures.get(key)
        if kept is not None and kept[0] == inputs:
            self.how[key] = "reused"
            return kept[1]
        value = json.loads(json.dumps(compute()))  # kept as they will be read back
        self.figures[key] = [inputs, value]
        self.how[key] = "scanned"
        return value

    @classmethod
    def load(cls, path: Path) -> MeasureStore:
        """The figures kept at ``path``; none when it is missing or unreadable (a full
        assessment then measures everything, and replaces the file when it records)."""
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("version") != MEASURES_VERSION:
                return cls()
            tables = {name: _table_from(t) for name, t in data["tables"].items()}
            return cls(tables, dict(data["figures"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        """Write the figures atomically (write aside, then rename)."""
        data = {
            "version": MEASURES_VERSION,
            "tables": {name: _table_to(t) for name, t in sorted(self.tables.items())},
            "figures": dict(sorted(self.figures.items())),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        aside.write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        aside.replace(path)


def _new_parts(before: Listing, now: Listing) -> list[str] | None:
    """The parts ``now`` adds to ``before``, when it is ``before`` with parts added, none changed
    or removed, under the same schema; ``None`` otherwise."""
    if now.schema != before.schema or not before.parts or _partitioned(now):
        return None
    return lake.appended_parts(before.parts, now.parts)


def _partitioned(at: Listing) -> bool:
    # a hive-partitioned table's partition columns are in its folders, not in its parts
    return bool(at.schema) and bool(json.loads(at.schema).get("partition_by"))


def _parts(engine: Engine, table_dir: Path, names: list[str], schema: str) -> Iterator[ir.Table]:
    """Some parts of a table, read as the engine reads the table (the sidecar's column types),
    in chunks of about `CHUNK_ROWS` rows (the figures add up), each measured before the next."""
    dataset = ds.dataset([str(table_dir / name) for name in names], format="parquet")
    batches: list[pa.RecordBatch] = []
    for batch in dataset.to_batches(batch_size=CHUNK_ROWS):
        batches.append(batch)
        if sum(b.num_rows for b in batches) >= CHUNK_ROWS:
            yield _view(engine, pa.Table.from_batches(batches), schema)
            batches = []
    if batches:
        yield _view(engine, pa.Table.from_batches(batches, dataset.schema), schema)
    empty = dataset.schema.empty_table()
    engine.register(_NEW_PARTS, empty)  # the engine lets go of the last chunk


def _view(engine: Engine, data: pa.Table, schema: str) -> ir.Table:
    view = engine.register(_NEW_PARTS, data)
    if not schema:
        return view
    columns = ibis.schema(json.loads(schema)["columns"])
    # a part without a column reads it as null (the engines read a table's parts by name)
    missing = {name: ibis.null().cast(dtype) for name, dtype in columns.items()
               if name not in view.columns}  # fmt: skip
    return conform(view.mutate(**missing) if missing else view, columns)


def _table_to(t: TableMeasures) -> dict[str, Any]:
    return {
        "basis": t.basis,
        "parts": t.listing.parts,
        "schema": t.listing.schema,
        "filled": [[system, load, counts] for (system, load), counts in t.filled.items()],
        "flags": [[system, load, counts] for (system, load), counts in t.flags.items()],
        "times": {
            system: [e.rows, e.timed, None if e.latest is None else e.latest.isoformat()]
            for system, e in t.times.items()
        },
    }


def _table_from(data: dict[str, Any]) -> TableMeasures:
    parts = {path: (int(size), int(mtime)) for path, (size, mtime) in data["parts"].items()}
    return TableMeasures(
        data["basis"],
        Listing(parts, data["schema"]),
        {(s, load): dict(c) for s, load, c in data["filled"]},
        {(s, load): dict(c) for s, load, c in data["flags"]},
        {
            system: EventTimes(rows, timed, None if at is None else datetime.fromisoformat(at))
            for system, (rows, timed, at) in data["times"].items()
        },
    )
