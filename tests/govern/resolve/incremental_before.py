"""The incremental resolve as it was before it was made to scale (commit da79532): every stored
link and every record read into memory. Kept as the reference the scaled `resolve_new` is
compared with (`test_incremental`); not used by the product.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker

from citybrain.core.engine import Engine
from citybrain.core.logging import get_logger
from citybrain.govern.resolve import attach, clusters, golden_ids, model, probabilistic, profiles
from citybrain.govern.resolve.backend import splink_api
from citybrain.govern.resolve.pipeline import (
    GOLDEN_COLUMN,
    PREFIX,
    Resolution,
    collect_records,
    default_config,
    deterministic_edges,
    feature_columns,
    link_table,
    links_reader,
    resolve,
    store_resolution,
    stored_by_this_resolver,
    stored_model,
)
from citybrain.govern.resolve.records import Kind, build_records
from citybrain.govern.resolve.settings import KindConfig

_GOLDEN_NODE = "\u0001golden:"
log = get_logger("citybrain.govern.resolve")


def resolve_new_in_memory(
    engine: Engine,
    std: Mapping[str, ir.Table],
    kind: Kind,
    *,
    config: KindConfig | None = None,
    store: bool = True,
) -> Resolution:
    """Add the records of ``std`` not yet linked; a first run (or a stored model the
    configuration no longer builds) falls back to a full `resolve`."""
    config = config or default_config(kind)
    saved = stored_model(engine, kind)
    if saved is None or not engine.exists("base", link_table(kind)):
        return resolve(engine, std, kind, config=config, store=store)
    if not stored_by_this_resolver(engine, kind):
        log.warning(f"{kind}: stored by an older resolver; resolving every record again")
        return resolve(engine, std, kind, config=config, store=store)
    golden = GOLDEN_COLUMN[kind]
    stored = engine.table("base", link_table(kind))
    features = feature_columns(kind, config)
    if not set(features) <= set(stored.columns):  # stored by an older resolver
        return resolve(engine, std, kind, config=config, store=store)
    unseen = _unseen(engine, std, kind, config, stored)
    if unseen == 0:  # the nightly run of a kind with no new load: nothing read into memory
        links = links_reader(engine, kind)
        return Resolution(kind, links, saved, {"records": engine.count(stored), "new": 0})
    existing = engine.to_arrow(stored)
    records = collect_records(engine, std, kind, config)
    new = records.filter(pc.invert(pc.is_in(records["record_id"], existing["record_id"])))
    collapse = config.link_type == "dedupe_only"
    old_profiles, old_map = profiles.profiles(existing, features, collapse=collapse)
    new_profiles, new_map = profiles.profiles(new, features, collapse=collapse)
    try:
        edges = _edges(engine, kind, config, saved, old_profiles, new_profiles)
    except probabilistic.ModelMismatch as exc:
        log.warning(f"{kind}: {exc}; resolving every record again")
        return resolve(engine, std, kind, config=config, store=store)
    # Stored profiles collapse into their golden entity's node.
    old_golden = old_map.join(existing.select(["record_id", golden]), "record_id")
    node_of = (
        pa.table(
            {
                "profile_id": old_golden["profile_id"],
                "node": pc.binary_join_element_wise(_GOLDEN_NODE, old_golden[golden], ""),
            }
        )
        .group_by(["profile_id", "node"])
        .aggregate([])
    )
    graph = _to_nodes(edges, node_of)
    nodes = pa.chunked_array(
        [new_profiles["record_id"].combine_chunks(), pc.unique(node_of["node"])], pa.string()
    ).combine_chunks()
    components = clusters.connected_components(splink_api(engine), nodes, graph)
    components = clusters.split_conflicts(
        components, _node_codes(existing, golden, new_profiles), graph
    )
    links = _assign(kind, existing, new, new_map, components)
    if kind == "person" and config.attach_by_name and config.link_type == "dedupe_only":
        links = attach.attach_new(links, golden, pc.unique(existing[golden]))
    stats = {
        "records": links.num_rows,
        "new": new.num_rows,
        "edges": edges.num_rows,
        "golden_entities": pc.count_distinct(links[golden]).as_py(),
    }
    result = Resolution(kind, links, saved, stats)
    if store:
        store_resolution(engine, result)
    return result


def _unseen(
    engine: Engine, std: Mapping[str, ir.Table], kind: Kind, config: KindConfig, stored: ir.Table
) -> int:
    """How many records of ``std`` the stored links do not hold (counted by the engine)."""
    records = build_records(std, kind, config.sources, latest=False)  # ids alone: no choice
    if records is None:
        return 0
    new = records.select("record_id").anti_join(stored.select("record_id"), "record_id")
    return engine.count(new)


def _edges(
    engine: Engine, kind: Kind, config: KindConfig, saved: str, old: pa.Table, new: pa.Table
) -> pa.Table:
    db_api = splink_api(engine)
    plan = model.plan(kind, config, pa.concat_tables([old, new]))
    old_frame = db_api.register(old)
    new_frame = db_api.register(new)
    settings = probabilistic.settings_for(db_api, plan, saved)
    probabilistic.route_splink_logs()
    linker = Linker(new_frame, settings, log_level=None)
    scored = probabilistic.predict_new_edges(linker, old_frame, new_frame, config.threshold)
    # Deterministic links among the new records and to stored ones sharing a valid identifier.
    keys = ["id_valid", "local_id", "other_id_norm"]
    keys.append("name_norm" if kind == "enterprise" else "phone_norm")
    related = pa.concat_tables(
        [old.filter(pc.is_in(old[key], value_set=pc.unique(new[key].drop_null()))) for key in keys]
    )
    fixed = deterministic_edges(kind, pa.concat_tables([related, new]), config)
    return pa.concat_tables([fixed, scored])


def _to_nodes(edges: pa.Table, node_of: pa.Table) -> pa.Table:
    """Edges with every stored profile replaced by its golden entity's node (the strongest
    edge of each pair of nodes kept)."""
    lookup = node_of.to_pandas().drop_duplicates("profile_id").set_index("profile_id")["node"]
    frame = edges.select(["record_id_l", "record_id_r", "match_probability"]).to_pandas()
    for side in ("record_id_l", "record_id_r"):
        frame[side] = frame[side].map(lookup).fillna(frame[side])
    frame = frame[frame["record_id_l"] != frame["record_id_r"]]
    frame = frame.groupby(["record_id_l", "record_id_r"], as_index=False)["match_probability"].max()
    return pa.Table.from_pandas(frame, preserve_index=False).cast(probabilistic.EDGE_SCHEMA)


def _node_codes(existing: pa.Table, golden: str, new_profiles: pa.Table) -> pa.Table:
    """(node, its valid identifier) for `clusters.split_conflicts`: a stored entity's (the least,
    should an entity stored before the rule hold two) and each new profile's own."""
    coded = existing.filter(pc.is_valid(existing["id_valid"]))
    stored = coded.group_by(golden).aggregate([("id_valid", "min")])
    nodes = pc.binary_join_element_wise(_GOLDEN_NODE, pc.cast(stored[golden], pa.string()), "")
    schema = pa.schema([("record_id", pa.string()), ("id_valid", pa.string())])
    return pa.concat_tables(
        [
            pa.table([nodes, stored["id_valid_min"]], names=schema.names).cast(schema),
            new_profiles.select(["record_id", "id_valid"]).cast(schema),
        ]
    )


def _assign(
    kind: Kind, existing: pa.Table, new: pa.Table, new_map: pa.Table, components: pa.Table
) -> pa.Table:
    golden = GOLDEN_COLUMN[kind]
    comp = components.to_pandas()
    is_golden = comp["record_id"].str.startswith(_GOLDEN_NODE)
    old_ids = comp[is_golden].assign(golden_id=lambda f: f["record_id"].str[len(_GOLDEN_NODE) :])
    sizes = pd.Series(pc.value_counts(existing[golden]).to_pylist()).apply(pd.Series)
    size = sizes.set_index("values")["counts"] if len(sizes) else pd.Series(dtype=int)
    old_ids["n"] = old_ids["golden_id"].map(size).fillna(0)
    # In each component the stored entity with most records keeps its id; the others merge in.
    keeper = old_ids.sort_values(["cluster_id", "n", "golden_id"], ascending=[True, False, True])
    keeper = keeper.drop_duplicates("cluster_id").set_index("cluster_id")["golden_id"]
    merged = old_ids.assign(into=old_ids["cluster_id"].map(keeper))
    merged = merged[merged["into"] != merged["golden_id"]].set_index("golden_id")["into"]
    old = existing.to_pandas()
    renamed = old[golden].map(merged)
    old[golden] = renamed.where(renamed.notna(), old[golden])
    # New records: the component's keeper, or a fresh id per new component.
    members = new_map.to_pandas().merge(
        comp.rename(columns={"record_id": "profile_id"}), on="profile_id"
    )
    members["golden_id"] = members["cluster_id"].map(keeper)
    fresh = members[members["golden_id"].isna()][["record_id", "cluster_id"]]
    if len(fresh):
        fresh_ids = (
            golden_ids.assign(
                pa.Table.from_pandas(fresh, preserve_index=False),
                None,
                PREFIX[kind],
            )
            .to_pandas()
            .set_index("record_id")["golden_id"]
        )
        taken = set(old[golden])
        clash = fresh_ids.isin(taken)
        if clash.any():  # a fresh hash equal to a stored id: salt through assign's collision rule
            fresh_ids[clash] = fresh_ids[clash] + "-" + fresh_ids[clash].index.str[-6:]
        members.loc[members["golden_id"].isna(), "golden_id"] = members["record_id"].map(fresh_ids)
    added = new.to_pandas().merge(
        members[["record_id", "golden_id"]].rename(columns={"golden_id": golden}), on="record_id"
    )
    out = pd.concat([old, added[old.columns]], ignore_index=True)
    schema = existing.schema
    return pa.Table.from_pandas(out, preserve_index=False).cast(schema).sort_by("record_id")
