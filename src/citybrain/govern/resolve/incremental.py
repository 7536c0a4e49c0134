"""Incremental linkage: link a new load against the stored clusters without re-running all.

Only new records are scored — against the stored records (Splink ``predict_between``) and among
themselves (``predict_within``) — with the stored model; valid identifiers link deterministically
as in a full run. Each stored golden entity becomes one graph node, so a new record joins the
entity it matches; a new record that matches two entities merges them, the one with more records
keeping its id. New records that match nothing form new entities with fresh ids. Stored ids never
change otherwise, which is what keeps a nightly run's ids stable.

Its memory and its Python work follow the new records, not the stored ones (at a city, 67 M
stored person records and a nightly 1 %):

- the engine finds the new records (the kind's records whose id ``base.<kind>_link`` lacks);
  only they get features (`staging`'s code for a chunk; the estate learned from the other
  addresses with the same road number, from the stored counts of each road number's estates
  and the new records' own — see `_learned_places`);
- the engine hands over only the stored profiles that can pair with a new one: those equal on
  the columns of a blocking rule or on a deterministic key (`_KEYS`) — a pair no rule blocks is
  never scored, so the rest could not change a score;
- sizes and identifiers are read for the stored entities those profiles belong to, and for the
  attachment by name (`attach.attach_new`) the entities that carry a new entity's name or
  dwelling, whole;
- the new records' links are appended to the stored table; when entities merge, one engine
  query writes the table again with the merged ids renamed (one atomic replace: a killed run
  leaves the old table or the new one). The result's links are read back on demand.

It gives the golden ids the in-memory version (every stored link and record held in Python)
gave. That version learned the estate from every record's parsed address; this one from the
counts a full run stores (``base.<kind>_road_estates``) plus the new records', which is the same.
A workspace stored before the counts were kept learns from stored records with the same address
text, then the new records (at the 10M city one new record of 20,166 differed without the first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from splink import Linker

from citybrain.core.engine import Engine
from citybrain.core.logging import get_logger
from citybrain.core.parallel import resolve_workers
from citybrain.govern.resolve import (
    attach,
    clusters,
    golden_ids,
    model,
    probabilistic,
    profiles,
    staging,
)
from citybrain.govern.resolve import features as feats
from citybrain.govern.resolve.backend import splink_api
from citybrain.govern.resolve.pipeline import (
    DATASET,
    GOLDEN_COLUMN,
    PREFIX,
    Resolution,
    _store_model,
    _warn_missing_columns,
    default_config,
    deterministic_edges,
    feature_columns,
    link_table,
    links_reader,
    resolve,
    stored_by_this_resolver,
    stored_model,
)
from citybrain.govern.resolve.records import Kind, build_records, latest_rows
from citybrain.govern.resolve.settings import KindConfig

_GOLDEN_NODE = "\u0001golden:"
#: Columns on which a new record links to a stored one without the model (`deterministic_edges`).
_KEYS: dict[str, tuple[str, ...]] = {
    "person": ("id_valid", "local_id", "other_id_norm", "phone_norm"),
    "enterprise": ("id_valid", "local_id", "other_id_norm", "name_norm"),
}
#: What `attach.attach_new` reads of a record.
_ATTACH_COLUMNS: tuple[str, ...] = (
    "record_id", "name_norm", "name_py", "surname", "gender", "addr_place", "addr_room",
    "phone_norm", "id_valid",
)  # fmt: skip
log = get_logger("citybrain.govern.resolve")


def resolve_new(
    engine: Engine,
    std: Mapping[str, ir.Table],
    kind: Kind,
    *,
    config: KindConfig | None = None,
    store: bool = True,
) -> Resolution:
    """Add the records of ``std`` not yet linked; a first run (or a stored model the
    configuration no longer builds) falls back to a full `resolve`.

    Without ``store`` the links are returned in memory, every stored one with them.
    """
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
    _warn_missing_columns(std, kind, config)
    new, estates = _new_records(engine, std, kind, config, stored)
    if new.num_rows == 0:  # the nightly run of a kind with no new load: nothing read into memory
        links = links_reader(engine, kind)
        return Resolution(kind, links, saved, {"records": engine.count(stored), "new": 0})
    collapse = config.link_type == "dedupe_only"
    new_profiles, new_map = profiles.profiles(new, features, collapse=collapse)
    old_profiles, node_of = _stored_profiles(engine, kind, config, stored, new_profiles)
    try:
        edges = _edges(engine, kind, config, saved, stored, old_profiles, new_profiles)
    except probabilistic.ModelMismatch as exc:
        log.warning(f"{kind}: {exc}; resolving every record again")
        return resolve(engine, std, kind, config=config, store=store)
    graph = _to_nodes(edges, node_of)
    nodes = pa.chunked_array(
        [new_profiles["record_id"].combine_chunks(), pc.unique(node_of["node"])], pa.string()
    ).combine_chunks()
    components = clusters.connected_components(splink_api(engine), nodes, graph)
    entities = _entities(engine, kind, stored, pc.unique(node_of[golden]))
    components = clusters.split_conflicts(
        components, _node_codes(entities, golden, new_profiles), graph
    )
    merged, added, fresh = _assign(engine, kind, stored, new, new_map, components, entities)
    if kind == "person" and config.attach_by_name and collapse:
        added = _attach_new(engine, kind, stored, added, merged, fresh)
    stored_rows = engine.count(stored)
    log.info(
        f"{kind}: linked incrementally: {new.num_rows:,} new records against {stored_rows:,} "
        f"stored ({merged.num_rows:,} entities merged into others)"
    )
    stats = {
        "records": stored_rows + added.num_rows,
        "new": new.num_rows,
        "edges": edges.num_rows,
        "stored_profiles_read": old_profiles.num_rows,
        "entities_merged": merged.num_rows,
        "new_entities": pc.count_distinct(
            added.filter(pc.is_in(added[golden], value_set=fresh))[golden]
        ).as_py(),
    }
    if not store:
        whole = engine.to_arrow(_written(engine, kind, stored, added, merged, whole=True))
        return Resolution(kind, whole.sort_by("record_id"), saved, stats)
    written = _written(engine, kind, stored, added, merged, whole=merged.num_rows > 0)
    # One write either way: the new rows appended, or — entities merged — the table replaced
    # with them and the merged ids renamed; readers see the old links or the new ones.
    engine.write(written, "base", link_table(kind), ordered=False,
                 mode="replace" if merged.num_rows else "append")  # fmt: skip
    if engine.exists("base", staging.road_estates_table(kind)) and estates.num_rows:
        # After the links: killed between the two, a later night learns without these records.
        engine.write(estates, "base", staging.road_estates_table(kind), mode="append")
    result = Resolution(kind, links_reader(engine, kind), saved, stats)
    _store_model(engine, result)
    return result


def _new_records(
    engine: Engine, std: Mapping[str, ir.Table], kind: Kind, config: KindConfig, stored: ir.Table
) -> tuple[pa.Table, pa.Table]:
    """The records of ``std`` the stored links do not hold, with their features (Arrow), and
    how many of them name each estate at each road number (`new_road_estates`).

    The engine finds them (an anti-join on the record id) and chooses each one's row; the
    features are `staging`'s, a chunk of `staging.CHUNK_ROWS` records at a time (side by side
    in `KindConfig.workers` processes).
    """
    none = feats.ESTATE_COUNTS.empty_table()
    rows = build_records(std, kind, config.sources, latest=False)
    if rows is None:
        return pa.table({"record_id": pa.array([], pa.string())}), none
    unseen = rows.anti_join(stored.select("record_id"), "record_id")
    records = engine.to_arrow(latest_rows(unseen))
    if records.num_rows == 0:
        return records, none
    dataset = DATASET if config.link_type == "link_only" else None
    size = staging.CHUNK_ROWS
    chunks = [records.slice(start, size) for start in range(0, records.num_rows, size)]
    workers = resolve_workers(config.workers)
    table = pa.concat_tables(staging._features_of(chunks, kind, config, dataset, workers))
    return _learned_places(engine, kind, stored, table), new_road_estates(table)


def _learned_places(engine: Engine, kind: Kind, stored: ir.Table, table: pa.Table) -> pa.Table:
    """``addr_place`` and ``addr_text`` as `features.address_features` gives them over every
    record: the stored records' address parts are not kept (parsing every stored address is
    what a nightly run must not do), but their road numbers' estate counts are
    (`_learned_with_stored_counts`). Without them (stored before they were kept), an address
    with a road number and no estate takes the estate stored records with the same address
    text were given, else the one learned from the new records' addresses.
    """
    parts = {
        "estate": table["work_addr_estate"],
        "road_key": table["work_addr_road_key"],
        "road": table["work_addr_road"],
        "text": table["work_addr_text"],
        # Features are strings; the flag was written as "true" / "false".
        "chinese": pc.equal(table["work_addr_chinese"], "true"),
    }
    if engine.exists("base", staging.road_estates_table(kind)):
        learned = _learned_with_stored_counts(engine, kind, parts)
    else:  # stored before the counts were kept
        learned = pc.take(*feats._learned_lookup(parts["road_key"], parts["estate"]))
        learned = pc.coalesce(_stored_estates(engine, kind, stored, table, parts), learned)
    place = feats.place_of(parts, learned)
    for name, values in (("addr_place", place), ("addr_text", feats.text_of(parts, place))):
        table = table.set_column(table.column_names.index(name), name, pc.cast(values, pa.string()))
    return table.drop_columns([c for c in table.column_names if c.startswith("work_addr_")])


def new_road_estates(table: pa.Table) -> pa.Table:
    """(road_key, estate, n) of new records with features (``work_addr_*``)."""
    return feats.estate_counts(table["work_addr_road_key"], table["work_addr_estate"])


def _learned_with_stored_counts(engine: Engine, kind: Kind, parts: dict[str, Any]) -> Any:
    """Per new record, the estate learned at its road number over every stored record and the
    new ones, as a full run learns it (`staging.road_estate_counts`): the stored counts of the
    new records' road numbers, read by the engine, with the new records' own added."""
    new = feats.estate_counts(parts["road_key"], parts["estate"])
    keys = pc.unique(pc.drop_null(parts["road_key"]))
    wanted = engine.register(f"resolve_{kind}_road_keys", pa.table({"road_key": keys}))
    stored = engine.table("base", staging.road_estates_table(kind))
    known = engine.to_arrow(stored.semi_join(wanted, "road_key").select("road_key", "estate", "n"))
    both = pa.concat_tables([known.cast(new.schema), new])
    summed = both.group_by(["road_key", "estate"], use_threads=False).aggregate([("n", "sum")])
    chosen = feats.best_estates(summed.rename_columns(feats.ESTATE_COUNTS.names))
    index = pc.index_in(parts["road_key"], value_set=chosen["road_key"])
    return pc.take(chosen["estate"], index)


def _stored_estates(
    engine: Engine, kind: Kind, stored: ir.Table, table: pa.Table, parts: dict[str, Any]
) -> pa.Array:
    """Per new record whose address has a road number and no estate: the estate stored records
    with the same address text have (the most of them; ties: the least), else null."""
    lacking = pc.and_(pc.is_null(parts["estate"]), pc.is_valid(parts["road_key"]))
    nothing = pa.nulls(table.num_rows, pa.string())
    addresses = pc.unique(table["address"].filter(lacking).drop_null())
    if len(addresses) == 0:
        return nothing
    wanted = engine.register(f"resolve_{kind}_addresses", pa.table({"address": addresses}))
    rows = stored.semi_join(wanted, "address")
    counted = rows.group_by(["address", "addr_place"]).aggregate(n=rows.count())
    known = engine.to_arrow(counted).sort_by(
        [("address", "ascending"), ("n", "descending"), ("addr_place", "ascending")]
    )
    first = known.group_by("address", use_threads=False).aggregate([("addr_place", "first")])
    index = pc.index_in(table["address"], value_set=first["address"])
    estate = pc.take(first["addr_place_first"].cast(pa.string()), index)
    # A stored place that is the road number itself was not an estate learned: none.
    estate = pc.if_else(pc.equal(estate, parts["road_key"]), nothing, estate)
    return pc.if_else(lacking, estate, nothing)


def _stored_profiles(
    engine: Engine, kind: Kind, config: KindConfig, stored: ir.Table, new: pa.Table
) -> tuple[pa.Table, pa.Table]:
    """(stored profiles that can pair with a ``new`` profile, (profile_id, node, golden id)).

    A stored profile can pair with a new one when they are equal on every column of a blocking
    rule (Splink scores no other pair) or on a deterministic key; the engine keeps those, a
    semi-join per rule. All records of one profile are equal on every column, so the profiles
    are whole: each one's id is its least record's, as over every stored record.
    """
    golden = GOLDEN_COLUMN[kind]
    features = feature_columns(kind, config)
    rules = {tuple(rule) for rule in config.blocking} | {(key,) for key in _KEYS[kind]}
    found = []
    for number, columns in enumerate(sorted(rules)):
        values = new.select(list(columns)).drop_null().group_by(list(columns)).aggregate([])
        if values.num_rows:
            keys = engine.register(f"resolve_{kind}_new_keys_{number}", values)
            found.append(stored.semi_join(keys, list(columns)).select("record_id"))
    schema = pa.schema([(c, pa.string()) for c in ("record_id", golden, *features)])
    if found:
        # The rules read their few columns each; the records found are read whole once.
        rows = stored.semi_join(ibis.union(*found, distinct=True), "record_id")
        rows = rows.select("record_id", golden, *features)
        if config.link_type == "dedupe_only":  # records equal in all but the id: the least
            rows = rows.group_by([golden, *features]).aggregate(record_id=rows.record_id.min())
        table = engine.to_arrow(rows).select(schema.names).cast(schema)
    else:
        table = schema.empty_table()
    old, mapping = profiles.profiles(table, features, collapse=config.link_type == "dedupe_only")
    owned = mapping.join(table.select(["record_id", golden]), "record_id")
    node_of = (
        pa.table(
            {
                "profile_id": owned["profile_id"],
                "node": pc.binary_join_element_wise(_GOLDEN_NODE, owned[golden], ""),
                golden: owned[golden],
            }
        )
        .group_by(["profile_id", "node", golden])
        .aggregate([])
        .sort_by([("profile_id", "ascending"), ("node", "ascending")])
    )
    return old, node_of


def _edges(
    engine: Engine,
    kind: Kind,
    config: KindConfig,
    saved: str,
    stored: ir.Table,
    old: pa.Table,
    new: pa.Table,
) -> pa.Table:
    db_api = splink_api(engine)
    schema = pa.schema([(c, pa.string()) for c in old.column_names])
    old, new = old.cast(schema), new.select(schema.names).cast(schema)
    plan = model.plan(kind, config, _with_presence(engine, stored, pa.concat_tables([old, new])))
    old_frame = db_api.register(old)
    new_frame = db_api.register(new)
    settings = probabilistic.settings_for(db_api, plan, saved)
    probabilistic.route_splink_logs()
    linker = Linker(new_frame, settings, log_level=None)
    scored = probabilistic.predict_new_edges(linker, old_frame, new_frame, config.threshold)
    # Deterministic links among the new records and to stored ones sharing a valid identifier.
    related = pa.concat_tables(
        [old.filter(pc.is_in(old[key], value_set=pc.unique(new[key].drop_null())))
         for key in _KEYS[kind]]
    )  # fmt: skip
    fixed = deterministic_edges(kind, pa.concat_tables([related, new]), config)
    return pa.concat_tables([fixed, scored])


def _with_presence(engine: Engine, stored: ir.Table, table: pa.Table) -> pa.Table:
    """``table`` and, should some column have no value in it but have one among the stored
    records, one row with a value in those columns: the model's plan (which comparisons and
    rules it keeps, `model.plan`) is made from what all the records carry, not the few read."""
    present = model.present_columns(table)
    absent = [c for c in table.column_names if c not in present and c != "record_id"]
    if not absent:
        return table
    column = {c: stored[c].notnull() & (stored[c].cast("string") != "") for c in absent}
    found = engine.to_arrow(stored.aggregate(**{c: value.any() for c, value in column.items()}))
    carried = [c for c in absent if found[c][0].as_py()]
    if not carried:
        return table
    marker = {c: pa.array(["x" if c in carried else None], pa.string()) for c in table.column_names}
    return pa.concat_tables([table, pa.table(marker, schema=table.schema)])


def _to_nodes(edges: pa.Table, node_of: pa.Table) -> pa.Table:
    """Edges with every stored profile replaced by its golden entity's node (the strongest
    edge of each pair of nodes kept). A profile whose records two entities hold goes to the
    least of them."""
    lookup = node_of.to_pandas().drop_duplicates("profile_id").set_index("profile_id")["node"]
    frame = edges.select(["record_id_l", "record_id_r", "match_probability"]).to_pandas()
    for side in ("record_id_l", "record_id_r"):
        frame[side] = frame[side].map(lookup).fillna(frame[side])
    frame = frame[frame["record_id_l"] != frame["record_id_r"]]
    frame = frame.groupby(["record_id_l", "record_id_r"], as_index=False)["match_probability"].max()
    return pa.Table.from_pandas(frame, preserve_index=False).cast(probabilistic.EDGE_SCHEMA)


def _entities(engine: Engine, kind: Kind, stored: ir.Table, ids: pa.Array) -> pa.Table:
    """(golden id, records ``n``, least valid identifier) of the stored entities ``ids``, over
    all their records."""
    golden = GOLDEN_COLUMN[kind]
    wanted = engine.register(f"resolve_{kind}_entities", pa.table({golden: ids.cast(pa.string())}))
    rows = stored.semi_join(wanted, golden)
    counted = rows.group_by(golden).aggregate(n=rows.count(), id_valid_min=rows.id_valid.min())
    schema = pa.schema([(golden, pa.string()), ("n", pa.int64()), ("id_valid_min", pa.string())])
    return engine.to_arrow(counted).select(schema.names).cast(schema)


def _node_codes(entities: pa.Table, golden: str, new_profiles: pa.Table) -> pa.Table:
    """(node, its valid identifier) for `clusters.split_conflicts`: a stored entity's (the least,
    should an entity stored before the rule hold two) and each new profile's own."""
    coded = entities.filter(pc.is_valid(entities["id_valid_min"]))
    nodes = pc.binary_join_element_wise(_GOLDEN_NODE, coded[golden], "")
    schema = pa.schema([("record_id", pa.string()), ("id_valid", pa.string())])
    return pa.concat_tables(
        [
            pa.table([nodes, coded["id_valid_min"]], names=schema.names).cast(schema),
            new_profiles.select(["record_id", "id_valid"]).cast(schema),
        ]
    )


def _assign(
    engine: Engine,
    kind: Kind,
    stored: ir.Table,
    new: pa.Table,
    new_map: pa.Table,
    components: pa.Table,
    entities: pa.Table,
) -> tuple[pa.Table, pa.Table, pa.Array]:
    """(merged: stored golden id -> the id it merges into, the new records with their golden
    ids in the stored links' columns, the fresh ids)."""
    golden = GOLDEN_COLUMN[kind]
    comp = components.to_pandas()
    is_golden = comp["record_id"].str.startswith(_GOLDEN_NODE)
    old_ids = comp[is_golden].assign(golden_id=lambda f: f["record_id"].str[len(_GOLDEN_NODE) :])
    size = entities.select([golden, "n"]).to_pandas().set_index(golden)["n"]
    old_ids["n"] = old_ids["golden_id"].map(size).fillna(0)
    # In each component the stored entity with most records keeps its id; the others merge in.
    keeper = old_ids.sort_values(["cluster_id", "n", "golden_id"], ascending=[True, False, True])
    keeper = keeper.drop_duplicates("cluster_id").set_index("cluster_id")["golden_id"]
    merged = old_ids.assign(into=old_ids["cluster_id"].map(keeper))
    merged = merged[merged["into"] != merged["golden_id"]][["golden_id", "into"]]
    # New records: the component's keeper, or a fresh id per new component.
    members = new_map.to_pandas().merge(
        comp.rename(columns={"record_id": "profile_id"}), on="profile_id"
    )
    members["golden_id"] = members["cluster_id"].map(keeper)
    fresh = members[members["golden_id"].isna()][["record_id", "cluster_id"]]
    fresh_names = pa.array([], pa.string())
    if len(fresh):
        fresh_ids = (
            golden_ids.assign(pa.Table.from_pandas(fresh, preserve_index=False), None, PREFIX[kind])
            .to_pandas()
            .set_index("record_id")["golden_id"]
        )
        clash = fresh_ids.isin(_taken(engine, kind, stored, fresh_ids.unique()))
        if clash.any():  # a fresh hash equal to a stored id: salt through assign's collision rule
            fresh_ids[clash] = fresh_ids[clash] + "-" + fresh_ids[clash].index.str[-6:]
        members.loc[members["golden_id"].isna(), "golden_id"] = members["record_id"].map(fresh_ids)
        fresh_names = pa.array(fresh_ids.unique(), pa.string())
    ids = pa.Table.from_pandas(
        members[["record_id", "golden_id"]].rename(columns={"golden_id": golden}),
        preserve_index=False,
    )
    schema = pa.schema([(c, pa.string()) for c in stored.columns])
    added = new.join(ids.cast(pa.schema([("record_id", pa.string()), (golden, pa.string())])),
                     "record_id", join_type="inner")  # fmt: skip
    added = added.select(schema.names).cast(schema).sort_by("record_id")
    merged_table = pa.table(
        {"golden_id": merged["golden_id"].astype(str), "into": merged["into"].astype(str)},
        schema=pa.schema([("golden_id", pa.string()), ("into", pa.string())]),
    )
    return merged_table, added, fresh_names


def _taken(engine: Engine, kind: Kind, stored: ir.Table, ids: object) -> set[str]:
    """Those of ``ids`` that stored links carry."""
    golden = GOLDEN_COLUMN[kind]
    wanted = engine.register(
        f"resolve_{kind}_fresh", pa.table({golden: pa.array(ids, pa.string())})
    )
    hits = stored.semi_join(wanted, golden).select(golden).distinct()
    return set(engine.to_arrow(hits)[golden].to_pylist())


def _renamed(values: pa.ChunkedArray | pa.Array, merged: pa.Table) -> pa.Array:
    """Golden ids with the merged ones replaced by the id they merged into."""
    index = pc.index_in(values, value_set=merged["golden_id"])
    return pc.coalesce(pc.take(merged["into"], index), values)


def _attach_new(
    engine: Engine, kind: Kind, stored: ir.Table, added: pa.Table, merged: pa.Table, fresh: pa.Array
) -> pa.Table:
    """``added`` with its new entities attached by name or dwelling (`attach.attach_new`).

    Only a new entity may move, and where it moves depends on the entities that carry one of
    its names, or a named record at one of its dwellings: those are read whole (all their
    records, stored under their id or an id merged into it), the rest of the city is not.
    """
    golden = GOLDEN_COLUMN[kind]
    if len(fresh) == 0:
        return added
    own = added.filter(pc.is_in(added[golden], value_set=fresh))
    keys: list[tuple[list[str], pa.Table]] = [
        (["name_norm"], own.select(["name_norm"])),
        (["name_py"], own.select(["name_py"])),
        (["surname", "addr_room"], own.select(["surname", "addr_room"])),
    ]
    touched = []
    near = pa.repeat(pa.scalar(False), added.num_rows)
    for number, (columns, values) in enumerate(keys):
        values = values.drop_null().group_by(columns).aggregate([])
        if values.num_rows == 0:
            continue
        registered = engine.register(f"resolve_{kind}_attach_keys_{number}", values)
        touched.append(stored.semi_join(registered, columns).select(golden))
        near = pc.or_(near, _flag(added, columns, values))
    stored_ids = (
        engine.to_arrow(ibis.union(*touched, distinct=True))[golden]
        if touched
        else pa.chunked_array([], pa.string())
    )
    involved = pc.unique(
        pa.chunked_array(
            [
                _renamed(stored_ids.combine_chunks().cast(pa.string()), merged),
                added.filter(near)[golden].combine_chunks(),
            ],
            pa.string(),
        ).combine_chunks()
    )
    involved = pc.filter(involved, pc.invert(pc.is_in(involved, value_set=fresh)))
    # Every stored id whose records now belong to an involved entity.
    merged_in = merged.filter(pc.is_in(merged["into"], value_set=involved))["golden_id"]
    wanted = pa.chunked_array([involved, merged_in.combine_chunks()], pa.string())
    registered = engine.register(
        f"resolve_{kind}_attach_entities", pa.table({golden: wanted.combine_chunks()})
    )
    rows = engine.to_arrow(stored.semi_join(registered, golden).select(*_ATTACH_COLUMNS, golden))
    schema = pa.schema([(c, pa.string()) for c in (*_ATTACH_COLUMNS, golden)])
    rows = rows.select(schema.names).cast(schema)
    rows = rows.set_column(len(_ATTACH_COLUMNS), golden, _renamed(rows[golden], merged))
    mine = added.filter(
        pc.is_in(added[golden], value_set=pa.concat_arrays([involved, fresh.cast(pa.string())]))
    )
    subset = pa.concat_tables([rows, mine.select(schema.names).cast(schema)])
    moved = attach.attach_new(subset, golden, involved)
    new_ids = moved.select(["record_id", golden]).rename_columns(["record_id", "_moved"])
    joined = added.join(new_ids, "record_id", join_type="left outer")
    column = joined.column_names.index(golden)
    out = joined.set_column(column, golden, pc.coalesce(joined["_moved"], joined[golden]))
    return out.drop_columns(["_moved"]).select(added.column_names).sort_by("record_id")


def _flag(table: pa.Table, columns: list[str], values: pa.Table) -> pa.Array:
    """Whether each row of ``table`` equals a row of ``values`` on ``columns`` (nulls never)."""
    keyed = table.select(["record_id", *columns]).join(
        values.append_column("_hit", pa.repeat(pa.scalar(True), values.num_rows)),
        columns,
        join_type="inner",
    )
    return pc.is_in(table["record_id"], value_set=keyed["record_id"])


def _written(
    engine: Engine, kind: Kind, stored: ir.Table, added: pa.Table, merged: pa.Table, *,
    whole: bool,
) -> ir.Table:  # fmt: skip
    """The new rows, and with ``whole`` every stored one, the merged ids renamed."""
    golden = GOLDEN_COLUMN[kind]
    rows = engine.register(f"resolve_{kind}_added", added)
    if not whole:
        return rows
    if merged.num_rows == 0:
        return ibis.union(stored, rows.select(*stored.columns), distinct=False)
    renames = engine.register(
        f"resolve_{kind}_merged", merged.rename_columns(["work_merged", "work_into"])
    )
    joined = stored.left_join(renames, stored[golden] == renames.work_merged)
    renamed = joined.select(
        *[
            ibis.coalesce(joined.work_into, joined[golden]).name(golden) if c == golden
            else joined[c]
            for c in stored.columns
        ]
    )  # fmt: skip
    return ibis.union(renamed, rows.select(*stored.columns), distinct=False)
