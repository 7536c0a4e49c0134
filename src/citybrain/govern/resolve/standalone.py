"""`resolve_records`: identity resolution of one Arrow table, without a workspace.

The table's columns are named by the configuration — the ``fields`` of the source whose ``table``
is given (or of the first source), or, with no sources configured, the field kinds themselves
(``name``, ``given_name``, ``family_name``, ``id_number``, ``other_id``, ``phone``,
``birth_date``, ``gender``, ``address``, ``employer``). The same `KindConfig` is what a
workspace's ``[resolve]`` section holds for a kind. In link-only mode the column ``dataset``
names each record's file; records of one file are never linked to each other.

    clusters = resolve_records(table, {"sources": [...], "comparisons": [...], ...})
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.engine import Engine, open_engine
from citybrain.govern.resolve import attach
from citybrain.govern.resolve.pipeline import DATASET, cluster_records, features_for
from citybrain.govern.resolve.records import FIELDS, RECORD_COLUMN, RECORD_COLUMNS, Kind
from citybrain.govern.resolve.settings import KindConfig, kind_config

CLUSTER_SCHEMA = pa.schema([("record_id", pa.string()), ("cluster_id", pa.string())])


def resolve_records(
    records: pa.Table,
    config: KindConfig | Mapping[str, Any],
    *,
    kind: Kind = "person",
    table: str | None = None,
    dataset: str = "source_dataset",
    engine: Engine | None = None,
    seed: int = 42,
) -> pa.Table:
    """(record_id, cluster_id) for every row of ``records``; the cluster id is the cluster's
    least record id. ``engine`` defaults to a temporary DuckDB one.

    Raises ``ConfigError`` (one line, naming the key) for a bad configuration and ``ValueError``
    for a table that does not fit it (a missing key column, repeated record ids).
    """
    config = kind_config(config, kind)
    prepared = _records(records, config, kind, table, dataset)
    if prepared.num_rows == 0:
        return CLUSTER_SCHEMA.empty_table()
    if engine is not None:
        return _resolve(engine, kind, prepared, config, seed)
    with (
        tempfile.TemporaryDirectory(prefix="citybrain-resolve-") as tmp,
        open_engine("duckdb", Path(tmp), database=":memory:") as temporary,
    ):
        return _resolve(temporary, kind, prepared, config, seed)


def _resolve(
    engine: Engine, kind: Kind, records: pa.Table, config: KindConfig, seed: int
) -> pa.Table:
    found = cluster_records(engine, kind, records, None, seed, config)
    clusters = found.clusters
    if kind == "person" and config.attach_by_name and config.link_type == "dedupe_only":
        clusters = attach.attach(records, clusters)
    return clusters.select(["record_id", "cluster_id"]).cast(CLUSTER_SCHEMA).sort_by("record_id")


def _records(
    table: pa.Table, config: KindConfig, kind: Kind, name: str | None, dataset: str
) -> pa.Table:
    """``table`` in the resolver's record columns."""
    fields: dict[str, str] = {f: f for f in FIELDS if f in table.column_names}
    key = "record_id"
    if config.sources:
        chosen = [s for s in config.sources if name is None or s.table == name]
        if not chosen:
            raise ValueError(f"no source of the configuration has table {name!r}")
        fields = {str(k): v for k, v in chosen[0].fields.items()}
        key = chosen[0].key
    if key not in table.column_names:
        raise ValueError(f"the records have no key column {key!r}")
    ids = pc.cast(table[key], pa.string())
    if pc.count_distinct(ids).as_py() != table.num_rows or ids.null_count:
        raise ValueError(f"the key column {key!r} must be unique and never empty")
    link_only = config.link_type == "link_only"
    if link_only and dataset not in table.column_names:
        raise ValueError(f"link-only mode needs a {dataset!r} column naming each record's file")
    n = table.num_rows
    source = pc.cast(table[dataset], pa.string()) if link_only else pa.array(["records"] * n)
    columns: dict[str, Any] = {
        "record_id": ids,
        "source_system": source,
        "source_table": pa.array(["records"] * n, pa.string()),
        "source_key": ids,
        "source_row": ids,
        "load_id": pa.nulls(n, pa.string()),
    }
    for field in FIELDS:
        column = fields.get(field)
        values = table[column] if column in table.column_names else pa.nulls(n, pa.string())
        columns[RECORD_COLUMN[field]] = _text(values)
    local = fields.get("local_id")
    columns["local_id"] = _text(table[local]) if local in table.column_names else pa.nulls(n)
    out = pa.table({c: pc.cast(columns[c], pa.string()) for c in RECORD_COLUMNS})
    out = features_for(kind, out, config)
    return out.append_column(DATASET, out["source_system"]) if link_only else out


def _text(values: Any) -> Any:
    text = pc.utf8_trim_whitespace(pc.cast(values, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
