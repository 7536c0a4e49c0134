"""Identity resolution: persons and enterprises across department systems, with golden ids.

Public surface: `resolve` (a full run on std tables), `resolve_new` (link a new load against the
stored clusters), `resolve_records` (one Arrow table and a configuration, no workspace),
`Resolution`, the configuration (`ResolveConfig`, `KindConfig`, `load_resolve_config`) and the
table names in the base zone.
"""

from citybrain.govern.resolve.golden_ids import stability
from citybrain.govern.resolve.incremental import resolve_new
from citybrain.govern.resolve.pipeline import GOLDEN_COLUMN, Resolution, link_table, resolve
from citybrain.govern.resolve.records import Kind, RecordSpec
from citybrain.govern.resolve.settings import (
    DEFAULT_ENTERPRISE,
    DEFAULT_PERSON,
    KindConfig,
    ResolveConfig,
    kind_config,
    load_resolve_config,
)
from citybrain.govern.resolve.standalone import resolve_records

__all__ = [
    "DEFAULT_ENTERPRISE",
    "DEFAULT_PERSON",
    "GOLDEN_COLUMN",
    "Kind",
    "KindConfig",
    "RecordSpec",
    "Resolution",
    "ResolveConfig",
    "kind_config",
    "link_table",
    "load_resolve_config",
    "resolve",
    "resolve_new",
    "resolve_records",
    "stability",
]
