"""Draft a source contract from a sample file: ``citybrain source new NAME --from FILE``.

What can be read from the file is read: compression, encoding, delimiter and header (by the same
connector code a load uses), each column's type and null markers (from a sample, vectorised), a
time written over year / month / day / hour columns, and a proposed mapping onto the standard
table whose columns the file matches best — by column name (Chinese, English, pinyin initials
as departments write them) and by value shape (a USCC, a plate, a longitude). Columns it could not
map are listed in the draft, not hidden in ``ignore``: the engineer decides. The result is YAML
text with comments; ``source check`` then checks it against the same file.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.errors import UserError
from citybrain.core.stdmodel import STD_TABLES, StdColumn, StdTable
from citybrain.ingest.connectors import open_file
from citybrain.ingest.connectors.sniff import (
    detect_compression,
    detect_delimiter,
    read_sample,
    split_line,
)
from citybrain.ingest.contract import SYSTEM_ID_PATTERN, TIME_PARTS, SourceContract
from citybrain.ingest.draft_names import ALIASES, NULL_MARKERS, TIME_PART_NAMES, normalise_name

SAMPLE_BYTES = 1024 * 1024
INT_RE = r"^[+-]?\d{1,18}$"
FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H时%M分",
    "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z",
)  # fmt: skip
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
SHAPES = {  # value shapes that name a role whatever the column is called
    "uscc": r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$",
    "id_number": r"^\d{17}[\dXx]$",
    "phone": r"^(\+?86[- ]?)?1[3-9]\d{9}$",
    "plate": r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-Z][A-Z0-9]{5,6}$",
}
KIND_BY_SUFFIX = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".dat": "csv", ".jsonl": "jsonl",
                  ".ndjson": "jsonl", ".json": "json", ".xlsx": "xlsx", ".xlsm": "xlsx",
                  ".parquet": "parquet"}  # fmt: skip
MATCH_AT = 0.6
TIME_OF_DAY_RE = r"^([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$"
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Profile:
    """One delivered column as the sample shows it."""

    name: str
    type: str = "string"
    formats: list[str] = field(default_factory=list)
    epoch: str | None = None
    markers: list[str] = field(default_factory=list)
    shape: str | None = None  # a role from SHAPES, lon or lat
    values: int = 0
    example: str | None = None


@dataclass
class Draft:
    """A drafted contract: its YAML text and what was found, for the CLI to report."""

    text: str
    kind: str
    compression: str | None
    standard: str | None
    mapped: dict[str, str]  # delivered column → target
    unmapped: list[str]
    encoding: str | None = None
    delimiter: str | None = None


def file_kind(path: Path) -> str:
    """The connector kind of a delivered file, by its name under any compression suffix."""
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in (".gz", ".bz2", ".zip", ".gzip"):
        suffixes.pop()
    if suffixes and suffixes[-1] in KIND_BY_SUFFIX:
        return KIND_BY_SUFFIX[suffixes[-1]]
    if detect_compression(path) == "zip" and not suffixes:
        return "csv"
    return "csv"


def draft_contract(
    name: str,
    sample: Path,
    contract_dir: Path,
    *,
    standard: str | None = None,
    owner: str = "待填写 / to fill in",
    title: str | None = None,
) -> Draft:
    """A contract for ``sample``, to be written in ``contract_dir`` (paths are relative to it)."""
    if not re.match(SYSTEM_ID_PATTERN, name):
        raise UserError(
            f"{name!r} is not a system id: lower-case letters, digits and _, starting with a"
            " letter (2–63 characters)",
            hint="e.g. citybrain source new taxi_gps --from gps.txt.gz",
        )
    if standard is not None and standard not in STD_TABLES:
        raise UserError(f"unknown standard table {standard!r}; known: {', '.join(STD_TABLES)}")
    if not sample.is_file():
        raise UserError(f"{sample}: no such file", hint="give the department's export with --from")
    kind = file_kind(sample)
    rel = Path(os.path.relpath(sample.resolve(), contract_dir.resolve())).as_posix()
    connector: dict[str, object] = {"kind": kind, "path": rel}
    if kind == "csv" and (titles := _title_rows(sample)):
        connector["skip_rows"] = titles
    probe = SourceContract.model_validate(
        {"id": name, "name": name, "owner": "-", "connector": connector}
    ).with_origin(contract_dir / f"{name}.yaml")
    reader = open_file(probe, sample.resolve(), chunk_bytes=SAMPLE_BYTES, chunk_rows=5000)
    first = next(iter(reader.chunks()), None)
    table = first.table if first is not None else pa.table({})
    columns = [c for c in (reader.columns or table.column_names) if not c.startswith("__cb_")]
    profiles = [
        _profile(name_, table.column(name_)) for name_ in columns if name_ in table.column_names
    ]
    if not any(p.shape == "lon" for p in profiles) or not any(p.shape == "lat" for p in profiles):
        for p in profiles:  # a number between 3 and 54 alone is no latitude: only a pair counts
            p.shape = None if p.shape in ("lon", "lat") else p.shape
    headerless = kind == "csv" and all(re.fullmatch(r"column_\d+", c) for c in columns)
    combine = _time_parts(columns, profiles)
    chosen, proposed = _choose(profiles, combine, standard)
    mapping = {p.name: proposed[p.name] for p in profiles if p.name in proposed}  # file order
    unmapped = [
        p.name for p in profiles if p.name not in mapping and p.name not in combine.values()
    ]
    encoding = getattr(reader, "encoding", None)
    delimiter = getattr(reader, "delimiter", None)
    layout = []
    if "skip_rows" in connector:
        layout.append(f"  skip_rows: {connector['skip_rows']}  # title lines above the header")
    if headerless:
        layout += ["  header: false  # the file has no header row: name its columns here",
                   f"  column_names: [{', '.join(columns)}]"]  # fmt: skip
    text = _yaml(
        name, title or name, owner, kind, rel, encoding, delimiter, chosen, profiles, mapping,
        combine, unmapped, layout,
    )  # fmt: skip
    compression = detect_compression(sample) if kind in ("csv", "jsonl", "json") else None
    return Draft(
        text, kind, compression, chosen.name if chosen else None,
        dict(mapping), unmapped, encoding, delimiter,
    )  # fmt: skip


def _title_rows(sample: Path) -> int:
    """Title lines above a delimited file's header (高新区企业名录（2024年3月）): the first lines
    at most half as wide as most lines of the sample, and preamble lines of another width."""
    lines = read_sample(sample, 64 * 1024).decode("utf-8", "replace").splitlines()[:50]
    lines = [line for line in lines if line.strip()]
    if len(lines) < 3:
        return 0
    delimiter = detect_delimiter(lines[1:])
    widths = [len(split_line(line, delimiter)) for line in lines]
    common = max(set(widths), key=widths.count)

    def fits(width: int) -> bool:  # as wide as the data, or a header one short of trailing commas
        return common - 1 <= width <= common

    titles = 0
    while titles < len(widths):
        width = widths[titles]
        after = widths[titles + 1] if titles + 1 < len(widths) else common
        # a title is at most half as wide; a preamble line of another width before another one
        # (GPS loggers' .plt: "0,2,255,My Track,0,0,2,8421376" then "0") is not the header either
        if width * 2 <= common or (not fits(width) and not fits(after)):
            titles += 1
        else:
            break
    return titles


def _profile(name: str, column: pa.ChunkedArray) -> Profile:
    values = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
    markers = [m for m in NULL_MARKERS if pc.any(pc.equal(values, m)).as_py()]
    if markers:
        values = pc.if_else(
            pc.is_in(values, pa.array(markers)), pa.scalar(None, pa.string()), values
        )
    present = values.drop_null()
    profile = Profile(name, markers=markers, values=len(present))
    if not len(present):
        return profile
    profile.example = present[0].as_py()
    if _has_leading_zero(present):  # 007123: an account or code number, kept as written
        profile.type = "string"
    elif _all(present, INT_RE):
        numbers = pc.cast(present, pa.float64())
        low, high = pc.min(numbers).as_py(), pc.max(numbers).as_py()
        widths = pc.utf8_length(present)
        if pc.min(widths).as_py() == pc.max(widths).as_py() == 10 and 9e8 < low <= high < 2.2e9:
            profile.type, profile.epoch = "timestamp", "s"
        elif pc.min(widths).as_py() == pc.max(widths).as_py() == 13 and 9e11 < low <= high < 2.2e12:
            profile.type, profile.epoch = "timestamp", "ms"
        elif pc.max(widths).as_py() >= 11:  # an account, phone or ID number: text, not a number
            profile.type = "string"
        else:
            profile.type = "int64"
    elif _all(present, FLOAT_RE):
        profile.type = "float64"
        numbers = pc.cast(present, pa.float64())
        low, high = pc.min(numbers).as_py(), pc.max(numbers).as_py()
        if 73 <= low <= high <= 136:
            profile.shape = "lon"
        elif 3 <= low <= high <= 54:
            profile.shape = "lat"
    else:
        for kind, formats in (("timestamp", TIME_FORMATS), ("date", DATE_FORMATS)):
            for fmt in formats:
                parsed = pc.strptime(present, format=fmt, unit="us", error_is_null=True)
                if parsed.null_count == 0:
                    profile.type, profile.formats = kind, [fmt]
                    break
            if profile.formats:
                break
    if profile.type == "string" and _all(present, TIME_OF_DAY_RE):
        profile.type = "time_of_day"  # 07:00:00 beside a date column: the two make one time
    if profile.type == "string":
        for role, pattern in SHAPES.items():
            if _all(present, pattern):
                profile.shape = role
                break
    return profile


def _all(values: pa.Array, pattern: str) -> bool:
    return bool(pc.all(pc.match_substring_regex(values, pattern)).as_py())


def _has_leading_zero(values: pa.Array) -> bool:
    return bool(pc.any(pc.match_substring_regex(values, r"^[+-]?0\d")).as_py())


def _time_parts(columns: list[str], profiles: list[Profile]) -> dict[str, str]:
    """year / month / day (/ hour …) columns by name, or a date column followed by a time-of-day
    column by value (GPS loggers, 报警日期 + 报警时间), if the file writes its time over several."""
    found: dict[str, str] = {}
    for column in columns:
        key = normalise_name(column)
        for part, names in TIME_PART_NAMES.items():
            if key in names and part not in found:
                found[part] = column
    if all(p in found for p in TIME_PARTS[:3]):
        return found
    for date, time in itertools.pairwise(profiles):
        if date.type == "date" and time.type == "time_of_day":
            return {"date": date.name, "time": time.name}
    return {}


def name_score(delivered: str, column: StdColumn) -> float:
    """How much a delivered column name looks like a standard column's (0–1)."""
    key = normalise_name(delivered)
    if not key:
        return 0.0
    names = {normalise_name(n) for n in (column.name, column.zh, *ALIASES.get(column.name, ()))}
    names.discard("")
    if key in names:
        return 1.0
    best = 0.0
    for name in names:
        shorter = min(name, key, key=len)
        # one name inside the other: 住所 in 注册住所, plate in plate_no — not id in deviceid
        meaningful = len(shorter) >= 3 or (len(shorter) == 2 and _CJK.search(shorter) is not None)
        if meaningful and (name in key or key in name):
            best = max(best, 0.8)
        best = max(best, SequenceMatcher(None, key, name).ratio() * 0.75)
    return best


def _score(profile: Profile, column: StdColumn) -> float:
    score = name_score(profile.name, column)
    if profile.shape is not None and profile.shape in (column.role, column.name):
        score = max(score, 0.65) + 0.2
    timed = profile.type in ("timestamp", "date")
    if timed and column.role == "event_time":  # an unnamed time column is when the record happened
        score = max(score, MATCH_AT - 0.15)
    if column.type in ("timestamp", "date"):
        score += 0.15 if timed else -0.3  # a time column is mapped only to values that are times
    elif column.type in ("float64", "int64") and profile.type not in ("int64", "float64"):
        score -= 0.3
    return score


def _assign(profiles: list[Profile], table: StdTable, skip: set[str]) -> dict[str, str]:
    pairs = sorted(
        (
            (_score(p, c), p.name, c.name)
            for p in profiles
            for c in table.columns
            if c.name not in skip
        ),
        reverse=True,
    )
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for score, delivered, target in pairs:
        if score < MATCH_AT or delivered in mapping or target in taken:
            continue
        mapping[delivered] = target
        taken.add(target)
    return mapping


def _event_column(table: StdTable) -> str | None:
    return next((c.name for c in table.columns if c.role == "event_time"), None)


def _choose(
    profiles: list[Profile], combine: dict[str, str], standard: str | None
) -> tuple[StdTable | None, dict[str, str]]:
    """The standard table the file matches best, and delivered column → target."""
    parts = set(combine.values())
    usable = [p for p in profiles if p.name not in parts]
    candidates = [STD_TABLES[standard]] if standard else list(STD_TABLES.values())
    best: tuple[float, StdTable | None, dict[str, str]] = (0.0, None, {})
    by_name = {p.name: p for p in usable}
    for table in candidates:
        event = _event_column(table) if combine else None
        mapping = _assign(usable, table, {event} if event else set())
        if not standard and not any(
            table.column(t).role != "event_time" or name_score(d, table.column(t)) >= MATCH_AT
            for d, t in mapping.items()
        ):
            mapping = {}  # a time alone, unnamed, says nothing of which table the file is
        score = sum(_score(by_name[d], table.column(t)) for d, t in mapping.items())
        score += 1.0 if event else 0.0
        if score > best[0] or (standard and best[1] is None):
            best = (score, table, mapping)
    return best[1], best[2]


def _yaml(
    name: str, title: str, owner: str, kind: str, rel: str, encoding: str | None,
    delimiter: str | None, table: StdTable | None, profiles: list[Profile],
    mapping: dict[str, str], combine: dict[str, str], unmapped: list[str], layout: list[str],
) -> str:  # fmt: skip
    q = _quote
    lines = [
        "# yaml-language-server: $schema=source-contract.schema.json",
        f"# Drafted by `citybrain source new` from {rel}. Check every line, then run",
        f"# `citybrain source check sources/{name}.yaml`. Keys: docs/contracts.md",
        f"id: {name}",
        f"name: {q(title)}",
        f"owner: {q(owner)}",
        "connector:",
        f"  kind: {kind}",
        f"  path: {q(rel)}",
    ]
    if kind == "csv" and encoding:
        lines.append(f"  encoding: {encoding}  # detected")
    if kind == "csv" and delimiter:
        lines.append(f"  delimiter: {q(delimiter)}  # detected")
    lines += layout
    if table is not None:
        lines.append(f"standard: {table.name}  # {table.zh} / {table.en}")
    else:
        lines.append("# standard: (no standard table matched; name one, see docs/contracts.md)")
    markers = sorted({m for p in profiles for m in p.markers} | {"", "NULL", "null", "\\N"})
    lines += ["mapping:", f"  null_values: {json.dumps(markers, ensure_ascii=False)}"]
    lines.append("  columns:" if mapping or combine else "  columns: []  # none proposed: map them")
    by_name = {p.name: p for p in profiles}
    if combine and table is not None and (event := _event_column(table)):
        parts = ", ".join(f"{k}: {q(v)}" for k, v in combine.items())
        lines += [f"    - target: {event}", "      type: timestamp", f"      combine: {{{parts}}}"]
        if "date" in combine and (date_formats := by_name[combine["date"]].formats):
            seconds = ":%S" if str(by_name[combine["time"]].example).count(":") == 2 else ""
            lines.append(f"      formats: [{q(f'{date_formats[0]} %H:%M{seconds}')}]")
    for delivered, target in mapping.items():
        p = by_name[delivered]
        column = table.column(target) if table else None
        kind_ = column.type if column is not None else p.type
        if column is not None and column.role == "period":
            kind_ = "period"
        lines.append(f"    - source: {q(delivered)}")
        lines.append(
            f"      target: {target}" + (f"  # {column.zh}" if column and column.zh else "")
        )
        if kind_ != "string":
            lines.append(f"      type: {kind_}")
        if p.epoch and kind_ in ("timestamp", "date"):
            lines.append(f"      epoch: {p.epoch}")
            lines.append("      utc_offset: '+08:00'  # Unix time is UTC: land Beijing time")
        elif p.formats and kind_ in ("timestamp", "date"):
            lines.append(f"      formats: [{q(p.formats[0])}]")
            lines.append("      # source_offset: '+00:00'  # if the export writes GMT/UTC times")
    if unmapped:
        lines.append("  # Not mapped — map each, list it under ignore, or set keep_unmapped: true:")
        for column_name in unmapped:
            p = by_name[column_name]
            lines.append(f"  #   {q(column_name)}: {p.type}, e.g. {q(p.example or '')}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    """A YAML scalar: JSON-quoted when plain would be read otherwise."""
    plain = re.fullmatch(r"[A-Za-z_\u4e00-\u9fff][\w\u4e00-\u9fff.()/-]*", text) is not None
    if plain and text.lower() not in ("yes", "no", "true", "false", "null", "on", "off", "y", "n"):
        return text
    return json.dumps(text, ensure_ascii=False)
