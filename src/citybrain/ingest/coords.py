"""GCJ-02 ↔ WGS-84 for contract mappings: the transforms live in :mod:`citybrain.core.coords`
(the synthetic city shifts its GCJ-02 exports with the same formula)."""

from citybrain.core.coords import Floats, gcj02_to_wgs84, wgs84_to_gcj02

__all__ = ["Floats", "gcj02_to_wgs84", "wgs84_to_gcj02"]
