"""A test-only adapter: a synthetic city's delivered files as std-shaped Arrow tables.

The std stage is not built yet; this reads the few systems identity resolution needs, renames
their columns to the standard model's names and adds the lineage columns (``source_system``,
``load_id``, ``source_row``, ``quality_flags``). It does no validation: the pipeline must cope
with the dirt. Evaluation helpers compare clusters with the city's ``truth/``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow as pa

# system -> (std table, reader kind, glob, options, {source column: std column})
_SYSTEMS: dict[str, tuple[str, str, str, dict[str, str], dict[str, str]]] = {
    "police_household": ("person_registration", "csv", "police_household/户籍人口.csv",
        {"encoding": "gb18030"},
        {"记录号": "record_id", "户号": "household_id", "姓名": "name", "性别": "gender",
         "出生日期": "birth_date", "公民身份号码": "id_number", "户籍地址": "address",
         "联系电话": "phone"}),
    "police_residence_permit": ("residence_permit", "sqlite", "police_residence_permit/police.db",
        {"table": "JZZ_XX"},
        {"JZZBH": "permit_id", "XM": "name", "XB": "gender", "ZJHM": "id_number",
         "JZDZ": "address", "QFRQ": "issued_date", "LXDH": "phone"}),
    "power_grid": ("utility_reading", "parquet", "power_grid/consumption_*.parquet", {},
        {"record_id": "reading_id", "cons_no": "account_id", "cons_name": "holder_name",
         "mobile": "holder_phone", "elec_addr": "address", "ym": "period"}),
    "water_utility": ("utility_reading", "csv", "water_utility/YS_*.csv", {"encoding": "utf-8"},
        {"LSH": "reading_id", "HH": "account_id", "HM": "holder_name", "LXDH": "holder_phone",
         "YSDZ": "address", "ZQ": "period"}),
    "gas_utility": ("utility_reading", "csv", "gas_utility/用气量_*.csv", {"encoding": "gbk"},
        {"流水号": "reading_id", "用户编号": "account_id", "用户名称": "holder_name",
         "证件号码": "holder_id_number", "用气地址": "address", "账期": "period"}),
    "parcel_express": ("delivery", "csv", "parcel_express/express_*.csv",
        {"encoding": "utf-8", "sep": "|"},
        {"统计ID": "stat_id", "统计月份": "period", "收件人": "recipient_name",
         "收件电话": "recipient_phone", "收件地址": "address"}),
    "hotline_12345": ("complaint", "xlsx", "hotline_12345/12345工单_*.xlsx", {"sheet": "工单明细"},
        {"工单编号": "ticket_id", "来电时间": "received_at", "事发地址": "address",
         "来电人": "caller_name", "联系电话": "caller_phone"}),
    "transport_arrivals": ("arrival", "parquet", "transport_arrivals/data/arrivals_*.parquet", {},
        {"recordId": "record_id", "travellerName": "name", "idNo": "id_number",
         "mobile": "phone", "arrivalTime": "arrived_at"}),
    "health_tests": ("test_record", "sqlite", "health_tests/health.db", {"table": "HS_JCJL"},
        {"JCBH": "test_id", "XM": "name", "SFZH": "id_number", "LXDH": "phone",
         "CYSJ": "sampled_at"}),
    "market_registry": ("enterprise_registration", "csv", "market_registry/企业登记信息.csv",
        {"encoding": "gb18030"},
        {"登记序号": "registration_id", "统一社会信用代码": "uscc", "企业名称": "name",
         "法定代表人": "legal_rep_name", "法定代表人证件号码": "legal_rep_id_number",
         "成立日期": "established_date", "行业代码": "industry_code", "住所": "address"}),
    "tax_declarations": ("tax_declaration", "parquet", "tax_declarations/sb_*.parquet", {},
        {"SBXH": "declaration_id", "NSRSBH": "uscc", "NSRMC": "name", "SSQ": "period"}),
    "social_security": ("social_security", "csv", "social_security/参保单位_*.csv",
        {"encoding": "utf-8-sig"},
        {"流水号": "record_id", "单位编号": "employer_id", "单位名称": "name",
         "统一社会信用代码": "uscc", "费款所属期": "period"}),
    "court_dishonest": ("dishonest_judgment", "jsonl", "court_dishonest/*.jsonl", {},
        {"case_code": "case_code", "iname": "name", "type": "subject_kind",
         "cardnum": "identifier", "reg_date": "registered_date"}),
    "admin_penalties": ("penalty", "xlsx", "admin_penalties/*.xlsx", {"sheet": "处罚信息"},
        {"决定书文号": "decision_no", "相对人名称": "name", "统一社会信用代码": "uscc",
         "法定代表人": "legal_rep_name", "处罚决定日期": "decided_date"}),
    "credit_commitments": ("commitment", "csv", "credit_commitments/信用承诺.csv",
        {"encoding": "gb18030"},
        {"承诺编号": "commitment_id", "承诺主体名称": "name", "统一社会信用代码": "uscc",
         "承诺日期": "committed_date"}),
    "muck_transport_permits": ("transport_permit", "csv", "muck_transport_permits/渣土运输核准.csv",
        {"encoding": "gbk"},
        {"核准证号": "permit_no", "车牌号码": "plate", "运输企业": "company",
         "统一社会信用代码": "uscc", "有效期起": "valid_from"}),
    "muck_truck_gps": ("vehicle_ping", "parquet", "muck_truck_gps/gps_*.parquet", {},
        {"gps_id": "ping_id", "vehicle_no": "plate", "gps_time": "ts"}),
    "place_address_register": ("standard_address", "parquet",
        "place_address_register/standard_address.parquet", {}, {}),
}  # fmt: skip


def _read_csv(path: str, options: dict[str, str]) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype=str,
        sep=options.get("sep", ","),
        encoding=options.get("encoding", "utf-8"),
        encoding_errors="replace",
        on_bad_lines="skip",
        engine="python",
        keep_default_na=False,
        na_values=[""],
    )


def _read_xlsx(path: str, sheet: str, known: set[str]) -> pd.DataFrame:
    frame = pd.read_excel(path, sheet_name=sheet, header=None, dtype=str)
    for i in range(min(10, len(frame))):
        if known & {str(v) for v in frame.iloc[i]}:
            body = frame.iloc[i + 1 :].copy()
            body.columns = [str(v) for v in frame.iloc[i]]
            return body
    return frame


def _read(
    sim: Path, kind: str, pattern: str, options: dict[str, str], known: set[str]
) -> list[tuple[str, pd.DataFrame]]:
    out: list[tuple[str, pd.DataFrame]] = []
    for path in sorted(str(p) for p in sim.glob(pattern)):
        stem = Path(path).stem
        if kind == "csv":
            out.append((stem, _read_csv(path, options)))
        elif kind == "parquet":
            out.append(
                (stem, pd.read_parquet(path).astype(str).replace({"None": None, "nan": None}))
            )
        elif kind == "jsonl":
            out.append((stem, pd.read_json(path, lines=True, dtype=str)))
        elif kind == "xlsx":
            out.append((stem, _read_xlsx(path, options["sheet"], known)))
        elif kind == "sqlite":
            with sqlite3.connect(path) as con:
                frame = pd.read_sql(f'SELECT * FROM "{options["table"]}"', con)
            out.append((options["table"], frame.astype(str).replace({"None": None, "nan": None})))
    return out


def load_system(sim: Path, system: str) -> pa.Table:
    """One system's rows in its std table's column names, plus the lineage columns."""
    _table, kind, pattern, options, renames = _SYSTEMS[system]
    frames = []
    for load_id, frame in _read(sim, kind, pattern, options, set(renames)):
        if renames:
            frame = frame[[c for c in renames if c in frame.columns]].rename(columns=renames)
        frame = frame.astype(object).where(frame.notna(), None)
        frame = frame.reset_index(drop=True)
        frame["source_system"] = system
        frame["load_id"] = load_id
        frame["source_row"] = [f"{load_id}:{i}" for i in range(len(frame))]
        frame["quality_flags"] = None
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    return pa.Table.from_pandas(data.astype(str).where(data.notna(), None), preserve_index=False)


def load_std(sim: Path, systems: list[str] | None = None) -> dict[str, pa.Table]:
    """std table name -> Arrow table, systems of one std table concatenated."""
    by_table: dict[str, list[pa.Table]] = {}
    for system in systems or list(_SYSTEMS):
        by_table.setdefault(_SYSTEMS[system][0], []).append(load_system(sim, system))
    return {
        name: pa.concat_tables(parts, promote_options="default") for name, parts in by_table.items()
    }
