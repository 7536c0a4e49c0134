"""The catalog: every dataset of every zone, its schema, owner, sensitivity, size over time,
freshness and lineage, plus the load and pipeline runs that made them.

One Python API for the CLI, the API and the web app::

    catalog = Catalog.open(workspace.ops_db_url)  # or `with Catalog.open(…) as catalog:`, closed
    catalog.register_dataset(DatasetSpec(zone="raw", name="hukou.persons", system_id="hukou", ...))
    catalog.record_stats("raw/hukou.persons", rows=12034, load_id=load.load_id)
    catalog.add_lineage("source/hukou.persons", "raw/hukou.persons", kind="ingest")
    catalog.headline().systems_connected
"""

from citybrain.core.catalog.api import Catalog, KeyLike, as_key, new_id
from citybrain.core.catalog.freshness import assess_freshness
from citybrain.core.catalog.types import (
    CATALOG_ZONES,
    ColumnInfo,
    Dataset,
    DatasetDetail,
    DatasetKey,
    DatasetNotFound,
    DatasetSpec,
    Freshness,
    FreshnessStatus,
    HeadlineFigures,
    LineageEdge,
    LineageGraph,
    LineageNode,
    LoadNotFound,
    LoadOutcome,
    LoadRunInfo,
    PiiField,
    PipelineRunInfo,
    PipelineStepInfo,
    PipelineStepOutcome,
    RunStatus,
    StatPoint,
    SystemSummary,
)

__all__ = [
    "CATALOG_ZONES",
    "Catalog",
    "ColumnInfo",
    "Dataset",
    "DatasetDetail",
    "DatasetKey",
    "DatasetNotFound",
    "DatasetSpec",
    "Freshness",
    "FreshnessStatus",
    "HeadlineFigures",
    "KeyLike",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "LoadNotFound",
    "LoadOutcome",
    "LoadRunInfo",
    "PiiField",
    "PipelineRunInfo",
    "PipelineStepInfo",
    "PipelineStepOutcome",
    "RunStatus",
    "StatPoint",
    "SystemSummary",
    "as_key",
    "assess_freshness",
    "new_id",
]
