"""Address validity with no address base loaded: "not checked", never 100 %."""

from __future__ import annotations

from citybrain.core.stdmodel import STD_TABLES, StdTable
from citybrain.govern.quality.assess import _dimensions
from citybrain.govern.quality.measures import field_quality, unchecked_columns
from citybrain.govern.quality.model import SourceQuality


class _Engine:
    def __init__(self, *tables: str) -> None:
        self.tables = set(tables)

    def exists(self, zone: str, name: str) -> bool:
        return f"{zone}.{name}" in self.tables


def _with_address() -> StdTable:
    return next(t for t in STD_TABLES.values() if any(c.role == "address" for c in t.columns))


def test_the_address_column_is_unchecked_without_an_address_base() -> None:
    std = _with_address()
    address = next(c.name for c in std.columns if c.role == "address")
    assert unchecked_columns(_Engine(), std) == {address}  # type: ignore[arg-type]
    loaded = _Engine("std.standard_address")
    assert unchecked_columns(loaded, std) == frozenset()  # type: ignore[arg-type]


def test_an_unchecked_field_says_so_and_stays_out_of_validity() -> None:
    filled = {"_rows": 10, "address": 10, "name": 10}
    flags = {"name": 5}
    fields = field_quality(["address", "name"], filled, flags, frozenset({"address"}))
    source = SourceQuality("s", "t", "o", 10, fields=fields)
    shown = {f["column"]: f for f in source.to_dict()["fields"]}
    assert shown["address"]["validity"] is None and shown["address"]["checked"] is False
    assert shown["name"]["validity"] == 0.5
    assert _dimensions(fields, 10, None)["validity"] == 0.5  # not (1.0 + 0.5) / 2
    only = field_quality(["address"], filled, {}, frozenset({"address"}))
    assert "validity" not in _dimensions(only, 10, None)
