"""docs/contracts.md is written from the code: every key, every standard column, examples valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from citybrain.cli.guide import EXAMPLES, GUIDE, SCHEMA, render_guide, sections
from citybrain.core.stdmodel import STD_TABLES
from citybrain.ingest import check_text
from citybrain.ingest.schema import render_contract_schema
from citybrain.ingest.units import unit_families

DOCS = Path(__file__).parents[2] / "docs"
REGENERATE = "run: uv run citybrain source guide --out docs"


def test_committed_guide_is_what_the_code_writes_now() -> None:
    assert (DOCS / GUIDE).read_text(encoding="utf-8") == render_guide(), REGENERATE
    assert (DOCS / SCHEMA).read_text(encoding="utf-8") == render_contract_schema(), REGENERATE


def _section(page: str, heading: str) -> str:
    start = page.index(f"### {heading}\n")
    end = page.find("\n### ", start + 1)
    return page[start : end if end > 0 else len(page)]


@pytest.mark.parametrize(("heading", "model"), [(h, m) for h, m, _ in sections()])
def test_every_contract_key_is_on_the_page(heading: str, model: type) -> None:
    section = _section(render_guide(), heading)
    for name, field in model.model_fields.items():
        key = field.alias or name
        row = re.search(rf"^\| `{re.escape(key)}` \|(.*)$", section, re.MULTILINE)
        assert row is not None, f"{heading}: key {key!r} is not documented"
        cells = [c.strip() for c in row.group(1).split(" | ")]
        assert cells[2], f"{heading}: key {key!r} has no meaning"  # meaning column


def test_every_standard_table_and_column_is_on_the_page() -> None:
    page = render_guide()
    for table in STD_TABLES.values():
        section = _section(page, f"`{table.name}` — {table.zh} / {table.en}")
        for column in table.columns:
            assert f"| `{column.name}` | {column.type} |" in section, (table.name, column.name)


def test_units_time_and_null_handling_are_on_the_page() -> None:
    page = render_guide()
    for family in unit_families():
        for unit in family:
            assert f"`{unit}` ×" in page
    for word in ("source_offset", "utc_offset", "combine", "epoch", "null_values", "NA"):
        assert f"`{word}`" in page
    assert f"[`{SCHEMA}`]({SCHEMA})" in page
    assert "# yaml-language-server: $schema=" in page
    json.loads(render_contract_schema())


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_worked_examples_are_valid_contracts(index: int) -> None:
    _, _, text = EXAMPLES[index]
    result = check_text(text, f"example {index + 1}")
    assert result.passed, str(result)


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_worked_examples_read_their_export(index: int, tmp_path: Path) -> None:
    """Each worked example's contract, pointed at its export's lines, checks clean on the data."""
    import gzip

    from ruamel.yaml import YAML

    from citybrain.ingest import check_contract
    from citybrain.ingest.datacheck import check_data

    _, sample, text = EXAMPLES[index]
    connector = YAML(typ="safe").load(text)["connector"]
    data = tmp_path / connector["path"].replace("*", "20240301")
    data.parent.mkdir(parents=True, exist_ok=True)
    raw = sample.encode(connector.get("encoding", "utf-8").replace("gb18030", "gbk"))
    data.write_bytes(gzip.compress(raw) if data.name.endswith(".gz") else raw)
    contract_file = tmp_path / "example.yaml"
    contract_file.write_text(text, encoding="utf-8")
    result = check_contract(contract_file)
    assert result.contract is not None, str(result)
    checked = check_data(result.contract, str(contract_file))
    assert checked.problems == [], [str(p) for p in checked.problems]
    assert checked.sample_rows == sample.count("\n") - 1
