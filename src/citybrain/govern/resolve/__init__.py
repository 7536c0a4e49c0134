"""Identity resolution: persons and enterprises across department systems, with golden ids.

Public surface: `resolve` (a full run), `resolve_new` (link a new load against the stored
clusters), `Resolution`, and the table names in the base zone.
"""

from citybrain.govern.resolve.golden_ids import stability
from citybrain.govern.resolve.incremental import resolve_new
from citybrain.govern.resolve.pipeline import GOLDEN_COLUMN, Resolution, link_table, resolve
from citybrain.govern.resolve.records import Kind, RecordSpec

__all__ = [
    "GOLDEN_COLUMN",
    "Kind",
    "RecordSpec",
    "Resolution",
    "link_table",
    "resolve",
    "resolve_new",
    "stability",
]
