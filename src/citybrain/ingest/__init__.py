"""Ingest (数据归集): source contracts, file connectors, the raw zone — every row accounted for.

The public surface::

    result = check_contract(Path("sources/water.yaml"))  # CheckResult: every problem, with lines
    sources = discover_sources(workspace)
    summary = ingest_sources(workspace, sources, recorder=recorder_for(workspace))
    summary.exit_code, summary.rows()                          # a table for the CLI
"""

from __future__ import annotations

from citybrain.core.workspace import Workspace
from citybrain.ingest.check import (
    CheckResult,
    ContractError,
    Problem,
    check_contract,
    check_text,
    load_contract,
)
from citybrain.ingest.connectors import SourceUnreadable
from citybrain.ingest.contract import SourceContract, contract_json_schema
from citybrain.ingest.load import LoadOptions, ProgressEvent, load_file
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.runner import (
    IngestSummary,
    LoadRecorder,
    SourceResult,
    discover_sources,
    ingest_sources,
    load_source,
)
from citybrain.ingest.schema import SCHEMA_PATH, write_contract_schema

__all__ = [
    "SCHEMA_PATH",
    "CheckResult",
    "ContractError",
    "IngestSummary",
    "LoadOptions",
    "LoadRecorder",
    "Manifest",
    "Problem",
    "ProgressEvent",
    "RawZone",
    "SourceContract",
    "SourceResult",
    "SourceUnreadable",
    "check_contract",
    "check_text",
    "contract_json_schema",
    "discover_sources",
    "ingest_sources",
    "load_contract",
    "load_file",
    "load_source",
    "recorder_for",
    "write_contract_schema",
]


def recorder_for(workspace: Workspace) -> LoadRecorder:
    """The catalog recorder of a workspace (imported lazily: it opens the ops database)."""
    from citybrain.ingest.catalog import CatalogRecorder

    return CatalogRecorder.for_workspace(workspace)
