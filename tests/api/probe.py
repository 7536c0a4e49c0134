"""A test-only data route using scope and masking the way entity and case routers do.

It stands for the area-scoped routes that later issues add (cases, entity 360): the matrix test runs
it for every role in and out of its area, and the masking tests read personal columns through it.
"""

from __future__ import annotations

from typing import Annotated, Any

import pyarrow as pa
from fastapi import APIRouter, Depends, HTTPException

from citybrain.api.deps import Principal, Text, get_scope, require
from citybrain.api.pii import Masker, get_masker
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope

PEOPLE = pa.table(
    {
        "person_id": ["P1", "P2", "P3"],
        "name": ["张三", "欧阳娜娜", "李四"],
        "id_number": ["510104199001011234", "510104198512120021", "510104197001015678"],
        "phone": ["13812345678", "13987654321", "13700001111"],
        "address": [
            "天府大道1号锦城小区3栋2单元501室",
            "锦城小区12-2-501",
            "益州大道8号2幢1单元302室",
        ],
        "street": ["S-IN", "S-IN", "S-OUT"],
        "grid": ["G-IN", "G-IN2", "G-OUT"],
    }
)
PII = {"name": "name", "id_number": "id_number", "phone": "phone", "address": "address"}

router = APIRouter(prefix="/_probe", tags=["probe"])


@router.get("/people")
def people(
    _: Annotated[Principal, Depends(require(Permission.ENTITIES_READ))],
    scope: Annotated[Scope, Depends(get_scope)],
    masker: Annotated[Masker, Depends(get_masker)],
) -> list[dict[str, Any]]:
    visible = scope.filter(PEOPLE, street="street", grid="grid")
    rows: list[dict[str, Any]] = masker.table(visible, PII, subject_column="person_id").to_pylist()
    return rows


@router.get("/people/{person_id}")
def person(
    person_id: Text,
    _: Annotated[Principal, Depends(require(Permission.ENTITIES_READ))],
    scope: Annotated[Scope, Depends(get_scope)],
    masker: Annotated[Masker, Depends(get_masker)],
) -> dict[str, Any]:
    visible = scope.filter(PEOPLE, street="street", grid="grid")
    found = visible.filter(pa.compute.equal(visible["person_id"], person_id))
    if found.num_rows == 0:
        raise HTTPException(404, detail=f"no person {person_id} in your area")
    row: dict[str, Any] = masker.table(found, PII, subject_column="person_id").to_pylist()[0]
    return row
