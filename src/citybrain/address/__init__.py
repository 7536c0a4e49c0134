"""Chinese address normalization and matching (地址库).

Public surface: `parse` / `parse_many` read addresses into components with GB/T 2260 codes,
`AddressParser` + `ParserConfig` set a city's default region, zones and gazetteer, and
`match` links parsed addresses to a standard address base.
"""

from citybrain.address.batch import parse_many
from citybrain.address.divisions import (
    DEFAULT_ZONES,
    Division,
    DivisionIndex,
    ZoneAlias,
    load_index,
)
from citybrain.address.model import COMPONENTS, ParsedAddress
from citybrain.address.parser import AddressParser, Gazetteer, ParserConfig, parse

__all__ = [
    "COMPONENTS",
    "DEFAULT_ZONES",
    "AddressBase",
    "AddressParser",
    "Division",
    "DivisionIndex",
    "Gazetteer",
    "MatchLevel",
    "MatchResult",
    "ParsedAddress",
    "ParserConfig",
    "ZoneAlias",
    "load_index",
    "parse",
    "parse_many",
]
