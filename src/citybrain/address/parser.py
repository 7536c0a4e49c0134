"""Chinese address string → `ParsedAddress` components.

Order of reading: clean the text (`normalize.clean`), read the admin prefix (`admin.AdminReader`),
then one compiled pattern for street / community / road / number, and one for the rest:
estate, zone, building, unit, floor, room. Nothing here loops over characters in Python except the
admin longest match, which does a handful of dictionary look-ups per token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from citybrain.address.admin import AdminReader, AdminResult, levels_of
from citybrain.address.divisions import (
    CITY,
    DEFAULT_ZONES,
    DISTRICT,
    STREET,
    DivisionIndex,
    ZoneAlias,
    default_index,
)
from citybrain.address.fuzzy import NameIndex
from citybrain.address.model import ParsedAddress
from citybrain.address.normalize import clean
from citybrain.address.numerals import to_int

_CJK = r"\u4e00-\u9fff"
_ROAD_SUFFIX = (
    r"(?:大道|大街|路|街(?!道)|巷|胡同|弄(?!\d)|[东西南北中]道|道(?=\d|$)|里(?=\d)|线(?=\d))"
)
_SEGMENT = (
    r"(?:[东西南北中]?[一二三四五六七八九十]{0,3}段|[东西南北]{1,2}(?:延线|延长线|辅道|辅路)"
    rf"|[{_CJK}]{{1,5}}?段(?=\d))?"  # 东大街紫东楼段35号: a named segment
)
_NUMBER = (
    r"(?P<number>[甲乙丙丁]?\d+(?:-\d+)?[A-Z]?)(?:号院|号(?!楼|座)|弄)"
    r"(?:附(?P<annex>\d+)号?)?"
)
# After a road the 号 is often left out: 天府大道北段1700环球中心, 天府三街288.
_NUMBER_AFTER_ROAD = _NUMBER.replace(
    "(?:号院|号(?!楼|座)|弄)",
    "(?:号院|号(?!楼|座)|弄|$|(?=[\u4e00-\u9fff])(?![栋幢座楼层单元室户号组期区门]))",
)
_DISTRICT_HEAD = rf"[{_CJK}]{{2,8}}?(?:新区|区|县)"
_STREET_HEAD = (
    rf"[{_CJK}]{{2,8}}?(?:街道办事处|街道办|街道|街办)(?![路街])"
    rf"|[{_CJK}]{{1,6}}?(?:镇|乡)(?=$|[{_CJK}]{{1,10}}?(?:社区|村|路|街|大道|巷))"
)
_COMMUNITY_HEAD = (
    rf"[{_CJK}0-9]{{2,10}}?(?:社区居民委员会|社区居委会|社区|居委会|村民委员会|村委会"
    r"|村(?=\d+组|\d+社|\d+号|$))"
)
_NEVER = "(?!)"  # a pattern that matches nothing, at once
# A `ParsedAddress` from a tuple of its fields, as `ParsedAddress._make` makes it, without the
# class method's call.
_PARSED = tuple.__new__


@lru_cache(maxsize=8)
def _head(district: bool, street: bool, community: bool) -> re.Pattern[str]:
    """Street, community, road and number after the admin prefix, in one pattern. A part whose
    words are not in the text (see `_head_for`) is left out: it could not match, and trying it
    at every length is a good part of the pattern's time."""
    return re.compile(
        rf"""
        (?:(?P<district>{_DISTRICT_HEAD if district else _NEVER})
           (?=[{_CJK}]{{2,8}}?(?:街道|镇|乡)))?
        (?:(?P<street>{_STREET_HEAD if street else _NEVER}))?
        (?:(?P<community>{_COMMUNITY_HEAD if community else _NEVER})
           (?:(?P<group>\d+)(?:组|社))?)?
        (?:(?P<road>[{_CJK}A-Z0-9]{{1,14}}?{_ROAD_SUFFIX}{_SEGMENT}){_NUMBER_AFTER_ROAD}
          |(?P<road2>[{_CJK}A-Z0-9]{{1,14}}?{_ROAD_SUFFIX}{_SEGMENT})(?!大道|大街|路|街|道|巷)
          |{_NUMBER.replace("number", "number2").replace("annex", "annex2")})?
        """,
        re.VERBOSE,
    )


def _head_for(rest: str) -> re.Pattern[str]:
    """`_head` with the parts ``rest`` may hold: a district needs 区 or 县 and a street's word
    after it; a street needs 街道 (街道办, 街道办事处), 街办, 镇 or 乡; a community needs 社区,
    居委会 or 村."""
    street = "镇" in rest or "乡" in rest or "街道" in rest or "街办" in rest  # (not 东风街)
    district = street and ("区" in rest or "县" in rest)
    community = "村" in rest or "社区" in rest or "居委会" in rest
    return _head(district, street, community)


# A place glued before a road (a park, a new town, a square): read off when at least three
# characters of road name follow it.
_PLACE_BEFORE_ROAD = re.compile(
    rf"([{_CJK}]{{0,8}}?(?:科技园|工业园|产业园|园区|新城|广场|商圈|中心|市场|片区|开发区|新区))"
    rf"(?=[{_CJK}]{{3,}})"
)
_PLACE_HINT = re.compile("[园城场圈心区]")  # the last characters of `_PLACE_BEFORE_ROAD`'s words
_TOWN_WORD_FIRST = frozenset("镇乡街")
_UNKNOWN_COUNTY = re.compile(rf"([{_CJK}]{{2,3}}(?:区|县))(?=[{_CJK}]{{2,10}}?(?:路|街|大道|巷)|$)")
# A market's own numbering (义乌国际商贸城二区东16门3楼2街12345号): zone, building, gate, floor,
# then the market's lane (N街, a corridor of stalls, no road of the city) and the stall. Read
# only when a lane or a zone is written; clean has turned 2街 into 二街 (as for roads).
_MARKET_WORDS = re.compile("商贸城|小商品城|市场|商城|批发城")
_MARKET = re.compile(
    rf"(?P<market>[{_CJK}]{{1,12}}?(?:商贸城|小商品城|市场|商城|批发城))"
    r"(?:(?P<zone>[一二三四五六七八九十]{1,3}|\d{1,2}|[A-Z]\d?)区)?"
    r"(?:(?P<building>[A-Z]|\d{1,2})(?:座|栋|幢))?"
    r"(?:(?P<gate>[东西南北]?\d{1,3}号?|[东西南北])门)?"
    r"(?:(?P<floor>B?\d{1,2})(?:楼|层|F))?"
    r"(?:(?P<lane>[一二三四五六七八九十]{1,3}|\d{1,3})街)?"
    r"(?:(?P<stall>\d{1,6})(?:号|档|铺|室)?)?"
)
_ROAD_WORDS = re.compile("路|大道|街|巷")
_LANE_LAST = frozenset("巷弄同")
_LANE_OF = re.compile(rf"([{_CJK}]{{2,10}}?(?:路|街|大道))([{_CJK}]{{1,6}}(?:巷|弄|胡同))")
# A road and its number (a county before it at most) where an estate would start: a second address.
_SECOND_ADDRESS = re.compile(
    rf"(?:[{_CJK}]{{2,8}}?(?:区|县|市))?[{_CJK}]{{1,14}}?{_ROAD_SUFFIX}{_SEGMENT}\d+(?:号(?!楼|院|座)|弄)"
)
# Every word of `_ROAD_SUFFIX` holds one of these: a text without any holds no second address.
_ROAD_SUFFIX_HINT = re.compile("[路街巷同弄道里线]")
_LOOSE_ROAD = re.compile(r"(\D{3,16}?)(\d+)号(.*)")
# The detail (building … room) is the longest tail made of these characters (`str.rstrip`).
_DETAIL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-栋幢座号楼单元层室户房门之档"
_DETAIL_STARTS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_DETAIL_NOT_FIRST = "栋幢座号楼单元层室户房门"
_HAS_ALNUM = re.compile(r"[0-9A-Z]")
_LATIN_NAME_END = re.compile(r"[A-Z]{2,}(?=\d)")
_FOUR_PART = re.compile(
    r"([A-Z]?\d+[A-Z]?)(?:栋|幢|号楼|座|号)?-(\d+)(?:单元)?-(\d{1,2})(?:楼|层)?-(\d{1,2})(?:室|号|户)?"
)
_FLOOR_END = re.compile(r"(B?\d+)(?:楼|层|F)$")
_ZONE = re.compile(r"(?:(?:[A-Z]\d*|\d+[A-Z]?)(?:区|期)|[东西南北中]区)$")
# The detail, in one pattern: shorthand 3-2-1203 / 3栋2-1203 / 5-302 first, then the long form
# 3栋2单元12楼3号. Group names end in the alternative's number (see `_detail_parts`).
_DETAIL_SHORTHAND = (
    r"(?P<b1>[A-Z]?\d+[A-Z]?)(?:栋|幢|号楼|座|号)?-(?P<u1>\d+)(?:单元)?-(?P<r1>\d+)(?:室|号房?|户)?"
    r"|(?P<b2>[A-Z]?\d+[A-Z]?|[A-Z])(?:栋|幢|号楼|座|号)(?P<u2>\d+)-(?P<r2>\d+)(?:室|号房?|户)?"
    r"|(?P<b3>\d+)-(?P<r3>\d{3,4})(?:室|号房?|户)?"
)
_DETAIL_LONG = (
    r"(?:(?P<b4>[A-Z]?\d+[A-Z]?|[A-Z])(?:号楼|栋楼?|幢|座|楼(?=\d+单元)"
    r"|号(?=\d+单元|\d+-\d|\d{3,4}(?:室|房|户)?$)))?-?"  # 1088弄12号302室: building 12
    r"(?:(?P<u4>\d+|[A-Z])(?:单元|门))?-?"
    r"(?:(?P<f4>B?\d+)(?:楼|层|F))?"
    # 302之1 (part 1 of room 302), 之2 after a floor (3楼之2); 档: a market stall (312档)
    r"(?:(?P<r4>[A-Z]?\d+[A-Z]?(?:之\d+)?|之\d+)(?:室|号房?|户|房|档)?)?"
)
_DETAIL = re.compile(f"{_DETAIL_SHORTHAND}|{_DETAIL_LONG}")
# Every shorthand has a dash: a detail without one is read by the long form alone.
_DETAIL_NO_DASH = re.compile(_DETAIL_LONG)


@dataclass(frozen=True)
class Gazetteer:
    """Known names for typo correction and upper-level inference.

    ``roads`` and ``estates`` map a standard name to its district code (or None); ``road_aliases``
    maps an old or informal road name to the standard one (the register's alias list), or to
    several when the old road was split (the matcher then decides by number, estate, building).
    """

    roads: Mapping[str, str | None] = field(default_factory=dict)
    estates: Mapping[str, str | None] = field(default_factory=dict)
    road_aliases: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class ParserConfig:
    """What a city tells the parser: its default region and its own zones and names."""

    default_region: str | None = None  # a GB/T 2260 code, e.g. "510100" for 成都市
    zones: tuple[ZoneAlias, ...] = DEFAULT_ZONES
    gazetteer: Gazetteer = field(default_factory=Gazetteer)


# A cleaned text as `AddressParser._read_admin` leaves it: the text, notes, the admin reading.
_AdminRead = tuple[str, list[str], AdminResult]


class AddressParser:
    """Parses addresses with one division index and one city's configuration. Deterministic."""

    def __init__(self, config: ParserConfig | None = None, index: DivisionIndex | None = None):
        self.config = config or ParserConfig()
        if index is None:
            index = default_index() if self.config.zones == DEFAULT_ZONES else None
        if index is None:
            from citybrain.address.divisions import load_index

            index = load_index().with_zones(self.config.zones)
        self.index = index
        self._admin = AdminReader(index, self.config.default_region)
        gaz = self.config.gazetteer
        self._roads = NameIndex(gaz.roads, prefer_homophone=True) if gaz.roads else None
        self._estates = NameIndex(gaz.estates, prefer_homophone=True) if gaz.estates else None
        self._road_aliases = alias_map(gaz.road_aliases)

    def parse(self, text: str | None) -> ParsedAddress:
        raw = text or ""
        return _PARSED(ParsedAddress, self._finish(raw, self._read_admin(clean(raw))))

    def parse_chunk(self, texts: Sequence[str | None]) -> list[tuple[Any, ...]]:
        """`parse` of each text as a plain tuple of `ParsedAddress`'s fields (a batch takes
        them apart into columns at once: no named tuple made for nothing), stage by stage: every
        text cleaned, then every admin prefix read, then every rest read. The same steps as
        `parse`, in another order; over a few hundred texts each stage's code and tables stay
        warm in the CPU caches while it runs, ~10-15 % less CPU per address than interleaving
        them (see `batch.parse_many`)."""
        raws = [text or "" for text in texts]
        read_admin, finish = self._read_admin, self._finish
        cleaned = [clean(raw) for raw in raws]
        admins = [read_admin(s) for s in cleaned]
        return [finish(raw, admin) for raw, admin in zip(raws, admins, strict=True)]

    def _read_admin(self, s: str) -> _AdminRead:
        """The admin prefix of a cleaned text: the text read (old address or leading words
        dropped), the notes so far and the admin reading."""
        notes: list[str] = []
        if "现址" in s:
            # 原址…现址…: the address now is the one that counts; the old one is noted
            former, _, s = s.partition("现址")
            notes.append(f"old address dropped: {former.removeprefix('原址')}")
        admin = self._admin.read(s)
        if admin.end == 0:
            start = self._admin.find_start(s)
            if start:
                # 张三四川省…, 收货四川省…: text before a province or city name is not address.
                notes.append(f"dropped leading text: {s[:start]}")
                s = s[start:]
                admin = self._admin.read(s)
        return s, notes, admin

    def _finish(self, raw: str, read: _AdminRead) -> tuple[Any, ...]:
        """Everything after the admin prefix (`_read_admin`'s): the parsed address's fields."""
        s, notes, admin = read
        rest = s[admin.end :]
        if rest[:1] in _TOWN_WORD_FIRST and admin.lineage and admin.lineage[-1].level == STREET:
            # 松陵镇 read as 松陵街道 (its name today) by its short form: the 镇 written is read
            if rest[0] in "镇乡":
                admin = _renamed_town(admin, s, rest[0])
                rest = rest[1:]
            else:
                rest = rest.removeprefix("街道")
        unplaced = None
        third_fourth = rest[2:4]
        if "区" in third_fourth or "县" in third_fourth:
            old = _UNKNOWN_COUNTY.match(rest)
            if old is not None and admin.lineage and admin.lineage[-1].level == CITY:
                # 北京市崇文区前门大街: a county the data does not know (abolished before 2015, or
                # misspelt past fixing) between the city and a road — kept apart, without a code
                unplaced = old.group(1)
                notes.append(f"unknown district: {unplaced}")
                rest = rest[old.end(1) :]
        if admin.corrections:
            notes.extend(f"admin typo: {c}" for c in admin.corrections)
        if admin.historical:
            notes.extend(admin.historical)
        if admin.ambiguous:
            unplaced = admin.ambiguous[0]
            notes.append(f"ambiguous admin: {unplaced}")
            if admin.candidates:
                notes.append(f"candidates: {' / '.join(admin.candidates[:8])}")
        market = _read_market(rest, notes) if "区" in rest or "街" in rest else None
        if market is not None:
            rest = ""  # all of it was the market's: no road, no detail left
        m = _head_for(rest).match(rest)
        assert m is not None  # every part of the pattern is optional
        # By position, in the pattern's order (`_head`): one call, no look-up of ten names.
        district, street, community, group, road, number, annex, road2, number2, annex2 = m.groups()
        if district is not None:
            unplaced = unplaced or district
            notes.append(f"unknown district: {district}")
        road = road or road2
        if road is not None and road[-1] in _LANE_LAST:
            lane = _LANE_OF.match(road)
            if lane is not None:  # 观前街大井巷12号: the number is the lane's, off the street
                notes.append(f"lane off {lane.group(1)}")
                road = lane.group(2)
        if road is not None and len(road) > 5 and _PLACE_HINT.search(road, 1, len(road) - 3):
            place = _PLACE_BEFORE_ROAD.match(road)
            if (
                place is not None
            ):  # 科技园科苑路, 珠江新城花城大道: the place is no part of the road
                notes.append(f"place before road: {place.group(1)}")
                road = road[place.end(1) :]
        number = number or number2
        annex = annex or annex2
        if number and annex:
            number = f"{number}附{annex}"
        if community and community.endswith(("居民委员会", "居委会", "村民委员会", "村委会")):
            community = _strip_committee(community)
        tail = rest[m.end() :]
        second = None
        if number and tail and _ROAD_SUFFIX_HINT.search(tail):
            second = _SECOND_ADDRESS.match(tail)
        if second is not None:
            # 红星路三段1号 红星路三段3号: two addresses in one field — the first is read, the
            # second noted, never glued into an estate's name
            notes.append(f"second address: {tail}")
            tail = ""
        if group and road is None:
            road = f"{group}组"  # 天府村3组15号: a village's group is where its numbers run
        elif group:
            tail = f"{group}组{tail}"
        estate, zone, building, unit, floor, room = market or _split_detail(tail, notes)
        if road is None and estate and self._roads is not None:
            road, number, estate = self._loose_road(estate, number, notes)
        if road is not None and (self._road_aliases or self._roads is not None):
            road = self._standard_road(road, notes)
        if estate and self._estates is not None:
            if zone and estate + zone in self._estates:
                estate, zone = estate + zone, None  # 云谷D区 is the estate's registered name
            else:
                estate = self._estate_name(self._estates, estate, notes)
        if not admin.lineage:
            admin = self._infer_admin(road, estate, admin, notes)
        levels = admin.levels
        if levels is None:
            levels = levels_of(admin.lineage)
        province, province_code, city, city_code, district, district_code, street_div, street_id = (
            levels
        )
        if unplaced and district is None:
            # 朝阳区 alone: keep what was written, without a code, rather than guess the city.
            district = unplaced
        return (
            raw,
            province,
            province_code,
            city,
            city_code,
            district,
            district_code,
            street if street_div is None else street_div,
            street_id,
            community,
            road,
            number,
            estate,
            zone,
            building,
            unit,
            floor,
            room,
            "historical" if admin.historical else "current" if admin.lineage else None,  # status
            admin.inferred,
            tuple(notes),
        )

    def _loose_road(
        self, estate: str, number: str | None, notes: list[str]
    ) -> tuple[str | None, str | None, str | None]:
        """府城大到西段399号…: a road whose suffix has a typo, found through the gazetteer."""
        m = _LOOSE_ROAD.match(estate)
        if m is None or self._roads is None:
            return None, number, estate
        fixed = self._roads.correct(m.group(1))
        if fixed is None:
            return None, number, estate
        notes.append(f"road typo: {m.group(1)} → {fixed}")
        return fixed, m.group(2), m.group(3) or None

    def _standard_road(self, road: str, notes: list[str]) -> str:
        alias = self._road_aliases.get(road)
        if alias is not None and len(alias) == 1:
            notes.append(f"road alias: {road} → {alias[0]}")
            return alias[0]
        if alias is not None:
            # A split road: kept as written; the matcher tries each of the new roads.
            notes.append(f"old road name: {road} → {' / '.join(alias)}")
            return road
        if self._roads is not None:
            return self._standard_name(self._roads, road, "road", notes)
        return road

    @classmethod
    def _estate_name(cls, names: NameIndex, name: str, notes: list[str]) -> str:
        """The registered estate name: 阳光小区 and 阳光 are the same estate, either way round."""
        if name in names:
            return name
        stem = name.removesuffix("小区")
        for variant in (stem, stem + "小区"):
            if variant != name and variant in names:
                return variant
        fixed = cls._standard_name(names, stem, "estate", notes)
        return name if fixed == stem else fixed

    @staticmethod
    def _standard_name(names: NameIndex, name: str, what: str, notes: list[str]) -> str:
        if name in names:
            return name
        fixed = names.correct(name)
        if fixed is not None:
            notes.append(f"{what} typo: {name} → {fixed}")
            return fixed
        return name

    def _infer_admin(
        self, road: str | None, estate: str | None, admin: AdminResult, notes: list[str]
    ) -> AdminResult:
        gaz = self.config.gazetteer
        code = (gaz.roads.get(road) if road else None) or (
            gaz.estates.get(estate) if estate else None
        )
        if code and code in self.index.divisions:
            notes.append("admin inferred from gazetteer")
            lineage = tuple(self.index.lineage(code))
            return AdminResult(admin.end, lineage, inferred=True, levels=levels_of(lineage))
        default = self._admin.default_lineage()
        if default and not admin.ambiguous:
            notes.append("admin from default region")
            return AdminResult(admin.end, default, inferred=True, levels=levels_of(default))
        return admin


# A town's word written → the words it may have become since (撤镇设街道, 撤乡设镇 / 街道).
_TOWN_RENAMED = {"镇": ("街道",), "乡": ("镇", "街道")}


def _renamed_town(admin: AdminResult, text: str, word: str) -> AdminResult:
    """永阳镇 written where the town is 永阳街道 today (read by its short name, 永阳): the old
    name, kept as history. A name of the snapshots (2015, 2019) is an alias of its own (东屏镇 →
    东屏街道, dated); one read this way is in none of them, so it changed before 2015-09."""
    town = admin.lineage[-1].name
    stem = next((town[: -len(new)] for new in _TOWN_RENAMED[word] if town.endswith(new)), None)
    if stem is None or text[admin.end - len(stem) : admin.end] != stem:
        return admin  # 周巷镇 is 周巷镇 today; or the town was read by another name
    note = f"historical: {stem}{word} → {town} (changed before 2015-09)"
    return admin._replace(historical=(*admin.historical, note))


def alias_map(aliases: Mapping[str, str | Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Old road name → the current roads it became (one, or several when the road was split)."""
    out: dict[str, tuple[str, ...]] = {}
    for old, new in aliases.items():
        names = (new,) if isinstance(new, str) else tuple(new)
        out[old] = tuple(dict.fromkeys((*out.get(old, ()), *names)))
    return out


def _strip_committee(name: str) -> str:
    for suffix in ("社区居民委员会", "社区居委会", "居民委员会", "居委会", "村民委员会", "村委会"):
        if name.endswith(suffix):
            stem = name[: -len(suffix)]
            kind = "村" if suffix.startswith("村") else "社区"
            return stem if stem.endswith(kind) else stem + kind  # 西来村村委会 → 西来村
    return name


_Part = str | None


def _read_market(
    rest: str, notes: list[str]
) -> tuple[_Part, _Part, _Part, _Part, _Part, _Part] | None:
    """A market, its zone, building, floor and stall (see `_MARKET`); None if ``rest`` is not
    that form. The lane and the gate are noted: the model has no field for them."""
    if _MARKET_WORDS.search(rest) is None:
        return None
    m = _MARKET.fullmatch(rest)
    if m is None or not (m["lane"] or m["zone"]) or _ROAD_WORDS.search(m["market"]):
        return None  # 稠州北路国际商贸城…: a road first is read as a road
    zone = m["zone"]
    if zone is not None:
        zone = (zone if zone[0] <= "Z" else str(to_int(zone))) + "区"  # 二区 → 2区, as 二期 → 2期
    lane = m["lane"]
    if lane is not None:
        notes.append(f"market lane: {lane if lane.isdigit() else to_int(lane)}街")
    if m["gate"]:
        notes.append(f"market gate: {m['gate']}门")
    floor, room = m["floor"], m["stall"]
    if floor is not None and room is not None:
        room, floor = _room_floor(room, floor)  # 2楼12号 → 212, as everywhere; 12345 stays
    if floor is not None and floor[0] == "B":
        floor = "-" + floor[1:]
    return m["market"], zone, m["building"], None, floor, room


def _split_detail(tail: str, notes: list[str]) -> tuple[_Part, _Part, _Part, _Part, _Part, _Part]:
    if not tail:
        return None, None, None, None, None, None
    cut = len(tail.rstrip(_DETAIL_CHARS))
    head, detail = tail[:cut], tail[cut:]
    zone = side = None
    b = u = f = r = None
    if detail.startswith("楼") and head and head[-1] in "东西南北中主副裙":
        # 力宝大厦北楼12F: a building named by its side.
        side, head, detail = head[-1] + "楼", head[:-1], detail[1:]
    latin = _LATIN_NAME_END.match(detail) if "A" <= detail[:1] <= "Z" else None
    if latin is not None:
        # 德必天府五街WE2号楼: letters before the building number end the estate's name.
        head, detail = head + latin.group(0), detail[latin.end() :]
    if detail and detail[0] not in _DETAIL_STARTS:
        # 中海锦元1栋…: 元 (of 单元) or 号 at the end of a name belongs to the name.
        lead = len(detail) - len(detail.lstrip(_DETAIL_NOT_FIRST))
        head, detail = head + detail[:lead], detail[lead:]
    floor_first = None
    if head and head[-1] in "区期":
        zm = _ZONE.search(head)
        if zm is not None:
            zone = zm.group(0)
            head = head[: zm.start()]
            fm = _FLOOR_END.search(head) if head[-1:] in "楼层F" else None
            if fm is not None:  # 荷花池市场2楼B区108号: a market's floor, then its zone
                floor_first, head = fm.group(1), head[: fm.start()]
    # By now a detail starts with a letter, a digit or "-": only the last can lack both.
    if detail and detail[0] == "-" and not _HAS_ALNUM.search(detail):
        head, detail = head + detail, ""  # 东门, 南楼 …: words of the estate's name
    estate = head or None
    four = _FOUR_PART.fullmatch(detail) if detail.count("-") == 3 else None
    if four is not None:
        # 2-1-3-2: building, unit, floor, number on the floor.
        b, u, f, n = four.groups()
        detail, r = "", f"{f}{int(n):02d}"
    if detail:
        dm = (_DETAIL if "-" in detail else _DETAIL_NO_DASH).fullmatch(detail)
        if dm is not None:
            b, u, f, r = _detail_parts(dm.groups())
        else:
            notes.append(f"unparsed detail: {detail}")
            estate = (estate or "") + (zone or "") + detail
            zone = None
    if f is None:
        f = floor_first
    if r is not None and r[0] == "之" and f is not None:
        r = f + r  # 3楼之2: the second flat of floor 3
    if f is not None and f[0] == "B":
        f = "-" + f[1:]  # B1 (负一楼) is floor -1
    if r is not None:
        if f is None and r.isdigit():  # the common case (`_room_floor`'s first), inline
            f = str(int(r[:-2])) if len(r) >= 3 else None
        else:
            r, f = _room_floor(r, f)
    return estate, zone, b or side, u, f, r


def _detail_parts(g: tuple[_Part, ...]) -> tuple[_Part, ...]:
    """Building, unit, floor and room of a detail, from its match's groups: from the shorthand
    alternative that matched (only `_DETAIL` has them: groups b1…, b2…, b3…), else from the
    long form (b4, u4, f4, r4). By position: `_DETAIL`'s groups are b1 u1 r1 b2 u2 r2 b3 r3 b4
    u4 f4 r4, `_DETAIL_NO_DASH`'s b4 u4 f4 r4."""
    if len(g) == 4:
        return g
    if g[0] is not None:
        return g[0], g[1], None, g[2]
    if g[3] is not None:
        return g[3], g[4], None, g[5]
    if g[6] is not None:
        return g[6], None, None, g[7]
    return g[8], g[9], g[10], g[11]


def _room_floor(room: str, floor: str | None) -> tuple[str, str | None]:
    """12楼3号 → room 1203; room 1203 alone → floor 12."""
    if floor is None and room.isdigit():  # the common case: 1203 → floor 12
        return room, str(int(room[:-2])) if len(room) >= 3 else None
    digits, sub, _ = room.partition("之")
    digits = digits.strip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    if not digits.isdigit():
        return room, floor
    if sub:  # 302之1, 3之2: a part of a room or of a floor, kept as written
        return room, floor if floor is not None or len(digits) < 3 else str(int(digits[:-2]))
    if floor is not None and len(digits) <= 2 and not floor.startswith("-"):
        return f"{floor}{int(digits):02d}", floor
    if floor is None and len(digits) >= 3:
        return room, str(int(digits[:-2]))
    return room, floor


_default_parser: AddressParser | None = None


def default_parser() -> AddressParser:
    """The process-wide parser with the default configuration (built on first use)."""
    global _default_parser
    if _default_parser is None:
        _default_parser = AddressParser()
    return _default_parser


def parse(text: str | None, parser: AddressParser | None = None) -> ParsedAddress:
    """Parse one address with ``parser`` (default: the national parser with no default city)."""
    return (parser or default_parser()).parse(text)


__all__ = ["DISTRICT", "AddressParser", "Gazetteer", "ParserConfig", "parse"]
