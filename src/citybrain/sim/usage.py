"""True monthly consumption of every dwelling: water, power and gas follow the people actually
living there (not the registered ones), the season, the flat's size, and what goes on inside —
e-bikes charged in group rentals, a home business's machines, students' computers — with
month-to-month noise. Shared meters add the neighbour's use to one account."""

from __future__ import annotations

import numpy as np

from citybrain.sim.economy import premises_activity
from citybrain.sim.people import CONFOUNDERS, STUDENTS
from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

_POWER_SEASON = np.array([1.3, 1.2, 1.0, 0.9, 0.95, 1.15, 1.4, 1.45, 1.1, 0.9, 1.0, 1.2])
_WATER_SEASON = np.array([0.9, 0.9, 0.95, 1.0, 1.05, 1.15, 1.2, 1.2, 1.1, 1.0, 0.95, 0.9])
_GAS_SEASON = np.array([1.6, 1.5, 1.2, 1.0, 0.8, 0.7, 0.6, 0.6, 0.7, 0.9, 1.2, 1.5])


def calendar_month(world: World, m: int) -> int:
    """1–12 for month index m."""
    return (world.scale.start_month - 1 + m) % 12 + 1


def monthly_usage(world: World, m: int, utility: str) -> np.ndarray:
    """Water (m³), power (kWh) or gas (m³) of every dwelling in month m, as metered.

    Each utility draws from its own stream (seed, month, utility), so a system that needs one
    utility computes only that one and every caller sees the same numbers.
    """
    rng = rng_for(world.seed, "usage", str(m), utility)
    pop, d = world.pop, world.geo.dwellings
    n = len(d)
    occ = pop.occupants[:, m].astype(np.float64)
    cal = calendar_month(world, m) - 1
    empty = occ == 0
    business = pop.confounder == CONFOUNDERS.index("home_business")
    office = _office(world)
    area = d["area_m2"].to_numpy()
    if utility == "water":
        use = (1.2 + 3.1 * occ) * _WATER_SEASON[cal] * rng.lognormal(0, 0.22, n)
        use[business] += rng.uniform(3, 12, int(business.sum()))
        use = np.where(empty, rng.uniform(0, 0.6, n), use)
        use = np.where(office, area * rng.uniform(0.03, 0.08, n) * premises_activity(world, m), use)
    elif utility == "power":
        use = (25 + 0.35 * area + 52 * occ) * _POWER_SEASON[cal] * rng.lognormal(0, 0.22, n)
        group = pop.group_rental[:, m]
        use[group] += 28 * occ[group] * rng.uniform(0.5, 1.5, int(group.sum()))  # e-bikes inside
        use += np.where(pop.situation == STUDENTS, 25 * occ, 0)  # students' computers
        use[business] += rng.uniform(250, 900, int(business.sum()))
        use = np.where(empty, rng.uniform(2, 18, n), use)
        # offices and home businesses follow how busy their firm is (distress shows as a drop)
        busy = premises_activity(world, m)
        base = rng_for(world.seed, "office_power").uniform(4, 9, n)  # kWh/m², fixed per room
        use = np.where(office, area * base * busy * rng.lognormal(0, 0.08, n), use)
        use = np.where(business, use * (0.5 + 0.5 * busy), use)
    elif utility == "gas":
        use = (1.5 + 3.4 * occ) * _GAS_SEASON[cal] * rng.lognormal(0, 0.28, n)
        use = np.where(empty, rng.uniform(0, 0.5, n), use)
    else:
        raise ValueError(f"unknown utility {utility!r}")
    # a shared meter records its own flat and the partner flat
    has = pop.meter_partner >= 0
    use[has] += use[pop.meter_partner[has]]
    rounded: np.ndarray = np.round(use, 0 if utility == "power" else 1)
    return rounded


def _office(world: World) -> np.ndarray:
    return world.office_mask


def metered(world: World, utility: str, rng: np.random.Generator) -> np.ndarray:
    """Dwellings that have their own account for ``utility`` (partners of shared meters do not;
    some old flats have no gas, offices have no gas)."""
    pop, d = world.pop, world.geo.dwellings
    n = len(d)
    has = np.ones(n, bool)
    has[pop.meter_partner[pop.meter_partner >= 0]] = False
    if utility == "gas":
        office = d["use"].to_numpy(zero_copy_only=False) == "office"
        has &= ~office & (rng.random(n) < 0.88)
    return np.flatnonzero(has)


def account_holders(world: World, rng: np.random.Generator) -> np.ndarray:
    """Person in whose name each dwelling's accounts are: the owner family's head where the owner
    lives there, otherwise a landlord living elsewhere (or -1 for offices, held by a firm)."""
    p = world.pop.persons
    n = len(world.geo.dwellings)
    member = p["member"].to_numpy()
    dw = p["dwelling_id"].to_numpy()
    role = p["role"].to_numpy(zero_copy_only=False)
    heads = (member == 0) & (dw >= 0) & (role == "owner_family")
    holder = np.full(n, -1, np.int64)
    holder[dw[heads][::-1]] = p["person_id"].to_numpy()[heads][::-1]
    adults = np.flatnonzero(member <= 1)
    res = world.geo.dwellings["use"].to_numpy(zero_copy_only=False) == "residential"
    landlord = (holder < 0) & res
    holder[landlord] = adults[rng.integers(0, adults.size, int(landlord.sum()))]
    return holder
