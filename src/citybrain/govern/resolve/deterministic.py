"""Deterministic links: records that share a valid identifier are the same entity.

Only identifiers that pass their check (a resident ID with a valid GB 11643 check digit, a USCC
valid under GB 32100) link deterministically; a typo'd one is left to the probabilistic model.
Edges form a star from the smallest record id of each identifier, computed in Arrow.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.govern.resolve.probabilistic import EDGE_SCHEMA


def identifier_edges(records: pa.Table, column: str = "id_valid") -> pa.Table:
    """One edge per record to the first record with the same valid identifier."""
    keyed = records.select(["record_id", column]).filter(pc.is_valid(records[column]))
    first = keyed.group_by(column).aggregate([("record_id", "min")])
    joined = keyed.join(first, column)
    joined = joined.filter(pc.not_equal(joined["record_id"], joined["record_id_min"]))
    return pa.table(
        {
            "record_id_l": joined["record_id_min"],
            "record_id_r": joined["record_id"],
            "match_probability": pa.array([1.0] * joined.num_rows, pa.float64()),
        },
        schema=EDGE_SCHEMA,
    )


def name_edges(records: pa.Table) -> pa.Table:
    """Enterprises: equal registered names link unless their valid USCCs differ.

    A registered name is unique within its registration authority, so two records with the same
    full name and no conflicting code are one enterprise.
    """
    named = records.select(["record_id", "name_norm", "id_valid"]).filter(
        pc.is_valid(records["name_norm"])
    )
    codes = (
        named.filter(pc.is_valid(named["id_valid"]))
        .group_by("name_norm")
        .aggregate([("id_valid", "count_distinct")])
    )
    ambiguous = codes.filter(pc.greater(codes["id_valid_count_distinct"], 1))["name_norm"]
    named = named.filter(pc.invert(pc.is_in(named["name_norm"], value_set=ambiguous)))
    return identifier_edges(named, "name_norm")
