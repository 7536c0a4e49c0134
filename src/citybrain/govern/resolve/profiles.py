"""Distinct linkage profiles: records whose linkage features are all equal are scored once.

Monthly readings, repeated parcels and tax returns repeat the same name, identifier, phone and
address many times. Splink sees each distinct profile once — fewer pairs, and u probabilities
that are not inflated by the same firm filing every month — and every record follows its profile.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

PERSON_FEATURES: tuple[str, ...] = (
    "name", "name_norm", "name_py", "surname", "surname_py", "given_py",
    "id_valid", "id_raw", "dob", "phone_norm", "phone_raw", "addr_place", "addr_room", "gender",
    "local_id", "name_key", "other_id_norm", "addr_text", "employer_norm",
)  # fmt: skip
ENTERPRISE_FEATURES: tuple[str, ...] = (
    "id_valid", "id_raw", "name_norm", "name_core", "name_py", "addr_place", "addr_room",
    "local_id", "other_id_norm", "phone_norm", "phone_raw", "addr_text",
)  # fmt: skip


def profiles(
    records: pa.Table, features: tuple[str, ...], *, collapse: bool = True
) -> tuple[pa.Table, pa.Table]:
    """(profiles with ``record_id`` = the least member, record_id -> profile_id map).

    Without ``collapse`` (link-only: two equal records of one file must stay apart) every record
    is its own profile.
    """
    if not collapse:
        table = records.select(["record_id", *features]).sort_by("record_id")
        ids = table["record_id"]
        return table, pa.table({"record_id": ids, "profile_id": ids})
    filled = [pc.fill_null(pc.cast(records[f], pa.string()), "\u0000") for f in features]
    key = pc.binary_join_element_wise(*filled, "\u001f")
    keyed = pa.table({"record_id": records["record_id"], "profile_key": key})
    first = keyed.group_by("profile_key", use_threads=False).aggregate([("record_id", "min")])
    members = keyed.join(first, "profile_key")
    mapping = pa.table({"record_id": members["record_id"], "profile_id": members["record_id_min"]})
    chosen = pc.is_in(records["record_id"], value_set=first["record_id_min"])
    table = records.filter(chosen).select(["record_id", *features])
    return table.sort_by("record_id"), mapping.sort_by("record_id")


def expand(profile_clusters: pa.Table, mapping: pa.Table) -> pa.Table:
    """Record-level (record_id, cluster_id) from profile-level clusters."""
    joined = mapping.join(
        profile_clusters.rename_columns(["profile_id", "cluster_id"]), "profile_id"
    )
    least = joined.group_by("cluster_id").aggregate([("record_id", "min")])
    out = joined.join(least, "cluster_id")
    return pa.table(
        {"record_id": out["record_id"], "cluster_id": pc.cast(out["record_id_min"], pa.string())}
    ).sort_by("record_id")
