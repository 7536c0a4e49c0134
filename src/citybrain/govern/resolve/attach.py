"""Attach unidentified clusters to the one identified person who carries their name.

A screening contact, or a utility account opened before real-name registration (no phone, no ID
number on file), gives a name and an address, nothing else; a landlord's second flat has its own
meters, so its records share no address with the owner's registration and no pairwise model can
link them (a name agreeing is never 99 % evidence between two records). At the level of the
whole city it is: when exactly one cluster with an identifier (a valid ID number or a mobile)
carries a full name, the clusters without any identifier that carry the same name are that
person's. Names carried by two identified clusters stay apart — there is nothing to choose by.
All of it is Arrow group-bys over clusters, never per-row Python.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

IDENTIFIERS: tuple[str, ...] = ("id_valid", "phone_norm")


def _identified(records: pa.Table) -> pa.Array:
    flags = [pc.is_valid(records[c]) for c in IDENTIFIERS if c in records.column_names]
    out = flags[0]
    for flag in flags[1:]:
        out = pc.or_(out, flag)
    return out


#: Name keys tried in order: the characters, then the pinyin (a homophone typo, 陈佑贵 / 陈佑桂).
NAME_KEYS: tuple[str, ...] = ("name_norm", "name_py")


def name_targets(
    records: pa.Table, clusters: pa.Table, movable: pa.Array | None = None
) -> pa.Table:
    """(cluster_id, target_id): unidentified clusters and the one identified cluster they join.

    ``records`` has ``record_id``, the `NAME_KEYS` and the identifier columns; ``clusters`` has
    (record_id, cluster_id). With ``movable``, only those clusters may join another.
    """
    table = clusters.select(["record_id", "cluster_id"]).join(
        records.select(["record_id", *NAME_KEYS, *IDENTIFIERS]), "record_id"
    )
    table = table.append_column("identified", _identified(table))
    identified = table.group_by("cluster_id").aggregate([("identified", "any")])
    found: list[pa.Table] = []
    for key in NAME_KEYS:
        done = pa.concat_tables(found)["cluster_id"] if found else pa.array([], pa.string())
        pending = table.filter(pc.invert(pc.is_in(table["cluster_id"], value_set=done)))
        found.append(_targets_on(pending, identified, key, movable))
    return pa.concat_tables(found)


def _targets_on(
    table: pa.Table, identified: pa.Table, key: str, movable: pa.Array | None
) -> pa.Table:
    names = (
        table.filter(pc.is_valid(table[key]))
        .group_by(["cluster_id", key])
        .aggregate([])
        .join(identified, "cluster_id")
    )
    strong = names.filter(names["identified_any"])
    owners = strong.group_by(key).aggregate(
        [("cluster_id", "count_distinct"), ("cluster_id", "min")]
    )
    owners = owners.filter(pc.equal(owners["cluster_id_count_distinct"], 1))
    weak = names.filter(pc.invert(names["identified_any"]))
    if movable is not None:
        weak = weak.filter(pc.is_in(weak["cluster_id"], value_set=movable))
    joined = weak.join(owners.select([key, "cluster_id_min"]), key, join_type="inner")
    # A cluster whose names point at two different people joins neither.
    per = joined.group_by("cluster_id").aggregate(
        [("cluster_id_min", "count_distinct"), ("cluster_id_min", "min")]
    )
    per = per.filter(pc.equal(per["cluster_id_min_count_distinct"], 1))
    return pa.table(
        {"cluster_id": per["cluster_id"], "target_id": per["cluster_id_min_min"]},
        schema=pa.schema([("cluster_id", pa.string()), ("target_id", pa.string())]),
    )


def attach(records: pa.Table, clusters: pa.Table) -> pa.Table:
    """``clusters`` (record_id, cluster_id) after both attachments; ids stay each cluster's least
    record."""
    clusters = merge_into(clusters, dwelling_targets(records, clusters))
    return merge_into(clusters, name_targets(records, clusters))


def merge_into(clusters: pa.Table, targets: pa.Table) -> pa.Table:
    """Each cluster of ``targets`` merged into its target cluster."""
    if targets.num_rows == 0:
        return clusters.select(["record_id", "cluster_id"])
    moved = clusters.select(["record_id", "cluster_id"]).join(
        targets, "cluster_id", join_type="left outer"
    )
    merged = pc.coalesce(moved["target_id"], moved["cluster_id"])
    table = pa.table({"record_id": moved["record_id"], "merged": merged})
    least = table.group_by("merged").aggregate([("record_id", "min")])
    out = table.join(least, "merged")
    return pa.table(
        {"record_id": out["record_id"], "cluster_id": pc.cast(out["record_id_min"], pa.string())}
    ).sort_by("record_id")


def dwelling_targets(records: pa.Table, clusters: pa.Table) -> pa.Table:
    """(cluster_id, target_id): clusters known only as 黄女士 at a dwelling, and the one named
    person there with that surname and a compatible gender, whose phone (if any) they share.

    A parcel addressed to 叶先生 at a room where the household registry knows one man called 叶
    is him; two 叶 men in the room (father and son) leave it alone.
    """
    columns = ["record_id", "name_norm", "surname", "gender", "addr_place", "addr_room"]
    table = clusters.select(["record_id", "cluster_id"]).join(
        records.select([*columns, "phone_norm"]), "record_id"
    )
    named = table.filter(pc.is_valid(table["name_norm"]))
    masked = table.filter(
        pc.invert(pc.is_in(table["cluster_id"], value_set=pc.unique(named["cluster_id"])))
    )
    place = ["surname", "addr_place", "addr_room"]
    masked = masked.filter(
        pc.and_(pc.is_valid(masked["surname"]), pc.is_valid(masked["addr_room"]))
    )
    left = masked.group_by(["cluster_id", *place]).aggregate([("gender", "max")])
    right = named.group_by(["cluster_id", *place]).aggregate([("gender", "max")])
    # Arrow joins are left outer by default; an unmatched parcel has no candidate at all.
    pairs = left.join(
        right.rename_columns(["target_id", *place, "gender_t"]), place, join_type="inner"
    )
    gender_ok = pc.fill_null(pc.equal(pairs["gender_max"], pairs["gender_t"]), True)
    pairs = pairs.filter(gender_ok).select(["cluster_id", "target_id"])
    pairs = pairs.group_by(["cluster_id", "target_id"]).aggregate([])
    # Exactly one such person at the dwelling …
    per = pairs.group_by("cluster_id").aggregate([("target_id", "count_distinct")])
    unique = per.filter(pc.equal(per["target_id_count_distinct"], 1))["cluster_id"]
    pairs = pairs.filter(pc.is_in(pairs["cluster_id"], value_set=unique))
    # … whose phone, when the registry has one, is the parcel's.
    phones = (
        table.filter(pc.is_valid(table["phone_norm"]))
        .group_by(["cluster_id", "phone_norm"])
        .aggregate([])
    )
    phoned = pc.unique(phones["cluster_id"])
    shared = pairs.join(phones, "cluster_id", join_type="inner").join(
        phones.rename_columns(["target_id", "phone_norm"]),
        ["target_id", "phone_norm"],
        join_type="inner",
    )
    ok = pc.or_(
        pc.invert(pc.is_in(pairs["target_id"], value_set=phoned)),
        pc.is_in(pairs["cluster_id"], value_set=shared["cluster_id"]),
    )
    return (
        pairs.filter(ok)
        .select(["cluster_id", "target_id"])
        .cast(pa.schema([("cluster_id", pa.string()), ("target_id", pa.string())]))
    )


def attach_new(links: pa.Table, golden: str, stored: pa.Array) -> pa.Table:
    """An incremental run's links with new entities attached as `attach` would, stored ids kept.

    Only entities whose golden id is not in ``stored`` (made of new records only) may move; they
    take the golden id of the entity they attach to.
    """
    clusters = pa.table({"record_id": links["record_id"], "cluster_id": links[golden]})
    targets = pa.concat_tables([dwelling_targets(links, clusters), name_targets(links, clusters)])
    targets = targets.filter(pc.invert(pc.is_in(targets["cluster_id"], value_set=stored)))
    if targets.num_rows == 0:
        return links
    first = targets.group_by("cluster_id").aggregate([("target_id", "min")])
    index = pc.index_in(links[golden], value_set=first["cluster_id"])
    moved = pc.take(first["target_id_min"], index)
    column = links.column_names.index(golden)
    return links.set_column(column, golden, pc.coalesce(moved, links[golden]))
