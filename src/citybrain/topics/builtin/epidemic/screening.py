"""Household screening (入户排查): coverage and gaps by community and grid against the population
base, round by round.

The base of a community (or grid) is the dwellings where the population base (户籍, 居住证) places
someone. A round is the screening sheets' ``round``; a dwelling is covered in a round when a sheet
of that round names it (its address matched to the dwelling), and met when someone answered
(``outsiders`` is not ``not_met``). Every community and grid of the base is listed in every
round, screened or not, so a community no sheet came from shows with coverage 0.
"""

from __future__ import annotations

import ibis.expr.types as ir


def coverage(screening: ir.Table, residents: ir.Table, level: str) -> ir.Table:
    """Per round × area (``level`` community_id or grid_id): round, area_id, street_id,
    base_dwellings, screened, met, round_start, coverage (screened / base)."""
    base = residents.filter(residents.address_id.notnull() & residents[level].notnull())
    base = base.group_by(["address_id"]).aggregate(
        area_id=base[level].min(), street_id=base.street_id.min()
    )
    areas = base.group_by(["area_id"]).aggregate(
        street_id=base.street_id.min(), base_dwellings=base.address_id.nunique()
    )
    s = screening.filter(screening["round"].notnull())
    rounds = s.group_by(round=s["round"]).aggregate(round_start=s.screened_date.min())
    grid = rounds.cross_join(areas)
    seen = s.filter(s.address_id.notnull()).group_by(["round", "address_id"])
    seen = seen.aggregate(met=(s.outsiders != "not_met").fill_null(True).any())
    hit = seen.inner_join(base, seen.address_id == base.address_id)
    counted = hit.group_by(["round", "area_id"]).aggregate(
        screened=hit.address_id.nunique(), met=hit.met.cast("int64").sum()
    )
    out = grid.left_join(
        counted, [grid["round"] == counted["round"], grid.area_id == counted.area_id]
    ).select(
        round=grid["round"],
        area_id=grid.area_id,
        street_id=grid.street_id,
        base_dwellings=grid.base_dwellings,
        screened=counted.screened.fill_null(0),
        met=counted.met.fill_null(0),
        round_start=grid.round_start,
    )
    return out.mutate(coverage=out.screened.cast("float64") / out.base_dwellings)
