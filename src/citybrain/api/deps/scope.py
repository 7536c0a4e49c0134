"""The caller's area (streets, communities, grids) and the filters that keep answers inside it."""

from __future__ import annotations

from typing import Annotated, cast

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import Depends
from sqlalchemy import ColumnElement

from citybrain.api.deps.auth import Principal, authenticate
from citybrain.api.security.scope import Scope
from citybrain.cases import Case


async def get_scope(principal: Annotated[Principal, Depends(authenticate)]) -> Scope:
    return principal.scope


ScopeDep = Annotated[Scope, Depends(get_scope)]


def cases_in_scope(scope: Scope) -> ColumnElement[bool]:
    """The SQL condition keeping cases inside the caller's area."""
    return scope.where(
        street=cast(ColumnElement[str], Case.street_id),
        community=cast(ColumnElement[str], Case.community_id),
        grid=cast(ColumnElement[str], Case.grid_id),
    )


def scoped_findings(
    table: pa.Table,
    scope: Scope,
    *,
    level: str | None = None,
    period: str | None = None,
    street: str | None = None,
    community: str | None = None,
    grid: str | None = None,
    min_score: float | None = None,
) -> pa.Table:
    """Findings inside the caller's area, narrowed by the filters given (all vectorised)."""
    table = scope.filter(table, street="street_id", community="community_id", grid="grid_id")
    conditions = []
    for column, value in (
        ("level", level),
        ("period", period),
        ("street_id", street),
        ("community_id", community),
        ("grid_id", grid),
    ):
        if value is not None:
            conditions.append(pc.equal(table[column], value))
    if min_score is not None:
        conditions.append(pc.greater_equal(table["score"], min_score))
    if not conditions:
        return table
    keep = pc.fill_null(conditions[0], False)
    for condition in conditions[1:]:  # all computed on the scoped table: combined, filtered once
        keep = pc.and_(keep, pc.fill_null(condition, False))
    return table.filter(keep)
