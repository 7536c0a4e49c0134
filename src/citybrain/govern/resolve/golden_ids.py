"""Golden ids that survive re-runs: a new clustering inherits the ids of the old one.

Each new cluster takes the old golden id that most of its records carried, provided it is also
that id's best cluster (largest overlap; ties to the smaller cluster id), so a merge keeps the id
of the larger part and a split keeps it on the part with most records. Every other cluster gets a
fresh id derived from its least record id (a hash, salted if it ever collides with an old id),
so the same input always yields the same ids on DuckDB and on Spark.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ID_MAP_SCHEMA = pa.schema([("record_id", pa.string()), ("golden_id", pa.string())])


def _fresh_id(prefix: str, record_id: str, taken: set[str]) -> str:
    salt = 0
    while True:
        text = record_id if salt == 0 else f"{record_id}#{salt}"
        candidate = prefix + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12].upper()
        if candidate not in taken:
            return candidate
        salt += 1


def _fresh_ids(prefix: str, cluster_ids: list[str], taken: pa.Array) -> list[str]:
    """A fresh id per new cluster, in order, none equal to a ``taken`` one or to another's.

    The unsalted hash almost never collides: it is checked against ``taken`` at once, and only
    when some collide are the ids handed out one by one, each salted until it is free."""
    names = [prefix + hashlib.sha1(c.encode("utf-8")).hexdigest()[:12].upper() for c in cluster_ids]
    candidates = pa.array(names, pa.string())
    clash = pc.any(pc.is_in(candidates, value_set=taken)).as_py() if len(taken) else False
    if not clash and pc.count_distinct(candidates).as_py() == len(names):
        return names
    used = set(taken.to_pylist())
    out = []
    for cluster_id in cluster_ids:
        out.append(_fresh_id(prefix, cluster_id, used))
        used.add(out[-1])
    return out


OVERLAP_SCHEMA = pa.schema(
    [("cluster_id", pa.string()), ("golden_id", pa.string()), ("n", pa.int64())]
)
CLUSTER_IDS_SCHEMA = pa.schema([("cluster_id", pa.string()), ("golden_id", pa.string())])


def assign_clusters(
    cluster_ids: pa.Array, overlap: pa.Table, taken: pa.Array, prefix: str
) -> pa.Table:
    """(cluster_id, golden_id) for each of the distinct ``cluster_ids``.

    ``overlap`` has (cluster_id, golden_id, n): how many of the cluster's records carried each
    old id; ``taken`` is every old id (a fresh one must not repeat any).
    """
    frame = pd.DataFrame({"cluster_id": pd.Series(cluster_ids.to_pylist(), dtype=object)})
    chosen = pd.Series(dtype=object)
    if overlap.num_rows:
        counts = overlap.select(["cluster_id", "golden_id", "n"]).to_pandas()
        # The best cluster for each old id …
        best_cluster = counts.sort_values(
            ["golden_id", "n", "cluster_id"], ascending=[True, False, True]
        ).drop_duplicates("golden_id")
        # … and among the ids it is best for, a cluster keeps the one it shares most records with.
        kept = best_cluster.sort_values(
            ["cluster_id", "n", "golden_id"], ascending=[True, False, True]
        ).drop_duplicates("cluster_id")
        chosen = kept.set_index("cluster_id")["golden_id"]
    frame["golden_id"] = frame["cluster_id"].map(chosen).astype(object)
    missing = frame["golden_id"].isna()
    fresh = sorted(frame.loc[missing, "cluster_id"].drop_duplicates())
    names = dict(zip(fresh, _fresh_ids(prefix, fresh, taken), strict=True))
    frame.loc[missing, "golden_id"] = frame.loc[missing, "cluster_id"].map(names)
    return pa.Table.from_pandas(frame, preserve_index=False).cast(CLUSTER_IDS_SCHEMA)


def assign(clusters: pa.Table, previous: pa.Table | None, prefix: str) -> pa.Table:
    """(record_id, golden_id) for every clustered record.

    ``clusters`` has (record_id, cluster_id); ``previous`` is the last id map (record_id,
    golden_id) or None on a first run.
    """
    string = pa.schema([("record_id", pa.string()), ("cluster_id", pa.string())])
    clusters = clusters.select(["record_id", "cluster_id"]).cast(string)
    overlap = OVERLAP_SCHEMA.empty_table()
    taken = pa.array([], pa.string())
    if previous is not None and previous.num_rows:
        old = previous.select(["record_id", "golden_id"]).cast(ID_MAP_SCHEMA)
        taken = pc.unique(old["golden_id"].combine_chunks())
        overlap = (
            clusters.join(old, "record_id", join_type="inner")
            .group_by(["cluster_id", "golden_id"])
            .aggregate([("record_id", "count")])
            .rename_columns(["cluster_id", "golden_id", "n"])
        )
    distinct = pc.unique(clusters["cluster_id"].combine_chunks())
    ids = assign_clusters(distinct, overlap, taken, prefix)
    out = clusters.join(ids, "cluster_id").select(["record_id", "golden_id"])
    return out.cast(ID_MAP_SCHEMA).sort_by("record_id")


def stability(before: pa.Table, after: pa.Table) -> float:
    """Share of records present in both maps whose golden id did not change."""
    joined = before.join(after, "record_id", right_suffix="_after", join_type="inner")
    total: int = joined.num_rows
    if total == 0:
        return 1.0
    same: int = pc.sum(pc.equal(joined["golden_id"], joined["golden_id_after"])).as_py() or 0
    return same / total
