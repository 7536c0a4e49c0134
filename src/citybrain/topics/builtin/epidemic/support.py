"""Precise medical support (精准医疗): residents of the affected areas who need care brought to
them — the elderly living alone first, then the very old.

An affected area is a grid where a case lives. Age is the year of the latest case less the birth
year (registration, or the identity number). Living alone: the only person the population base
places in the dwelling. Chronic conditions and special needs are not in any source this city
delivers (no std table carries them), so they are not used.
"""

from __future__ import annotations

import ibis.expr.types as ir


def in_affected_areas(residents: ir.Table, case_homes: ir.Table, year: int) -> ir.Table:
    """Residents (one row a person) of the grids where a case lives: person_key, address_id,
    grid_id, community_id, street_id, lon, lat, age, household (people in the dwelling)."""
    grids = case_homes.select(g=case_homes.grid_id).distinct()
    r = residents.filter(residents.grid_id.notnull())
    r = r.inner_join(grids, r.grid_id == grids.g).drop("g")
    per = r.group_by("person_key").aggregate(
        address_id=r.address_id.min(), birth_year=r.birth_year.max()
    )
    size = residents.group_by("address_id").aggregate(household=residents.person_key.nunique())
    per = per.inner_join(size, "address_id")
    places = residents.group_by("address_id").aggregate(
        grid_id=residents.grid_id.min(),
        community_id=residents.community_id.min(),
        street_id=residents.street_id.min(),
        lon=residents.lon.max(),
        lat=residents.lat.max(),
    )
    per = per.inner_join(places, "address_id")
    return per.mutate(age=year - per.birth_year).drop("birth_year")
