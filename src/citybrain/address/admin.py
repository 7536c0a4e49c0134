"""Read the administrative prefix of an address (province → city → district → street).

Longest match over every alias of every division, one token after another; each token must lie
inside the one before it, so 成都市武侯区 is one chain and 成都市朝阳区 stops after 成都市. Several
readings of the tokens are kept until a later token, the default city or the gazetteer decides; if
none does, the prefix is reported ambiguous rather than guessed.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from typing import NamedTuple

from citybrain.address.divisions import (
    BASE_KIND,
    CITY,
    CONTEXT,
    DISTRICT,
    FULL,
    HISTORICAL,
    PROVINCE,
    SECONDARY,
    SHORT,
    STREET,
    Division,
    DivisionIndex,
)
from citybrain.address.fuzzy import NameIndex

_ROAD_HEADS = frozenset("路街巷道弄")
# A short name followed by one of these is part of a lower unit's name: 金华社区, 南湖村, 长寿街道.
_LOWER_NAME_WORDS = ("社区", "村", "小区", "街道", "居委", "花园", "家园", "新村")
# Nouns ending in 区 that are no district: 南湖社区 is never a typo of 南湖区.
_NOT_DISTRICT = tuple(c + "区" for c in "社小园景校厂片街营矿院")
_DIRECTIONS = frozenset("东西南北中")
# Text that looks like one more admin name (it ends in an admin suffix): tried for one typo.
_ADMIN_LIKE = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:街道|区|县|市|镇|乡|州|省|旗)")
# Functional areas people write in place of a county (郑东新区, 两江新区, 西安高新区, 经开区 …): not
# divisions, never typos of one; read as an area of the city written before them.
_FUNCTIONAL_AREA = re.compile(
    r"[\u4e00-\u9fff]{0,8}?(?:高新技术产业开发区|高新技术开发区|经济技术开发区|经济开发区|开发区"
    r"|高新区|经开区|新区|工业园区|产业园区|保税区|综合试验区|试验区|实验区|示范区|度假区)"
)
Chain = tuple[tuple[Division, int], ...]
_Name = str | None
# (province, code, city, code, district, code, street, code)
Levels = tuple[_Name, _Name, _Name, _Name, _Name, _Name, _Name, _Name]
_TWO = (2,)
_ROAD_AFTER = re.compile(r"[\u4e00-\u9fff]{1,8}?(?:路|街|大道|巷)(?:[东西南北中]段)?(?:\d|$)")
# After a town's short name (犀浦 of 犀浦街道): the text ends, a number, a road, a village or the
# 镇/乡/街道 written follows — else the name is a place's (荷花池市场, 桂溪生态公园). A functional
# area's word straight after it makes it that area's name (深圳大鹏新区葵涌街道 is no 大鹏街道).
_TOWN_AFTER = re.compile(
    r"(?!新区|新城|开发区|高新区|经开区)(?:$|\d|镇|乡|街道|[\u4e00-\u9fff]{0,8}?(?:路|街|大道|巷|社区|村|组))"
)
_TOWN_LOOK = 12  # characters `_TOWN_AFTER` may read
# 南苑区, 南苑县: a town's short name followed by 区 / 县 is part of a county's name (one the
# data does not know: 北京 南苑区, abolished 1958), never the town (丰台区南苑街道).
_COUNTY_WORDS = frozenset("区县")
# A market after a county's short name written first (义乌国际商贸城, 义乌篁园市场).
_MARKET_AFTER = re.compile(r"[\u4e00-\u9fff]{0,8}?(?:商贸城|小商品城|市场|商城|批发城)")
TOWN_FITS = 32  # a flag on a kind handed to `AdminReader._accept`
TOWN_FOLLOWS = 64  # a flag handed to `AdminReader._accept` (see `_town_of_follows`)
LONE = 16  # a flag on a kind handed to `AdminReader._accept` (see `_lone_counties`)
_FIRST_ASCII = re.compile(r"[0-9A-Za-z]")
_MAX_READS = 100_000  # admin prefixes remembered before starting afresh (bounded memory)
_WINDOW = 5_000  # the memo stays if, by this many new prefixes, at least half the reads repeated
_CUT_WITHIN = 40  # admin prefixes are looked for in the first characters only
_START: list[Chain] = [()]  # the readings before any name is read (never changed in place)


# The next three characters decide (the same few thousand again and again): answers kept.
@functools.lru_cache(maxsize=1 << 16)
def _starts_a_lower_name(after: str) -> bool:
    """Whether a short form followed by ``after`` is part of a road's or a lower unit's name.

    南京路, 北京东路, 成都大道 are roads; 金华社区, 南湖村 are lower units.
    """
    head = after[:1]
    return (
        after.startswith(_LOWER_NAME_WORDS)
        or head in _ROAD_HEADS
        or (head == "大" and after[1:2] in ("道", "街"))
        or (head in _DIRECTIONS and after[1:2] in ("路", "街", "大"))
    )


def _town_short_stem(town: Division) -> str | None:
    """周巷镇 → 周巷, 良渚街道 → 良渚: a town's name without 镇 / 乡 / 街道, of two to four
    characters; None for other units, and for 解放北路 of 解放北路街道 (written alone it is the
    road; but 周巷 of 周巷镇 is the town)."""
    if town.level != STREET:
        return None
    stem = town.name
    for suffix in ("街道", "镇", "乡"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return stem if 2 <= len(stem) <= 4 and stem[-1] not in "路街道" else None


@functools.lru_cache(maxsize=1 << 16)
def _lower_or_road(after: str) -> bool:
    """What `AdminReader._accept` refuses after the short name of a county or town: a lower
    unit's or a road's name (武侯祠大街: one character, then a road word)."""
    return (
        _starts_a_lower_name(after) or after[1:2] in _ROAD_HEADS or after[1:3] in ("大街", "大道")
    )


def _said_again(candidates: tuple[tuple[Division, int], ...], chain: Chain) -> bool:
    """Whether a full name of ``candidates`` is one ``chain`` read already (成都市武侯区成都市…).

    `AdminReader._read` asks only when no candidate went on from the chain: then no full name
    among them lay inside the chain's last unit, so every full name is checked here."""
    return any(
        kind == FULL and any(d is division for d, _ in chain) for division, kind in candidates
    )


def _is_zone(division: Division) -> bool:
    """A zone alias (成都高新区, a configured 示例高新区) carries its city's prefix, not its own."""
    return division.level == DISTRICT and division.prefix != division.code


def _county_after_zone(division: Division, last: Division) -> bool:
    """雄安新区容城县: a county of the zone's city (or province) written after the zone."""
    return (
        division.level == DISTRICT
        and _is_zone(last)
        and division.prefix.startswith(last.prefix)
        and not _is_zone(division)
    )


class AdminResult(NamedTuple):
    """The divisions read from the start of the text, province first, ancestors filled in."""

    end: int
    lineage: tuple[Division, ...]
    ambiguous: tuple[str, ...] = ()  # tokens read but not placed (朝阳区 with no city known)
    inferred: bool = False  # upper levels filled in from a lower one or the default city
    corrections: tuple[str, ...] = ()  # typos fixed, "武候区 → 武侯区"
    historical: tuple[str, ...] = ()  # old names read, "historical: 下城区 → 拱墅区 (changed …)"
    candidates: tuple[str, ...] = ()  # when ambiguous: the units the unplaced name may be
    # The lineage as the parser's eight admin fields (see `levels_of`), worked out once per
    # reading: a remembered reading hands them to every address that shares it. None: not yet.
    levels: Levels | None = None

    def at(self, level: int) -> Division | None:
        for division in self.lineage:
            if division.level == level:
                return division
        return None


def levels_of(lineage: tuple[Division, ...]) -> Levels:
    """Province, city, district and street of a lineage, each as (name, code); a zone's district
    code is None (its ``zone:`` key is no GB/T 2260 code)."""
    province = province_code = city = city_code = district = district_code = None
    street = street_code = None
    for division in lineage:
        level = division.level
        if level == PROVINCE:
            province, province_code = division.name, division.code
        elif level == CITY:
            city, city_code = division.name, division.code
        elif level == DISTRICT:
            district = division.name
            district_code = None if division.code.startswith("zone:") else division.code
        elif level == STREET:
            street, street_code = division.name, division.code
    return (
        province,
        province_code,
        city,
        city_code,
        district,
        district_code,
        street,
        street_code,
    )


EMPTY = AdminResult(0, (), levels=levels_of(()))
_tuple_new = tuple.__new__


class _Tables:
    """What readers derive from one index, whatever their default region: built once per index
    in a process (a new region's reader costs nothing more), typo indexes filled on first use."""

    def __init__(self, index: DivisionIndex) -> None:
        divisions = index.divisions
        # Aliases resolved to Division objects once, so the hot loop does no code look-ups.
        self.names: dict[str, tuple[tuple[Division, int], ...]] = {}
        # Aliases many units share (高新区, 城关镇), split by province.
        self.by_province: dict[str, dict[str, tuple[tuple[Division, int], ...]]] = {}
        # Aliases by what they name (one pass over the ~84k aliases: a new process's parser
        # is ready sooner, see the benchmark's cold start):
        short_only: list[str] = []  # short forms only
        # Short names of exactly one county, and of no other province, city or county.
        lone_counties: list[str] = []
        town_shorts: list[str] = []  # a town's short form among others
        # A town's full name that is also another town's short form: 乌镇 (佳县) and 乌镇镇 (桐乡).
        towns_also_short: list[str] = []
        # Short names of counties and towns only: never read before a road word (see _accept).
        short_below_city: list[str] = []
        # A short form among others (every alias of town_shorts and short_below_city is one).
        with_short: list[str] = []
        cut_chars: set[str] = set()  # last characters of full names (省, 市, 区, 县, 镇, 街道 …)
        for alias, codes in index.names.items():
            entries = tuple((divisions[code], kind) for code, kind in codes)
            self.names[alias] = entries
            if len(entries) > 4:
                buckets: dict[str, list[tuple[Division, int]]] = {}
                for entry in entries:
                    buckets.setdefault(entry[0].prefix[:2], []).append(entry)
                self.by_province[alias] = {k: tuple(v) for k, v in buckets.items()}
            shorts = above_town = 0
            short_county = short_town = full = full_town = live_short_town = False
            all_below_city = True
            for division, kind in entries:
                level, base = division.level, kind & BASE_KIND
                if base == SHORT:
                    shorts += 1
                    short_county = short_county or (level == DISTRICT and kind == SHORT)
                    short_town = short_town or level == STREET
                    live_short_town = live_short_town or (level == STREET and kind == SHORT)
                full = full or base == FULL
                full_town = full_town or (base == FULL and level == STREET)
                above_town += level <= DISTRICT
                all_below_city = all_below_city and base == SHORT and level >= DISTRICT
            if shorts:
                with_short.append(alias)
            if shorts == len(entries):
                short_only.append(alias)
            if above_town == 1 and short_county:
                lone_counties.append(alias)
            if short_town:
                town_shorts.append(alias)
                if full_town and live_short_town:
                    towns_also_short.append(alias)
            if all_below_city:
                short_below_city.append(alias)
            if full:
                cut_chars.add(alias[-1])
        self.short_only = frozenset(short_only)
        self.lone_counties = frozenset(lone_counties)
        self.town_shorts = frozenset(town_shorts)
        self.towns_also_short = frozenset(towns_also_short)
        self.short_below_city = frozenset(short_below_city)
        self.with_short = frozenset(with_short)
        # By first three characters: the alias lengths to try there, longest first, then two
        # (every two-character alias; `DivisionIndex.lengths3` has those of three or more).
        self.lengths_to_try = {k: (*v, 2) for k, v in index.lengths3.items()}
        # Every proper start (of two characters or more) of an alias.
        self.prefixes = frozenset(alias[:k] for alias in self.names for k in range(2, len(alias)))
        # A remembered prefix ends where a full name can end.
        # Of names ending in 道 only streets (街道) are full names: roads (大道) are never cut.
        self.cut_chars = frozenset(cut_chars - {"道"})
        # Greedy: the last such ending in the leading run of Chinese characters.
        self.cut = re.compile(
            "[\u4e00-\u9fff]*(?:[" + re.escape("".join(sorted(self.cut_chars))) + "]|街道)"
        )
        longest = max(map(len, self.names), default=0)
        self.run = re.compile(f"[^0-9A-Za-z]{{0,{longest + 3}}}")
        self.has_ascii = any(_FIRST_ASCII.search(alias) for alias in self.names)
        self.below: dict[str | None, list[Division]] = {}
        for division in divisions.values():
            self.below.setdefault(division.parent, []).append(division)
        # County code → its towns by name without 镇 / 乡 / 街道 (None: two share it), grouped by
        # the name's first two characters (most texts start none of them: one look-up says so),
        # built on use (see AdminReader._town_stem_at); the first two characters of every such
        # name.
        self.town_stems: dict[str, dict[str, dict[str, Division | None]]] = {}
        self.town_stem_heads = frozenset(
            stem[:2] for d in divisions.values() if (stem := _town_short_stem(d))
        )
        # Counties that towns left for a new county (see AdminReader._moved_town).
        self.moved_from = frozenset(county for county, _ in index.moved)
        # Typo indexes: names under a parent (see AdminReader._names_under), built on first use.
        self.children: dict[str | None, NameIndex] = {}
        self.child_codes: dict[str | None, dict[str, str]] = {}


_TABLES: dict[int, tuple[DivisionIndex, _Tables]] = {}


def _tables_for(index: DivisionIndex) -> _Tables:
    found = _TABLES.get(id(index))
    if found is None or found[0] is not index:
        if len(_TABLES) >= 4:
            _TABLES.clear()  # a handful of indexes per process at most (zones of a few cities)
        found = _TABLES[id(index)] = (index, _Tables(index))
    return found[1]


class AdminReader:
    """Reads admin prefixes against one `DivisionIndex`, with an optional default region."""

    def __init__(self, index: DivisionIndex, default_region: str | None = None) -> None:
        self._index = index
        tables = _tables_for(index)  # the same for every reader of this index: built once
        self._names = tables.names
        self._by_province = tables.by_province
        self._short_only = tables.short_only
        self._lone_counties = tables.lone_counties
        self._town_shorts = tables.town_shorts
        self._towns_also_short = tables.towns_also_short
        self._short_below_city = tables.short_below_city
        self._with_short = tables.with_short
        self._prefixes = tables.prefixes
        self._cut_chars = tables.cut_chars
        self._cut = tables.cut
        self._run = tables.run
        self._children = tables.children
        self._child_codes = tables.child_codes
        self._long_lengths = index.lengths3  # lengths of aliases of three characters or more
        self._lengths_to_try = tables.lengths_to_try
        self._divisions = index.divisions
        self._default = index.divisions[default_region] if default_region else None
        self._lineages: dict[str, tuple[Division, ...]] = {}
        self._read_lineages: dict[str, tuple[tuple[Division, ...], Levels]] = {}  # _read_lineage
        self._reads: dict[str, AdminResult] = {}
        # `read` is `_read_memoised` while the memo pays, then `_read` itself (the memo dropped:
        # one call less per address, see `_read_memoised`).
        self.read: Callable[[str], AdminResult] = self._read_memoised
        # Prefix read so far → its readings (see _read); the result when nothing more is read;
        # the starts of names its reading cut short (see _no_name_runs_on; most have none).
        # Three dicts, not one of [readings, result, starts] lists: a list per prefix is one
        # more object the collector walks, ~11k for 50k addresses from all over the country.
        # A prefix read one way holds that reading itself (no list around it).
        self._states: dict[str, Chain | list[Chain]] = {}
        self._state_results: dict[str, AdminResult] = {}
        self._state_checks: dict[str, tuple[int, ...]] = {}
        self._lookups = self._misses = 0
        # What follows a remembered prefix → whether reading stops there (see _ends_here); only
        # while no alias holds a digit or Latin letter, which the key cuts at.
        self._after: dict[str, bool] | None = None if tables.has_ascii else {}
        self._areas: dict[tuple[str, str], Division] = {}  # functional areas read, by parent
        self._below = tables.below
        self._town_stems = tables.town_stems
        self._town_stem_heads = tables.town_stem_heads
        self._moved_from = tables.moved_from
        self._counties_of: dict[str, tuple[Division, ...]] = {}  # see _town_of_follows

    @staticmethod
    def is_within(division: Division, ancestor: Division) -> bool:
        """Whether ``division`` lies strictly inside ``ancestor``.

        A zone carries its city's prefix, so it contains that city's streets.
        """
        return division.level > ancestor.level and division.prefix.startswith(ancestor.prefix)

    def _accept(self, division: Division, kind: int, last: Division | None, after: str) -> bool:
        lone = kind & LONE > 0  # the alias names one county and no other unit above a town
        if kind & BASE_KIND == SHORT and division.level == STREET and not kind & TOWN_FITS:
            return False  # 荷花池市场: a town's short name before a place's name is that name
        historical = kind & HISTORICAL > 0
        town_follows = kind & TOWN_FOLLOWS > 0
        kind &= BASE_KIND
        if kind == SHORT and after and not town_follows:
            if _starts_a_lower_name(after):
                return False
            if division.level >= DISTRICT and (
                after[1:2] in _ROAD_HEADS or after[1:3] in ("大街", "大道")
            ):
                return False  # 成都武侯祠大街: 武侯 + one character + road word is a road name
        if last is None:
            if kind == FULL:
                return True
            if kind == SHORT and historical:  # an old town: only inside the default city
                return self._default is not None and self.is_within(division, self._default)
            if kind == SHORT:
                # 义乌, 柯桥, 鄞州 written first: a county's short name, when no other unit has it.
                return division.level <= CITY or (division.level == DISTRICT and lone)
            return self._default is not None and self.is_within(division, self._default)
        return self.is_within(division, last) or _county_after_zone(division, last)

    def _read_memoised(self, text: str) -> AdminResult:
        """The admin prefix of ``text`` (what `read` answers).

        Memoised on the text up to its first digit or Latin letter and two characters more (no
        name holds either, and no rule looks further), so the many addresses of one road number
        or estate read their prefix once. Where prefixes do not repeat (addresses from all over
        the country) the memo would only cost, so it stops after a window with few repeats:
        `read` is then `_read`.
        """
        reads = self._reads
        m = _FIRST_ASCII.search(text)
        key = text if m is None else text[: m.start() + 3]
        found = reads.get(key)
        if found is None:
            if len(reads) >= _MAX_READS:
                reads.clear()
            found = reads[key] = self._read(key)
            self._misses += 1
            if self._misses == _WINDOW and self._lookups <= 2 * _WINDOW:
                reads.clear()
                self.read = self._read
        self._lookups += 1
        return found

    def _read(self, text: str) -> AdminResult:
        """Longest match, token after token, resumed from the longest prefix read before.

        A prefix is remembered where the reading up to it looked at no character after it (no
        longer alias tried past it, no short form's following words, no typo fixed), so that any
        text starting with it reads the same up to there: the national mix shares a few
        thousand admin prefixes among all its distinct addresses.
        """
        pos = 0
        chains: list[Chain] = _START
        resumed: str | None = None  # the remembered prefix read from, if any
        found: AdminResult | None = None  # and its result
        states, results, state_checks = self._states, self._state_results, self._state_checks
        stops = self._after  # what follows a prefix → whether reading stops (see _ends_here)
        cut = self._cut.match(text, 0, _CUT_WITHIN)
        while cut is not None:  # the longest remembered prefix, tried from the longest down
            boundary = cut.end()
            key = text[:boundary]
            # Only a remembered prefix has a result (see the end): where one is, the common
            # case, one look-up in the large dicts, not two.
            found = results.get(key)
            if found is not None or key in states:
                starts = state_checks.get(key)  # (none, the common case: no call)
                if starts is None or self._no_name_runs_on(text, boundary, starts):
                    pos, resumed = boundary, key
                    if found is not None:
                        # Whether reading stops here (`_ends_here`; its common case inline: the
                        # answer known for what follows, up to a digit or Latin letter).
                        m = self._run.match(text, pos)
                        known = stops.get(m[0]) if stops is not None and m is not None else None
                        if known or (known is None and self._ends_here(text, pos)):
                            return found
                    read = states[key]
                    chains = read if isinstance(read, list) else [read]
                    break
            cut = self._cut.match(text, 0, boundary - 1)
        n = len(text)
        start = pos
        horizon = pos  # the furthest character the reading so far depended on
        # Prefixes read without looking past them but for a longer name (see _no_name_runs_on).
        safes: list[tuple[int, list[Chain], tuple[int, ...]]] = []
        # (where a name read starts, where the text stops being the start of a longer name)
        runs: list[tuple[int, int]] = []
        corrections: list[str] = []
        moved: list[str] = []  # towns read under their old county (see _moved_town)
        # Attributes read in the loop, as locals.
        names, lengths_to_try, accept = self._names, self._lengths_to_try, self._accept
        by_province, with_short, prefixes = self._by_province, self._with_short, self._prefixes
        lone, towns = self._lone_counties, self._town_shorts
        towns_also_short = self._towns_also_short
        short_below_city, town_stem_heads = self._short_below_city, self._town_stem_heads
        cut_chars = self._cut_chars
        while pos < n:
            lengths = lengths_to_try.get(text[pos : pos + 3], _TWO)
            extended: list[Chain] = []
            step = 0
            for length in lengths:
                end = pos + length
                if end > n:
                    continue
                alias = text[pos:end]
                entries = names.get(alias)
                if entries is None:
                    continue
                after = text[end : end + 3]
                town_follows = 0
                if alias in with_short:  # (a full name alone looks at nothing after it)
                    if end + 3 > horizon:
                        horizon = end + 3 if alias not in lone else n + 1  # see _lone_fits
                    if alias in towns and end + _TOWN_LOOK > horizon:
                        horizon = end + _TOWN_LOOK  # see _fits
                    if alias in short_below_city and after and _lower_or_road(after):
                        horizon = max(horizon, end + 4)  # a town's stem, 4 at most
                        if (
                            text[end : end + 2] not in town_stem_heads  # (the common case)
                            or not self._town_of_follows(alias, entries, text, end)
                        ):
                            continue  # 人民路, 玉林北路: a short name starts a road's name
                        town_follows = TOWN_FOLLOWS
                flags = -1  # see _fits, worked out once per alias when needed
                for chain in chains:
                    last = chain[-1][0] if chain else None
                    candidates = entries
                    if last is not None and len(entries) > 4:
                        candidates = by_province[alias].get(last.prefix[:2], ())
                    elif last is None and alias in towns_also_short:
                        # 乌镇 first: 佳县's 乌镇 by its full name or 桐乡's 乌镇镇 by its short
                        # one — a guess either way, so no town is placed from it alone
                        candidates = tuple(e for e in entries if e[0].level != STREET)
                    grown = len(extended)
                    # Each reading holds the index's own (unit, kind) pairs, not copies: the
                    # readings remembered (see `states`) then add fewer objects for the
                    # collector to walk.
                    for pair in candidates:
                        division, kind = pair
                        if kind & HISTORICAL and last is division:
                            # an old town of this county, merged: the county, marked historical
                            extended.append((*chain[:-1], pair))
                        elif kind == FULL and last is not None:
                            # a full name inside the previous token (a town never straight
                            # after its province)
                            if (
                                # (`is_within`, inline: the most frequent test here)
                                division.level > last.level
                                and division.prefix.startswith(last.prefix)
                                and not (division.level == STREET and last.level == PROVINCE)
                            ) or _county_after_zone(division, last):
                                extended.append((*chain, pair))
                        else:
                            if flags < 0:
                                flags = self._fits(alias, text, end)
                            if accept(division, kind | flags | town_follows, last, after):
                                extended.append((*chain, pair))
                    if (
                        len(extended) == grown
                        and last is not None
                        and _said_again(candidates, chain)
                    ):
                        extended.append(chain)  # 成都市武侯区成都市武侯区…: a repeat, nothing new
                if extended:
                    step = length
                    break
            if step:
                # Where the text stops being the start of a longer name (n + 1 when it ends
                # inside one): a prefix cut before there is remembered with this start to check.
                end = pos + step
                while end <= n and text[pos:end] in prefixes:
                    end += 1
                if end > pos + step:
                    runs.append((pos, end))
            else:
                fixed = self._past_stop(text, pos, chains)
                if fixed is None:
                    break
                division, step, note = fixed
                extended = [(*chain, (division, FULL)) for chain in chains]
                if note.startswith("historical:"):
                    moved.append(note)
                elif note:
                    corrections.append(note)
                horizon = n + 1  # a fix looked at what follows: nothing after here is kept
            chains = extended
            pos += step
            if horizon <= pos and (text[pos - 1] in cut_chars or text[pos - 2 : pos] == "街道"):
                checks = tuple(first for first, stop in runs if stop > pos) if runs else ()
                safes.append((pos, chains, checks))
        if pos == 0:
            return EMPTY
        if resumed is not None and pos == start and found is not None:
            return found
        result = self._choose(chains, pos, text)
        if moved:
            result = result._replace(historical=(*result.historical, *moved))
        if corrections:
            result = result._replace(corrections=tuple(corrections))
        elif resumed is not None and pos == start:
            results[resumed] = result
        if safes:
            if len(states) >= _MAX_READS:
                states.clear()
                results.clear()
                state_checks.clear()
            for boundary, chains_there, checks in safes:  # every level: 山东省, 山东省菏泽市, …
                key = text[:boundary]
                if key not in states:  # the first reading of a prefix is kept
                    # (a prefix not remembered has no result nor checks: nothing to drop)
                    states[key] = chains_there[0] if len(chains_there) == 1 else chains_there
                    if checks:
                        state_checks[key] = checks
            if safes[-1][0] == pos and not corrections:
                results[text[:pos]] = result
        return result

    def _no_name_runs_on(self, text: str, pos: int, starts: tuple[int, ...]) -> bool:
        """Whether no name starting at one of ``starts`` runs on past ``pos``: a remembered
        prefix whose reading cut a longer name's start short (萝北县 of 萝北县林业局, 六安市 of
        六安市裕安区经济开发区) reads the same for a text where that longer name is not there."""
        if pos >= len(text):
            return True
        names, prefixes = self._names, self._prefixes
        for start in starts:
            longer = text[start : pos + 1]
            if longer in prefixes or longer in names:
                return False
        return True

    def _ends_here(self, text: str, pos: int) -> bool:
        """Whether reading stops at ``pos`` whatever was read before: no name starts there but
        short forms of a road's name (东风路: 东风 of 东风街道), nor one to correct.

        Remembered by what follows ``pos`` up to a digit or Latin letter (no name holds one, and
        the rules here match none: the answer is the same with the text cut there), at most a
        name's length and the three characters looked at after it.
        """
        after = self._after
        if after is None:
            return self._stops_at(text, pos)
        match = self._run.match(text, pos)
        assert match is not None  # the pattern also matches nothing
        key = match.group()
        found = after.get(key)
        if found is None:
            if len(after) >= _MAX_READS:
                after.clear()
            found = after[key] = self._stops_at(text, pos)
        return found

    def _stops_at(self, text: str, pos: int) -> bool:
        names, short_only = self._names, self._short_only
        n = len(text)
        for length in self._lengths_to_try.get(text[pos : pos + 3], _TWO):
            end = pos + length
            if end > n or text[pos:end] not in names:
                continue
            if text[pos:end] not in short_only or not _starts_a_lower_name(text[end : end + 3]):
                return False
        m = _ADMIN_LIKE.match(text, pos)
        return m is None or m.end() - pos < 3

    def _fits(self, alias: str, text: str, end: int) -> int:
        """Flags for `_accept` that need the text after a short name (see `_lone_fits` and
        `_TOWN_AFTER`)."""
        flags = 0
        if alias in self._lone_counties and self._lone_fits(alias, text, end):
            flags |= LONE
        if (
            alias in self._town_shorts
            and text[end : end + 1] not in _COUNTY_WORDS
            and _TOWN_AFTER.match(text, end, end + _TOWN_LOOK)
        ):
            flags |= TOWN_FITS
        return flags

    def _lone_fits(self, alias: str, text: str, end: int) -> bool:
        """Whether a county's short name written first (义乌, 柯桥) is that county: the text ends
        there, or a unit inside it, a road or a number follows (not 锦江雅居, an estate)."""
        if end >= len(text) or text[end].isdigit() or _ROAD_AFTER.match(text, end):
            return True
        if _MARKET_AFTER.match(text, end):
            return True  # 义乌国际商贸城: a market named after the county is in it
        entries = self._names[alias]
        county = next(d for d, _ in entries if d.level == DISTRICT)
        for length in self._lengths_to_try.get(text[end : end + 3], _TWO):  # 昆山花桥: a town of it
            for candidate, _ in self._names.get(text[end : end + length], ()):
                if self.is_within(candidate, county):
                    return True
        return False

    def _town_of_follows(
        self, alias: str, entries: tuple[tuple[Division, int], ...], text: str, end: int
    ) -> bool:
        """慈溪周巷: a county's short name, then a town of that county (周巷, 周巷镇) written
        straight after it, is the county, though the town's name looks like a lane (…巷).

        The caller has checked that some town's name starts at ``end`` (`_town_stem_heads`)
        before asking: the short name may be many units' (~50 for 城关)."""
        counties = self._counties_of.get(alias)
        if counties is None:  # once per short name: of its (up to ~50) units, the few counties
            counties = self._counties_of[alias] = tuple(
                d for d, _ in entries if d.level == DISTRICT
            )
        if not counties:
            return False  # most town short names are no county's: no generator made for none
        return any(self._town_stem_at(d, text, end) is not None for d in counties)

    def _town_stem_at(self, county: Division, text: str, pos: int) -> tuple[Division, int] | None:
        """The town of ``county`` whose name without 镇 / 乡 / 街道 starts at ``pos`` (the longest),
        and that stem's length. Callers first check that some town anywhere starts so
        (`_town_stem_heads`, one look-up: the common case is none)."""
        by_head = self._town_stems.get(county.code)
        if by_head is None:  # once per county read, not per address
            by_head = self._town_stems[county.code] = {}
            for town in self._below.get(county.code, ()):
                stem = _town_short_stem(town)
                if stem:
                    group = by_head.setdefault(stem[:2], {})
                    group[stem] = town if stem not in group else None  # two towns: neither
        stems = by_head.get(text[pos : pos + 2])
        if stems is None:
            return None  # no town of this county starts so: the common case
        for length in (4, 3, 2):
            found = stems.get(text[pos : pos + length]) if pos + length <= len(text) else None
            if found is not None:
                return found, length
        return None

    def _past_stop(
        self, text: str, pos: int, chains: list[Chain]
    ) -> tuple[Division, int, str] | None:
        """Where no name read goes on, the readings longest match does not make, in this order:
        a town under the county it left (宝安区龙华街道), a town's short name shared elsewhere
        under the county just read (慈溪周巷), a functional area (郑东新区), one typo in the next
        admin name (武候区). Each is tried only where its sign is there: most stops are at a road
        or a number, where none applies."""
        last = chains[0][-1][0] if len(chains) == 1 and chains[0] else None
        if last is not None and last.level == DISTRICT:
            if last.code in self._moved_from:
                found = self._moved_town(text, pos, last)
                if found is not None:
                    return found
            head = text[pos : pos + 2]
            by_head = self._town_stems.get(last.code)  # (None: not built yet)
            if head in self._town_stem_heads and (by_head is None or head in by_head):
                stem = self._town_stem_at(last, text, pos)
                if stem is not None:
                    found = self._town_short_within(text, pos, *stem)
                    if found is not None:
                        return found
        # Every functional-area word ends in 区 (the pattern reads 18 characters at most).
        if "区" in text[pos : pos + 18]:
            found = self._functional_area(text, pos, chains)
            if found is not None:
                return found
        # One typo in the next admin name: only where a name of three characters or more with
        # an admin suffix follows (most stops are at a road: no call).
        m = _ADMIN_LIKE.match(text, pos)
        if m is None or m.end() - pos < 3:
            return None
        return self._fuzzy(text, pos, chains, m)

    def _town_short_within(
        self, text: str, pos: int, town: Division, length: int
    ) -> tuple[Division, int, str] | None:
        """慈溪周巷: a town's short name shared with towns elsewhere (so no alias of its own) read
        under the county just read (``town`` and its stem's ``length``, see `_town_stem_at`),
        when the text ends there or a number, road or village follows (as for the towns' short
        names, see `_TOWN_AFTER`)."""
        after = pos + length
        if _lower_or_road(text[after : after + 3]):
            return None  # 周巷路, 周巷村: a road's or a village's name
        if _TOWN_AFTER.match(text, after, after + _TOWN_LOOK) is None:
            return None
        return town, length, ""

    def _next_is_within(self, text: str, pos: int, division: Division) -> bool:
        for length in self._lengths_to_try.get(text[pos : pos + 3], _TWO):
            for candidate, kind in self._names.get(text[pos : pos + length], ()):
                if kind & BASE_KIND == FULL and self.is_within(candidate, division):
                    return True
        return False

    def find_start(self, text: str, within: int = 8) -> int:
        """Where a full province or city name starts near the front (张三四川省… → 2), or 0."""
        for start in range(1, min(within, len(text) - 2) + 1):
            lengths = self._long_lengths.get(text[start : start + 3])
            if not lengths:
                continue
            for length in lengths:
                entries = self._names.get(text[start : start + length])
                if entries and any(k & BASE_KIND == FULL and d.level <= CITY for d, k in entries):
                    return start
        return 0

    def _moved_town(self, text: str, pos: int, last: Division) -> tuple[Division, int, str] | None:
        """宝安区龙华街道: a town written under the county ``last`` it left (for a new county of
        the same city), read as the town it is today, whose county is then the district."""
        moved = self._index.moved
        for length in self._lengths_to_try.get(text[pos : pos + 3], _TWO):
            if pos + length > len(text):
                continue
            old = moved.get((last.code, text[pos : pos + length]))
            if old is not None:
                town = self._divisions[old.successors[0]]
                county = self._divisions[town.parent or ""]
                note = f"{old.name} of {last.name} → {town.name} of {county.name}"
                return town, length, f"historical: {note} (changed {old.changed})"
        # 余杭区临平镇: the town's name before it became a street (临平街道, 临平区's since 2021)
        word = next((i for i in range(pos + 2, min(pos + 5, len(text))) if text[i] in "镇乡"), 0)
        old = moved.get((last.code, text[pos:word] + "街道")) if word else None
        if old is not None:
            town = self._divisions[old.successors[0]]
            county = self._divisions[town.parent or ""]
            note = f"{text[pos : word + 1]} of {last.name} → {town.name} of {county.name}"
            return town, word + 1 - pos, f"historical: {note} (changed {old.changed})"
        return None

    def _functional_area(
        self, text: str, pos: int, chains: list[Chain]
    ) -> tuple[Division, int, str] | None:
        """郑东新区, 两江新区, 西安高新区 after their city: an area of that city (no county known).

        Only after a city (or a municipality) written or read before it; the area is a
        district-level unit without a code, as configured zones are.
        """
        m = _FUNCTIONAL_AREA.match(text, pos)
        if m is None:
            return None
        lasts: set[Division] = set()
        for chain in chains:
            if not chain:
                return None
            last = chain[-1][0]
            if last.level == PROVINCE:  # 重庆两江新区: a municipality is its own city
                city = self._divisions.get(last.prefix + "0100")
                last = city if city is not None and city.name == last.name else last
            lasts.add(last)
        if len(lasts) > 1:  # 重庆 read as the municipality and its 县 part: its city
            lasts = {d for d in lasts if d.code.endswith("0100")}
        if len(lasts) != 1:
            return None
        last = lasts.pop()
        if last.level != CITY:
            # inside a county already: the rest is read as detail; after a province only, the
            # text is no city's area (四川省成督市示例高新区: a city's typo, fixed by `_fuzzy`)
            return None
        name = m.group(0)
        area = self._areas.get((name, last.code))
        if area is None:
            area = Division(f"zone:{name}@{last.code}", name, DISTRICT, last.code, last.prefix)
            self._areas[(name, last.code)] = area
        return area, len(name), ""

    def _fuzzy(
        self, text: str, pos: int, chains: list[Chain], m: re.Match[str]
    ) -> tuple[Division, int, str] | None:
        """One typo in the next admin name (武候区 → 武侯区) when one known name is that close.

        ``m`` is `_ADMIN_LIKE`'s match at ``pos``, of three characters or more. Only a name that
        matches nothing (a real name elsewhere, live or historical, is kept as written), and
        only among the units of the parent written before it (with none written: the default
        city's, else provinces and cities).
        """
        if m.group(0).endswith(_NOT_DISTRICT):
            return None
        if m.group(0) in self._names or _FUNCTIONAL_AREA.fullmatch(m.group(0)):
            return None
        lasts = {chain[-1][0] if chain else None for chain in chains}
        if len(lasts) != 1:
            return None
        last = lasts.pop()
        if last is None and self._default is not None:
            last = self._default
        if last is not None and (last.level >= STREET or _is_zone(last)):
            return None  # a zone's own streets are not known: no name to correct towards
        parent = last.code if last is not None else None
        names = self._names_under(parent)
        query = m.group(0)
        fixed = names.correct(query)
        if fixed is None and self._default is not None and parent is None:
            # 城都市 is one edit from 成都市, 宜都市 and 昌都市; in 成都, it is 成都市.
            codes = self._child_codes[parent]
            default = self._default
            near = [
                name
                for name in names.candidates(query)
                if (d := self._divisions[codes[name]]) is default or self.is_within(d, default)
            ]
            fixed = near[0] if len(near) == 1 else None
        if fixed is None:
            # 城都市武侯区: of 成都市, 宜都市 and 昌都市 only one holds the next name.
            codes = self._child_codes[parent]
            holding = [
                name
                for name in names.candidates(query)
                if self._next_is_within(text, m.end(), self._divisions[codes[name]])
            ]
            fixed = holding[0] if len(holding) == 1 else None
        if fixed is None:
            return None
        division = self._divisions[self._child_codes[parent][fixed]]
        return division, len(query), f"{query} → {fixed}"

    def _names_under(self, parent: str | None) -> NameIndex:
        """Full names of the units directly below ``parent`` (a province's: its cities and
        counties; with no parent: provinces and cities). Small, so cheap to build on first use."""
        found = self._children.get(parent)
        if found is not None:
            return found
        below = _tables_for(self._index).below
        codes: dict[str, str] = {}
        ambiguous: set[str] = set()
        if parent is None:
            units = [d for d in self._divisions.values() if d.level <= CITY]
        else:
            units = list(below.get(parent, ()))
            if self._divisions[parent].level == PROVINCE:
                units += [d for city in units for d in below.get(city.code, ())]
        for division in units:
            if division.name in codes and codes[division.name] != division.code:
                ambiguous.add(division.name)
            codes[division.name] = division.code
        for name in ambiguous:
            del codes[name]
        self._child_codes[parent] = codes
        found = self._children[parent] = NameIndex(codes)
        return found

    def _choose(
        self, chains: list[tuple[tuple[Division, int], ...]], end: int, text: str
    ) -> AdminResult:
        if len(chains) > 1 and self._default is not None:
            default = self._default
            near = [c for c in chains if c[-1][0] is default or self.is_within(c[-1][0], default)]
            chains = near or chains
        if len(chains) > 1:
            # Prefer readings made of full names, then those that start higher (海南 the province).
            # An old name reads as its main successor, and a live name before an old one. Last,
            # a reading that skips no level: 广州白云 is 白云区, not 越秀区's 白云街道.
            def score(chain: tuple[tuple[Division, int], ...]) -> tuple[int, int, int, int]:
                return (
                    sum(kind & BASE_KIND != FULL or kind & SECONDARY > 0 for _, kind in chain),
                    sum(kind & HISTORICAL > 0 for _, kind in chain),
                    chain[0][0].level,
                    sum(b.level - a.level - 1 for (a, _), (b, _) in itertools.pairwise(chain)),
                )

            scores = [score(c) for c in chains]
            best = min(scores)
            chains = [c for c, s in zip(chains, scores, strict=True) if s == best]
        if len(chains) > 1:
            ends = {c[-1][0].code for c in chains}
            if len(ends) > 1:
                return self._ambiguous(chains, end, text)
        chain = chains[0]
        deepest = chain[-1][0]
        zone = None  # and the old names read, in one pass over the chain
        historical: tuple[str, ...] = ()
        for division, kind in chain:
            if division.level == DISTRICT:  # (`_is_zone`, inline: every reading asks)
                if zone is None:
                    zone = division if division.prefix != division.code else None
                else:
                    zone = None  # 雄安新区容城县: the county written after the area is the district
            if kind & HISTORICAL:
                historical = (*historical, self._history_note(division, text[:end]))
        if zone is None:
            # the common case, once per unit
            found, levels = self._read_lineages.get(deepest.code) or self._read_lineage(deepest)
        else:
            # 天府新区华阳街道: keep the zone as written, not the street's statistical district.
            lineage = [zone if d.level == DISTRICT else d for d in self._lineage(deepest)]
            if zone not in lineage:
                lineage = [*self._lineage(zone), *(d for d in lineage if d.level > DISTRICT)]
            found = tuple(lineage)  # it ends at the zone or below: no municipality to add
            levels = levels_of(found)
        inferred = chain[0][0].level > PROVINCE and found[0].level == PROVINCE
        # AdminResult(end, found, inferred=…, historical=…, levels=…), field by field without
        # the named tuple's Python-level constructor (once per new prefix)
        return _tuple_new(AdminResult, (end, found, (), inferred, (), historical, (), levels))

    def _read_lineage(self, deepest: Division) -> tuple[tuple[Division, ...], Levels]:
        """The lineage a reading that ends at ``deepest`` (and holds no zone) reports, and its
        levels: worked out once per unit, as every address of a new county reads one."""
        found = self._read_lineages.get(deepest.code)
        if found is None:
            lineage = self._lineage(deepest)
            full = self._lineages[deepest.code]  # the same units: no copy kept
            if lineage[-1].level == PROVINCE:
                # 天津市 alone: a municipality is its own city too.
                city = self._divisions.get(lineage[-1].prefix + "0100")
                if city is not None and city.name == lineage[-1].name:
                    full = (*full, city)
            found = self._read_lineages[deepest.code] = (full, levels_of(full))
        return found

    def _history_note(self, division: Division, written: str) -> str:
        """Which old name of ``division`` was written, and when it changed."""
        olds = self._index.history.get(division.code, ())
        old = next((h for h in olds if h.name in written), None)
        old = old or next((h for h in olds if h.name[:2] in written), olds[0])
        return old.note(division.name)

    def _ambiguous(
        self, chains: list[tuple[tuple[Division, int], ...]], end: int, text: str
    ) -> AdminResult:
        """Keep the levels all readings agree on; report the rest as unplaced text."""
        common: list[Division] = []
        for level in (PROVINCE, CITY, DISTRICT, STREET):
            seen: set[str | None] = set()
            for chain in chains:
                found = [d for d in self._lineage(chain[-1][0]) if d.level == level]
                seen.add(found[0].code if found else None)
            code = seen.pop() if len(seen) == 1 else None
            if code is not None:
                common.append(self._divisions[code])
            else:
                break
        # The text after the last placed name is what could not be placed.
        rest = text[:end]
        for division in common:
            at = rest.find(division.name)
            if at >= 0:
                rest = rest[at + len(division.name) :]
        placed = tuple(common)
        candidates = tuple(
            dict.fromkeys("".join(d.name for d in self._lineage(c[-1][0])) for c in chains)
        )
        return AdminResult(
            end,
            placed,
            ambiguous=(rest or text[:end],),
            candidates=candidates,
            levels=levels_of(placed),
        )

    def _lineage(self, division: Division) -> list[Division]:
        cached = self._lineages.get(division.code)
        if cached is None:
            chain = [division]
            parent = division.parent
            while parent is not None:
                ancestor = self._divisions[parent]
                chain.append(ancestor)
                parent = ancestor.parent
            cached = self._lineages[division.code] = tuple(chain[::-1])
        return list(cached)

    def default_lineage(self) -> tuple[Division, ...]:
        return tuple(self._lineage(self._default)) if self._default else ()


__all__ = ["CONTEXT", "DISTRICT", "FULL", "SHORT", "AdminReader", "AdminResult", "levels_of"]
