"""Precise medical support (精准医疗): residents of the affected areas who need care brought to
them — those on dialysis, expecting mothers, the disabled and the chronically ill on the community
health centres' register (慢病管理 / 家庭医生签约, ``std.chronic_care``), the elderly living alone
and the very old.

An affected area is a grid where a case lives. Age is the year of the latest case less the birth
year (registration, or the identity number). Living alone: the only person the population base
places in the dwelling. The register is optional: a city that has not connected it gets the
elderly only, and the topic says so.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

#: register categories, most care first (a person on the register more than once counts by the
#: first); the topic's scores and reasons follow this order
CONDITIONS = ("dialysis", "maternity", "disability", "copd", "diabetes", "hypertension")


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


def with_care(helped: ir.Table, care: ir.Table) -> ir.Table:
    """``helped`` (one row a person) with ``condition`` (the register's most demanding category,
    null when not on it) and ``last_followup`` (the latest follow-up date) from the keyed
    register ``care``; categories the topic does not know are left out."""
    known = care.filter(care.condition.isin(CONDITIONS))
    rank = known.condition.cases(*[(c, i) for i, c in enumerate(CONDITIONS)], else_=99)
    per = (
        known.mutate(_rank=rank)
        .group_by("person_key")
        .aggregate(_rank=ibis._["_rank"].min(), last_followup=ibis._["last_followup_date"].max())
    )
    names = ibis.cases(*[(per._rank == i, c) for i, c in enumerate(CONDITIONS)], else_=None)
    per = per.mutate(condition=names).drop("_rank")
    joined = helped.left_join(per, helped.person_key == per.person_key)
    return joined.drop("person_key_right")
