"""Typed addresses placed on the standard address register: one resolver for every public route.

The portal's address check and the nearest-parking answer read a resident's typed address the same
way, and the way the standardize step reads the lake's addresses: the register's own parser
(its roads and estates in the gazetteer, so a one-character typo in a road or estate name is
corrected, ``天府六衔`` → ``天府六街``) and the register's matcher (``AddressIndex``: road number,
building, unit, dwelling, a mistyped name settled by what lies below it). The point is that of
the deepest matched address that has one. Text the matcher cannot place surely (an estate or a
road alone, a register without its parent chain) falls back to the most specific register part
the corrected text names: an estate's building, the estate, a road number, the road (the mean of
what matched).

The index is built once per version of the std tables it reads (their files, sizes and times) and
kept on the app; the street, community and grid of a point come from ``std.admin_area``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.address import AddressParser, Gazetteer, ParsedAddress, ParserConfig
from citybrain.api.deps import Lake
from citybrain.cases.areas import AreaIndex
from citybrain.govern.standardize import AddressIndex, build_address_index

TABLES = ("standard_address", "admin_area", "road_alias")
# What the register's matcher needs (the parent chain); without them only the fallback places.
INDEX_COLUMNS = ("address_id", "level", "parent_id", "road_name", "road_no", "estate_name",
                 "building_no", "unit_no", "room_no")  # fmt: skip
POINT_COLUMNS = ("address_id", "full_address", "level", "road_name", "road_no", "estate_name",
                 "building_no", "lon", "lat")  # fmt: skip
_STRING = ("address_id", "full_address", "level", "road_name", "road_no", "estate_name",
           "building_no")  # fmt: skip


@dataclass(frozen=True)
class AddressBook:
    """One version of the register: its matcher, its addresses with a point, the admin areas."""

    stamp: tuple[tuple[str, int, int], ...]
    parser: AddressParser
    index: AddressIndex | None
    points: pa.Table  # POINT_COLUMNS, only rows with lon and lat
    areas: AreaIndex | None
    names: dict[str, str] = field(default_factory=dict)  # admin code → name


@dataclass(frozen=True)
class Placed:
    """Where the register puts a typed address."""

    parsed: ParsedAddress  # as read (typos corrected against the register's names)
    lon: float
    lat: float
    level: str  # dwelling, unit, building, road_number, estate or road
    matched: str  # the register's words for what placed it
    address_id: str | None = None  # None when several addresses placed it (their mean)
    confidence: float | None = None  # the matcher's, None for the fallback


def area_index(admin: pa.Table | None) -> tuple[AreaIndex | None, dict[str, str]]:
    """Every street, community and grid polygon with the ids of its chain (the smallest wins),
    and each code's name."""
    if admin is None or admin.num_rows == 0:
        return None, {}
    rows = admin.select(["level", "code", "name", "parent_code", "geometry"]).to_pylist()
    parent = {r["code"]: r["parent_code"] for r in rows}
    level = {r["code"]: r["level"] for r in rows}
    names = {r["code"]: r["name"] for r in rows if r["name"]}
    kept = []
    for row in rows:  # a few hundred polygons, once per register version
        chain: dict[str, str | None] = {}
        code: str | None = row["code"]
        while code is not None and code not in chain.values():
            chain[f"{level.get(code)}_id"] = code
            code = parent.get(code)
        if row["geometry"] is None:
            continue
        kept.append(
            {**{k: chain.get(k) for k in ("grid_id", "community_id", "street_id")},
             "geometry": row["geometry"]}
        )  # fmt: skip
    if not kept:
        return None, names
    return AreaIndex.from_table(pa.Table.from_pylist(kept)), names


def _points(register: pa.Table | None) -> pa.Table:
    """The register's rows with a point, in POINT_COLUMNS (a missing column is all null)."""
    if register is None or not {"lon", "lat"} <= set(register.column_names):
        register = pa.table({"lon": pa.array([], pa.float64()), "lat": pa.array([], pa.float64())})
    n = register.num_rows
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in POINT_COLUMNS:
        if name in register.column_names:
            kind = pa.float64() if name in ("lon", "lat") else pa.string()
            columns[name] = register[name].cast(kind)
        else:
            columns[name] = pa.nulls(n, pa.string())
    table = pa.table(columns)
    return table.filter(pc.and_(pc.is_valid(table["lon"]), pc.is_valid(table["lat"])))


def _gazetteer_parser(points: pa.Table) -> AddressParser:
    """A parser that corrects typos against the register's road and estate names (the index's
    own parser does this too; this one serves a register without its parent chain)."""
    roads = pc.unique(points["road_name"].drop_null()).to_pylist()
    estates = pc.unique(points["estate_name"].drop_null()).to_pylist()
    gazetteer = Gazetteer(roads=dict.fromkeys(roads), estates=dict.fromkeys(estates))
    return AddressParser(ParserConfig(gazetteer=gazetteer))


def _build(lake: Lake, stamp: tuple[tuple[str, int, int], ...]) -> AddressBook:
    register = lake.read("std", "standard_address")
    points = _points(register)
    index = None
    if (
        register is not None
        and register.num_rows
        and set(INDEX_COLUMNS) <= set(register.column_names)
    ):
        with lake.engine() as engine:
            index = build_address_index(engine)
    parser = index.parser if index is not None else _gazetteer_parser(points)
    areas, names = area_index(lake.read("std", "admin_area"))
    return AddressBook(stamp, parser, index, points, areas, names)


_LOCK = threading.Lock()


def address_book(state: Any, lake: Lake) -> AddressBook:
    """The app's register snapshot (``state`` is ``app.state``), rebuilt when the std tables it
    reads were rewritten."""
    stamp = lake.stamp(*TABLES)
    held: AddressBook | None = getattr(state, "address_book", None)
    if held is not None and held.stamp == stamp:
        return held
    with _LOCK:
        again: AddressBook | None = getattr(state, "address_book", None)
        if again is not None and again.stamp == stamp:
            return again
        book = _build(lake, stamp)
        state.address_book = book
    return book


def _equal(table: pa.Table, column: str, value: str) -> pa.Array:
    return pc.fill_null(pc.equal(table[column], value), False)


def _by_index(book: AddressBook, parsed: ParsedAddress) -> Placed | None:
    """The matcher's answer, placed at the deepest matched address that has a point."""
    if book.index is None:
        return None
    result = book.index.base.match(parsed)
    if not result.matched:
        return None
    ids = [
        (level, i)
        for level, i in (("dwelling", result.dwelling_id), ("unit", result.unit_id),
                         ("building", result.building_id), ("road_number", result.road_number_id))
        if i is not None
    ]  # fmt: skip
    hits = book.points.filter(pc.is_in(book.points["address_id"], pa.array([i for _, i in ids])))
    found = dict(zip(hits["address_id"].to_pylist(), range(hits.num_rows), strict=True))
    for level, address_id in ids:
        if address_id in found:
            row = hits.slice(found[address_id], 1).to_pylist()[0]
            return Placed(parsed, row["lon"], row["lat"], level, row["full_address"] or "",
                          address_id, result.confidence)  # fmt: skip
    return None


def _by_parts(book: AddressBook, parsed: ParsedAddress) -> Placed | None:
    """The most specific register part the text names: an estate's building, the estate, a road
    number, the road (the mean point of what matched)."""
    points = book.points
    if points.num_rows == 0:
        return None
    building = _equal(points, "level", "building")
    number = _equal(points, "level", "road_number")
    tries: list[tuple[str, pa.Array, str]] = []
    if parsed.estate:
        estate = _equal(points, "estate_name", parsed.estate)
        if parsed.building:
            in_estate = pc.and_(estate, _equal(points, "building_no", parsed.building))
            tries.append(("building", in_estate, ""))
        tries.append(("estate", pc.and_(estate, pc.or_(building, number)), parsed.estate))
    if parsed.road:
        road = pc.and_(_equal(points, "road_name", parsed.road), number)
        if parsed.road_number:
            at_number = pc.and_(road, _equal(points, "road_no", parsed.road_number))
            tries.append(("road_number", at_number, ""))
        tries.append(("road", road, parsed.road))
    for level, mask, words in tries:
        hit = points.filter(mask)
        if hit.num_rows:
            one = hit.num_rows == 1
            return Placed(
                parsed, float(pc.mean(hit["lon"]).as_py()), float(pc.mean(hit["lat"]).as_py()),
                level, words or hit["full_address"][0].as_py() or "",
                hit["address_id"][0].as_py() if one else None,
            )  # fmt: skip
    return None


def place(book: AddressBook, text: str) -> Placed | None:
    """Where the register puts ``text``, or None when it names no place the register knows."""
    parsed = book.parser.parse(text)
    return _by_index(book, parsed) or _by_parts(book, parsed)


def read(book: AddressBook, text: str) -> ParsedAddress:
    """``text`` as the register's parser reads it (typos in known names corrected)."""
    return book.parser.parse(text)


@dataclass(frozen=True)
class Areas:
    street: str | None = None
    community: str | None = None
    grid: str | None = None


def areas_of(book: AddressBook, lon: float, lat: float) -> Areas:
    """The street, community and grid (names) a point lies in."""
    if book.areas is None:
        return Areas()
    where = book.areas.locate(pa.array([lon]), pa.array([lat])).to_pylist()[0]
    return Areas(
        book.names.get(where["street_id"] or ""),
        book.names.get(where["community_id"] or ""),
        book.names.get(where["grid_id"] or ""),
    )


__all__ = ["AddressBook", "Areas", "Placed", "address_book", "area_index", "areas_of", "place"]
