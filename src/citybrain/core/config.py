"""Workspace configuration: ``citybrain.toml``, typed and validated.

Secrets never live in the file: a value such as the ops-database password is named by an environment
variable (``password_env``) and read from the environment when it is needed.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from citybrain.core.errors import ConfigError

CONFIG_FILE = "citybrain.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkConfig(_Strict):
    master: str = "local[*]"
    app_name: str = "citybrain"
    conf: dict[str, str] = Field(default_factory=dict)


class DuckDBConfig(_Strict):
    # Relative paths are taken from the workspace root.
    database: str = "citybrain.duckdb"
    threads: int | None = None
    memory_limit: str | None = None
    #: where DuckDB spills what outgrows ``memory_limit`` (default: beside the database file)
    temp_directory: str | None = None
    #: the most it may spill there, e.g. "40GB" (DuckDB's default: 90 % of the disk space free
    #: when it starts); past it a step fails with an error, rather than filling the disk
    max_temp_directory_size: str | None = None


class EngineConfig(_Strict):
    kind: Literal["duckdb", "spark"] = "duckdb"
    duckdb: DuckDBConfig = Field(default_factory=DuckDBConfig)
    spark: SparkConfig = Field(default_factory=SparkConfig)


class OpsDBConfig(_Strict):
    # Any SQLAlchemy URL; ``{workspace}`` is replaced by the workspace root.
    url: str = "sqlite:///{workspace}/ops.sqlite"
    # Name of an environment variable holding the password, inserted into the URL at connect time.
    password_env: str | None = None

    @field_validator("url")
    @classmethod
    def _no_password_in_file(cls, url: str) -> str:
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(url.replace("{workspace}", "/w"))
        except Exception as exc:  # sqlalchemy raises ArgumentError with its own wording
            raise ValueError(f"not a SQLAlchemy URL: {url!r}") from exc
        if parsed.password:
            raise ValueError("put the password in an environment variable named by password_env")
        return url


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")


class ApiConfig(_Strict):
    """``[api]``: the service's token lifetimes, limits, CORS and processes. Environment variables
    ``CITYBRAIN_API_<KEY>`` override a value for one run (see ``citybrain.api.settings``)."""

    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(7, ge=1, le=90)
    rate_limit_per_second: float = Field(50.0, gt=0, le=1_000_000)
    rate_limit_burst: int = Field(200, ge=1, le=1_000_000)
    max_body_bytes: int = Field(1_048_576, ge=1024, le=1024**3)
    # Browser origins allowed to call the API from another site; empty (the default): CORS off.
    cors_origins: list[str] = Field(default_factory=list)
    # uvicorn worker processes for ``citybrain serve``; each keeps its own rate-limit buckets.
    workers: int = Field(1, ge=1, le=64)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin == "*":
                raise ValueError("name each origin; '*' would let any site read personal data")
            if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d{1,5})?", origin):
                raise ValueError(f"an origin is scheme://host[:port], no path: {origin!r}")
        return origins


class ReportConfig(_Strict):
    """``[report]``: the daily report (大数据专报) ``citybrain run`` writes at its end."""

    daily: bool = True  # false: the run's report step writes nothing
    pdf: bool = True  # false: HTML only (a host without Chromium, or a test)


class MapConfig(_Strict):
    """``[map]``: the base map under the one map. ``built`` (the default) is cut from the address
    register; a city's own is ``xyz`` or ``wmts`` (a tile URL on its intranet) or ``pmtiles`` or
    ``mbtiles`` (a local file, relative to the workspace). Checked by ``citybrain.api.citymap``."""

    base: Literal["built", "xyz", "wmts", "pmtiles", "mbtiles"] = "built"
    url: str | None = None  # xyz: …/{z}/{x}/{y}.png; wmts: …/{TileMatrix}/{TileRow}/{TileCol}.png
    path: str | None = None  # pmtiles / mbtiles
    tile_size: int = Field(256, ge=64, le=1024)
    min_zoom: int = Field(0, ge=0, le=24)
    max_zoom: int = Field(18, ge=0, le=24)
    attribution: str = ""

    @model_validator(mode="after")
    def _source_named(self) -> MapConfig:
        marks = {"xyz": ("{z}", "{x}", "{y}"), "wmts": ("{TileMatrix}", "{TileRow}", "{TileCol}")}
        if self.base in marks:
            missing = [m for m in marks[self.base] if m not in (self.url or "")]
            if not re.match(r"https?://", self.url or "") or missing:
                raise ValueError(f"base = {self.base!r} needs url = an http(s) URL with "
                                 + "".join(marks[self.base]))  # fmt: skip
        if self.base in ("pmtiles", "mbtiles") and not self.path:
            raise ValueError(f"base = {self.base!r} needs path = the {self.base} file")
        return self


class StandardizeConfig(_Strict):
    #: processes that parse and match new address strings, forked from the run (0: the CPUs
    #: this process may use; 1: none forked — on a machine others share)
    address_workers: int = Field(0, ge=0, le=64)


class WorkspaceConfig(_Strict):
    name: str = "示例高新区"
    lake: str = "."
    engine: EngineConfig = Field(default_factory=EngineConfig)
    ops_db: OpsDBConfig = Field(default_factory=OpsDBConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    map: MapConfig = Field(default_factory=MapConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    standardize: StandardizeConfig = Field(default_factory=StandardizeConfig)
    # ``[resolve]``: which std columns identify persons and enterprises, and the linkage model;
    # validated by ``citybrain.govern.resolve.settings`` (errors name the key), empty: defaults.
    resolve: dict[str, Any] = Field(default_factory=dict)
    # ``[topics.NAME]``: a topic's parameters in this city (e.g. ``scenario`` of the epidemic
    # topic) and ``enabled``; validated by ``citybrain.topics.settings`` against the topic's
    # own parameter model (errors name the key), empty: the topic's defaults.
    topics: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def ops_db_url(self, root: Path) -> str:
        """The ops-database URL with the workspace path and the password from the environment."""
        url = self.ops_db.url.replace("{workspace}", str(root))
        if self.ops_db.password_env:
            from sqlalchemy.engine import make_url

            password = os.environ.get(self.ops_db.password_env)
            if password is None:
                raise ConfigError(
                    f"ops_db.password_env names {self.ops_db.password_env}, which is not set",
                    hint="export it before running citybrain",
                )
            url = make_url(url).set(password=password).render_as_string(hide_password=False)
        return url


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    problem = first["msg"]
    if first["type"] == "extra_forbidden":
        problem = "unknown key"
    elif first["type"] == "literal_error":
        problem = problem.replace("Input should be", "must be")
    value = first.get("input")
    shown = f" (got {value!r})" if first["type"] != "extra_forbidden" and value is not None else ""
    more = f"; {len(error.errors()) - 1} more problem(s)" if len(error.errors()) > 1 else ""
    return f"{source}: {key}: {problem}{shown}{more}"


def parse_config(text: str, source: str = CONFIG_FILE) -> WorkspaceConfig:
    """Parse TOML text into a validated config; errors name the file and the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        return WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None


def load_config(path: Path) -> WorkspaceConfig:
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file", hint="run `citybrain workspace init DIR`")
    return parse_config(path.read_text(encoding="utf-8"), str(path))
