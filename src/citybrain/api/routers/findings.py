"""A topic's latest findings, each with its reasons: filtered, sorted, paginated, area-scoped.

A street clerk sees only the findings located in its streets, communities or grids. Subject ids
that are personal (a dwelling's address, a person's ID number) are masked for callers without an
unmask grant; a dwelling's address is cut to its building.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from citybrain.api.deps import (
    InstalledTopics,
    KnownTopic,
    LakeDep,
    Period,
    Principal,
    ScopeDep,
    Text,
    require,
    scoped_findings,
)
from citybrain.api.paging import Page, PageParams, pagination
from citybrain.api.pii import PERSONAL_SUBJECTS, Masker, get_masker
from citybrain.api.places import ADDRESS_SUBJECTS, AreaNames, PlacesDep
from citybrain.api.security.masking import PiiKind
from citybrain.api.security.roles import Permission

router = APIRouter(prefix="/topics", tags=["findings"])

_SORTABLE = ("score", "period", "subject_id", "level")


class Reason(BaseModel):
    signal: str | None
    observed: float | None
    expected: float | None
    contribution: float | None
    text_zh: str | None
    text_en: str | None


class Finding(BaseModel):
    topic: str
    subject_type: str
    subject_id: str
    period: str
    score: float
    level: str
    lon: float | None
    lat: float | None
    grid_id: str | None
    community_id: str | None
    street_id: str | None
    model_version: str
    reasons: list[Reason]
    address: str | None = Field(
        None, description="the subject's standard address, masked as the caller's role may see it"
    )
    area_names: AreaNames = Field(default_factory=AreaNames)
    topic_title_zh: str | None = None
    topic_title_en: str | None = None


class FindingsSummary(BaseModel):
    topic: str
    total: int
    by_level: dict[str, int]
    by_street: dict[str, int]
    street_names: dict[str, str] = Field(
        default_factory=dict, description="names of the streets in by_street, by code"
    )
    topic_title_zh: str | None = None
    topic_title_en: str | None = None
    periods: list[str]


def mask_subjects(table: pa.Table, masker: Masker) -> pa.Table:
    """Mask ``subject_id`` where the subject type is personal (vectorised, per kind)."""
    if table.num_rows == 0:
        return table
    for subject_type, kind in PERSONAL_SUBJECTS.items():
        rows = pc.equal(table["subject_type"], subject_type)
        if not pc.any(rows).as_py():
            continue
        masked = masker.table(table, {"subject_id": kind}, subject_column="subject_id")
        table = table.set_column(
            table.schema.get_field_index("subject_id"),
            "subject_id",
            pc.if_else(rows, masked["subject_id"], table["subject_id"]),
        )
    return table


def _order(table: pa.Table, paging: PageParams) -> pa.Table:
    keys = [(name, "descending" if desc else "ascending") for name, desc in paging.sort]
    keys.append(("subject_id", "ascending"))
    return table.sort_by(keys)


@router.get(
    "/{topic}/findings",
    responses={404: {"description": "no such topic"}},
)
def list_findings(
    _: Annotated[Principal, Depends(require(Permission.FINDINGS_READ))],
    topic: KnownTopic,  # after the permission: a caller without it gets 403, not 404
    scope: ScopeDep,
    masker: Annotated[Masker, Depends(get_masker)],
    lake: LakeDep,
    places: PlacesDep,
    installed: InstalledTopics,
    paging: Annotated[PageParams, Depends(pagination(_SORTABLE, "-score"))],
    level: Literal["high", "medium", "low"] | None = None,
    period: Annotated[Period | None, Query(description="2026-03 or 2026-03-14")] = None,
    street_id: Text | None = None,
    community_id: Text | None = None,
    grid_id: Text | None = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
) -> Page[Finding]:
    """The latest run's findings, highest score first by default, each with its reasons."""
    table = scoped_findings(
        lake.findings(topic), scope, level=level, period=period, street=street_id,
        community=community_id, grid=grid_id, min_score=min_score,
    )  # fmt: skip
    page = _order(table, paging).slice(paging.offset, paging.page_size)
    raw = page.to_pylist()
    addresses = places.addresses(
        r["subject_id"] for r in raw if r["subject_type"] in ADDRESS_SUBJECTS
    )
    found = installed.get(topic)
    titles = {"topic_title_zh": found.title_zh, "topic_title_en": found.title_en} if found else {}
    items = []
    for original, row in zip(raw, mask_subjects(page, masker).to_pylist(), strict=True):
        subject = original["subject_id"]
        address = addresses.get(subject)
        row["address"] = masker.value(address, PiiKind.ADDRESS, subject=subject)
        row["area_names"] = places.areas(row["street_id"], row["community_id"], row["grid_id"])
        items.append(Finding.model_validate(row | titles))
    return Page(
        items=items,
        total=table.num_rows,
        page=paging.page,
        page_size=paging.page_size,
    )


@router.get("/{topic}/findings/summary", responses={404: {"description": "no such topic"}})
def findings_summary(
    _: Annotated[Principal, Depends(require(Permission.FINDINGS_READ))],
    topic: KnownTopic,  # after the permission: a caller without it gets 403, not 404
    scope: ScopeDep,
    lake: LakeDep,
    places: PlacesDep,
    installed: InstalledTopics,
) -> FindingsSummary:
    """Counts of the latest findings in the caller's area, by level and by street."""
    table = scoped_findings(lake.findings(topic), scope)

    def counts(column: str) -> dict[str, int]:
        if table.num_rows == 0:
            return {}
        counted = pc.value_counts(pc.fill_null(table[column], "(none)")).to_pylist()
        return {str(item["values"]): int(item["counts"]) for item in counted}

    periods = sorted(pc.unique(table["period"]).to_pylist()) if table.num_rows else []
    by_street = counts("street_id")
    names = places.names()
    found = installed.get(topic)
    return FindingsSummary(
        topic=topic,
        topic_title_zh=found.title_zh if found else None,
        topic_title_en=found.title_en if found else None,
        total=table.num_rows,
        by_level=counts("level"),
        by_street=by_street,
        street_names={code: names[code] for code in by_street if code in names},
        periods=[str(p) for p in periods],
    )
