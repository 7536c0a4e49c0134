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


def assign(clusters: pa.Table, previous: pa.Table | None, prefix: str) -> pa.Table:
    """(record_id, golden_id) for every clustered record.

    ``clusters`` has (record_id, cluster_id); ``previous`` is the last id map (record_id,
    golden_id) or None on a first run.
    """
    frame = clusters.select(["record_id", "cluster_id"]).to_pandas()
    chosen = pd.Series(dtype=object)
    taken: set[str] = set()
    if previous is not None and previous.num_rows:
        old = previous.select(["record_id", "golden_id"]).to_pandas()
        taken = set(old["golden_id"])
        overlap = (
            frame.merge(old, on="record_id")
            .groupby(["cluster_id", "golden_id"], sort=False)
            .size()
            .rename("n")
            .reset_index()
        )
        # The best cluster for each old id …
        best_cluster = overlap.sort_values(
            ["golden_id", "n", "cluster_id"], ascending=[True, False, True]
        ).drop_duplicates("golden_id")
        # … and among the ids it is best for, a cluster keeps the one it shares most records with.
        kept = best_cluster.sort_values(
            ["cluster_id", "n", "golden_id"], ascending=[True, False, True]
        ).drop_duplicates("cluster_id")
        chosen = kept.set_index("cluster_id")["golden_id"]
    frame["golden_id"] = frame["cluster_id"].map(chosen).astype(object)
    fresh = frame.loc[frame["golden_id"].isna(), "cluster_id"].drop_duplicates().sort_values()
    names: dict[str, str] = {}
    for cluster_id in fresh:  # one per new entity, not per row; usually a small share
        names[cluster_id] = _fresh_id(prefix, cluster_id, taken)
        taken.add(names[cluster_id])
    missing = frame["golden_id"].isna()
    frame.loc[missing, "golden_id"] = frame.loc[missing, "cluster_id"].map(names)
    table = pa.Table.from_pandas(frame[["record_id", "golden_id"]], preserve_index=False)
    return table.cast(ID_MAP_SCHEMA).sort_by("record_id")


def stability(before: pa.Table, after: pa.Table) -> float:
    """Share of records present in both maps whose golden id did not change."""
    joined = before.join(after, "record_id", right_suffix="_after", join_type="inner")
    total: int = joined.num_rows
    if total == 0:
        return 1.0
    same: int = pc.sum(pc.equal(joined["golden_id"], joined["golden_id_after"])).as_py() or 0
    return same / total
