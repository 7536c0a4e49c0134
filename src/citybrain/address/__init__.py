"""Chinese address normalization and matching (地址库).

Public surface: `parse` / `parse_many` read addresses into components with GB/T 2260 codes,
`AddressParser` + `ParserConfig` set a city's default region, zones and gazetteer,
`AddressBase.match` links parsed addresses to a standard address base, and `explain` gives the CLI
one address's components and match as (component, value) rows; `rules_version` fingerprints the
rules so that cached matches are redone when they change.
"""

from citybrain.address.batch import parse_many
from citybrain.address.divisions import (
    DEFAULT_ZONES,
    Division,
    DivisionIndex,
    ZoneAlias,
    load_index,
)
from citybrain.address.explain import AddressExplanation, explain
from citybrain.address.match import AddressBase, MatchLevel, MatchResult
from citybrain.address.model import COMPONENTS, ParsedAddress
from citybrain.address.parser import AddressParser, Gazetteer, ParserConfig, parse
from citybrain.address.rules import rules_version

__all__ = [
    "COMPONENTS",
    "DEFAULT_ZONES",
    "AddressBase",
    "AddressExplanation",
    "AddressParser",
    "Division",
    "DivisionIndex",
    "Gazetteer",
    "MatchLevel",
    "MatchResult",
    "ParsedAddress",
    "ParserConfig",
    "ZoneAlias",
    "explain",
    "load_index",
    "parse",
    "parse_many",
    "rules_version",
]
