"""The published JSON Schema of source contracts, committed next to this file."""

from __future__ import annotations

import json
from pathlib import Path

from citybrain.ingest.contract import contract_json_schema

SCHEMA_PATH = Path(__file__).with_name("source-contract.schema.json")
EXAMPLE_PATH = Path(__file__).with_name("example-contract.yaml")


def render_contract_schema() -> str:
    return json.dumps(contract_json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_contract_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the JSON Schema (after changing the contract model; a test checks it is current)."""
    path.write_text(render_contract_schema(), encoding="utf-8")
    return path
