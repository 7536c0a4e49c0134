"""Resolve one entity kind: records → features → profiles → links → clusters → golden ids.

`resolve` runs everything (training included) and is what a full re-run does;
`incremental.resolve_new` links only new records against the stored result. Both store the
record-level result in the base zone (``base.<kind>_link``: every source record with its lineage,
its linkage features and its golden id) and the Splink model beside it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.engine import Engine
from citybrain.govern.resolve import (
    attach,
    clusters,
    deterministic,
    golden_ids,
    probabilistic,
    profiles,
)
from citybrain.govern.resolve.backend import splink_api
from citybrain.govern.resolve.features import enterprise_features, person_features
from citybrain.govern.resolve.records import Kind, build_records

PREFIX: dict[str, str] = {"person": "P", "enterprise": "E"}
GOLDEN_COLUMN: dict[str, str] = {"person": "golden_person_id", "enterprise": "golden_enterprise_id"}


@dataclass(frozen=True)
class Resolution:
    """One run's result for one entity kind."""

    kind: Kind
    links: pa.Table  # one row per source record: lineage, features, golden id
    model_json: str
    stats: dict[str, int]

    @property
    def golden_column(self) -> str:
        return GOLDEN_COLUMN[self.kind]

    def id_map(self) -> pa.Table:
        return self.links.select(["record_id", self.golden_column]).rename_columns(
            ["record_id", "golden_id"]
        )


def link_table(kind: Kind) -> str:
    return f"{kind}_link"


def features_for(kind: Kind, records: pa.Table) -> pa.Table:
    return person_features(records) if kind == "person" else enterprise_features(records)


def feature_columns(kind: Kind) -> tuple[str, ...]:
    return profiles.PERSON_FEATURES if kind == "person" else profiles.ENTERPRISE_FEATURES


def collect_records(engine: Engine, std: Mapping[str, ir.Table], kind: Kind) -> pa.Table:
    """The kind's records from the std tables, with features, as Arrow."""
    expr = build_records(std, kind)
    if expr is None:
        raise ValueError(f"none of the std tables given ({', '.join(std)}) has {kind} records")
    return features_for(kind, engine.to_arrow(expr))


def deterministic_edges(kind: Kind, table: pa.Table) -> pa.Table:
    edges = [
        deterministic.identifier_edges(table, "id_valid"),
        deterministic.guarded_edges(table, "local_id"),
    ]
    if kind == "enterprise":
        edges.append(deterministic.guarded_edges(table, "name_norm"))
    else:
        edges.append(deterministic.phone_name_edges(table))
    return pa.concat_tables(edges)


def cluster_records(
    engine: Engine, kind: Kind, records: pa.Table, model_json: str | None = None, seed: int = 42
) -> tuple[pa.Table, str, dict[str, int]]:
    """(record_id, cluster_id) for ``records``, the model used, and counts."""
    spec = probabilistic.MODELS[kind]
    table, mapping = profiles.profiles(records, feature_columns(kind))
    db_api = splink_api(engine)
    if model_json is None:
        linker = probabilistic.train(db_api, table, spec, seed=seed)
        model_json = probabilistic.model_json(linker)
    else:
        linker = probabilistic.load(db_api, table, spec, model_json)
    scored = probabilistic.predict_edges(linker, spec.threshold)
    fixed = deterministic_edges(kind, table)
    edges = pa.concat_tables([fixed, scored])
    profile_clusters = clusters.connected_components(db_api, table["record_id"], edges)
    stats = {
        "records": records.num_rows,
        "profiles": table.num_rows,
        "deterministic_edges": fixed.num_rows,
        "probabilistic_edges": scored.num_rows,
    }
    return profiles.expand(profile_clusters, mapping), model_json, stats


def resolve(
    engine: Engine,
    std: Mapping[str, ir.Table],
    kind: Kind,
    *,
    model_json: str | None = None,
    seed: int = 42,
    store: bool = True,
) -> Resolution:
    """A full run: link every record of ``kind``, keep golden ids of the stored run stable.

    With ``model_json`` the saved model is reused instead of trained again.
    """
    records = collect_records(engine, std, kind)
    clustered, model, stats = cluster_records(engine, kind, records, model_json, seed)
    if kind == "person":
        clustered = attach.attach(records, clustered)
    previous = previous_id_map(engine, kind)
    ids = golden_ids.assign(clustered, previous, PREFIX[kind])
    links = _links(kind, records, ids)
    stats["golden_entities"] = pc.count_distinct(links[GOLDEN_COLUMN[kind]]).as_py()
    result = Resolution(kind, links, model, stats)
    if store:
        store_resolution(engine, result)
    return result


def _links(kind: Kind, records: pa.Table, ids: pa.Table) -> pa.Table:
    joined = records.join(ids, "record_id", join_type="inner")
    return joined.rename_columns(
        [GOLDEN_COLUMN[kind] if c == "golden_id" else c for c in joined.column_names]
    ).sort_by("record_id")


def previous_id_map(engine: Engine, kind: Kind) -> pa.Table | None:
    if not engine.exists("base", link_table(kind)):
        return None
    table = engine.to_arrow(engine.table("base", link_table(kind)))
    return table.select(["record_id", GOLDEN_COLUMN[kind]]).rename_columns(
        ["record_id", "golden_id"]
    )


def model_path(engine: Engine, kind: Kind) -> Path:
    return engine.lake_root / "base" / "_models" / f"{kind}_splink.json"


def stored_model(engine: Engine, kind: Kind) -> str | None:
    path = model_path(engine, kind)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def store_resolution(engine: Engine, result: Resolution) -> None:
    """Write ``base.<kind>_link`` and the model (each atomically)."""
    engine.write(result.links, "base", link_table(result.kind))
    path = model_path(engine, result.kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(result.model_json, encoding="utf-8")
    tmp.replace(path)
