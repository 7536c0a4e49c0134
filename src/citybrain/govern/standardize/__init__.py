"""Standardisation (标准化): raw loads → std tables, typed, validated and flagged, never dropped.

The public surface::

    result = standardize_workspace(workspace)          # every std table a landed system feeds
    result.reconciled, result.rows()                   # raw = std + superseded, per source
    index = build_address_index(engine)                # the address base from std's register
    match_rates(engine)                                # per-source address match rates
"""

from citybrain.govern.standardize.addressbase import AddressIndex, build_address_index, city_bbox
from citybrain.govern.standardize.addresses import match_distinct
from citybrain.govern.standardize.flags import Rules
from citybrain.govern.standardize.pipeline import standardize_all, standardize_table, std_columns
from citybrain.govern.standardize.report import MatchRate, MatchRateReport, match_rates
from citybrain.govern.standardize.results import SourceCount, StandardizeResult, TableResult
from citybrain.govern.standardize.sources import RawSource, raw_sources
from citybrain.govern.standardize.workspace import standardize_workspace, workspace_sources

__all__ = [
    "AddressIndex",
    "MatchRate",
    "MatchRateReport",
    "RawSource",
    "Rules",
    "SourceCount",
    "StandardizeResult",
    "TableResult",
    "build_address_index",
    "city_bbox",
    "match_distinct",
    "match_rates",
    "raw_sources",
    "standardize_all",
    "standardize_table",
    "standardize_workspace",
    "std_columns",
    "workspace_sources",
]
