"""A kind's records staged in the lake, so that memory holds only their distinct profiles.

A city's person records run to tens of millions: every monthly reading, parcel and filing that
names a person is a record. The linkage needs their distinct profiles (`profiles`: records equal
in every linkage feature are scored once), a few per person. So the records never sit in memory
together:

1. the engine writes the records' rows (`records.build_records`) to a work table, then one row
   per record (`_latest_records`) to another in the base zone, split into chunks by a hash of
   the address (each distinct address is parsed once);
2. each chunk's features are computed in Arrow and appended to a second work table — a record's
   features are functions of its own fields, except the estate learned from the other addresses
   with the same road number (`features.address_features`), which the engine adds over all of
   them at the end (`_with_learned_places`);
3. the engine gives each record its profile (`with_profiles`: the least record id among
   records with the same features) and hands over the profiles alone;
4. the record-level links are written by the engine from the profile-level golden ids
   (`pipeline.resolve`).

Every step is a query over Parquet that DuckDB spills to disk (and Spark distributes); Python
holds one chunk at a time. No step ranks the records by a window (a sort of every row with every
column), and a query that reads a table twice reads it from Parquet (DuckDB materialises an
expression referenced twice whole).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.engine import Engine
from citybrain.core.logging import get_logger
from citybrain.core.parallel import map_chunks, resolve_workers
from citybrain.govern.resolve import features as feats
from citybrain.govern.resolve.records import Kind, build_records, latest_rows
from citybrain.govern.resolve.settings import KindConfig

log = get_logger("citybrain.govern.resolve")

#: Records per chunk whose features are computed at once (about 0.5 GB of Arrow for persons).
CHUNK_ROWS = 500_000
#: Chunks written by one query (`stage`).
PARTITIONS_PER_WRITE = 32
ZONE = "base"
PROFILE = "profile_id"
_CHUNK = "work_chunk"
#: The parts of an address the learned estate is computed from (`features.address_parts`).
_PARTS = tuple(f"work_addr_{name}" for name in feats.ADDRESS_PARTS if name != "room")


def work_table(kind: Kind, part: str) -> str:
    return f"{kind}_work_{part}"


def drop_work(engine: Engine, kind: Kind) -> None:
    """Remove the kind's work tables (left by this run, or by one that was killed)."""
    _remove(engine, kind, "rows", "chosen", "records", "features", "placed", "staged", "estates")


def _remove(engine: Engine, kind: Kind, *parts: str) -> None:
    for part in parts:
        shutil.rmtree(engine.table_dir(ZONE, work_table(kind, part)), ignore_errors=True)


@dataclass(frozen=True)
class Staged:
    """The kind's records in the lake: lineage, fields, features and each one's profile id."""

    kind: Kind
    name: str
    rows: int
    features: tuple[str, ...]
    #: how many chunks the records were split into (each had its features computed at once)
    chunks: int = 1

    def table(self, engine: Engine) -> ir.Table:
        return engine.table(ZONE, self.name)

    def profiles(self, engine: Engine) -> pa.Table:
        """The distinct profiles: ``record_id`` (the least member) and the features, sorted."""
        table = self.table(engine)
        chosen = table.filter(table.record_id == table[PROFILE])
        return engine.to_arrow(chosen.select("record_id", *self.features)).sort_by("record_id")


def stage(
    engine: Engine,
    std: Mapping[str, ir.Table],
    kind: Kind,
    config: KindConfig,
    features: tuple[str, ...],
    *,
    collapse: bool = True,
    dataset: str | None = None,
) -> Staged:
    """Write the kind's records with their features and profile ids to a work table.

    ``features`` are the columns a profile is made of; without ``collapse`` every record is its
    own profile (link-only). ``dataset`` names a column to add as a copy of ``source_system``.
    """
    drop_work(engine, kind)
    expr, count = _latest_records(engine, std, kind, config)
    chunks = max(1, math.ceil(count / CHUNK_ROWS))
    records = work_table(kind, "records")
    if chunks > 1:
        # Records of one address share a chunk: its parse, the costliest feature, is done once.
        number = (expr.address.fill_null(expr.record_id).hash() % chunks).abs()
        numbered = expr.mutate(**{_CHUNK: number.cast("string")})
        # DuckDB buffers every partition of one write: a city's 67 M records in 270 chunks
        # spilled over 11 GB, 32 chunks at a time nothing.
        for first in range(0, chunks, PARTITIONS_PER_WRITE):
            some = numbered.filter((number >= first) & (number < first + PARTITIONS_PER_WRITE))
            engine.write(some, ZONE, records, partition_by=[_CHUNK], ordered=False,
                         mode="append" if first else "replace")  # fmt: skip
    else:
        engine.write(expr.mutate(**{_CHUNK: ibis.literal("0")}), ZONE, records, ordered=False)
    # Each work table goes once the next is written: at a city each holds gigabytes.
    _remove(engine, kind, "rows", "chosen")
    raw = engine.table(ZONE, records)
    computed = work_table(kind, "features")
    rows = 0
    workers = resolve_workers(config.workers)
    with _names_ahead(engine, raw, kind, workers):
        # A few chunks at a time: their features are computed side by side, one a process.
        for first in range(0, chunks, workers):
            batch = range(first, min(first + workers, chunks))
            parts = [p for p in (engine.to_arrow(chunk_of(raw, c)) for c in batch) if p.num_rows]
            for part in _features_of(parts, kind, config, dataset, workers):
                engine.write(part, ZONE, computed, mode="append" if rows else "replace")
                rows += part.num_rows
            log.debug(f"{kind}: features of {batch.stop}/{chunks} chunks ({rows:,} records)")
    if rows == 0:
        empty = raw.drop(_CHUNK).schema().to_pyarrow().empty_table()
        engine.write(_chunk_features(kind, empty, config, dataset), ZONE, computed)
    _remove(engine, kind, "records")
    # Kept (`pipeline.resolve` stores them): a nightly run learns from them.
    estates = work_table(kind, "estates")
    engine.write(road_estate_counts(engine.table(ZONE, computed)), ZONE, estates)
    learned = _with_learned_places(engine.table(ZONE, computed), engine.table(ZONE, estates))
    staged = work_table(kind, "staged")
    if collapse:  # the profiles' query reads the placed records twice: from Parquet
        engine.write(learned, ZONE, work_table(kind, "placed"), ordered=False)
        _remove(engine, kind, "features")
        engine.write(with_profiles(engine.table(ZONE, work_table(kind, "placed")), features),
                     ZONE, staged, ordered=False)  # fmt: skip
    else:
        engine.write(learned.mutate(**{PROFILE: learned.record_id}), ZONE, staged, ordered=False)
    _remove(engine, kind, "features", "placed")
    return Staged(kind, staged, rows, features, chunks)


def _latest_records(
    engine: Engine, std: Mapping[str, ir.Table], kind: Kind, config: KindConfig
) -> tuple[ir.Table, int]:
    """The kind's records, one row each, over their rows written to a work table, and how many
    there are.

    Only records whose id's hash repeats go through the choice of a row (`latest_rows`): at a
    city, 60 M parcels are one row a record, and an aggregate over them all would hold every
    one. The rows are written first so that the query reads them twice from Parquet: an
    expression referenced twice is a common table expression that DuckDB materialises whole.
    A hash shared by two records only sends both through the choice.
    """
    rows = build_records(std, kind, config.sources, latest=False)
    if rows is None:
        raise ValueError(f"none of the std tables given ({', '.join(std)}) has {kind} records")
    name = work_table(kind, "rows")
    engine.write(rows.mutate(_record_hash=rows.record_id.hash()), ZONE, name, ordered=False)
    written = engine.table(ZONE, name)
    counts = written.group_by("_record_hash").aggregate(_n=written.count())
    repeats = engine.to_arrow(counts.filter(counts._n > 1))
    repeated = engine.register(f"resolve_{kind}_repeated", repeats.select(["_record_hash"]))
    # Every row is a record but the repeats of one: the chunks are counted from records, not
    # rows (a city's 134 M person rows are 67 M records).
    count = engine.count(written) - (pc.sum(repeats["_n"]).as_py() or 0) + repeats.num_rows
    single = written.anti_join(repeated, "_record_hash").drop("_record_hash")
    # Written apart: the records are then written a few chunks at a time, and each would choose
    # again.
    chosen = work_table(kind, "chosen")
    engine.write(latest_rows(written.semi_join(repeated, "_record_hash").drop("_record_hash")),
                 ZONE, chosen, ordered=False)  # fmt: skip
    return ibis.union(single, engine.table(ZONE, chosen), distinct=False), count


def with_profiles(records: ir.Table, features: tuple[str, ...]) -> ir.Table:
    """Each record with its profile id: the least record id among records with equal features.

    Why an aggregate and a join, not a window grouped by the features: the window sorts every
    record with every column (at a city, some 67 M person records with 40 columns). The
    features are made one text key (a null as U+0001, which normalised text never holds, parts
    split by the unit separator), so that the join back is on one column and matches nulls too.
    ``records`` should be a stored table: it is read twice.
    """

    def key(table: ir.Table) -> ir.StringValue:
        parts = [table[f].cast("string").fill_null("\u0001") for f in features]
        return ibis.literal("\u001f").join(parts)

    first = records.group_by(_key=key(records)).aggregate(**{PROFILE: records.record_id.min()})
    each = records.view()  # the key below is of each record, not of the aggregate's input
    joined = each.inner_join(first, key(each) == first._key)
    return joined.select(*[joined[c] for c in records.columns], joined[PROFILE])


def chunk_of(records: ir.Table, chunk: int) -> ir.Table:
    """The records of one chunk of the work table, which is partitioned by the chunk's number.

    The number is written as text and compared as text, so that the engine reads only the
    chunk's folder. An integer partition is read back through a cast, and a filter on the cast
    made DuckDB read every chunk's files to keep one's rows: staging grew with the square of
    the records (at 100 M records, 58 chunks, 148 of persons' 456 CPU seconds of staging).
    """
    return records.filter(records[_CHUNK] == str(chunk)).drop(_CHUNK)


def _names_ahead(
    engine: Engine, records: ir.Table, kind: Kind, workers: int
) -> AbstractContextManager[int]:
    """Persons' names turned to pinyin once each, before the chunks (`features.pinyin_ahead`):
    the chunks follow the address, so a name recurs in many of them."""
    if kind != "person":
        return nullcontext(0)
    names = engine.to_arrow(records.select(*feats.NAME_COLUMNS).distinct())
    return feats.pinyin_ahead(names, workers=workers)


def _features_of(
    parts: list[pa.Table], kind: Kind, config: KindConfig, dataset: str | None, workers: int
) -> list[pa.Table]:
    """The chunks' features (`_chunk_features`), in order; with several workers each chunk in a
    forked process of its own: the features are Python over a chunk's distinct values, one
    core's work however the engine is set."""

    def compute(indices: Sequence[int]) -> list[pa.Table]:
        return [_chunk_features(kind, parts[i], config, dataset) for i in indices]

    if workers == 1 or len(parts) < 2:
        return compute(range(len(parts)))
    done = map_chunks(compute, list(range(len(parts))), workers=workers, serial_below=2)
    return [table for tables in done for table in tables]


def _chunk_features(
    kind: Kind, records: pa.Table, config: KindConfig, dataset: str | None
) -> pa.Table:
    """The chunk's records with their features; the address's place and text as far as the
    address alone tells, its parts kept (``work_addr_*``) for the learned estate."""
    out = feats.features_for_kind(
        kind, records, config.phone_region, address=feats.staged_address_features
    )
    if dataset is not None:
        out = out.append_column(dataset, out["source_system"])
    return out


def road_estates_table(kind: Kind) -> str:
    """The base table of how many records name each estate at each road number (``road_key``,
    ``estate``, ``n``; a nightly run appends its new records' rows, so a pair may have several):
    a nightly run learns its new addresses' estates from it as a full run would."""
    return f"{kind}_road_estates"


def road_estate_counts(table: ir.Table) -> ir.Table:
    """(road_key, estate, n) over records with features (``work_addr_*``)."""
    estate, road_key = table.work_addr_estate, table.work_addr_road_key
    pairs = table.filter(estate.notnull() & road_key.notnull())
    return pairs.group_by(road_key=pairs.work_addr_road_key, estate=pairs.work_addr_estate).agg(
        n=pairs.count()
    )


def _with_learned_places(table: ir.Table, counted: ir.Table) -> ir.Table:
    """``addr_place`` and ``addr_text`` as `features.address_features` gives them over all the
    records: the estate most addresses with the same road number name (ties: the least name),
    by the records' ``counted`` pairs (`road_estate_counts`)."""
    rank = ibis.row_number().over(
        ibis.window(group_by=counted.road_key, order_by=[ibis.desc(counted.n), counted.estate])
    )
    best = counted.mutate(rank=rank)
    best = best.filter(best["rank"] == 0).select(
        learned_key=best.road_key, learned_estate=best.estate
    )
    joined = table.left_join(best, table.work_addr_road_key == best.learned_key)
    place = ibis.coalesce(
        joined.work_addr_estate,
        joined.learned_estate,
        joined.work_addr_road_key,
        joined.work_addr_road,
    )
    # Features are strings; the flag was written as "true" / "false".
    unread = place.isnull() | (joined.work_addr_chinese != "true")
    text = ibis.ifelse(unread, joined.work_addr_text, ibis.null(str))
    out = joined.mutate(addr_place=place, addr_text=text)
    return out.select(*[c for c in table.columns if c not in _PARTS])
