"""Deterministic links: records that share a valid identifier are the same entity.

Besides the national identifiers: an account number local to one system, an enterprise's
registered name, and a person's mobile together with the surname — each guarded against the
value that two entities share.

Only identifiers that pass their check (a resident ID with a valid GB 11643 check digit, a USCC
valid under GB 32100) link deterministically; a typo'd one is left to the probabilistic model.
Edges form a star from the smallest record id of each identifier, computed in Arrow.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.govern.resolve.probabilistic import EDGE_SCHEMA


def _to_first(joined: pa.Table) -> pa.Table:
    """Certain edges from each record (``record_id``) to its group's first (``record_id_min``)."""
    joined = joined.filter(pc.not_equal(joined["record_id"], joined["record_id_min"]))
    return pa.table(
        {
            "record_id_l": joined["record_id_min"],
            "record_id_r": joined["record_id"],
            "match_probability": pa.array([1.0] * joined.num_rows, pa.float64()),
        },
        schema=EDGE_SCHEMA,
    )


def identifier_edges(records: pa.Table, column: str = "id_valid") -> pa.Table:
    """One edge per record to the first record with the same valid identifier."""
    keyed = records.select(["record_id", column]).filter(pc.is_valid(records[column]))
    first = keyed.group_by(column).aggregate([("record_id", "min")])
    joined = keyed.join(first, column)
    return _to_first(joined)


def cross_dataset_edges(records: pa.Table, column: str, dataset: str) -> pa.Table:
    """Link-only: per identifier, each dataset's first record linked to the identifier's first
    record in another dataset — never two records of one dataset to each other."""
    keyed = records.select(["record_id", column, dataset]).filter(pc.is_valid(records[column]))
    keyed = keyed.filter(pc.is_valid(keyed[dataset]))
    firsts = keyed.group_by([column, dataset]).aggregate([("record_id", "min")])
    firsts = firsts.rename_columns([column, dataset, "record_id"])
    hub = firsts.group_by(column).aggregate([("record_id", "min")])
    joined = firsts.join(hub, column)
    return _to_first(joined)


def guarded_edges(records: pa.Table, column: str) -> pa.Table:
    """Records equal on ``column`` link unless their valid identifiers differ.

    For enterprises' registered names (unique within a registration authority) and for account
    numbers local to one system (a social-security employer number): two records with the same
    value and no conflicting code are one entity; a value seen with two valid codes links nothing.
    """
    named = records.select(["record_id", column, "id_valid"]).filter(pc.is_valid(records[column]))
    codes = (
        named.filter(pc.is_valid(named["id_valid"]))
        .group_by(column)
        .aggregate([("id_valid", "count_distinct")])
    )
    ambiguous = codes.filter(pc.greater(codes["id_valid_count_distinct"], 1))[column]
    named = named.filter(pc.invert(pc.is_in(named[column], value_set=ambiguous)))
    return identifier_edges(named, column)


def name_edges(records: pa.Table) -> pa.Table:
    """Enterprises: equal registered names link unless their valid USCCs differ."""
    return guarded_edges(records, "name_norm")


def phone_name_edges(records: pa.Table) -> pa.Table:
    """Persons: one valid mobile and one surname are one person, unless the mobile's records
    with that surname disagree (two full names, two genders or two valid ID numbers — a family
    sharing a phone). ``王女士`` on a parcel joins 王玲 who gave the same mobile on arrival.
    """
    table = records.select(
        ["record_id", "phone_norm", "surname_py", "name_py", "gender", "id_valid"]
    )
    table = table.filter(
        pc.and_(pc.is_valid(table["phone_norm"]), pc.is_valid(table["surname_py"]))
    )
    key = pc.binary_join_element_wise(table["phone_norm"], table["surname_py"], "|")
    table = table.append_column("phone_surname", key)
    counts = table.group_by("phone_surname").aggregate(
        [(c, "count_distinct") for c in ("name_py", "gender", "id_valid")]
    )
    clear = pc.and_(
        pc.and_(
            pc.less_equal(counts["name_py_count_distinct"], 1),
            pc.less_equal(counts["gender_count_distinct"], 1),
        ),
        pc.less_equal(counts["id_valid_count_distinct"], 1),
    )
    keys = counts.filter(clear)["phone_surname"]
    table = table.filter(pc.is_in(table["phone_surname"], value_set=keys))
    return identifier_edges(table, "phone_surname")
