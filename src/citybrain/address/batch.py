"""Parse many addresses at once: distinct strings only, joined back to the input order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.address.model import COMPONENTS, ParsedAddress
from citybrain.address.parser import AddressParser, default_parser

COLUMNS: tuple[str, ...] = (
    "address",
    *COMPONENTS,
    "canonical",
    "admin_status",
    "admin_inferred",
    "notes",
)


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
    texts = None if isinstance(addresses, pa.Array | pa.ChunkedArray) else list(addresses)
    column = _as_string_array(addresses if texts is None else texts)
    if texts is not None and not column.null_count:
        # Python strings: their distinct ones (in first-seen order, as Arrow's dictionary has
        # them) without a round trip through Arrow; the indices only to join back repeats.
        distinct_texts = list(dict.fromkeys(texts))
        if len(distinct_texts) == len(texts):
            return _parse_distinct(distinct_texts, parser, column)  # (the input's own column)
        if distinct:
            return _parse_distinct(distinct_texts, parser)
    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    uniques: list[str | None] = encoded.dictionary.to_pylist()
    table = _parse_distinct(uniques, parser, encoded.dictionary)
    if distinct or len(uniques) == len(column):
        return table  # all distinct: the indices are 0, 1, 2 … already
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
    return pa.array(addresses, type=pa.string())


# Rows parsed between two moves into the columns (see `_parse_distinct`).
_CHUNK = 256


def _parse_distinct(
    uniques: list[str | None], parser: AddressParser, address: pa.Array | None = None
) -> pa.Table:
    """One row per string of ``uniques``; ``address``: those strings as an Arrow column already
    (not built again)."""
    parse_chunk = parser.parse_chunk
    fields = ParsedAddress._fields
    values: list[list[Any]] = [[] for _ in fields]
    # A chunk at a time: parsed stage by stage (see `AddressParser.parse_chunk`), then its rows
    # moved into the columns, so that each row dies young: 50k rows held until the end outlived
    # the collector's young generations, and its full passes (walking every division object
    # too) cost ~10 % of a national batch.
    for start in range(0, len(uniques), _CHUNK):
        rows = parse_chunk(uniques[start : start + _CHUNK])
        for column, parsed in zip(values, zip(*rows, strict=True), strict=True):
            column.extend(parsed)
    columns = dict(zip(fields, values, strict=True))
    if address is None:
        address = pa.array(uniques, pa.string())
    arrays: dict[str, pa.Array] = {"address": address}
    for name in COMPONENTS:
        arrays[name] = pa.array(columns.get(name, ()), pa.string())
    arrays["canonical"] = _canonical(arrays)
    arrays["admin_status"] = pa.array(columns.get("admin_status", ()), pa.string())
    arrays["admin_inferred"] = pa.array(columns.get("admin_inferred", ()), pa.bool_())
    arrays["notes"] = pa.array(columns.get("notes", ()), pa.list_(pa.string()))
    if arrays["address"].null_count:
        # Null in, null out: a null address has no components.
        valid = pc.is_valid(arrays["address"])
        for name in ("canonical", "admin_inferred", "notes"):
            arrays[name] = pc.if_else(valid, arrays[name], pa.scalar(None, arrays[name].type))
    return pa.table(arrays)


def _canonical(a: dict[str, pa.Array]) -> pa.Array:
    """`ParsedAddress.canonical`, computed column-wise in Arrow."""

    def suffix(column: pa.Array, text: str) -> pa.Array:
        return pc.binary_join_element_wise(column, pa.scalar(text), "")

    city = pc.if_else(pc.equal(a["city"], a["province"]), pa.scalar(None, pa.string()), a["city"])
    building = a["building"]
    side = pc.ends_with(building, "楼")
    building = pc.if_else(side, building, suffix(building, "栋"))
    floor = pc.if_else(
        pc.is_null(a["room"]), suffix(a["floor"], "楼"), pa.scalar(None, pa.string())
    )
    parts = [
        a["province"],
        city,
        a["district"],
        a["street"],
        a["community"],
        a["road"],
        suffix(a["road_number"], "号"),
        a["estate"],
        a["zone"],
        building,
        suffix(a["unit"], "单元"),
        suffix(a["room"], "室"),
        floor,
    ]
    # Nulls as empty text: with ``null_handling="skip"`` Arrow 26 drops the rows whose every
    # part is null (an empty string, a phone number) and the table cannot be built.
    return pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement="")
