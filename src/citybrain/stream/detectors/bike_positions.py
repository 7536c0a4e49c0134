"""Shared bikes on the live map (共享单车 实时位置): each bike's newest report in a batch becomes
one ``vehicle.position`` event, in WGS-84 (美团 reports GCJ-02; converted with the exact formula).

The state keeps each bike's newest report time, so a report older than one already shown (late
delivery) does not move the bike back; such reports, and those without bike, time or a usable
position, are counted (``counts``), never dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.coords import gcj02_to_wgs84
from citybrain.stream.detector import StreamBatch, StreamEvent
from citybrain.stream.livesources import BIKE_SOURCE


@dataclass
class BikePositionDetector:
    name: str = "bike_positions"
    sources: Sequence[str] = (BIKE_SOURCE,)
    operator: str = "meituan"
    gcj02: bool = True  # the operator reports GCJ-02 (火星坐标)

    def initial_state(self) -> dict[str, Any]:
        return {"last": {}, "counts": {"received": 0, "unusable": 0, "late": 0}}

    def process(self, batch: StreamBatch, state: dict[str, Any]) -> list[StreamEvent]:
        table = batch.table
        counts = state["counts"]
        counts["received"] += table.num_rows
        needed = ("bike_id", "ts", "lng", "lat")
        if table.num_rows == 0 or any(c not in table.column_names for c in needed):
            counts["unusable"] += table.num_rows
            return []
        try:
            ids = pc.cast(table.column("bike_id"), pa.string()).to_numpy(zero_copy_only=False)
            ts = pc.cast(table.column("ts"), pa.float64()).to_numpy(zero_copy_only=False)
            lon = pc.cast(table.column("lng"), pa.float64()).to_numpy(zero_copy_only=False)
            lat = pc.cast(table.column("lat"), pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            counts["unusable"] += table.num_rows
            return []
        ids = ids.astype(object)
        usable = (
            np.array([i is not None and i != "" for i in ids], bool)
            & np.isfinite(ts)
            & np.isfinite(lon)
            & np.isfinite(lat)
            & (np.abs(lon) > 1e-6)
        )
        counts["unusable"] += int((~usable).sum())
        ids, ts, lon, lat = ids[usable], ts[usable], lon[usable], lat[usable]
        # each bike's newest report: sort by (bike, time), keep each bike's last row
        order = np.lexsort((ts, ids.astype(str)))
        ids, ts, lon, lat = ids[order], ts[order], lon[order], lat[order]
        newest = np.r_[ids[1:] != ids[:-1], True] if len(ids) else np.zeros(0, bool)
        ids, ts, lon, lat = ids[newest], ts[newest], lon[newest], lat[newest]
        shown = np.array([state["last"].get(i, -np.inf) for i in ids], float)
        late = ts <= shown
        counts["late"] += int(late.sum())
        ids, ts, lon, lat = ids[~late], ts[~late], lon[~late], lat[~late]
        if self.gcj02 and len(ids):
            lon, lat = (np.asarray(v, float) for v in gcj02_to_wgs84(lon, lat))
        events = []
        for bike, t, x, y in zip(
            ids.tolist(), ts.tolist(), lon.tolist(), lat.tolist(), strict=True
        ):
            state["last"][bike] = t
            data = {"kind": "bike", "operator": self.operator, "bike_id": bike, "t": t,
                    "lon": round(x, 6), "lat": round(y, 6)}  # fmt: skip
            events.append(StreamEvent("vehicle.position", data))
        return events
