"""The contract guide, ``docs/contracts.md``, written from the code so it cannot drift.

Every key comes from the pydantic contract model (its description, type and default), the
standard tables from ``core.stdmodel``, the validators by role from ``govern``, the units from
``ingest.units``, the null markers, time formats and zone names from the mapping code. Only the
prose and the three worked examples are written here; a test checks that each example validates
and that the committed page is what this module writes now (``citybrain source guide``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from citybrain.core.stdmodel import FLAGS_COLUMN, LINEAGE_COLUMNS, STD_TABLES
from citybrain.ingest import contract as cm
from citybrain.ingest.draft_names import NULL_MARKERS, TIME_PART_NAMES
from citybrain.ingest.mapping import BAD, FALSE, ISO_FORMATS, TRUE
from citybrain.ingest.schema import render_contract_schema
from citybrain.ingest.units import unit_families

GUIDE = "contracts.md"
SCHEMA = "source-contract.schema.json"
#: (heading, model, where the keys sit in a contract)
SECTIONS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("The contract", cm.SourceContract, "top level"),
    ("connector: csv (also .txt, .tsv; gzip / bz2 / zip)", cm.CsvConnector, "connector"),
    ("connector: xlsx", cm.XlsxConnector, "connector"),
    ("connector: jsonl / json", cm.JsonConnector, "connector"),
    ("connector: parquet", cm.ParquetConnector, "connector"),
    ("connector: sql", cm.SqlConnector, "connector"),
    ("connector: http", cm.HttpConnector, "connector"),
    ("connector.pagination (http)", cm.Pagination, "connector.pagination"),
    ("connector: mqtt", cm.MqttConnector, "connector"),
    ("connector: push", cm.PushConnector, "connector"),
    ("connector: ngsi_ld", cm.NgsiLdConnector, "connector"),
    ("mapping", cm.Mapping, "mapping"),
    ("mapping.columns[]: one delivered column", cm.ColumnMapping, "mapping.columns[]"),
    ("mapping.columns[].part", cm.Part, "mapping.columns[].part"),
    ("mapping.columns[].unit", cm.UnitConversion, "mapping.columns[].unit"),
    ("mapping.from_filename", cm.FromFilename, "mapping.from_filename"),
    ("mapping.coords[]", cm.Coords, "mapping.coords[]"),
    ("pii[]", cm.PiiField, "pii[]"),
    ("refresh", cm.Refresh, "refresh"),
    ("volume", cm.Volume, "volume"),
)
#: meanings for keys whose field has no description in the model
MEANING = {
    "SourceContract.name": "the system's name as the department says it (shown to clerks)",
    "SourceContract.description": "free text: what the system holds, how it is delivered",
    "SourceContract.connector": "where the data comes from; `kind` picks one of the connectors",
    "SourceContract.mapping": "how delivered columns become standard columns",
    "SourceContract.pii": "target columns holding personal information, masked in the API",
    "SourceContract.refresh": "full snapshots or incremental loads, and the expected cadence",
    "SourceContract.volume": "rows a load should have; outside the range is a quality alert",
    "SourceContract.drift": "a delivered column the contract does not name: fail the load, "
    "quarantine its rows, or evolve (land the column as delivered)",
    "SourceContract.tags": "free labels for the catalog",
    "kind": "the connector",
    "CsvConnector.header": "true, false or auto (the row naming most mapped columns)",
    "CsvConnector.quote": "the quote character",
    "SqlConnector.password_env": "environment variable holding the password",
    "SqlConnector.table": "table to read (or give query)",
    "SqlConnector.query": "SELECT to read (or give table)",
    "SqlConnector.batch_rows": "rows fetched per batch",
    "HttpConnector.url": "the API's URL",
    "HttpConnector.method": "GET or POST",
    "HttpConnector.records_path": "dotted path to the list of records in each answer",
    "HttpConnector.pagination": "how pages are asked for (see connector.pagination)",
    "HttpConnector.auth_header": "header carrying the credential",
    "HttpConnector.auth_header_env": "environment variable holding the header's value",
    "HttpConnector.timeout_seconds": "per request",
    "HttpConnector.retries": "retries of a failed request (with backoff)",
    "HttpConnector.backoff_seconds": "first wait between retries; it doubles",
    "Pagination.kind": "page (page number), offset, cursor, link (next URL) or none",
    "Pagination.page_param": "query parameter of the page number",
    "Pagination.size_param": "query parameter of the page size",
    "Pagination.page_size": "records per page",
    "Pagination.cursor_path": "dotted path to the next cursor in an answer",
    "Pagination.next_link_path": "dotted path to the next page's URL in an answer",
    "MqttConnector.host": "broker host",
    "MqttConnector.port": "broker port",
    "MqttConnector.topic": "topic filter, e.g. city/air/#",
    "MqttConnector.qos": "MQTT quality of service",
    "MqttConnector.username_env": "environment variable holding the user name",
    "MqttConnector.password_env": "environment variable holding the password",
    "MqttConnector.batch_rows": "a micro-batch lands after this many messages",
    "MqttConnector.batch_seconds": "… or after this long",
    "MqttConnector.cadence": "how often each sensor reports (gap detection)",
    "PushConnector.token_env": (
        "not used any more, accepted so that older contracts still validate: a department pushes"
        " with an API key of the `system` role (POST /api/v1/ingest/push/{system})"
    ),
    "PushConnector.batch_rows": "rows per landed batch",
    "NgsiLdConnector.entity_type": "NGSI-LD entity type to read",
    "NgsiLdConnector.context": "JSON-LD @context URL",
    "NgsiLdConnector.auth_header_env": "environment variable holding the Authorization header",
    "Mapping.from_filename": "values written only in the file name (和平社区_第1轮排查.xlsx)",
    "ColumnMapping.type": "the landed type; values that do not parse go to quarantine",
    "ColumnMapping.on_unknown_code": "a value not in codes: quarantine the row, keep the value, "
    "or land null",
    "ColumnMapping.unit": "convert units (see Unit conversions)",
    "ColumnMapping.thousands": "thousands separator to remove before casting (1,234.5)",
    "ColumnMapping.required": "a null value sends the row to quarantine (missing:…)",
    "ColumnMapping.min": "smallest allowed value (out_of_range:… below)",
    "ColumnMapping.max": "largest allowed value (out_of_range:… above)",
    "UnitConversion.from": "delivered unit",
    "UnitConversion.to": "landed unit",
    "PiiField.column": "target column",
    "PiiField.kind": "what the value is",
    "PiiField.sensitivity": "how strictly it is masked",
    "Refresh.mode": "full: each load is a snapshot; incremental: only new rows",
    "Volume.min_rows": "fewest rows a load should have",
    "Volume.max_rows": "most rows a load should have",
}
#: YAML examples for keys (by model and key); others show their default or first allowed value
EXAMPLE = {
    "SourceContract.id": "taxi_gps",
    "SourceContract.name": "出租车定位系统",
    "SourceContract.owner": "市交通运输局",
    "SourceContract.standard": "vehicle_ping",
    "SourceContract.constants": "{utility: water}",
    "SourceContract.keys": "[plate, ts]",
    "SourceContract.pii": "[{column: plate, kind: plate, sensitivity: medium}]",
    "SourceContract.connector": "{kind: csv, path: exports/gps_*.txt.gz}",
    "SourceContract.mapping": "{columns: [...], null_values: ['', NA]}",
    "SourceContract.refresh": "{mode: full, schedule: daily}",
    "SourceContract.volume": "{min_rows: 1000}",
    "SourceContract.tags": "[交通, gps]",
    "SourceContract.description": "每日导出的出租车GPS轨迹",
    "path": "exports/gps_*.txt.gz",
    "CsvConnector.encoding": "gbk",
    "CsvConnector.delimiter": "'\\t'",
    "CsvConnector.skip_rows": "2",
    "CsvConnector.column_names": "[plate, time, lon, lat]",
    "XlsxConnector.sheet": "汇总表",
    "JsonConnector.records_path": "data.items",
    "SqlConnector.url": "postgresql://reader@db.gov.local/tax",
    "SqlConnector.password_env": "TAX_DB_PASSWORD",
    "HttpConnector.url": "https://api.dept.gov.local/v1/records",
    "HttpConnector.params": "{updated_since: '{watermark}'}",
    "HttpConnector.watermark_param": "updated_since",
    "HttpConnector.records_path": "data.list",
    "HttpConnector.auth_header_env": "DEPT_API_TOKEN",
    "MqttConnector.topic": "city/air/#",
    "NgsiLdConnector.url": "http://broker:1026",
    "NgsiLdConnector.entity_type": "AirQualityObserved",
    "Mapping.ignore": "[备注, 操作员]",
    "Mapping.keep_unmapped": "true",
    "Mapping.null_values": "['', NA, N/A, '-', 无]",
    "Mapping.from_filename": "{pattern: '(?P<community>.+?)_第'}",
    "Mapping.coords": "[{lon: lon, lat: lat, from: gcj02}]",
    "ColumnMapping.source": "GPS时间",
    "ColumnMapping.alternates": "[定位时间]",
    "ColumnMapping.target": "ts",
    "ColumnMapping.type": "timestamp",
    "ColumnMapping.epoch": "ms",
    "ColumnMapping.utc_offset": "'+08:00'",
    "ColumnMapping.source_offset": "'+00:00'",
    "ColumnMapping.combine": "{year: year, month: month, day: day, hour: hour}",
    "ColumnMapping.default_year": "2024",
    "ColumnMapping.year_from": "报告期",
    "ColumnMapping.formats": "['%Y/%m/%d %H:%M:%S', '%Y年%m月%d日']",
    "ColumnMapping.part": "{sep: ',', index: 0, count: 2}",
    "ColumnMapping.codes": "{'1': active, '0': closed}",
    "ColumnMapping.unit": "{from: 万元, to: 元}",
    "ColumnMapping.thousands": "','",
    "ColumnMapping.min": "0",
    "ColumnMapping.max": "1000",
    "ColumnMapping.pattern": "'[A-Z]{2}\\d{6}'",
    "ColumnMapping.keep_original": "true",
    "Part.sep": "','",
    "Part.index": "0",
    "Part.count": "2",
    "UnitConversion.from": "万元",
    "UnitConversion.to": "元",
    "UnitConversion.factor": "10000",
    "FromFilename.pattern": "'(?P<community>.+?)_第(?P<round>\\d+)轮'",
    "FromFilename.types": "{round: int64}",
    "Coords.lon": "lon",
    "Coords.lat": "lat",
    "PiiField.column": "holder_phone",
    "Refresh.watermark": "updated_at",
    "Refresh.schedule": "hourly",
    "Volume.min_rows": "100",
    "Volume.max_rows": "5000000",
}


def _schema_type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return json.dumps(prop["const"], ensure_ascii=False)
    if "enum" in prop:
        return " | ".join(json.dumps(v, ensure_ascii=False) for v in prop["enum"])
    if "anyOf" in prop:
        kinds = [_schema_type(p) for p in prop["anyOf"] if p.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    if "$ref" in prop:
        return "mapping"
    kind = prop.get("type", "object" if "oneOf" in prop or "discriminator" in prop else "any")
    if kind == "array":
        return f"list of {_schema_type(prop.get('items', {}))}"
    if kind == "object":
        return "mapping"
    return {"integer": "int", "number": "number", "boolean": "bool", "string": "text"}.get(
        kind, str(kind)
    )


def _default(field: Any) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(see below)"
    if value is None or value in ({}, []):
        return "—"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _keys_table(model: type[BaseModel]) -> list[str]:
    props = model.model_json_schema(by_alias=True).get("properties", {})
    rows = ["| key | type | default | meaning | example |", "|---|---|---|---|---|"]
    for name, field in model.model_fields.items():
        key = field.alias or name
        ref = f"{model.__name__}.{key}"
        meaning = field.description or MEANING.get(ref) or MEANING.get(key, "")
        example = EXAMPLE.get(ref) or EXAMPLE.get(key)
        prop = props.get(key, {})
        if example is None:
            example = _default(field).strip("`") if "enum" not in prop else str(prop["enum"][0])
        rows.append(
            f"| `{key}` | {_cell(_schema_type(prop))} | {_cell(_default(field))} | "
            f"{_cell(meaning)} | `{_cell(example)}` |"
        )
    return rows


def _std_tables() -> list[str]:
    out = [
        "Each contract names one table with `standard:`; its targets are that table's columns. "
        f"Every std row also carries {', '.join(f'`{c}`' for c in LINEAGE_COLUMNS)} and "
        f"`{FLAGS_COLUMN}` (what standardisation found wrong, per column; a row is never "
        "dropped for it). A target the table does not have lands in the raw zone only — "
        "`source check` says so.",
        "",
    ]
    for table in STD_TABLES.values():
        out += [f"### `{table.name}` — {table.zh} / {table.en}", "",
                f"What a row is about: {table.subject}.", "",
                "| column | type | role | 中文 |", "|---|---|---|---|"]  # fmt: skip
        for c in table.columns:
            out.append(f"| `{c.name}` | {c.type} | {c.role or ''} | {c.zh} |")
        out.append("")
    return out


VALIDATORS = (
    ("id_number", "resident ID, GB 11643: 18 characters, province, birth date, check digit",
     "bad_format, bad_region, bad_birth_date, bad_check_digit"),
    ("uscc", "unified social credit code, GB 32100: 18 characters and check digit",
     "bad_format, bad_check_digit"),
    ("phone", "mainland mobile or landline with area code; written forms normalised "
     "(+86, spaces, dashes, 转 extension)", "bad_phone"),
    ("plate", "vehicle plate, GA 36: province, office letter, five or six characters "
     "(川A·12345 accepted; 001 is not a plate)", "bad_plate"),
    ("lon / lat", "inside the city's box (workspace config)", "outside_city"),
    ("period", "YYYY-MM", "bad_format"),
    ("code", "on the column's code list, when the workspace has one", "unknown_code"),
    ("date / timestamp columns", "between 1900 and 2100; a delivered text that did not parse",
     "out_of_range, unparsed"),
    ("address", "matched to the standard address base", "(address match level)"),
    ("record_key", "unique within the source", "record_key:duplicate"),
)  # fmt: skip


def _validators() -> list[str]:
    out = ["Standardisation checks each std column by its role and writes failures to "
           f"`{FLAGS_COLUMN}` as `<column>:<reason>`; the quality score counts them as invalid.",
           "", "| role | checked as | reasons |", "|---|---|---|"]  # fmt: skip
    out += [f"| `{role}` | {what} | {reasons} |" for role, what, reasons in VALIDATORS]
    return [*out, ""]


def _units() -> list[str]:
    out = ["`unit: {from: 万元, to: 元}` multiplies by the built-in factor; any other pair needs "
           "`factor`. Units convert only within a family:", "",
           "| family | units (factor to the first) |", "|---|---|"]  # fmt: skip
    for family in unit_families():
        first = next(iter(family))
        units = ", ".join(f"`{u}` ×{factor:g}" for u, factor in family.items())
        out.append(f"| {first} | {units} |")
    return [*out, ""]


def _times() -> list[str]:
    zones = ", ".join(f"`{k}`" for k in ("UTC", "GMT", "Z", "+00:00", "+0800", "UTC+8"))
    parts = "; ".join(
        f"{part}: {', '.join(sorted(f'`{n}`' for n in names))}"
        for part, names in TIME_PART_NAMES.items()
    )
    iso = ", ".join(f"`{f}`" for f in ISO_FORMATS)
    return [
        "Timestamps land as **Beijing time** (UTC+8), without a zone, unless a contract says "
        "otherwise.",
        "",
        f"- **Text times**: `formats` are tried in order, then {iso}. A format that writes no "
        "year needs `default_year` or `year_from` (otherwise it would land in 1900). An "
        "impossible date (2024-02-30) is quarantined, never rolled into March.",
        "- **Text times in another zone**: `source_offset` names the zone the export writes "
        f"(accepted: {zones}); times are moved to `utc_offset` (default `+08:00`). A format "
        "with `%z` reads the offset written in each value.",
        "- **Unix times**: `epoch: s | ms | us`; they are UTC and land at `utc_offset` "
        "(`'+08:00'` for Beijing time; without it, UTC).",
        "- **A time over several columns**: `combine: {year: …, month: …, day: …, hour: …}` "
        "(also `minute`, `second`; `source` may be left out). A row with some parts and not "
        "others is quarantined as `bad_timestamp`. `source new` finds such columns by name "
        f"({parts}).",
        "- **A date column and a time-of-day column** (`日期` 2024/03/05, `时间` 07:00:00; GPS "
        "loggers write their fixes so): `combine: {date: 日期, time: 时间}` joins them with a "
        "space, read by `formats` (`['%Y/%m/%d %H:%M:%S']`). `source new` proposes it when a "
        "date column is followed by a time-of-day column.",
        "- **Periods** (`type: period`): `202301`, `2023年1月`, `2023-1` land as `2023-01`.",
        "- The delivered text of a date or time also lands as `<target>__src` (`keep_original`).",
        "",
    ]


def _nulls() -> list[str]:
    reasons = sorted({*BAD.values(), "missing_key", "missing", "out_of_range", "bad_format",
                      "unknown_code", "bad_split", "bad_filename"})  # fmt: skip
    return [
        "Values are trimmed (`trim`), then any value listed in `null_values` lands as null. The "
        "default list is `['', 'NULL', 'null', '\\N']`; add the export's own markers. "
        "`source new` looks for these in the sample: "
        + ", ".join(f"`{m}`" if m else "`''`" for m in NULL_MARKERS)
        + ".",
        "",
        "A null is not an error unless the column is a key (`keys`) or `required`. A value "
        "that is there but does not parse is: its row goes to the quarantine zone with a "
        "reason `<reason>:<delivered column>`, and the counts of read, landed and quarantined "
        "rows reconcile. Reasons: " + ", ".join(f"`{r}`" for r in reasons) + "; from the "
        "connector: `undecodable_bytes`, `bad_field_count`, `unterminated_quote`, `bad_json`.",
        "",
        f"Booleans read {', '.join(TRUE)} as true and {', '.join(FALSE)} as false.",
        "",
    ]


EXAMPLES: tuple[tuple[str, str, str], ...] = (
    (
        "A taxi company's GPS trace: gzip, GBK, tab-separated, times in GMT",
        "车牌号码\tGPS时间\t经度\t纬度\t速度\t方向\t状态\n"
        "川AD1234\t2024-02-29 15:00:00\t104.061234\t30.571234\t32.5\t270\t重车\n",
        """\
# yaml-language-server: $schema=source-contract.schema.json
id: taxi_gps
name: 出租车定位系统
owner: 市交通运输局
connector:
  kind: csv
  path: exports/taxi_gps_*.txt.gz   # gzip is read as it is
  encoding: gb18030
  delimiter: "\\t"
standard: vehicle_ping
mapping:
  ignore: [状态]
  columns:
    - {source: 车牌号码, target: plate}
    - source: GPS时间
      target: ts
      type: timestamp
      formats: ["%Y-%m-%d %H:%M:%S"]
      source_offset: "+00:00"         # GMT: 15:00 lands as 23:00 Beijing time
    - {source: 经度, target: lon, type: float64}
    - {source: 纬度, target: lat, type: float64}
    - {source: 速度, target: speed, type: float64, min: 0}
    - {source: 方向, target: heading, type: float64}
pii: [{column: plate, kind: plate, sensitivity: medium}]
refresh: {mode: full, schedule: daily}
""",
    ),
    (
        "An hourly air-quality export: `NA` for a missing reading, the time over four columns",
        "No,year,month,day,hour,PM2.5,PM10,SO2,NO2,O3,CO,station\n"
        "1,2013,3,1,0,4,4,4,7,77,300,Dongsi\n"
        "2,2013,3,1,1,NA,8,4,7,NA,300,Dongsi\n",
        """\
# yaml-language-server: $schema=source-contract.schema.json
id: air_quality
name: 空气质量自动监测
owner: 市生态环境局
connector: {kind: csv, path: exports/PRSA_Data_*.csv}
standard: sensor_reading
mapping:
  null_values: ["", "NA"]
  columns:
    - target: observed_at
      type: timestamp
      combine: {year: year, month: month, day: day, hour: hour}
    - {source: "No", target: message_id}
    - {source: station, target: sensor_id}
    - {source: PM2.5, target: pm25, type: float64, min: 0}
    - {source: PM10, target: pm10, type: float64, min: 0}
    - {source: SO2, target: so2, type: float64}
    - {source: NO2, target: no2, type: float64}
    - {source: O3, target: o3, type: float64}
    - {source: CO, target: co, type: float64}
keys: [message_id]
refresh: {mode: full, schedule: hourly}
""",
    ),
    (
        "A company list: free-text addresses, empty cells, a column kept as delivered",
        "企业名称,统一社会信用代码,法定代表人,成立日期,注册资本(万元),住所,经营范围,联系电话\n"
        "成都天府第1科技有限公司,91510100MA6C000001,王某1,2011/2/2,100,"
        '高新区益州大道中段555号星辰国际大厦B座12楼1203,"软件开发；技术服务",\n',
        """\
# yaml-language-server: $schema=source-contract.schema.json
id: companies
name: 市场主体名录
owner: 市市场监督管理局
connector: {kind: csv, path: exports/企业名录.csv}   # UTF-8 with BOM is detected
standard: enterprise_registration
mapping:
  keep_unmapped: true        # 经营范围 and 联系电话 land as delivered, in the raw zone
  columns:
    - {source: 企业名称, target: name, required: true}
    - {source: 统一社会信用代码, target: uscc}
    - {source: 法定代表人, target: legal_rep_name}
    - {source: 成立日期, target: established_date, type: date, formats: ["%Y/%m/%d"]}
    - {source: 注册资本(万元), target: registered_capital, type: float64}
    - {source: 住所, target: address}    # matched to the address base by standardise
pii: [{column: legal_rep_name, kind: name, sensitivity: medium}]
""",
    ),
)


def _examples() -> list[str]:
    out: list[str] = []
    for i, (title, sample, contract) in enumerate(EXAMPLES, 1):
        out += [f"### {i}. {title}", "", "The export (first lines):", "", "```text",
                sample.rstrip("\n").replace("\t", "    "), "```", "", "The contract:", "",
                "```yaml", contract.rstrip("\n"), "```", ""]  # fmt: skip
    return out


def sections() -> list[tuple[str, type[BaseModel], str]]:
    """SECTIONS, then any other part of the contract model (so a new one is documented too)."""
    listed = {model for _, model, _ in SECTIONS}
    extra = [
        value
        for name, value in vars(cm).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and value not in listed
        and value.__module__ == cm.__name__ and not name.startswith("_") and value.model_fields
    ]  # fmt: skip
    return [*SECTIONS, *((model.__name__, model, "nested") for model in extra)]


def render_guide() -> str:
    """The whole page, as ``docs/contracts.md`` holds it."""
    lines = [
        "# Writing a source contract (数据源契约)",
        "",
        "<!-- Generated by `citybrain source guide` from the code (contract model, stdmodel, "
        "validators, units). Do not edit by hand; tests/cli/test_guide.py keeps it current. -->",
        "",
        "A source contract is one YAML file in `<workspace>/sources/` describing one department "
        "system: where its data comes from (`connector`), which standard table it feeds "
        "(`standard`), how its columns map onto that table (`mapping`), which columns identify a "
        "record (`keys`) and hold personal information (`pii`). Adding a system is writing one.",
        "",
        "## From an export to landed rows",
        "",
        "1. `citybrain -w ./ws source new taxi_gps --from exports/gps_20240301.txt.gz` drafts "
        "`sources/taxi_gps.yaml`: compression, encoding, delimiter, header, column types, null "
        "markers and a proposed mapping onto the standard table the columns match best (by "
        "Chinese, English and pinyin names and by value shape). Columns it could not map are "
        "listed in the draft.",
        "2. Edit the draft with the keys below: confirm each mapping, say the zone of text times "
        "(`source_offset`), decide for each unmapped column (map it, `ignore` it, or "
        "`keep_unmapped: true`).",
        "3. `citybrain -w ./ws source check` checks each contract and a sample of its data: the "
        "file exists, every named column is in it, every delivered column is accounted for, each "
        "mapped column parses. One line per problem; exit code 1 if any.",
        "4. `citybrain -w ./ws ingest taxi_gps`, then `citybrain -w ./ws run`.",
        "",
        "## Completion in your editor",
        "",
        f"The contract's JSON Schema is published as [`{SCHEMA}`]({SCHEMA}) (next to this page); "
        "`source new` also writes it into `sources/`. A drafted contract starts with",
        "",
        "```yaml",
        f"# yaml-language-server: $schema={SCHEMA}",
        "```",
        "",
        "so editors using the YAML language server (VS Code's YAML extension, Neovim, …) complete "
        "and check every key as you type.",
        "",
        "## Keys",
        "",
        "Secrets never go in a contract: a key ending in `_env` names an environment variable. "
        "Unknown keys are errors (a typo is never silently ignored).",
        "",
    ]
    for heading, model, where in sections():
        lines += [f"### {heading}", "", f"Where: {where}.", "", *_keys_table(model), ""]
    lines += ["## Time handling", "", *_times()]
    lines += ["## Nulls, bad values and quarantine", "", *_nulls()]
    lines += ["## Unit conversions", "", *_units()]
    lines += ["## Validators (standardise)", "", *_validators()]
    lines += ["## Worked examples", "", *_examples()]
    lines += ["## Standard tables", "", *_std_tables()]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_guide(folder: Path) -> list[Path]:
    """Write ``contracts.md`` and the JSON Schema it links into ``folder`` (``docs/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    guide, schema = folder / GUIDE, folder / SCHEMA
    guide.write_text(render_guide(), encoding="utf-8")
    schema.write_text(render_contract_schema(), encoding="utf-8")
    return [guide, schema]
