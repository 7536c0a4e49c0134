"""Resolve one entity kind: records → features → profiles → links → clusters → golden ids.

`resolve` runs everything (training included) and is what a full re-run does;
`incremental.resolve_new` links only new records against the stored result. Both store the
record-level result in the base zone (``base.<kind>_link``: every source record with its lineage,
its linkage features and its golden id) and the Splink model beside it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.core.engine import Engine
from citybrain.core.logging import get_logger
from citybrain.govern.resolve import (
    attach,
    clusters,
    deterministic,
    golden_ids,
    model,
    probabilistic,
    profiles,
    staging,
)
from citybrain.govern.resolve.backend import splink_api
from citybrain.govern.resolve.features import features_for_kind
from citybrain.govern.resolve.records import Kind, build_records
from citybrain.govern.resolve.settings import DEFAULT_ENTERPRISE, DEFAULT_PERSON, KindConfig

log = get_logger("citybrain.govern.resolve")

PREFIX: dict[str, str] = {"person": "P", "enterprise": "E"}
GOLDEN_COLUMN: dict[str, str] = {"person": "golden_person_id", "enterprise": "golden_enterprise_id"}
DATASET = "source_dataset"


@dataclass(frozen=True)
class Resolution:
    """One run's result for one entity kind."""

    kind: Kind
    #: one row per source record: lineage, features, golden id — or how to read them from the
    #: lake where they were stored (a city's links are not held in memory)
    link_source: pa.Table | Callable[[], pa.Table]
    model_json: str
    stats: dict[str, int]
    #: why the kind was linked by exact identifiers only, without a model (None: it had one)
    reason: str | None = None
    #: warnings about the fields the records lack (comparisons and rules left out)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def links(self) -> pa.Table:
        source = self.link_source
        return source if isinstance(source, pa.Table) else source()

    @property
    def rows(self) -> int:
        """How many records were linked."""
        if isinstance(self.link_source, pa.Table):
            return int(self.link_source.num_rows)
        return int(self.stats["records"])

    @property
    def golden_column(self) -> str:
        return GOLDEN_COLUMN[self.kind]

    def id_map(self) -> pa.Table:
        return self.links.select(["record_id", self.golden_column]).rename_columns(
            ["record_id", "golden_id"]
        )


def default_config(kind: Kind) -> KindConfig:
    return DEFAULT_PERSON if kind == "person" else DEFAULT_ENTERPRISE


def link_table(kind: Kind) -> str:
    return f"{kind}_link"


def features_for(kind: Kind, records: pa.Table, config: KindConfig | None = None) -> pa.Table:
    return features_for_kind(kind, records, (config or default_config(kind)).phone_region)


def feature_columns(kind: Kind, config: KindConfig | None = None) -> tuple[str, ...]:
    columns = profiles.PERSON_FEATURES if kind == "person" else profiles.ENTERPRISE_FEATURES
    if config is not None and config.link_type == "link_only":
        return (*columns, DATASET)
    return columns


def collect_records(
    engine: Engine, std: Mapping[str, ir.Table], kind: Kind, config: KindConfig | None = None
) -> pa.Table:
    """The kind's records from the std tables, with features, as Arrow."""
    config = config or default_config(kind)
    _warn_missing_columns(std, kind, config)
    expr = build_records(std, kind, config.sources)
    if expr is None:
        raise ValueError(f"none of the std tables given ({', '.join(std)}) has {kind} records")
    records = features_for(kind, engine.to_arrow(expr), config)
    if config.link_type == "link_only":
        records = records.append_column(DATASET, records["source_system"])
    return records


def _warn_missing_columns(std: Mapping[str, ir.Table], kind: Kind, config: KindConfig) -> None:
    for source in config.sources:
        if source.table not in std:
            continue
        columns = set(std[source.table].columns)
        if source.key not in columns:
            log.warning(f"{kind}: std.{source.table} has no key column {source.key!r}: no records")
        missing = sorted(c for c in source.fields.values() if c not in columns)
        if missing:
            log.warning(f"{kind}: std.{source.table} has no column {', '.join(missing)}")


def deterministic_edges(kind: Kind, table: pa.Table, config: KindConfig | None = None) -> pa.Table:
    """Links made without a model: the configured ``exact_links`` (link-only: across datasets,
    on identifiers only)."""
    config = config or default_config(kind)
    columns = {"valid_id": "id_valid", "local_id": "local_id", "other_id": "other_id_norm"}
    edges = [probabilistic.EDGE_SCHEMA.empty_table()]
    for link in config.exact_links:
        if config.link_type == "link_only":
            if link in columns:
                edges.append(deterministic.cross_dataset_edges(table, columns[link], DATASET))
        elif link in ("valid_id", "other_id"):
            edges.append(deterministic.identifier_edges(table, columns[link]))
        elif link == "local_id":
            edges.append(deterministic.guarded_edges(table, "local_id"))
        elif link == "registered_name":
            edges.append(deterministic.guarded_edges(table, "name_norm"))
        elif link == "phone_and_surname":
            edges.append(deterministic.phone_name_edges(table))
    return pa.concat_tables(edges)


@dataclass(frozen=True)
class Clustering:
    """(record_id, cluster_id) for the records, the model used ("" when none) and counts."""

    clusters: pa.Table
    model_json: str
    stats: dict[str, int]
    reason: str | None
    notes: tuple[str, ...]


def cluster_records(
    engine: Engine,
    kind: Kind,
    records: pa.Table,
    model_json: str | None = None,
    seed: int = 42,
    config: KindConfig | None = None,
) -> Clustering:
    """Link ``records`` (in memory): exact links, then the model the records allow (if any)."""
    config = config or default_config(kind)
    collapse = config.link_type == "dedupe_only"
    table, mapping = profiles.profiles(records, feature_columns(kind, config), collapse=collapse)
    found = cluster_profiles(engine, kind, table, model_json, seed, config)
    stats = {"records": records.num_rows, "records_without_name": records["name"].null_count}
    return Clustering(
        profiles.expand(found.clusters, mapping),
        found.model_json,
        {**stats, **found.stats},
        found.reason,
        found.notes,
    )


def cluster_profiles(
    engine: Engine,
    kind: Kind,
    table: pa.Table,
    model_json: str | None = None,
    seed: int = 42,
    config: KindConfig | None = None,
) -> Clustering:
    """(profile's record_id, cluster_id) for distinct profiles: exact links, then the model the
    profiles allow (if any). The cluster id is the cluster's least profile id."""
    config = config or default_config(kind)
    db_api = splink_api(engine)
    fixed = deterministic_edges(kind, table, config)
    plan = model.plan(kind, config, table)
    reason = plan.reason
    scored = probabilistic.EDGE_SCHEMA.empty_table()
    if reason is None:
        try:
            if model_json is None:
                linker = probabilistic.train(db_api, table, plan, seed=seed)
                model_json = probabilistic.model_json(linker)
            else:
                linker = probabilistic.load(db_api, table, plan, model_json)
            scored = probabilistic.predict_edges(linker, config.threshold)
        except probabilistic.Untrainable as exc:
            reason = str(exc)
    if reason is not None:
        model_json = ""
        log.warning(f"{kind}: linked by exact identifiers only: {reason}")
    edges = pa.concat_tables([fixed, scored])
    profile_clusters = clusters.connected_components(db_api, table["record_id"], edges)
    profile_clusters = clusters.split_conflicts(profile_clusters, table, edges)
    stats = {
        "profiles": table.num_rows,
        "deterministic_edges": fixed.num_rows,
        "probabilistic_edges": scored.num_rows,
    }
    return Clustering(profile_clusters, model_json or "", stats, reason, plan.notes)


def resolve(
    engine: Engine,
    std: Mapping[str, ir.Table],
    kind: Kind,
    *,
    config: KindConfig | None = None,
    model_json: str | None = None,
    seed: int = 42,
    store: bool = True,
) -> Resolution:
    """A full run: link every record of ``kind``, keep golden ids of the stored run stable.

    With ``model_json`` the saved model is reused instead of trained again. The records are
    staged in the lake (`staging`): memory holds their distinct profiles, not the records, and
    the links are written by the engine. Stored, the result's links are read back on demand.
    """
    config = config or default_config(kind)
    _warn_missing_columns(std, kind, config)
    collapse = config.link_type == "dedupe_only"
    dataset = DATASET if config.link_type == "link_only" else None
    golden = GOLDEN_COLUMN[kind]
    try:
        staged = staging.stage(engine, std, kind, config, feature_columns(kind, config),
                               collapse=collapse, dataset=dataset)  # fmt: skip
        table = staged.profiles(engine)
        found = cluster_profiles(engine, kind, table, model_json, seed, config)
        clustered = found.clusters
        if kind == "person" and config.attach_by_name and collapse:
            clustered = attach.attach(table, clustered)
        ids = golden_ids.assign_clusters(
            pc.unique(clustered["cluster_id"].combine_chunks()),
            _overlap(engine, staged, clustered, kind),
            _taken_ids(engine, kind),
            PREFIX[kind],
        )
        of_profile = clustered.join(ids, "cluster_id").select(["record_id", "golden_id"])
        records = staged.table(engine)
        by_profile = engine.register(f"resolve_{kind}_golden", of_profile.rename_columns(
            [staging.PROFILE, "work_golden"]))  # fmt: skip
        joined = records.inner_join(by_profile, staging.PROFILE)
        # Not sorted: a sort of every record with its columns is the costliest write of a
        # city; readers sort (`_read_links`).
        links = joined.select(
            *[c for c in records.columns if c != staging.PROFILE], **{golden: joined.work_golden}
        )
        stats = {
            "records": staged.rows,
            "records_without_name": engine.count(records.filter(records["name"].isnull())),
            **found.stats,
            "golden_entities": ids.num_rows,
        }
        result_links: pa.Table | Callable[[], pa.Table]
        if store:
            engine.write(links, "base", link_table(kind), ordered=False)
            estates = engine.table(staging.ZONE, staging.work_table(kind, "estates"))
            engine.write(estates, "base", staging.road_estates_table(kind))
            result_links = links_reader(engine, kind)
        else:
            result_links = engine.to_arrow(links).sort_by("record_id")
    finally:
        staging.drop_work(engine, kind)
    result = Resolution(kind, result_links, found.model_json, stats, found.reason, found.notes)
    if store:
        _store_model(engine, result)
    return result


def _overlap(engine: Engine, staged: staging.Staged, clustered: pa.Table, kind: Kind) -> pa.Table:
    """(cluster_id, golden_id, n): how many records of each new cluster carried each id of the
    stored run (none on a first run)."""
    if not engine.exists("base", link_table(kind)):
        return golden_ids.OVERLAP_SCHEMA.empty_table()
    stored = engine.table("base", link_table(kind))
    previous = stored.select(work_record=stored.record_id, golden_id=stored[GOLDEN_COLUMN[kind]])
    records = staged.table(engine)
    cluster_of = engine.register(f"resolve_{kind}_clusters", clustered.select(
        ["record_id", "cluster_id"]).rename_columns([staging.PROFILE, "cluster_id"]))  # fmt: skip
    joined = records.select("record_id", staging.PROFILE).inner_join(cluster_of, staging.PROFILE)
    joined = joined.inner_join(previous, joined.record_id == previous.work_record)
    counted = joined.group_by(["cluster_id", "golden_id"]).agg(n=joined.count())
    return engine.to_arrow(counted).cast(golden_ids.OVERLAP_SCHEMA)


def _taken_ids(engine: Engine, kind: Kind) -> pa.Array:
    """Every golden id of the stored run."""
    if not engine.exists("base", link_table(kind)):
        return pa.array([], pa.string())
    stored = engine.table("base", link_table(kind))
    ids = engine.to_arrow(stored.select(golden=stored[GOLDEN_COLUMN[kind]]).distinct())
    return ids["golden"].combine_chunks().cast(pa.string())


def link_parts(engine: Engine, kind: Kind) -> frozenset[str]:
    """The Parquet parts of the stored links (each write names its parts anew)."""
    return _parts(engine.table_dir("base", link_table(kind)))


def _parts(folder: Path) -> frozenset[str]:
    return frozenset(str(p.relative_to(folder)) for p in folder.rglob("*.parquet"))


def _read_links(folder: Path, parts: frozenset[str]) -> pa.Table:
    """The links stored as ``parts``, sorted by record id, read from their Parquet files (so
    also once the engine is closed); an error once a later run replaced them."""
    if _parts(folder) != parts:
        raise RuntimeError(
            f"the links of this resolution were replaced by a later one in {folder}; "
            "read them before resolving again"
        )
    table = pq.read_table(folder)
    # Spark writes the key as not null, DuckDB does not: the same links either way.
    nullable = pa.schema([f.with_nullable(True) for f in table.schema])
    return table.cast(nullable).sort_by("record_id")


def links_reader(engine: Engine, kind: Kind) -> Callable[[], pa.Table]:
    """Reads the kind's links as stored now, whenever it is called (`Resolution.links`)."""
    return partial(
        _read_links, engine.table_dir("base", link_table(kind)), link_parts(engine, kind)
    )


#: Raised when the clustering itself changes (not the model): a resolution stored by an older
#: resolver is done again in full once, its golden ids inherited. 2: no cluster holds two valid
#: identifiers (`clusters.split_conflicts`).
RESOLVER_VERSION = "2"


def model_path(engine: Engine, kind: Kind) -> Path:
    return engine.lake_root / "base" / "_models" / f"{kind}_splink.json"


def _resolver_path(engine: Engine, kind: Kind) -> Path:
    return model_path(engine, kind).with_suffix(".resolver")


def stored_model(engine: Engine, kind: Kind) -> str | None:
    path = model_path(engine, kind)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def stored_by_this_resolver(engine: Engine, kind: Kind) -> bool:
    """Whether the stored resolution was made by this version of the clustering."""
    path = _resolver_path(engine, kind)
    return path.is_file() and path.read_text(encoding="utf-8").strip() == RESOLVER_VERSION


def store_resolution(engine: Engine, result: Resolution) -> None:
    """Write ``base.<kind>_link`` and the model (each atomically)."""
    engine.write(result.links, "base", link_table(result.kind))
    _store_model(engine, result)


def _store_model(engine: Engine, result: Resolution) -> None:
    path = model_path(engine, result.kind)
    if not result.model_json:  # exact links only: no model to keep, and none of an older run
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(result.model_json, encoding="utf-8")
    tmp.replace(path)
    _resolver_path(engine, result.kind).write_text(RESOLVER_VERSION, encoding="utf-8")
