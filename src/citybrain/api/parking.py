"""The nearest parking lots with free spaces now: the public answer the resident portal uses.

A point is given as ``lon``/``lat`` or as a typed address, which ``api.addresses`` reads and places
on the standard address register as the portal does (typos corrected by the register's index).
Each lot's newest snapshot comes from ``std.parking_occupancy`` (read once per version of the
table, kept per app); distances are great-circle metres, vectorised over every lot.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.api.deps import Lake
from citybrain.core.coords import great_circle_m

LOT_COLUMNS = ("lot_id", "name", "capacity", "free", "updated_at", "lon", "lat")


@dataclass(frozen=True)
class Point:
    lon: float
    lat: float
    matched: str | None = None  # the register's words for what placed the address
    level: str | None = None  # building, estate, road_number, road


_LOCK = threading.Lock()


def _cached(state: Any, name: str, lake: Lake, table: str, read: Any) -> Any:
    """``read()`` once per version of std ``table`` (its files, sizes, times), kept on the app."""
    stamp = lake.stamp(table)
    held = getattr(state, name, None)
    if held is not None and held[0] == stamp:
        return held[1]
    with _LOCK:
        value = read()
        setattr(state, name, (stamp, value))
    return value


def lots_now(state: Any, lake: Lake) -> pa.Table | None:
    """Each lot's newest snapshot with its place; None without parking data."""

    def read() -> pa.Table | None:
        if not lake.exists("std", "parking_occupancy"):
            return None
        with lake.engine() as engine:
            t = engine.table("std", "parking_occupancy")
            if not {"lon", "lat"} <= set(t.columns):  # lots delivered without their place
                t = t.mutate(lon=ibis.null("float64"), lat=ibis.null("float64"))
            t = t.filter(t.lot_id.notnull() & t.updated_at.notnull())
            latest = t.group_by("lot_id").aggregate(updated_at=t.updated_at.max())
            newest = t.semi_join(latest, ["lot_id", "updated_at"]).distinct(on="lot_id")
            return engine.to_arrow(newest.select(*LOT_COLUMNS))

    table: pa.Table | None = _cached(state, "parking_lots_now", lake, "parking_occupancy", read)
    return table


def nearest(lots: pa.Table, point: Point, k: int, min_free: int) -> pa.Table:
    """The ``k`` nearest lots with at least ``min_free`` free spaces and a place, nearest first,
    with ``distance_m``."""
    usable = pc.and_(
        pc.and_(pc.is_valid(lots["lon"]), pc.is_valid(lots["lat"])),
        pc.fill_null(pc.greater_equal(lots["free"], min_free), False),
    )
    kept = lots.filter(usable)
    metres = great_circle_m(
        kept["lon"].to_numpy(zero_copy_only=False).astype(float),
        kept["lat"].to_numpy(zero_copy_only=False).astype(float),
        point.lon,
        point.lat,
    )
    order = np.lexsort((kept["lot_id"].to_numpy(zero_copy_only=False), metres))[:k]
    return kept.take(pa.array(order)).append_column(
        "distance_m", pa.array(np.round(metres[order], 1), pa.float64())
    )
