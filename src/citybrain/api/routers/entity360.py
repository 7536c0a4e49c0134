"""Entity 360 (一人一档 / 一企一档 / 一房一档): a golden person, enterprise or dwelling with every
linked source record, and a search over them.

Everything personal is masked for every role; an unmask grant covering the golden id shows it in
clear (and that showing is audited with the grant's purpose). Every read is audited by
``require(entities.read)`` with the golden id and the ``X-Purpose`` header; a search also writes
the golden ids it returned.

Area scope: an entity is inside a caller's area when one of its linked std records was matched to
an address there (the std tables' ``street_id``, ``community_id``, ``grid_id``), or, for a
dwelling, when its grid is there (a grid code starts with its community's and its street's
division codes: 12 and 9 digits). Outside the area it is a 404, as if it did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import unquote

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from citybrain.api.credit import PersonCreditReport, person_grade, person_report
from citybrain.api.deps import (
    PURPOSE_HEADER,
    LakeDep,
    Principal,
    ScopeDep,
    Security,
    Text,
    get_security,
    require,
)
from citybrain.api.paging import MAX_PAGE, MAX_PAGE_SIZE, Page
from citybrain.api.pii import Masker, get_masker
from citybrain.api.security.audit import AuditEntry
from citybrain.api.security.masking import PiiKind, mask_array
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope
from citybrain.core.engine import Engine
from citybrain.core.errors import UserError
from citybrain.govern import GOLDEN_ID_COLUMN, LINK_TABLE, EntityKind, entity_360

router = APIRouter(prefix="/entities", tags=["entities"])

GoldenId = Annotated[
    str,
    Path(pattern=r"^[0-9A-Za-z][0-9A-Za-z_\-:]{0,63}$", description="a golden id (or a USCC)"),
]
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
AREA_COLUMNS = ("street_id", "community_id", "grid_id")
SEARCH_LIMIT = 10_000  # candidates considered per search before area scope and paging

# Columns that are not personal though their names look so.
_NOT_PII = {"estate_name", "road_name", "source_table", "source_system", "industry_name",
            "court", "court_name", "lot_name", "station_name", "project_name"}  # fmt: skip
_FIRM_NAMES = {"name", "name_norm", "name_core", "name_py"}


def pii_kind(column: str, kind: EntityKind) -> PiiKind | None:
    """How a golden or std column is masked, or None for a column that is not personal."""
    lowered = column.lower()
    if lowered in _NOT_PII or lowered.endswith(("_source_system", "_source_row", "__source_row")):
        return None
    if lowered.endswith(("_id", "_level", "_confidence", "_code")) and "id_number" not in lowered:
        return None
    if "phone" in lowered or "mobile" in lowered:
        return PiiKind.PHONE
    if lowered in ("id_number", "id_valid", "id_raw", "identifier", "id_card") or (
        "id_number" in lowered or lowered in ("birth_date", "dob")
    ):
        return PiiKind.ID_NUMBER
    if "address" in lowered or lowered in ("addr_room", "addr_place"):
        return PiiKind.ADDRESS
    if lowered.endswith("name") or lowered.startswith("name_"):
        if kind == "enterprise" and lowered in _FIRM_NAMES:
            return None  # a firm's own name is public
        return PiiKind.NAME
    return None


def mask_table(table: pa.Table, kind: EntityKind) -> pa.Table:
    for index, name in enumerate(table.column_names):
        pii = pii_kind(name, kind)
        if pii is not None:
            column = table.column(index)
            if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
                column = column.cast(pa.string())
            table = table.set_column(index, name, mask_array(column, pii))
    return table


class EntityOut(BaseModel):
    kind: EntityKind
    id: str
    golden: dict[str, Any] = Field(description="the golden record, masked unless unmasked")
    records: dict[str, list[dict[str, Any]]] = Field(description="linked records by system")
    record_count: int
    masked: bool


class EntityHit(BaseModel):
    id: str
    kind: EntityKind
    name: str | None
    summary: str | None = Field(description="masked ID / USCC and address")


def _base_ready(lake: Any, kind: EntityKind) -> bool:
    return bool(lake.exists("base", kind) and lake.exists("base", LINK_TABLE[kind]))


def _area_columns(table: ir.Table) -> list[str]:
    return [c for c in AREA_COLUMNS if c in table.columns]


def _in_scope(table: ir.Table, scope: Scope, columns: Iterable[str]) -> ir.BooleanValue:
    condition: ir.BooleanValue = ibis.literal(False)
    for column, areas in zip(
        AREA_COLUMNS, (scope.streets, scope.communities, scope.grids), strict=True
    ):
        if column in columns and areas:
            condition = condition | table[column].isin(sorted(areas))
    return condition


def _dwelling_in_scope(table: ir.Table, scope: Scope) -> ir.BooleanValue:
    """A dwelling's grid code begins with its community's and its street's division codes."""
    if "grid_code" not in table.columns:
        return ibis.literal(False)
    grid = table.grid_code.cast("string")
    condition: ir.BooleanValue = (
        grid.isin(sorted(scope.grids)) if scope.grids else (ibis.literal(False))
    )
    for area in sorted(scope.communities | scope.streets):
        condition = condition | grid.startswith(area)
    return condition


def visible_ids(engine: Engine, kind: EntityKind, ids: ir.Table, scope: Scope) -> ir.Table:
    """Of ``ids`` (one column, the golden id), those inside ``scope``."""
    column = GOLDEN_ID_COLUMN[kind]
    if scope.citywide:
        return ids
    if kind == "dwelling":
        base = engine.table("base", "dwelling")
        inside = base.filter(_dwelling_in_scope(base, scope)).select(column)
        return ids.semi_join(inside, column)
    links = engine.table("base", LINK_TABLE[kind]).semi_join(ids, column)
    tables = engine.to_arrow(links.select("source_table").distinct())["source_table"].to_pylist()
    parts = []
    for name in tables:
        if not isinstance(name, str) or not engine.exists("std", name):
            continue
        std = engine.table("std", name)
        areas = _area_columns(std)
        if not areas or not {"source_system", "source_row"} <= set(std.columns):
            continue
        inside = std.filter(_in_scope(std, scope, areas)).select("source_system", "source_row")
        part = links.filter(links.source_table == name)
        parts.append(part.semi_join(inside, ["source_system", "source_row"]).select(column))
    if not parts:
        return ids.filter(ibis.literal(False))
    return ids.semi_join(ibis.union(*parts, distinct=True), column)


def _std_tables(engine: Engine) -> dict[str, ir.Table]:
    return {name: engine.table("std", name) for name in engine.list_tables("std")}


def _resolve_id(engine: Engine, kind: EntityKind, golden_id: str) -> str:
    """An enterprise may also be asked for by its USCC."""
    if kind != "enterprise" or not USCC.match(golden_id):
        return golden_id
    base = engine.table("base", "enterprise")
    if "uscc" not in base.columns:
        return golden_id
    found = engine.to_arrow(
        base.filter(base.uscc == golden_id).select(GOLDEN_ID_COLUMN[kind]).limit(1)
    )
    return str(found.column(0)[0].as_py()) if found.num_rows else golden_id


def entity_detail(
    kind: EntityKind, golden_id: str, lake: Any, scope: Scope, masker: Masker
) -> EntityOut:
    not_found = HTTPException(404, detail=f"no {kind} {golden_id} in your area")
    if not _base_ready(lake, kind):
        raise not_found
    with lake.engine() as engine:
        golden_id = _resolve_id(engine, kind, golden_id)
        one = ibis.memtable(pa.table({GOLDEN_ID_COLUMN[kind]: [golden_id]}))
        if engine.to_arrow(visible_ids(engine, kind, one, scope)).num_rows == 0:
            raise not_found
        try:
            view = entity_360(engine, kind, golden_id, std=_std_tables(engine))
        except UserError:
            raise not_found from None
    clear = masker.unmasked(golden_id)
    golden = pa.Table.from_pylist([view.golden])
    records = dict(view.records)
    if not clear:
        golden = mask_table(golden, kind)
        records = {system: mask_table(table, kind) for system, table in records.items()}
    return EntityOut(
        kind=kind, id=golden_id, golden=golden.to_pylist()[0],
        records={system: table.to_pylist() for system, table in records.items()},
        record_count=view.record_count, masked=not clear,
    )  # fmt: skip


def _route(kind: EntityKind) -> Any:
    def read(
        id: GoldenId,
        _: Annotated[Principal, Depends(require(Permission.ENTITIES_READ))],
        lake: LakeDep,
        scope: ScopeDep,
        masker: Annotated[Masker, Depends(get_masker)],
    ) -> EntityOut:
        return entity_detail(kind, id, lake, scope, masker)

    read.__name__ = f"{kind}_360"
    read.__doc__ = (
        f"A golden {kind} with every linked source record, masked for your role; send the "
        "purpose of the look in X-Purpose (percent-encoded UTF-8)."
    )
    return read


for _kind in ("person", "enterprise", "dwelling"):
    router.add_api_route(
        f"/{_kind}/{{id}}",
        _route(_kind),
        methods=["GET"],
        response_model=EntityOut,
        responses={404: {"description": "no such entity in your area"}},
    )


_SEARCH_COLUMNS: dict[EntityKind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (exact-match columns, fragment columns)
    "person": (("id_number", "phone"), ("name", "address")),
    "enterprise": (("uscc",), ("name", "address")),
    "dwelling": (("address_id",), ("full_address", "estate_name")),
}


def _hits(table: pa.Table, kind: EntityKind) -> list[EntityHit]:
    masked = mask_table(table, kind)
    out = []
    for row in masked.to_pylist():
        if kind == "dwelling":
            name, summary = row.get("full_address"), None
        else:
            key = row.get("uscc") if kind == "enterprise" else row.get("id_number")
            address = row.get("address")
            name = row.get("name")
            summary = " · ".join(str(v) for v in (key, address) if v) or None
        out.append(
            EntityHit(id=str(row[GOLDEN_ID_COLUMN[kind]]), kind=kind, name=name, summary=summary)
        )
    return out


@router.get("/search")
def search_entities(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.ENTITIES_READ))],
    security: Annotated[Security, Depends(get_security)],
    lake: LakeDep,
    scope: ScopeDep,
    kind: Annotated[EntityKind, Query(description="person, enterprise or dwelling")],
    q: Annotated[Text, Query(description="a name, ID number, USCC, phone or address fragment")],
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
) -> Page[EntityHit]:
    """Golden entities whose identifier equals ``q`` or whose name or address contains it, inside
    your area, masked; the golden ids returned are audited."""
    if not _base_ready(lake, kind):
        return Page(items=[], total=0, page=page, page_size=page_size)
    column = GOLDEN_ID_COLUMN[kind]
    exact, fragment = _SEARCH_COLUMNS[kind]
    with lake.engine() as engine:
        base = engine.table("base", kind)
        condition: ir.BooleanValue = base[column] == q
        for name in exact:
            if name in base.columns:
                condition = condition | (base[name].cast("string") == q)
        for name in fragment:
            if name in base.columns:
                condition = condition | base[name].cast("string").contains(q)
        candidates = base.filter(condition).select(column).limit(SEARCH_LIMIT)
        ids = engine.to_arrow(visible_ids(engine, kind, candidates, scope).order_by(column))
        total = ids.num_rows
        chosen = ids.slice((page - 1) * page_size, page_size)
        shown = [str(v) for v in chosen.column(0).to_pylist()]
        keep = [c for c in (column, "name", "id_number", "uscc", "address", "full_address")
                if c in base.columns]  # fmt: skip
        rows = engine.to_arrow(base.filter(base[column].isin(shown)).select(*keep))
    order = {v: i for i, v in enumerate(shown)}
    rows = rows.take(pc.sort_indices(pa.array([order[str(v)] for v in rows[column].to_pylist()])))
    if shown:
        security.audit_read(
            AuditEntry(
                actor=principal.actor, role=principal.role.value, action="entities.search",
                endpoint=f"GET {request.url.path}", subjects=shown,
                purpose=unquote(request.headers.get(PURPOSE_HEADER, ""))[:1000] or None,
                detail={"kind": kind, "q": q, "total": total}, at=security.clock(),
            )
        )  # fmt: skip
    return Page(items=_hits(rows, kind), total=total, page=page, page_size=page_size)


@router.get(
    "/person/{id}/credit-report",
    response_model=PersonCreditReport,
    responses={404: {"description": "no such person in your area"}},
)
def person_credit_report(
    id: GoldenId,
    _: Annotated[Principal, Depends(require(Permission.ENTITIES_READ))],
    __: Annotated[Principal, Depends(require(Permission.CREDIT_READ))],
    lake: LakeDep,
    scope: ScopeDep,
    masker: Annotated[Masker, Depends(get_masker)],
) -> PersonCreditReport:
    """A resident's 守信通 credit grade with its reasons (zh-CN and en; see
    ``citybrain.api.credit``): personal data, so inside your area only and withheld unless an
    unmask grant covers the person (the clear look is audited)."""
    not_found = HTTPException(404, detail=f"no person {id} in your area")
    if not _base_ready(lake, "person"):
        raise not_found
    with lake.engine() as engine:
        one = ibis.memtable(pa.table({GOLDEN_ID_COLUMN["person"]: [id]}))
        if engine.to_arrow(visible_ids(engine, "person", one, scope)).num_rows == 0:
            raise not_found
        row = person_grade(engine, id)
    clear = isinstance(row, dict) and masker.unmasked(id)
    return person_report(id, row, clear)
