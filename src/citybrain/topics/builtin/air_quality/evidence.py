"""Evidence for an episode's source: construction sites near the station, muck trucks near it
while the episode lasted.

The vehicle ping table holds other fleets too (taxis' floating-car pings): only muck trucks are
counted (``truck_pings``: muck_trucks' own rule — a plate holding a transport permit, or whose
terminal reports its load).

Truck pings are first counted per hour and ~500 m cell on the engine (one grouped query), so the
join with the episodes works on a small table whatever the number of pings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from citybrain.topics.builtin.muck_trucks.rules import muck_pings

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.engine import Engine

NEAR_M: Final = 1000.0
CELL_DEG: Final = 0.005
M_PER_DEG_LAT: Final = 111_320.0


def truck_pings(pings: ir.Table, permits: ir.Table | None) -> ir.Table:
    """The muck trucks' pings among ``pings`` (a ping without a plate is no known truck's)."""
    return muck_pings(pings.filter(pings.plate.notnull()), permits)


def ping_cells(engine: Engine, pings: ir.Table) -> pd.DataFrame:
    """Truck pings per hour and cell: hour, lon, lat (the cell's mean position), pings."""
    ok = pings.filter(pings.ts.notnull() & pings.lon.notnull() & pings.lat.notnull())
    cells = ok.group_by(
        [
            ok.ts.truncate("h").name("hour"),
            (ok.lon / CELL_DEG).floor().name("cx"),
            (ok.lat / CELL_DEG).floor().name("cy"),
        ]
    ).aggregate(lon=ok.lon.mean(), lat=ok.lat.mean(), pings=ok.count())
    frame: pd.DataFrame = engine.to_arrow(cells.select("hour", "lon", "lat", "pings")).to_pandas()
    return frame


def _metres(lon0: np.ndarray, lat0: np.ndarray, lon1: np.ndarray, lat1: np.ndarray) -> np.ndarray:
    dy = (lat1 - lat0) * M_PER_DEG_LAT
    dx = (lon1 - lon0) * M_PER_DEG_LAT * np.cos(np.radians(lat0))
    result: np.ndarray = np.hypot(dx, dy)
    return result


def attach(
    episodes: pd.DataFrame,
    stations: pd.DataFrame,
    sites: pd.DataFrame,
    pings: pd.DataFrame | None,
) -> pd.DataFrame:
    """Add ``sites_1km``, ``nearest_site_m`` and ``truck_pings_1km`` to each episode."""
    out = episodes.copy()
    out["sites_1km"] = 0.0
    out["nearest_site_m"] = np.nan
    out["truck_pings_1km"] = 0.0
    if out.empty:
        return out
    place = out[["sensor_id"]].merge(stations, on="sensor_id", how="left")
    lon, lat = place["lon"].to_numpy(np.float64), place["lat"].to_numpy(np.float64)
    building = sites.loc[sites["kind"] == "construction", ["lon", "lat"]].dropna()
    if len(building):
        d = _metres(
            lon[:, None],
            lat[:, None],
            building["lon"].to_numpy(np.float64)[None, :],
            building["lat"].to_numpy(np.float64)[None, :],
        )
        out["sites_1km"] = (d <= NEAR_M).sum(axis=1).astype(np.float64)
        out["nearest_site_m"] = np.where(np.isfinite(lon), d.min(axis=1), np.nan)
    if pings is not None and len(pings):
        out["truck_pings_1km"] = _pings_near(out, lon, lat, pings)
    return out


def _pings_near(
    episodes: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, pings: pd.DataFrame
) -> np.ndarray:
    """Pings within ``NEAR_M`` of the station during each episode (episodes exploded to hours)."""
    span = episodes["end"].to_numpy() - episodes["start"].to_numpy()
    hours = pd.Series((span // np.timedelta64(1, "h")).astype(np.int64))
    index = np.repeat(np.arange(len(episodes)), hours.to_numpy())
    offset = np.arange(len(index)) - np.repeat(
        np.cumsum(hours.to_numpy()) - hours.to_numpy(), hours
    )
    at = episodes["start"].to_numpy()[index] + offset.astype("timedelta64[h]")
    wanted = pd.DataFrame({"episode": index, "hour": at.astype("datetime64[ns]")})
    cells = pings.assign(hour=pd.to_datetime(pings["hour"]).astype("datetime64[ns]"))
    joined = wanted.merge(cells, on="hour")
    near = _metres(
        lon[joined["episode"].to_numpy()],
        lat[joined["episode"].to_numpy()],
        joined["lon"].to_numpy(np.float64),
        joined["lat"].to_numpy(np.float64),
    )
    hit = joined.loc[near <= NEAR_M]
    counts = np.bincount(
        hit["episode"].to_numpy(np.int64),
        weights=hit["pings"].to_numpy(np.float64),
        minlength=len(episodes),
    )
    return counts
