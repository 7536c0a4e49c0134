"""Department systems, one module each; ``SYSTEMS`` is the build order (any order gives the same
bytes, since every system draws from its own random stream)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from citybrain.sim.systems import (
    address_register,
    gas,
    police_hukou,
    police_permits,
    power,
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
)

SYSTEMS: dict[str, Callable[[SystemContext], None]] = {m.SYSTEM: m.build for m in _MODULES}
