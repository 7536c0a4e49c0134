"""Department systems, one module each; ``SYSTEMS`` maps a module's system name to its builder, in
build order (any order gives the same bytes: every system draws from its own random stream).
A few modules write more than one system folder (bikes: three operators and the zones; muck
permits: permits and sites)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from citybrain.sim.systems import (
    address_register,
    air_quality,
    arrivals,
    bikes,
    chronic_care,
    court,
    credit,
    food_delivery,
    gas,
    health,
    hotline,
    indicators,
    market_registry,
    muck_gps,
    muck_permits,
    parcels,
    parking,
    penalties,
    police_hukou,
    police_permits,
    power,
    projects,
    screening,
    social_security,
    tax,
    taxi_gps,
    utility_arrears,
    water,
)
from citybrain.sim.systems.base import SystemContext

_MODULES: tuple[ModuleType, ...] = (
    address_register,
    police_hukou,
    police_permits,
    water,
    power,
    gas,
    food_delivery,
    parcels,
    hotline,
    market_registry,
    tax,
    social_security,
    court,
    penalties,
    credit,
    utility_arrears,
    arrivals,
    health,
    chronic_care,
    screening,
    muck_permits,
    muck_gps,
    taxi_gps,
    bikes,
    air_quality,
    parking,
    projects,
    indicators,
)

SYSTEMS: dict[str, Callable[[SystemContext], None]] = {m.SYSTEM: m.build for m in _MODULES}

BULK: tuple[str, ...] = (
    bikes.SYSTEM,
    muck_gps.SYSTEM,
    taxi_gps.SYSTEM,
    parking.SYSTEM,
    air_quality.SYSTEM,
    power.SYSTEM,
    water.SYSTEM,
    gas.SYSTEM,
)
"""The modules of the bulk readings tables (monthly meter readings, bike positions, truck GPS
pings, sensor and parking readings) where the volume is, biggest first at city size."""

BY_MONTHS: dict[str, Callable[[SystemContext, range], None]] = {bikes.SYSTEM: bikes.build_months}
"""Modules that can build a range of months on its own (the biggest stream: bike positions)."""

MAP_ONLY: frozenset[str] = frozenset(
    {bikes.SYSTEM, parking.SYSTEM, air_quality.SYSTEM, taxi_gps.SYSTEM}
)
"""Modules that read only the map, never the people or the enterprises."""
