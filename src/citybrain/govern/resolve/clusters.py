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
