"""Pagination, sorting and filter values, the same for every router.

``Depends(pagination(sortable=("at", "seq"), default="-seq"))`` gives a ``PageParams``: ``page``
(from 1), ``page_size`` (1 to 500), and ``sort`` as a comma-separated list of allowed column names,
each optionally prefixed with ``-`` for descending. Anything else is a 422 that names the bad value.

Filter values use ``FilterValue``: Latin and CJK letters, digits, ``- _ . : @`` and spaces, at
most 128 characters, never ``..`` — so a value can be neither a path nor a piece of SQL. Queries
bind every value as a parameter anyway.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, BeforeValidator
from sqlalchemy import Select

MAX_PAGE_SIZE = 500
MAX_PAGE = 1_000_000


def _to_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range") from None


def _iso_only(value: object) -> object:
    """Pydantic would read a bare number as Unix seconds; the API documents ISO 8601 only."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2026-03-01T08:00:00+08:00")
    return value


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")

# A timestamp filter: naive values are taken as UTC; the value is normalised to UTC.
Timestamp = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_to_utc)]


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int
    sort: tuple[tuple[str, bool], ...]  # (column, descending)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def apply(self, query: Select[Any], columns: dict[str, Any]) -> Select[Any]:
        """Order (by allow-listed columns only), offset and limit a SQLAlchemy select."""
        for name, descending in self.sort:
            column = columns[name]
            query = query.order_by(column.desc() if descending else column.asc())
        return query.offset(self.offset).limit(self.page_size)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


def parse_sort(text: str, sortable: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    out: list[tuple[str, bool]] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        descending = item.startswith("-")
        name = item[1:] if descending else item
        if name not in sortable:
            raise RequestValidationError(
                [
                    {
                        "type": "value_error",
                        "loc": ("query", "sort"),
                        "msg": f"cannot sort by {name!r}; sortable: {', '.join(sortable)}",
                        "input": text,
                    }
                ]
            )
        out.append((name, descending))
    return tuple(out)


def pagination(sortable: Sequence[str], default: str) -> Callable[..., PageParams]:
    """A dependency reading ``page``, ``page_size`` and ``sort`` with ``sortable`` as allow-list."""
    sortable = tuple(sortable)
    parse_sort(default, sortable)  # a wrong default is a programmer error: fail at import
    sort_help = f"columns, comma-separated, '-' descending: {', '.join(sortable)}"
    one = "-?(?:" + "|".join(re.escape(name) for name in sortable) + ")"
    sort_pattern = f"^{one}(?:,{one})*$"

    def dependency(
        page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="page number, from 1")] = 1,
        page_size: Annotated[
            int, Query(ge=1, le=MAX_PAGE_SIZE, description="rows per page, at most 500")
        ] = 50,
        sort: Annotated[
            str,
            Query(
                max_length=200,
                description=sort_help,
                # Documented for clients; enforced by parse_sort, whose message names the choices.
                json_schema_extra={"pattern": sort_pattern},
            ),
        ] = default,
    ) -> PageParams:
        return PageParams(page=page, page_size=page_size, sort=parse_sort(sort, sortable))

    return dependency
