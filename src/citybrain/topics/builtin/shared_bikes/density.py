"""Where the bikes stand now, as H3 cells for the map's density layers (单车密度).

The newest snapshot's bikes are counted per operator and H3 cell at ``RESOLUTION`` (about 65 m
edges): positions are first counted in the engine per operator and point rounded to about 10 m,
so H3 is asked once per distinct point, not once per bike. Each run appends its cells to the topic
zone's ``DENSITY_TABLE`` (partitioned by run); the map re-counts them into coarser cells as it
zooms out (``MapLayer(kind="h3", source=DENSITY_TABLE)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import h3
import numpy as np
import pandas as pd
import pyarrow as pa

from citybrain.topics.builtin.shared_bikes.counts import OPERATORS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.core.engine import Engine

DENSITY_TABLE = "shared_bikes_density"
RESOLUTION = 10
ROUND = 4  # decimals of a degree kept before H3: about 10 m


def newest_points(engine: Engine, reports: ir.Table) -> pd.DataFrame:
    """The newest snapshot's bikes per operator and rounded point (``last_reports`` rows)."""
    newest = reports.filter(reports.bucket == reports.bucket.max())
    points = newest.mutate(lon=newest.lon.round(ROUND), lat=newest.lat.round(ROUND))
    counted = points.group_by(["bucket", "operator", "lon", "lat"]).aggregate(bikes=points.count())
    return engine.to_pandas(counted)


def density_cells(points: pd.DataFrame) -> pd.DataFrame:
    """One row per H3 cell: its centre (lon, lat), ``bikes`` in all and per operator, ``h3``."""
    columns = ["h3", "lon", "lat", "bikes", *OPERATORS, "snapshot"]
    if points.empty:
        return pd.DataFrame({c: [] for c in columns})
    xy, at = np.unique(points[["lat", "lon"]].to_numpy(float), axis=0, return_inverse=True)
    cells = np.array([h3.latlng_to_cell(a, b, RESOLUTION) for a, b in xy], dtype=object)
    wide = points.assign(h3=cells[at.reshape(-1)]).pivot_table(
        index=["h3", "bucket"], columns="operator", values="bikes", aggfunc="sum", fill_value=0
    )
    for op in OPERATORS:
        if op not in wide.columns:
            wide[op] = 0
    wide["bikes"] = wide.sum(axis=1)
    out = wide.reset_index()
    centres = np.array([h3.cell_to_latlng(c) for c in out["h3"]])  # one per occupied cell
    out["lat"], out["lon"] = centres[:, 0], centres[:, 1]
    out["snapshot"] = pd.to_datetime(out["bucket"], unit="s").dt.strftime("%Y-%m-%d %H:%M")
    kept: pd.DataFrame = out[columns]
    return kept


def store_density(engine: Engine, cells: pd.DataFrame, run_id: str) -> None:
    """Append the run's cells to the topic zone (nothing when no bike stands anywhere)."""
    if cells.empty:
        return
    table = pa.Table.from_pandas(cells, preserve_index=False)
    table = table.append_column("run_id", pa.array([run_id] * table.num_rows, pa.string()))
    engine.write(table, "topic", DENSITY_TABLE, mode="append", partition_by=["run_id"])
