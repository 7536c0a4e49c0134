"""Match parsed addresses to the standard address base (标准地址库).

The base is an Arrow table with one row per standard address at its deepest level (usually a
dwelling) and the ids of every level it belongs to:

    road, road_number, estate, building, unit, room          (components, any may be null)
    road_number_id, building_id, unit_id, dwelling_id         (ids, any may be null)
    district_code, street, community                          (optional: GB/T 2260, names)

`AddressBase.match` walks down road number → building → unit → dwelling and stops at the first
level it cannot decide, returning the deepest id it is sure of, the level, a confidence and a
reason. A wrong match is worse than none: conflicting or ambiguous evidence stops the walk, and a
confidence below the threshold is reported unmatched with ``review=True``.

When several road numbers fit (an estate name used twice, an old road name now given to several
roads), the written street or community, and then the building / unit / room written, may leave
exactly one: that one is taken, with less confidence. A name not in the base that is one edit from
several known ones is settled the same way — only one of them holding the written building, unit
and room.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from enum import IntEnum
from typing import Any, NamedTuple

import pyarrow as pa

from citybrain.address.fuzzy import NameIndex
from citybrain.address.model import ParsedAddress
from citybrain.address.normalize import to_halfwidth
from citybrain.address.parser import AddressParser, Gazetteer, ParserConfig, alias_map


class MatchLevel(IntEnum):
    """How deep a match reached; larger is deeper."""

    NONE = 0
    ROAD_NUMBER = 1
    BUILDING = 2
    UNIT = 3
    DWELLING = 4


class MatchResult(NamedTuple):
    """The outcome for one address. ``address_id`` is the id at ``level`` (None when unmatched)."""

    level: MatchLevel
    address_id: str | None
    confidence: float
    reason: str | None  # why the match stopped above the level the address asked for
    review: bool = False  # below the threshold or conflicting: a person should look
    road_number_id: str | None = None
    building_id: str | None = None
    unit_id: str | None = None
    dwelling_id: str | None = None

    @property
    def matched(self) -> bool:
        return self.level > MatchLevel.NONE

    def rows(self) -> list[tuple[str, str]]:
        """(field, value) pairs for display next to `ParsedAddress.rows`."""
        pairs = [
            ("match_level", self.level.name.lower()),
            ("address_id", self.address_id),
            ("confidence", f"{self.confidence:.2f}"),
            ("reason", self.reason),
            ("review", "yes" if self.review else None),
        ]
        return [(k, v) for k, v in pairs if v is not None]


# Confidence lost for each kind of guess the parser or the matcher made.
PENALTIES: dict[str, float] = {
    "admin typo": 0.05,
    "road typo": 0.05,
    "estate typo": 0.05,
    "road alias": 0.0,
    "unparsed detail": 0.2,
    "ambiguous admin": 0.02,
    "estate only": 0.03,
    "unit inferred": 0.05,
    "dropped leading text": 0.02,
}
# Confidence lost when the matcher itself picks one of several fitting places by what lies below.
SETTLED_BY_DETAIL = 0.05
SPLIT_ROAD = 0.02  # an old name now on several roads; the number exists on one only
_SUFFIXES = ("号楼", "单元", "栋", "幢", "座", "号", "室", "户")


def component_key(value: Any) -> str | None:
    """How a component is compared: half-width, upper case, no unit word (3栋 → 3)."""
    if value is None:
        return None
    text = to_halfwidth(str(value)).strip().upper().replace(" ", "")
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text or None


class AddressBase:
    """Lookup structures over a standard-address table; build once, match many."""

    def __init__(
        self,
        table: pa.Table,
        threshold: float = 0.9,
        road_aliases: Mapping[str, str | Sequence[str]] | None = None,
        region: str | None = None,
    ) -> None:
        """``region``: the city (GB/T 2260 code) the base covers; by default the cities of its
        ``district_code`` values. An address that names another province or city is outside."""
        self.threshold = threshold
        self.road_aliases = alias_map(road_aliases or {})
        rows = table.to_pylist()
        self._area: dict[str, tuple[str | None, str | None]] = {}  # street, community
        self._by_road_number: dict[tuple[str, str], set[str]] = {}
        self._by_estate: dict[str, set[str]] = {}
        self._district: dict[str, str | None] = {}
        self._buildings: dict[tuple[str, str], str] = {}
        self._units: dict[tuple[str, str], str] = {}
        self._units_of: dict[str, set[str]] = {}
        self._dwellings: dict[tuple[str, str], str] = {}  # (unit id or building id, room)
        self._rooms_in_building: dict[tuple[str, str], set[str]] = {}
        self._unit_of_dwelling: dict[str, str] = {}
        roads: dict[str, str | None] = {}
        estates: dict[str, str | None] = {}
        for row in rows:
            self._add(row, roads, estates)
        self.gazetteer = Gazetteer(roads=roads, estates=estates, road_aliases=self.road_aliases)
        self._road_names = NameIndex(roads)
        self._estate_names = NameIndex(estates)
        covered = {region} if region else {c for c in self._district.values() if c}
        self._cities = frozenset(code[:4] for code in covered)

    def _add(
        self, row: dict[str, Any], roads: dict[str, str | None], estates: dict[str, str | None]
    ) -> None:
        rn_id = row.get("road_number_id")
        if rn_id is None:
            return
        district = row.get("district_code")
        road, number = row.get("road"), component_key(row.get("road_number"))
        estate = row.get("estate")
        self._district[rn_id] = district
        if row.get("street") or row.get("community"):
            self._area[rn_id] = (row.get("street"), row.get("community"))
        if road and number:
            self._by_road_number.setdefault((road, number), set()).add(rn_id)
            roads.setdefault(road, district)
        if estate:
            self._by_estate.setdefault(estate, set()).add(rn_id)
            estates.setdefault(estate, district)
        building, b_id = component_key(row.get("building")), row.get("building_id")
        if building is None or b_id is None:
            return
        self._buildings[(rn_id, building)] = b_id
        unit, u_id = component_key(row.get("unit")), row.get("unit_id")
        room, d_id = component_key(row.get("room")), row.get("dwelling_id")
        if unit is not None and u_id is not None:
            self._units[(b_id, unit)] = u_id
            self._units_of.setdefault(b_id, set()).add(u_id)
            if room is not None and d_id is not None:
                self._dwellings[(u_id, room)] = d_id
                self._rooms_in_building.setdefault((b_id, room), set()).add(d_id)
                self._unit_of_dwelling[d_id] = u_id
        elif room is not None and d_id is not None:
            self._dwellings[(b_id, room)] = d_id
            self._rooms_in_building.setdefault((b_id, room), set()).add(d_id)

    def parser(self, config: ParserConfig | None = None) -> AddressParser:
        """A parser that corrects typos against this base's roads and estates."""
        config = config or ParserConfig()
        gazetteer = Gazetteer(
            roads={**self.gazetteer.roads, **config.gazetteer.roads},
            estates={**self.gazetteer.estates, **config.gazetteer.estates},
            road_aliases={**self.road_aliases, **alias_map(config.gazetteer.road_aliases)},
        )
        return AddressParser(replace(config, gazetteer=gazetteer))

    def match(self, parsed: ParsedAddress) -> MatchResult:
        """The deepest standard address ``parsed`` surely is (see the module docstring)."""
        outside = self.outside(parsed)
        if outside is not None:
            return MatchResult(MatchLevel.NONE, None, 0.0, f"outside the city: {outside}")
        result = self._match(parsed)
        if result.matched or not result.reason or not result.reason.startswith(_UNKNOWN_NAME):
            return result
        return self._respelled(parsed) or result

    def outside(self, p: ParsedAddress) -> str | None:
        """The province or city written, when the base does not cover it (None: inside, or
        nothing written, or the base covers no known city)."""
        cities = self._cities
        if not cities:
            return None
        if p.city_code and p.city_code[:4] not in cities:
            return p.city
        if p.province_code and not any(c[:2] == p.province_code[:2] for c in cities):
            return p.province
        return None

    def _respelled(self, p: ParsedAddress) -> MatchResult | None:
        """An unknown road or estate one edit from several known ones: the one that holds the
        written building, unit and room (only it), else None."""
        alternatives: list[ParsedAddress] = []
        if p.estate and p.estate not in self._estate_names:
            note = (*p.notes, f"estate typo: {p.estate} → ?")
            stem = p.estate.removesuffix("小区")
            alternatives += [
                p._replace(estate=e, notes=note) for e in self._estate_names.candidates(stem)
            ]
        if p.road and p.road not in self._road_names and p.road not in self.road_aliases:
            note = (*p.notes, f"road typo: {p.road} → ?")
            alternatives += [
                p._replace(road=r, notes=note) for r in self._road_names.candidates(p.road)
            ]
        if len(alternatives) < 2 or building_key(p) is None:
            return None
        found = [r for alt in alternatives if (r := self._match(alt)).matched]
        if not found:
            return None
        deepest = max(r.level for r in found)
        best = [r for r in found if r.level == deepest]
        if len(best) != 1 or deepest < MatchLevel.BUILDING:
            return None
        return best[0]

    def _match(self, parsed: ParsedAddress) -> MatchResult:
        confidence = 1.0 - sum(
            penalty
            for note in parsed.notes
            for key, penalty in PENALTIES.items()
            if note.startswith(key)
        )
        if parsed.admin_inferred:
            confidence -= 0.01
        rn_id, reason, extra = self._road_number(parsed)
        if rn_id is None:
            return MatchResult(MatchLevel.NONE, None, 0.0, reason, review=reason is not None)
        confidence -= extra
        ids: dict[str, str | None] = {"road_number_id": rn_id}
        level, reason = self._walk_down(parsed, rn_id, ids)
        if level is MatchLevel.UNIT and "dwelling_id" in ids:
            level = MatchLevel.DWELLING
        if ids.pop("unit_inferred", None):
            confidence -= PENALTIES["unit inferred"]
        confidence = round(max(confidence, 0.0), 3)
        if confidence < self.threshold:
            return MatchResult(
                MatchLevel.NONE,
                None,
                confidence,
                f"confidence {confidence:.2f} below threshold",
                True,
            )
        address_id = ids[_ID_OF[level]]
        return MatchResult(level, address_id, confidence, reason, False, **ids)

    def _road_number(self, p: ParsedAddress) -> tuple[str | None, str | None, float]:
        by_road: set[str] = set()
        number = component_key(p.road_number)
        roads = self.road_aliases.get(p.road, (p.road,)) if p.road else ()
        if p.road and number:
            for road in roads:
                by_road = by_road | self._by_road_number.get((road, number), set())
        by_estate: set[str] = set()
        if p.estate:
            # The register may name the estate with its zone (云谷D区) or without it (云谷).
            if p.zone:
                by_estate = self._by_estate.get(p.estate + p.zone, set())
            by_estate = by_estate or self._by_estate.get(p.estate, set())
        if by_road and by_estate:
            both = by_road & by_estate
            if not both:
                return None, f"{p.road}{p.road_number}号 and {p.estate} are different places", 0.0
            candidates, extra = both, 0.0
        elif by_road:
            candidates, extra = by_road, 0.0
        elif by_estate:
            candidates, extra = by_estate, PENALTIES["estate only"]
        elif p.road and number:
            return None, f"no road number {p.road}{p.road_number}号 in the base", 0.0
        elif p.estate:
            return None, f"no estate {p.estate} in the base", 0.0
        else:
            return None, "no road number or estate in the address", 0.0
        if p.district_code:
            candidates = {c for c in candidates if self._district.get(c) in (None, p.district_code)}
            if not candidates:
                return None, f"road number is not in district {p.district}", 0.0
        if len(roads) > 1:
            extra += SPLIT_ROAD
        if len(candidates) > 1:
            candidates, settled = self._settle(p, candidates)
            extra += settled
        if len(candidates) > 1:
            if len(roads) > 1:
                names = " / ".join(roads)
                return None, f"old road name {p.road} is now {names}; the number fits several", 0.0
            return None, f"{len(candidates)} road numbers fit; add the road and number", 0.0
        return next(iter(candidates)), None, extra

    def _settle(self, p: ParsedAddress, candidates: set[str]) -> tuple[set[str], float]:
        """Of several road numbers, those in the written street or community, else the one
        holding the written building (and unit and room, if written)."""
        for at, written in ((0, p.street), (1, p.community)):
            if written:
                inside = {c for c in candidates if self._area.get(c, (None, None))[at] == written}
                if len(inside) == 1:
                    return inside, 0.0
                candidates = inside or candidates
        if building_key(p) is None:
            return candidates, 0.0
        holding = set()
        for c in candidates:
            level, reason = self._walk_down(p, c, {})
            if reason is None and level >= MatchLevel.BUILDING:
                holding.add(c)
        if len(holding) == 1:
            return holding, SETTLED_BY_DETAIL
        return candidates, 0.0

    def _walk_down(
        self, p: ParsedAddress, rn_id: str, ids: dict[str, str | None]
    ) -> tuple[MatchLevel, str | None]:
        building = component_key(p.building)
        if building is None:
            return MatchLevel.ROAD_NUMBER, "no building in the address" if p.room else None
        b_id = self._buildings.get((rn_id, building))
        if b_id is None:
            return MatchLevel.ROAD_NUMBER, f"building {p.building} not found"
        ids["building_id"] = b_id
        unit, room = component_key(p.unit), component_key(p.room)
        if unit is not None:
            u_id = self._units.get((b_id, unit))
            if u_id is None:
                return MatchLevel.BUILDING, f"unit {p.unit} not found in building {p.building}"
            ids["unit_id"] = u_id
            if room is None:
                return MatchLevel.UNIT, None
            d_id = self._dwellings.get((u_id, room))
            if d_id is None:
                return MatchLevel.UNIT, f"room {p.room} not found in unit {p.unit}"
            ids["dwelling_id"] = d_id
            return MatchLevel.DWELLING, None
        if room is None:
            return MatchLevel.BUILDING, None
        found = self._rooms_in_building.get((b_id, room), set())
        if len(found) != 1:
            why = "not found" if not found else f"in {len(found)} units; the unit is missing"
            return MatchLevel.BUILDING, f"room {p.room} {why}"
        d_id = next(iter(found))
        ids["dwelling_id"] = d_id
        if self._units_of.get(b_id):
            ids["unit_inferred"] = "yes"
            ids["unit_id"] = self._unit_of_dwelling.get(d_id)
        return MatchLevel.DWELLING, None

    def match_many(self, parsed: Iterable[ParsedAddress]) -> pa.Table:
        """One row of match columns per parsed address (parse distinct strings first)."""
        results = [self.match(p) for p in parsed]
        return pa.table(
            {
                "match_level": [r.level.name.lower() for r in results],
                "address_id": [r.address_id for r in results],
                "confidence": pa.array([r.confidence for r in results], pa.float64()),
                "reason": [r.reason for r in results],
                "review": [r.review for r in results],
                "road_number_id": [r.road_number_id for r in results],
                "building_id": [r.building_id for r in results],
                "unit_id": [r.unit_id for r in results],
                "dwelling_id": [r.dwelling_id for r in results],
            }
        )


_UNKNOWN_NAME = ("no estate", "no road number")


def building_key(p: ParsedAddress) -> str | None:
    return component_key(p.building)


_ID_OF = {
    MatchLevel.ROAD_NUMBER: "road_number_id",
    MatchLevel.BUILDING: "building_id",
    MatchLevel.UNIT: "unit_id",
    MatchLevel.DWELLING: "dwelling_id",
}
