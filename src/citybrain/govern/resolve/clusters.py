"""Connected components of the link graph, on the engine through Splink's clustering."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from splink.clustering import cluster_pairwise_predictions_at_threshold


def connected_components(db_api: Any, record_ids: pa.Array, edges: pa.Table) -> pa.Table:
    """(record_id, cluster_id) for every record; the cluster id is the cluster's least record id.

    Splink's own cluster ids depend on the engine's traversal; the least member does not, so
    DuckDB and Spark name clusters alike.
    """
    nodes = pa.table({"record_id": pc.cast(record_ids, pa.string())})
    result = cluster_pairwise_predictions_at_threshold(
        nodes,
        edges.select(["record_id_l", "record_id_r"]),
        db_api,
        node_id_column_name="record_id",
        edge_id_column_name_left="record_id_l",
        edge_id_column_name_right="record_id_r",
    )
    table = result.as_pyarrow_table().select(["record_id", "cluster_id"])  # type: ignore[no-untyped-call]
    result.drop_table_from_database_and_remove_from_cache()
    least = table.group_by("cluster_id").aggregate([("record_id", "min")])
    joined = table.join(least, "cluster_id")
    return pa.table(
        {"record_id": joined["record_id"], "cluster_id": joined["record_id_min"]}
    ).sort_by("record_id")


def split_conflicts(
    components: pa.Table, profiles: pa.Table, edges: pa.Table, column: str = "id_valid"
) -> pa.Table:
    """Components that hold two different valid identifiers, split along their weakest links.

    Two valid USCCs (or resident IDs) are two entities whatever else they share: a power account
    holding only a name and an address matched two firms of one name in one building, and the
    component joined them. Inside such a component the links are laid again strongest first
    (certain ones, then by probability), skipping any that would put two identifiers in one
    cluster. Only those components are walked (a handful), the rest are left as they are; the
    cluster id stays the least member's, so every engine names them alike.
    """
    if column not in profiles.column_names or components.num_rows == 0:
        return components
    joined = components.join(profiles.select(["record_id", column]), "record_id")
    coded = joined.filter(pc.is_valid(joined[column]))
    counts = coded.group_by("cluster_id").aggregate([(column, "count_distinct")])
    conflicted = counts.filter(pc.greater(counts[f"{column}_count_distinct"], 1))["cluster_id"]
    if len(conflicted) == 0:
        return components
    members = joined.filter(pc.is_in(joined["cluster_id"], value_set=conflicted))
    inside = edges.filter(
        pc.and_(
            pc.is_in(edges["record_id_l"], value_set=members["record_id"]),
            pc.is_in(edges["record_id_r"], value_set=members["record_id"]),
        )
    )
    inside = inside.sort_by(
        [("match_probability", "descending"), ("record_id_l", "ascending"),
         ("record_id_r", "ascending")]
    )  # fmt: skip
    ids: list[str] = members["record_id"].to_pylist()
    parent = {record: record for record in ids}
    code: dict[str, str | None] = dict(zip(ids, members[column].to_pylist(), strict=True))

    def root(record: str) -> str:
        while parent[record] != record:
            parent[record] = parent[parent[record]]
            record = parent[record]
        return record

    pairs = zip(inside["record_id_l"].to_pylist(), inside["record_id_r"].to_pylist(), strict=True)
    for left, right in pairs:
        a, b = root(left), root(right)
        if a == b or (code[a] is not None and code[b] is not None and code[a] != code[b]):
            continue
        low, high = (a, b) if a < b else (b, a)  # the least member stays the root: the cluster id
        parent[high] = low
        code[low] = code[low] if code[low] is not None else code[high]
    split = pa.table({"record_id": ids, "cluster_id": [root(record) for record in ids]})
    kept = components.filter(pc.invert(pc.is_in(components["cluster_id"], value_set=conflicted)))
    return pa.concat_tables([kept, split.cast(kept.schema)]).sort_by("record_id")
