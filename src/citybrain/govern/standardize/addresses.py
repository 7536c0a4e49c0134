"""Match a std table's addresses to the address base: distinct strings only, cached across runs.

Each distinct address string is parsed and matched once per version of the address base; the
results live in ``std.address_match`` keyed by the string, so a nightly run only reads the strings
it has not seen. The rows get the standard address id, its level and confidence, and the grid,
community and street of the address (``std.address_area``); unmatched ones a flag saying why.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import partial
from itertools import chain
from typing import Literal

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from citybrain.address import MatchLevel, MatchResult, ParsedAddress
from citybrain.core.engine import Engine
from citybrain.core.parallel import SERIAL_BELOW, map_chunks
from citybrain.govern.standardize.addressbase import AREA_COLUMNS, AddressIndex
from citybrain.govern.standardize.flags import flag

CACHE = "address_match"
AREAS = "address_area"
MATCH_COLUMNS = ("address_id", "address_level", "address_confidence", *AREA_COLUMNS)
# Why an address stayed unmatched, as a short code for the flag (the text stays in the cache).
_REASONS = (
    ("outside the city", "outside_city"),
    ("no road number or estate", "no_place"),
    ("no road number", "unknown_road_number"),
    ("no estate", "unknown_estate"),
    ("different places", "conflict"),
    ("old road name", "ambiguous_old_road"),
    ("road numbers fit", "ambiguous"),
    ("not in district", "other_district"),
    ("below threshold", "low_confidence"),
)


def reason_code(reason: str | None) -> str:
    for text, code in _REASONS:
        if reason and text in reason:
            return code
    return "other"


AMBIGUOUS_PENALTY = 0.05


def _match(index: AddressIndex, parsed: ParsedAddress) -> MatchResult:
    """The base's match; an estate name on several roads is settled by what lies below it."""
    result = index.base.match(parsed)
    if result.matched or reason_code(result.reason) != "ambiguous" or parsed.road:
        return result
    roads = next(
        (v for k, v in index.estate_roads.items() if parsed.estate and k.startswith(parsed.estate)),
        (),
    )
    found = [
        r
        for road, number in roads
        if (r := index.base.match(parsed._replace(road=road, road_number=number))).reason is None
        and r.level >= MatchLevel.BUILDING
    ]
    if len(found) != 1:
        return result
    confidence = round(found[0].confidence - AMBIGUOUS_PENALTY, 3)
    if confidence < index.base.threshold:
        return result
    return found[0]._replace(confidence=confidence)


# address_id, address_level, address_confidence, match_reason, unmatched_code, review
_Columns = tuple[
    list[str | None], list[str | None], list[float], list[str | None], list[str | None], list[bool]
]


def _match_columns(index: AddressIndex, addresses: Sequence[str]) -> _Columns:
    """The match columns of ``addresses``, as plain lists (cheap to send back from a worker)."""
    parse = index.parser.parse
    results = [_match(index, parse(text)) for text in addresses]
    return (
        [r.address_id for r in results],
        [r.level.name.lower() if r.matched else None for r in results],
        [r.confidence for r in results],
        [r.reason for r in results],
        [None if r.matched else reason_code(r.reason) for r in results],
        [r.review for r in results],
    )


def match_distinct(
    index: AddressIndex,
    addresses: list[str],
    *,
    workers: int = 0,
    serial_below: int = SERIAL_BELOW,
) -> pa.Table:
    """The cache rows for ``addresses`` (distinct, non-null strings), in their order.

    ``workers``: processes that parse and match, forked with the index (0: the CPUs this process
    may use; 1: this process only). Fewer than ``serial_below`` strings are matched here whatever
    ``workers`` says: starting workers would cost more than it saves (`citybrain.core.parallel`).
    """
    match = partial(_match_columns, index)
    parts = map_chunks(match, addresses, workers=workers, serial_below=serial_below)
    ids, levels, confidence, reasons, codes, review = (
        list(chain.from_iterable(part[i] for part in parts)) for i in range(6)
    )
    return pa.table(
        {
            "address": pa.array(addresses, pa.string()),
            "base_version": pa.array([index.version] * len(addresses), pa.string()),
            "address_id": pa.array(ids, pa.string()),
            "address_level": pa.array(levels, pa.string()),
            "address_confidence": pa.array(confidence, pa.float64()),
            "match_reason": pa.array(reasons, pa.string()),
            "unmatched_code": pa.array(codes, pa.string()),
            "review": pa.array(review, pa.bool_()),
        }
    )


def write_areas(engine: Engine, index: AddressIndex) -> None:
    engine.write(index.areas, "std", AREAS)


def update_cache(
    engine: Engine, index: AddressIndex, table: ir.Table, column: str, *, workers: int = 0
) -> int:
    """Match the strings of ``table[column]`` the cache lacks; returns how many were new.

    ``workers``: see `match_distinct`."""
    distinct = table.select(address=table[column]).filter(ibis._["address"].notnull()).distinct()
    mode: Literal["replace", "append"] = "append"
    if engine.exists("std", CACHE):
        cache = engine.table("std", CACHE)
        current = cache.filter(cache["base_version"] == index.version)
        if engine.to_arrow(current.limit(1)).num_rows == 0:
            mode = "replace"  # the base changed: every string is matched again
        else:
            distinct = distinct.anti_join(current, distinct["address"] == current["address"])
    else:
        mode = "replace"
    new = engine.to_arrow(distinct).column("address").to_pylist()
    if not new and mode == "append":
        return 0
    engine.write(match_distinct(index, new, workers=workers), "std", CACHE, mode=mode)
    return len(new)


def join_matches(
    engine: Engine, index: AddressIndex, table: ir.Table, column: str, *, workers: int = 0
) -> tuple[ir.Table, list[ir.ArrayValue]]:
    """``table`` with the match columns, and the address flags (``workers``: `match_distinct`)."""
    update_cache(engine, index, table, column, workers=workers)
    cache = engine.table("std", CACHE)
    cache = cache.filter(cache["base_version"] == index.version).select(
        _a=cache["address"],
        address_id=cache["address_id"],
        address_level=cache["address_level"],
        address_confidence=cache["address_confidence"],
        _unmatched=cache["unmatched_code"],
        _partial=cache["match_reason"].notnull() & cache["address_id"].notnull(),
    )
    areas = engine.register(f"_cb_areas_{uuid.uuid4().hex[:8]}", index.areas)
    areas = areas.select(_aid=areas["address_id"], **{c: areas[c] for c in AREA_COLUMNS})
    keep = [c for c in table.columns if c not in (*MATCH_COLUMNS, "h3_cell")]
    joined = table.left_join(cache, table[column] == cache["_a"])
    joined = joined.left_join(areas, joined["address_id"] == areas["_aid"])
    result = joined.select(*keep, *[joined[c] for c in MATCH_COLUMNS], "_unmatched", "_partial")
    flags = [
        flag(
            result["_unmatched"].notnull(),
            ibis.literal(f"{column}:unmatched:") + result["_unmatched"],
        ),
        flag(result["_partial"], f"{column}:partial"),
    ]
    return result, flags
