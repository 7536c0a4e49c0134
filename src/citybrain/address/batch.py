"""Parse many addresses at once: distinct strings only, joined back to the input order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.address.model import COMPONENTS
from citybrain.address.parser import AddressParser, default_parser

COLUMNS: tuple[str, ...] = ("address", *COMPONENTS, "canonical", "admin_inferred", "notes")


def parse_many(
    addresses: pa.Array | pa.ChunkedArray | Iterable[str | None],
    parser: AddressParser | None = None,
    *,
    distinct: bool = False,
) -> pa.Table:
    """Parse a column of addresses into a table of components (`COLUMNS`), one row per input.

    Each distinct string is parsed once. With ``distinct=True`` the table has one row per distinct
    input instead (for a pipeline that joins back itself on ``address``).
    """
    parser = parser or default_parser()
    column = _as_string_array(addresses)
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques: list[str | None] = encoded.dictionary.to_pylist()
    table = _parse_distinct(uniques, parser)
    if distinct:
        return table
    return table.take(encoded.indices)


def _as_string_array(addresses: Any) -> pa.Array:
    if isinstance(addresses, pa.ChunkedArray):
        addresses = addresses.combine_chunks()
    if isinstance(addresses, pa.Array):
        if pa.types.is_dictionary(addresses.type):
            addresses = addresses.dictionary_decode()
        if not pa.types.is_string(addresses.type):
            addresses = addresses.cast(pa.string())
        return addresses
    return pa.array(list(addresses), type=pa.string())


def _parse_distinct(uniques: list[str | None], parser: AddressParser) -> pa.Table:
    values: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    appenders = [(values[name].append, name) for name in COMPONENTS]
    canonical = values["canonical"].append
    inferred = values["admin_inferred"].append
    notes = values["notes"].append
    parse = parser.parse
    for text in uniques:
        parsed = parse(text)
        for append, name in appenders:
            append(getattr(parsed, name))
        canonical(parsed.canonical)
        inferred(parsed.admin_inferred)
        notes("; ".join(parsed.notes) or None)
    values["address"] = uniques
    schema = pa.schema(
        [pa.field(name, pa.string()) for name in ("address", *COMPONENTS, "canonical")]
        + [pa.field("admin_inferred", pa.bool_()), pa.field("notes", pa.string())]
    )
    return pa.table(values, schema=schema)
