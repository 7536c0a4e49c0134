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
        wanted = sorted({i for i in ids if i})
        if not wanted or not self.lake.exists(*REGISTER):
            return {}
        with self.lake.engine() as engine:
            register = engine.table(*REGISTER)
            if "full_address" not in register.columns:
                return {}
            found = engine.to_arrow(
                register.filter(
                    register.address_id.isin(wanted) & register.full_address.notnull()
                ).select("address_id", "full_address")
            )
        ids_found = found["address_id"].to_pylist()
        texts = found["full_address"].to_pylist()
        return {str(i): str(a) for i, a in zip(ids_found, texts, strict=True)}

    def dwelling_ids(self, ids: Iterable[str]) -> dict[str, str]:
        """``{address id: golden dwelling id}`` for the entity 360 page, where the base has it."""
        wanted = sorted({i for i in ids if i})
        if not wanted or not self.lake.exists(*DWELLINGS):
            return {}
        with self.lake.engine() as engine:
            base = engine.table(*DWELLINGS)
            if not {"address_id", "golden_dwelling_id"} <= set(base.columns):
                return {}
            found = engine.to_arrow(
                base.filter(base.address_id.isin(wanted)).select("address_id", "golden_dwelling_id")
            )
        pairs = zip(
            found["address_id"].to_pylist(), found["golden_dwelling_id"].to_pylist(), strict=True
        )
        return {str(a): str(g) for a, g in pairs if g is not None}


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
