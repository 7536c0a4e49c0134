"""Compressed exports (gzip, bz2, zip) read as if they were plain text."""

from __future__ import annotations

import bz2
import gzip
import json
import zipfile
from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import load_file
from citybrain.ingest.connectors.sniff import Delivered, detect_compression, read_sample
from ingest._helpers import WATER_HEADER, MakeContract, water_rows


def _text(rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in [WATER_HEADER, *rows]) + "\n").encode("gbk")


def _compress(path: Path, data: bytes, kind: str) -> Path:
    if kind == "gzip":
        path.write_bytes(gzip.compress(data))
    elif kind == "bz2":
        path.write_bytes(bz2.compress(data))
    else:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("__MACOSX/._water.txt", b"\x00\x05")
            archive.writestr("water.txt", data)
    return path


CASES = [
    ("gzip", "water.txt.gz"),
    ("bz2", "water.csv.bz2"),
    ("zip", "water.zip"),
    ("gzip", "water.csv"),
]


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_compressed_csv_lands_every_row(
    kind: str, name: str, workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    rows = water_rows(3000)
    path = _compress(source_dir / name, _text(rows), kind)
    assert detect_compression(path) == kind  # by content, even when the name says .csv
    contract = make_contract(f"kind: csv\npath: {name}")
    manifest = load_file(workspace.lake, contract, path, options=None)
    assert manifest.status == "completed", manifest.message
    assert manifest.rows_read == manifest.rows_landed == len(rows)
    assert manifest.encoding == "gb18030"


def test_small_chunks_of_a_gzip_file_keep_every_row(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    from citybrain.ingest import LoadOptions

    rows = water_rows(5000)
    path = _compress(source_dir / "water.txt.gz", _text(rows), "gzip")
    contract = make_contract("kind: csv\npath: water.txt.gz")
    options = LoadOptions(chunk_bytes=4096)
    manifest = load_file(workspace.lake, contract, path, options=options)
    assert manifest.rows_landed == len(rows), manifest.message


def test_truncated_gzip_fails_with_one_message(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    data = gzip.compress(_text(water_rows(20000)))
    path = source_dir / "water.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    contract = make_contract("kind: csv\npath: water.txt.gz")
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.status == "failed"
    assert "water.txt.gz" in (manifest.message or "")
    assert "Traceback" not in (manifest.message or "")


def test_zip_with_two_files_is_refused(source_dir: Path) -> None:
    path = source_dir / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", b"x\n1\n")
        archive.writestr("b.csv", b"x\n2\n")
    with pytest.raises(Exception, match="holds 2 files"):
        read_sample(path)


def test_plain_file_is_not_compressed(source_dir: Path) -> None:
    path = source_dir / "plain.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert detect_compression(path) is None
    with Delivered(path) as delivered:
        assert delivered.stream.read() == b"a,b\n1,2\n"


def test_gzip_json_lines(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    lines = [json.dumps({"户号": f"A{i}", "用水量": i}, ensure_ascii=False) for i in range(100)]
    path = source_dir / "water.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    contract = make_contract("kind: jsonl\npath: water.jsonl.gz", mapping="")
    manifest = load_file(workspace.lake, contract, path)
    assert manifest.status == "completed", manifest.message
    assert manifest.rows_landed == 100
