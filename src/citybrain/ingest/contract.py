"""The source contract: one YAML file describing one department system, validated by pydantic.

A contract says where the data comes from (``connector``), how its columns map to the standard model
(``mapping``), which columns identify a record (``keys``), which hold personal information
(``pii``), how it refreshes and what to do when its schema drifts. Adding a system is writing a
contract.
Secrets never live in a contract: options ending in ``_env`` name an environment variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from citybrain.core.stdmodel import STD_TABLES

SYSTEM_ID_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"

ColumnType = Literal["string", "int64", "float64", "bool", "date", "timestamp", "period"]
EpochUnit = Literal["s", "ms", "us"]
OFFSET_PATTERN = r"^[+-]\d{2}:\d{2}$"
#: the city's local time: timestamps land as Beijing time unless a contract says otherwise
CITY_UTC_OFFSET = "+08:00"
TIME_PARTS = ("year", "month", "day", "hour", "minute", "second")
#: or a date column and a time-of-day column (日期 2024-03-05, 时间 07:00:00)
DATE_TIME_PARTS = ("date", "time")
_ZONE_NAMES = {"utc": "+00:00", "gmt": "+00:00", "z": "+00:00", "cst": "+08:00",
               "beijing": "+08:00", "asia/shanghai": "+08:00"}  # fmt: skip
TARGET_PATTERN = r"^[a-z_][a-z0-9_]*$"
_YEAR_TOKENS = ("%Y", "%y", "%G")
DriftPolicy = Literal["fail", "quarantine", "evolve"]
Sensitivity = Literal["low", "medium", "high"]
PiiKind = Literal[
    "id_number", "name", "phone", "address", "email", "plate", "bank_account", "other"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -------------------------------------------------------------------------------------------------
# connectors


class _FileConnector(_Model):
    path: str = Field(
        description="File or glob, relative to the contract's folder; each file is one load."
    )


class CsvConnector(_FileConnector):
    kind: Literal["csv"] = "csv"
    encoding: str = Field("auto", description="auto, utf-8, utf-8-sig, gbk, gb18030, …")
    delimiter: str = Field("auto", description="auto or one character; \\t for tab")
    header: bool | Literal["auto"] = "auto"
    skip_rows: int = Field(0, ge=0, description="title lines above the header")
    quote: str = Field('"', min_length=1, max_length=1)
    column_names: list[str] | None = Field(None, description="names when the file has no header")


class XlsxConnector(_FileConnector):
    kind: Literal["xlsx"] = "xlsx"
    sheet: str | int = Field(0, description="sheet name or 0-based index")
    header_row: int | Literal["auto"] = Field(
        "auto", description="1-based row of the header; auto finds it below any title rows"
    )


class JsonConnector(_FileConnector):
    kind: Literal["jsonl", "json"] = "jsonl"
    records_path: str | None = Field(
        None, description="for a JSON document: dotted path to the list of records"
    )


class ParquetConnector(_FileConnector):
    kind: Literal["parquet"] = "parquet"


class SqlConnector(_Model):
    kind: Literal["sql"] = "sql"
    url: str = Field(description="SQLAlchemy URL without password")
    password_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)
    table: str | None = None
    query: str | None = None
    batch_rows: int = Field(50_000, gt=0)


class Pagination(_Model):
    kind: Literal["page", "offset", "cursor", "link", "none"] = "page"
    page_param: str = "page"
    size_param: str = "size"
    page_size: int = Field(500, gt=0)
    cursor_path: str | None = None
    next_link_path: str | None = None


class HttpConnector(_Model):
    kind: Literal["http"] = "http"
    url: str
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str] = Field(
        default_factory=dict,
        description="query parameters; a value may say {watermark} (the last landed watermark)",
    )
    watermark_param: str | None = Field(
        None,
        min_length=1,
        description="incremental refresh: the query parameter the API filters by, e.g. "
        "updated_since; it carries the last landed watermark (left out on the first run) and the "
        "API must answer only records newer than it",
    )
    records_path: str | None = None
    pagination: Pagination = Field(default_factory=Pagination)
    auth_header: str = "Authorization"
    auth_header_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)
    timeout_seconds: float = Field(30.0, gt=0)
    retries: int = Field(5, ge=0)
    backoff_seconds: float = Field(0.5, ge=0)


class StreamCadence(_Model):
    """How often each sensor of a stream reports: one reading per ``every_seconds``, so readings
    expected per sensor and hour can be compared with those received."""

    sensor: str = Field(description="payload field naming the sensor")
    time: str = Field(description="payload field with the reading's time")
    every_seconds: int = Field(gt=0, description="one reading per sensor this often")


class MqttConnector(_Model):
    kind: Literal["mqtt"] = "mqtt"
    host: str = "127.0.0.1"
    port: int = Field(1883, gt=0, lt=65536)
    topic: str
    qos: Literal[0, 1, 2] = 1
    username_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)
    password_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)
    batch_rows: int = Field(10_000, gt=0)
    batch_seconds: float = Field(5.0, gt=0)
    # Loss detection (issue 16): a counter each publisher raises by one per message, and the
    # sensors' reporting cadence; either lets a gap be counted as expected but not received.
    sequence: str | None = Field(None, description="payload field: per-publisher message counter")
    publisher: str | None = Field(
        None, description="payload field naming whose counter `sequence` is (default: one)"
    )
    cadence: StreamCadence | None = None


class PushConnector(_Model):
    kind: Literal["push"] = "push"
    token_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)
    batch_rows: int = Field(10_000, gt=0)


class NgsiLdConnector(_Model):
    kind: Literal["ngsi_ld"] = "ngsi_ld"
    url: str | None = Field(None, description="context broker base URL")
    path: str | None = Field(None, description="or a file of NGSI-LD entities")
    entity_type: str
    context: str | None = None
    auth_header_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)


Connector = Annotated[
    CsvConnector
    | XlsxConnector
    | JsonConnector
    | ParquetConnector
    | SqlConnector
    | HttpConnector
    | MqttConnector
    | PushConnector
    | NgsiLdConnector,
    Field(discriminator="kind"),
]
FILE_KINDS = ("csv", "xlsx", "jsonl", "json", "parquet")


# -------------------------------------------------------------------------------------------------
# mapping


class UnitConversion(_Model):
    from_unit: str = Field(alias="from")
    to_unit: str = Field(alias="to")
    factor: float | None = Field(None, description="multiplier; defaults to the built-in table")


class Part(_Model):
    """One field of a delivered column that holds several ("104.06,30.61" → lon, lat)."""

    sep: str = Field(min_length=1, description="separator, taken literally")
    index: int = Field(ge=0, description="0-based field to take")
    count: int = Field(ge=2, description="fields every value must have; others go to quarantine")


_SOURCE_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        ],
        "description": "column name as delivered; a list names a column renamed over time "
        "(the first present wins, values of later names fill its gaps)",
    }
)


class ColumnMapping(_Model):
    source: Annotated[str, _SOURCE_SCHEMA] = Field(
        "", description="delivered column name (required unless combine names the columns)"
    )
    alternates: list[str] = Field(
        default_factory=list, description="other delivered names of the same column (renames)"
    )
    target: str = Field(pattern=TARGET_PATTERN, description="standard-model column name")
    type: ColumnType = "string"
    epoch: EpochUnit | None = Field(
        None, description="numbers are Unix time in s, ms or us (timestamp/date only)"
    )
    utc_offset: str | None = Field(
        None,
        pattern=OFFSET_PATTERN,
        description="the local time a timestamp lands in, as an offset from UTC (+08:00 is "
        "Beijing time). With epoch: Unix times land as local time at this offset (without it: "
        "UTC). With source_offset or a %z format: text times are moved to it (default +08:00)",
    )
    source_offset: str | None = Field(
        None,
        description="the zone delivered text times are written in: an offset such as +00:00, "
        "or UTC / GMT / Z; they land moved to utc_offset (default +08:00, Beijing time)",
    )
    combine: dict[str, str] | None = Field(
        None,
        description="a date or timestamp written over several delivered columns: part → column, "
        "parts year, month, day (required), hour, minute, second — or date and time (a date "
        "column and a time-of-day column, joined with a space and read by formats); source may "
        "be left out",
    )
    default_year: int | None = Field(
        None, ge=1900, le=2200, description="year for dates whose formats write none (03月03日)"
    )
    year_from: str | None = Field(
        None, description="delivered column whose first 4-digit number is the year of such dates"
    )
    formats: list[str] = Field(
        default_factory=list, description="strptime formats for date/timestamp, tried in order"
    )
    part: Part | None = Field(None, description="take one field of a delimited value")
    codes: dict[str, str] | None = Field(None, description="code list: delivered value → standard")
    on_unknown_code: Literal["quarantine", "keep", "null"] = "quarantine"
    unit: UnitConversion | None = None
    thousands: str | None = Field(None, max_length=1)
    required: bool = False
    min: float | None = None
    max: float | None = None
    pattern: str | None = Field(None, description="regular expression the value must match")
    keep_original: bool | None = Field(
        None, description="also land the delivered text as <target>__src (default: dates, codes)"
    )

    @model_validator(mode="before")
    @classmethod
    def _source_list(cls, data: Any) -> Any:
        """``source: [YSL, YSL_M3]`` is ``source: YSL`` with ``alternates: [YSL_M3]``; with
        ``combine`` and no source, the source is the year's (or the date's) column."""
        if isinstance(data, dict) and isinstance(data.get("source"), list):
            names = data["source"]
            if names and all(isinstance(n, str) for n in names):
                rest = [*names[1:], *data.get("alternates", [])]
                data = {**data, "source": names[0], "alternates": rest}
        if isinstance(data, dict) and not data.get("source"):
            combine = data.get("combine")
            first = combine.get("year", combine.get("date")) if isinstance(combine, dict) else None
            if isinstance(first, str):
                data = {**data, "source": first}
        return data

    @model_validator(mode="after")
    def _source_given(self) -> ColumnMapping:
        if not self.source:
            raise ValueError("source is required (the delivered column name)")
        return self

    @field_validator("source_offset")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else zone_offset(value)

    @field_validator("combine")
    @classmethod
    def _combine_parts(
        cls, value: dict[str, str] | None, info: ValidationInfo
    ) -> dict[str, str] | None:
        if value is None:
            return None
        if set(value) & set(DATE_TIME_PARTS):
            if set(value) != set(DATE_TIME_PARTS):
                raise ValueError("combine takes date and time together, and nothing else")
        else:
            unknown = [k for k in value if k not in TIME_PARTS]
            if unknown:
                parts = ", ".join((*TIME_PARTS, *DATE_TIME_PARTS))
                raise ValueError(f"unknown part {unknown[0]!r}; parts are {parts}")
            missing = [k for k in TIME_PARTS[:3] if k not in value]
            if missing:
                raise ValueError(f"combine needs year, month and day; {missing[0]!r} is missing")
        if info.data.get("type") not in ("date", "timestamp"):
            raise ValueError("combine applies only to type date or timestamp")
        return value

    @field_validator("epoch", "utc_offset")
    @classmethod
    def _needs_time(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("type") not in ("timestamp", "date"):
            raise ValueError(f"{info.field_name} applies only to type timestamp or date")
        return value

    @field_validator("formats")
    @classmethod
    def _formats_have_a_year(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("epoch") is not None and value:
            raise ValueError("give either epoch or formats, not both")
        year = info.data.get("default_year") is not None or info.data.get("year_from") is not None
        no_year = [f for f in value if "%" in f and not any(t in f for t in _YEAR_TOKENS)]
        if no_year and not year:
            raise ValueError(
                f"format {no_year[0]!r} writes no year; say default_year or year_from,"
                " or a date would silently land in 1900"
            )
        return value

    @field_validator("part")
    @classmethod
    def _part_in_range(cls, value: Part | None) -> Part | None:
        if value is not None and value.index >= value.count:
            raise ValueError(f"part.index {value.index} is not below part.count {value.count}")
        return value

    @property
    def sources(self) -> tuple[str, ...]:
        """Every delivered name of this column, the preferred first (with ``combine``: every
        column it is built from)."""
        if self.combine:
            return tuple(dict.fromkeys([self.source, *self.combine.values()]))
        return (self.source, *self.alternates)

    @property
    def zoned(self) -> bool:
        """Whether text times are moved between zones (a source zone or a %z format)."""
        return self.source_offset is not None or any("%z" in f for f in self.formats)


def zone_offset(text: str) -> str:
    """``+08:00`` for ``+08:00``, ``+0800``, ``+8``, ``UTC+8``; ``+00:00`` for GMT, UTC, Z."""
    key = text.strip().lower()
    if key in _ZONE_NAMES:
        return _ZONE_NAMES[key]
    found = re.fullmatch(r"(?:utc|gmt)?\s*([+-])(\d{1,2}):?(\d{2})?", key)
    if found is None:
        raise ValueError(f"{text!r} is not a zone; write an offset such as +00:00, or UTC / GMT")
    sign, hours, minutes = found.group(1), int(found.group(2)), int(found.group(3) or 0)
    if hours > 14 or minutes >= 60:
        raise ValueError(f"{text!r} is not a UTC offset")
    return f"{sign}{hours:02d}:{minutes:02d}"


def offset_seconds(offset: str) -> int:
    """Seconds east of UTC of an offset written ``+08:00``."""
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = offset[1:].split(":")
    return sign * (int(hours) * 3600 + int(minutes) * 60)


class FromFilename(_Model):
    """Values written only in the file name (和平社区_第1轮排查.xlsx → community, round)."""

    pattern: str = Field(
        description="regular expression searched in the file name; each named group is a column"
    )
    types: dict[str, ColumnType] = Field(
        default_factory=dict, description="type of a named group's column (default string)"
    )

    @field_validator("pattern")
    @classmethod
    def _named_groups(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        if not compiled.groupindex:
            raise ValueError("name each value's group: (?P<community>.+?)")
        for name in compiled.groupindex:
            if not re.match(TARGET_PATTERN, name):
                raise ValueError(f"group name {name!r} is not a standard column name")
        return value

    def columns(self) -> list[str]:
        return list(re.compile(self.pattern).groupindex)


class Coords(_Model):
    """A coordinate pair (target columns) published in another datum, converted to WGS-84."""

    lon: str = Field(pattern=TARGET_PATTERN, description="target column of the longitude")
    lat: str = Field(pattern=TARGET_PATTERN, description="target column of the latitude")
    from_datum: Literal["gcj02", "wgs84"] = Field(
        alias="from", description="gcj02: Chinese map platforms (火星坐标)"
    )


class Mapping(_Model):
    columns: list[ColumnMapping] = Field(
        default_factory=list, description="delivered column → standard column, one per target"
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="delivered columns deliberately not landed (source check lists the others)",
    )
    keep_unmapped: bool = Field(
        False,
        description="land delivered columns the mapping does not name, as delivered text "
        "(otherwise each must be mapped or listed in ignore)",
    )
    null_values: list[str] = Field(
        default_factory=lambda: ["", "NULL", "null", "\\N"],
        description="delivered texts that mean 'no value' (after trimming); they land as null. "
        "Add the export's own markers: NA, N/A, -, 无, /, 暂无 …",
    )
    trim: bool = Field(True, description="strip spaces around delivered text values")
    from_filename: FromFilename | None = None
    coords: list[Coords] = Field(
        default_factory=list, description="coordinate pairs to convert to WGS-84"
    )

    @field_validator("coords")
    @classmethod
    def _coords_mapped(cls, value: list[Coords], info: ValidationInfo) -> list[Coords]:
        if "columns" not in info.data:  # the columns have their own errors
            return value
        numeric = {c.target for c in info.data["columns"] if c.type == "float64"}
        for pair in value:
            for name in (pair.lon, pair.lat):
                if name not in numeric:
                    raise ValueError(f"{name!r} is not a mapped float64 target column")
        return value


# -------------------------------------------------------------------------------------------------
# the rest


class PiiField(_Model):
    column: str
    kind: PiiKind = "other"
    sensitivity: Sensitivity = "high"


class Refresh(_Model):
    mode: Literal["full", "incremental"] = "full"
    watermark: str | None = Field(None, description="target column that only grows (incremental)")
    schedule: str | None = Field(None, description="expected cadence, e.g. daily, hourly, 15min")


class Volume(_Model):
    min_rows: int | None = Field(None, ge=0)
    max_rows: int | None = Field(None, ge=0)


class SourceContract(_Model):
    id: str = Field(pattern=SYSTEM_ID_PATTERN, description="system id, used in lake paths")
    name: str = Field(min_length=1)
    owner: str = Field(min_length=1, description="owner department")
    description: str | None = None
    connector: Connector
    standard: str | None = Field(
        None, description="standard-model table (citybrain.core.stdmodel) this system feeds"
    )
    constants: dict[str, str] = Field(
        default_factory=dict,
        description="standard columns with one value for the whole system, e.g. utility: water",
    )
    mapping: Mapping = Field(default_factory=Mapping)
    keys: list[str] = Field(default_factory=list, description="natural key (target columns)")
    pii: list[PiiField] = Field(default_factory=list)
    refresh: Refresh = Field(default_factory=Refresh)
    volume: Volume = Field(default_factory=Volume)
    drift: DriftPolicy = "fail"
    tags: list[str] = Field(default_factory=list)

    _origin: Path | None = PrivateAttr(default=None)

    @field_validator("standard")
    @classmethod
    def _known_standard(cls, value: str | None) -> str | None:
        if value is not None and value not in STD_TABLES:
            raise ValueError(f"unknown standard table {value!r}; known: {', '.join(STD_TABLES)}")
        return value

    @property
    def origin(self) -> Path | None:
        """The YAML file this contract came from, if any."""
        return self._origin

    def base_dir(self) -> Path:
        return self._origin.parent if self._origin is not None else Path.cwd()

    def with_origin(self, origin: Path) -> SourceContract:
        self._origin = origin
        return self


def contract_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a source contract."""
    schema = SourceContract.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://citybrain.example/schema/source-contract.schema.json"
    schema["title"] = "citybrain source contract"
    return schema
