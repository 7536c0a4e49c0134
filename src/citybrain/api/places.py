"""Places in words for API answers: area names by code and a subject's standard address.

Every answer that names a place by code (a street, community or grid id; a dwelling's address id)
also gives its name, so nobody reads a bare code where a name exists. Area names come from the
address register's admin areas (``cases.areas.area_names``), re-read when that folder changes;
addresses are looked up for the few ids of one answer in ``std.standard_address``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from citybrain.api.deps import Lake, get_lake
from citybrain.cases.areas import area_names

# Subject types whose id is an address id in the register.
ADDRESS_SUBJECTS = frozenset({"dwelling", "address", "building", "unit"})
REGISTER = ("std", "standard_address")
DWELLINGS = ("base", "dwelling")  # golden dwellings (entity 360), keyed by their address id


class AreaNames(BaseModel):
    """Names of a place's street (街道), community (社区) and grid (网格); null if unknown."""

    street: str | None = None
    community: str | None = None
    grid: str | None = None


class Places:
    """Area names and standard addresses for one workspace's lake."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._stamp: float | None = None

    def names(self) -> dict[str, str]:
        """``{area code: name}``, re-read when the register's admin areas were rewritten."""
        folder = self.lake.workspace.zone("std") / "admin_area"
        stamp = folder.stat().st_mtime if folder.is_dir() else None
        with self._lock:
            if stamp != self._stamp:
                self._names = area_names(self.lake.workspace) if stamp is not None else {}
                self._stamp = stamp
            return self._names

    def areas(self, street: str | None, community: str | None, grid: str | None) -> AreaNames:
        names = self.names()

        def name(code: str | None) -> str | None:
            return None if code is None else names.get(code)

        return AreaNames(street=name(street), community=name(community), grid=name(grid))

    def addresses(self, ids: Iterable[str]) -> dict[str, str]:
        """``{address id: full address}`` of those ids found in the register (in clear)."""
        return self._by_address_id(REGISTER, "full_address", ids)

    def dwelling_ids(self, ids: Iterable[str]) -> dict[str, str]:
        """``{address id: golden dwelling id}`` for the entity 360 page, where the base has it."""
        return self._by_address_id(DWELLINGS, "golden_dwelling_id", ids)

    def _by_address_id(
        self, table: tuple[str, str], column: str, ids: Iterable[str]
    ) -> dict[str, str]:
        """``{address id: column}`` for the few ``ids`` of one answer that ``table`` (zone,
        name) holds with a value; empty when the table or the column is not there."""
        wanted = sorted({i for i in ids if i})
        if not wanted or not self.lake.exists(*table):
            return {}
        with self.lake.engine() as engine:
            rows = engine.table(*table)
            if not {"address_id", column} <= set(rows.columns):
                return {}
            found = engine.to_arrow(
                rows.filter(rows.address_id.isin(wanted) & rows[column].notnull()).select(
                    "address_id", column
                )
            )
        pairs = zip(found["address_id"].to_pylist(), found[column].to_pylist(), strict=True)
        return {str(key): str(value) for key, value in pairs}


_CREATE = threading.Lock()


async def get_places(request: Request, lake: Annotated[Lake, Depends(get_lake)]) -> Places:
    """The app's place lookup (made on first use and kept on ``app.state``)."""
    places: Places | None = getattr(request.app.state, "places", None)
    if places is None or places.lake is not lake:
        with _CREATE:
            places = Places(lake)
            request.app.state.places = places
    return places


PlacesDep = Annotated[Places, Depends(get_places)]
