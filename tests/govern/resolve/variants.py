"""The synthetic city's std tables with fields taken away (tests and benchmarks/resolve.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pyarrow as pa

from citybrain.govern.resolve import DEFAULT_PERSON

PHONES = ("phone", "holder_phone", "recipient_phone", "caller_phone")
#: what "only names, birth dates and addresses" keeps of each std table (plus keys and lineage)
NAMES_DATES_ADDRESSES = (
    "name", "holder_name", "recipient_name", "caller_name", "contact_name", "legal_rep_name",
    "birth_date", "address",
)  # fmt: skip
LINEAGE = ("source_system", "load_id", "source_row", "subject_kind")


def _without(
    tables: Mapping[str, pa.Table], columns: tuple[str, ...], only: str = ""
) -> dict[str, pa.Table]:
    """The std tables without ``columns`` (in table ``only``, when given)."""
    out = {}
    for name, table in tables.items():
        drop = [c for c in columns if c in table.column_names and (not only or name == only)]
        out[name] = table.drop_columns(drop)
    return out


def _keeping(tables: Mapping[str, pa.Table], columns: tuple[str, ...]) -> dict[str, pa.Table]:
    keys = {s.key for s in DEFAULT_PERSON.sources}
    keep = set(columns) | set(LINEAGE) | keys
    return {n: t.select([c for c in t.column_names if c in keep]) for n, t in tables.items()}


CASES: dict[str, Callable[[Mapping[str, pa.Table]], dict[str, pa.Table]]] = {
    "full data": lambda t: dict(t),
    "no phone columns": lambda t: _without(t, PHONES),
    "no resident IDs in utility records": lambda t: _without(
        t, ("holder_id_number",), "utility_reading"
    ),
    "only names, birth dates and addresses": lambda t: _keeping(t, NAMES_DATES_ADDRESSES),
}
