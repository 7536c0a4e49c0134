"""XLSX, JSON Lines, JSON documents and Parquet connectors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl import Workbook

from citybrain.core.workspace import Workspace
from citybrain.ingest import load_file
from citybrain.ingest.connectors import open_file
from citybrain.ingest.load import file_checksum
from ingest._helpers import WATER_HEADER, MakeContract, water_rows


def test_xlsx_skips_title_rows_above_the_header(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["高新区自来水收费明细"])
    sheet.append(["制表单位：市水务集团", None, "日期：2024-03-01"])
    sheet.append([])
    sheet.append(WATER_HEADER)
    sheet.append(["A1", "张三", datetime(2024, 1, 5), 12.5, 1])
    sheet.append(["A2", "李四", "2024/13/01", 3, 0])
    sheet.append([None, None, None, None, None])
    sheet.append(["A3", "王五", "2024/02/01", 7, 1, "多出来的一格"])
    path = source_dir / "water.xlsx"
    book.save(path)
    contract = make_contract("kind: xlsx\npath: water.xlsx")
    reader = open_file(contract, path)
    assert reader.columns == WATER_HEADER
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.status == "completed", manifest.message
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (3, 1, 2)
    assert manifest.quarantined_by_reason == {"bad_date:收费日期": 1, "bad_field_count:6/5": 1}


def test_xlsx_damaged_fails_with_one_message(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = source_dir / "water.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    manifest = load_file(workspace.lake, make_contract("kind: xlsx\npath: water.xlsx"), path)
    assert manifest.status == "failed"
    assert (
        manifest.message is not None
        and str(path) in manifest.message
        and "xlsx" in manifest.message
    )
    # hashed beside the load, the input is still named by its checksum in the failed manifest
    assert manifest.input_checksum == file_checksum(path)


def _jsonl(rows: list[list[str]]) -> list[str]:
    return [json.dumps(dict(zip(WATER_HEADER, r, strict=True)), ensure_ascii=False) for r in rows]


def test_jsonl_malformed_line_is_quarantined_with_its_line(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    lines = _jsonl(water_rows(5))
    lines.insert(2, '{"户号": "A9", "户主姓名": broken')
    lines.insert(4, "")
    lines.insert(5, "[1, 2]")
    path = source_dir / "water.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = load_file(workspace.lake, make_contract("kind: jsonl\npath: water.jsonl"), path)
    assert manifest.status == "completed", manifest.message
    assert (manifest.rows_read, manifest.rows_landed) == (7, 5)
    assert set(manifest.quarantined_by_reason) == {"bad_json:Expecting value", "not_an_object"}
    part = next((workspace.lake / "quarantine" / "water_billing").glob("load_id=*/*.parquet"))
    bad = pq.read_table(part).to_pylist()
    assert [(r["_row"], r["_line"]) for r in bad] == [(3, 3), (5, 6)]


def test_jsonl_chunks_and_numbers(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    records = [
        {
            "户号": f"A{i}",
            "户主姓名": f"住户{i}",
            "收费日期": "2024/01/02",
            "用水量": i + 0.5,
            "状态": i % 2,
        }
        for i in range(3000)
    ]
    path = source_dir / "water.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8"
    )
    contract = make_contract("kind: jsonl\npath: water.jsonl")
    reader = open_file(contract, path, chunk_bytes=16 * 1024)
    assert len(list(reader.chunks())) > 5
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.rows_landed == 3000 and manifest.rows_quarantined == 0


def test_json_document_with_records_path(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    document = {
        "code": 0,
        "data": {"items": [dict(zip(WATER_HEADER, r, strict=True)) for r in water_rows(4)]},
    }
    path = source_dir / "water.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    contract = make_contract("kind: json\npath: water.json\nrecords_path: data.items")
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.rows_landed == 4


def test_parquet_keeps_types_and_casts(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    table = pa.table(
        {
            "户号": ["A1", "A2", "A3"],
            "户主姓名": ["张三", "李四", None],
            "收费日期": ["2024/01/02", "garbage", "2024/01/03"],
            "用水量": pa.array([1.5, 2.0, None]),
            "状态": pa.array([1, 0, 1], pa.int32()),
        }
    )
    path = source_dir / "water.parquet"
    pq.write_table(table, path)
    manifest = load_file(workspace.lake, make_contract("kind: parquet\npath: water.parquet"), path)
    assert (manifest.rows_landed, manifest.rows_quarantined) == (2, 1)
    assert manifest.quarantined_by_reason == {"bad_date:收费日期": 1}


def test_damaged_parquet_fails_with_one_message(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    path = source_dir / "water.parquet"
    path.write_bytes(b"PAR1 garbage")
    manifest = load_file(workspace.lake, make_contract("kind: parquet\npath: water.parquet"), path)
    assert manifest.status == "failed"
    assert manifest.message is not None and "Parquet" in manifest.message
