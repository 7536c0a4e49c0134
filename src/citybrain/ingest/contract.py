"""The source contract: one YAML file describing one department system, validated by pydantic.

A contract says where the data comes from (``connector``), how its columns map to the standard model
(``mapping``), which columns identify a record (``keys``), which hold personal information
(``pii``), how it refreshes and what to do when its schema drifts. Adding a system is writing a
contract.
Secrets never live in a contract: options ending in ``_env`` name an environment variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from citybrain.core.stdmodel import STD_TABLES

SYSTEM_ID_PATTERN = r"^[a-z][a-z0-9_]{1,62}$"
ENV_NAME_PATTERN = r"^[A-Z_][A-Z0-9_]*$"

ColumnType = Literal["string", "int64", "float64", "bool", "date", "timestamp"]
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
    params: dict[str, str] = Field(default_factory=dict)
    records_path: str | None = None
    pagination: Pagination = Field(default_factory=Pagination)
    auth_header: str = "Authorization"
    auth_header_env: str | None = Field(None, pattern=ENV_NAME_PATTERN)
    timeout_seconds: float = Field(30.0, gt=0)
    retries: int = Field(5, ge=0)
    backoff_seconds: float = Field(0.5, ge=0)


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


class ColumnMapping(_Model):
    source: str = Field(min_length=1, description="column name as delivered")
    target: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", description="standard-model column name")
    type: ColumnType = "string"
    formats: list[str] = Field(
        default_factory=list, description="strptime formats for date/timestamp, tried in order"
    )
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


class Mapping(_Model):
    columns: list[ColumnMapping] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list, description="delivered columns not landed")
    null_values: list[str] = Field(default_factory=lambda: ["", "NULL", "null", "\\N"])
    trim: bool = True


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
