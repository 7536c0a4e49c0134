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
