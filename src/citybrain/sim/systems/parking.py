"""智慧停车 — parking-lot occupancy snapshots from the city parking platform, served as a paged
JSON HTTP API; rows in ``data/*.parquet``. Office lots fill on weekdays, residential lots at night;
some lots report a stale value for hours (a sensor fault to detect). Each lot lies at a building
of its estate (WGS-84 ``lng``/``lat`` on every row, as the platform's lot register gives them)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats import write_connection_file, write_parquet
from citybrain.sim.ids import concat, padded
from citybrain.sim.systems.base import SystemContext

SYSTEM = "parking_occupancy"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng0 = ctx.rng(SYSTEM, "lots")
    n = w.scale.parking_lots
    e = w.geo.estates
    at = rng0.integers(0, len(e), n)
    office = e["kind"].to_numpy(zero_copy_only=False)[at] == "office"
    capacity = rng0.integers(80, 1200, n)
    names = concat(
        e["estate_name"].combine_chunks().take(pa.array(at)),
        pa.array(np.where(office, "地下停车场", "小区停车场")),
    )
    ids = concat("P5101", padded(np.arange(n) + 1, 5))
    lot_lon, lot_lat = _at_a_building(w.geo.buildings, e["estate_id"].to_numpy()[at])
    k = w.scale.parking_snapshots_per_day
    folder = ctx.dir(SYSTEM)
    for m in range(w.months):
        rng = ctx.rng(SYSTEM, str(m))
        days = w.days_in_month(m)
        steps = days * k
        t0 = w.month_starts[m].astype("datetime64[s]")
        minutes = np.arange(steps) * (1440 // k)
        hour = (minutes % 1440) / 60
        dow = (
            (w.month_starts[m] + (minutes // 1440).astype("timedelta64[D]")).astype(np.int64) + 3
        ) % 7  # 0 = Monday
        workday = dow < 5
        office_curve = np.where(
            workday[:, None] & ((hour[:, None] > 8.5) & (hour[:, None] < 18.5)), 0.9, 0.15
        )
        home_curve = np.where((hour[:, None] > 19) | (hour[:, None] < 7.5), 0.92, 0.5)
        occ = np.where(office[None, :], office_curve, home_curve) * rng.uniform(
            0.85, 1.1, (steps, n)
        )
        used = np.clip(np.round(occ * capacity[None, :]), 0, capacity[None, :]).astype(np.int64)
        free = capacity[None, :] - used
        stuck = rng.random(n) < 0.05
        if stuck.any():
            first = rng.integers(0, steps, n)
            span = (
                (np.arange(steps)[:, None] >= first[None, :])
                & (np.arange(steps)[:, None] < first[None, :] + k // 2)
                & stuck[None, :]
            )
            free = np.where(
                span, free[np.clip(first - 1, 0, steps - 1), np.arange(n)][None, :], free
            )
        ts = t0 + (minutes * 60).astype("timedelta64[s]")
        first = ((w.month_starts[m] - w.month_starts[0]).astype(np.int64) * k) * n
        t = pa.table(
            {
                "recordNo": np.arange(first, first + steps * n, dtype=np.int64),
                "parkId": ids.take(pa.array(np.tile(np.arange(n), steps))),
                "parkName": names.take(pa.array(np.tile(np.arange(n), steps))),
                "lng": np.tile(lot_lon, steps),
                "lat": np.tile(lot_lat, steps),
                "totalBerth": np.tile(capacity, steps),
                "freeBerth": free.ravel(),
                # one string per snapshot, taken onto its rows
                "updateTime": pc.strftime(pa.array(ts), format="%Y-%m-%d %H:%M:%S").take(
                    pa.array(np.repeat(np.arange(steps), n))
                ),
            }
        )
        path = folder / "data" / f"parking_{w.month_label(m)}.parquet"
        ctx.count(
            SYSTEM,
            write_parquet(
                path,
                t,
                use_dictionary=["parkId", "parkName", "updateTime"],
                column_encoding={"recordNo": "DELTA_BINARY_PACKED"},
            ),
        )
    write_connection_file(folder, "http", resource=f"/api/{SYSTEM}", page_size=1000)


def _at_a_building(buildings: pa.Table, estates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (6 decimals) of the first building of each estate given."""
    of = buildings["estate_id"].to_numpy()
    firsts, where = np.unique(of, return_index=True)
    row = where[np.searchsorted(firsts, estates)]
    lon = np.round(buildings["lon"].to_numpy()[row], 6)
    lat = np.round(buildings["lat"].to_numpy()[row], 6)
    return lon, lat
