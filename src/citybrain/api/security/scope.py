"""Area scope: which streets, communities and grids a user's data is limited to.

A scope is written as ``street:S1,community:C3,grid:G2``. A street office's clerk holds
``street:<its street>`` and sees the cases and subjects located in that street (every grid of it);
a grid worker holds ``grid:<grid>``. Roles in ``AREA_BOUND_ROLES`` with no scope see no area at all;
other roles with no scope see the whole city.

Handlers receive a ``Scope`` through ``Depends(get_scope)`` and filter with it: ``where(...)`` for
SQLAlchemy queries, ``mask(...)`` for Arrow tables, ``allows(...)`` for one subject.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, false, or_, true

from citybrain.api.security.roles import AREA_BOUND_ROLES, Role

LEVELS = ("street", "community", "grid")
_AREA_ID = re.compile(r"^[\w\-.]{1,64}$")


class ScopeError(ValueError):
    """A scope string that cannot be read; the message names the bad item."""


def parse_scope(text: str | Iterable[str] | None) -> list[str]:
    """``"street:S1, grid:G2"`` (or a list of items) → ``["street:S1", "grid:G2"]``, validated."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        level, sep, area = item.partition(":")
        if not sep or level not in LEVELS:
            raise ScopeError(
                f"scope item {item!r}: write level:id, level one of {', '.join(LEVELS)}"
            )
        if not _AREA_ID.match(area) or ".." in area:
            raise ScopeError(f"scope item {item!r}: an area id is letters, digits, - _ . only")
        if item not in out:
            out.append(item)
    return out


@dataclass(frozen=True)
class Scope:
    """The areas and department a principal's data is limited to; ``citywide``: no area limit."""

    citywide: bool
    streets: frozenset[str] = frozenset()
    communities: frozenset[str] = frozenset()
    grids: frozenset[str] = frozenset()
    department: str | None = None

    @classmethod
    def for_user(cls, role: Role, items: Iterable[str], department: str | None = None) -> Scope:
        parsed = parse_scope(list(items))
        by_level: dict[str, set[str]] = {level: set() for level in LEVELS}
        for item in parsed:
            level, _, area = item.partition(":")
            by_level[level].add(area)
        return cls(
            citywide=not parsed and role not in AREA_BOUND_ROLES,
            streets=frozenset(by_level["street"]),
            communities=frozenset(by_level["community"]),
            grids=frozenset(by_level["grid"]),
            department=department,
        )

    @classmethod
    def nowhere(cls) -> Scope:
        return cls(citywide=False)

    @property
    def items(self) -> list[str]:
        return [
            f"{level}:{area}"
            for level, areas in zip(
                LEVELS, (self.streets, self.communities, self.grids), strict=True
            )
            for area in sorted(areas)
        ]

    def allows(
        self, *, street: str | None = None, community: str | None = None, grid: str | None = None
    ) -> bool:
        """Whether a subject located at (street, community, grid) is inside this scope."""
        if self.citywide:
            return True
        return (
            (street is not None and street in self.streets)
            or (community is not None and community in self.communities)
            or (grid is not None and grid in self.grids)
        )

    def where(
        self,
        *,
        street: ColumnElement[str] | None = None,
        community: ColumnElement[str] | None = None,
        grid: ColumnElement[str] | None = None,
    ) -> ColumnElement[bool]:
        """A SQL condition (bound parameters, never text) keeping rows inside this scope."""
        if self.citywide:
            return true()
        conditions = [
            column.in_(sorted(areas))
            for column, areas in (
                (street, self.streets),
                (community, self.communities),
                (grid, self.grids),
            )
            if column is not None and areas
        ]
        return or_(*conditions) if conditions else false()

    def mask(
        self,
        table: pa.Table,
        *,
        street: str | None = None,
        community: str | None = None,
        grid: str | None = None,
    ) -> pa.ChunkedArray | pa.Array:
        """A boolean array over ``table`` rows: True where the row's area is inside this scope."""
        if self.citywide:
            return pa.array([True] * table.num_rows, pa.bool_())
        keep = pa.array([False] * table.num_rows, pa.bool_())
        for column, areas in ((street, self.streets), (community, self.communities),
                              (grid, self.grids)):  # fmt: skip
            if column is not None and areas:
                hit = pc.fill_null(
                    pc.is_in(table[column], value_set=pa.array(sorted(areas))), False
                )
                keep = pc.or_(keep, hit)
        return keep

    def filter(self, table: pa.Table, **columns: str | None) -> pa.Table:
        return table.filter(self.mask(table, **columns))
