"""Bike density cells (tests ``topics/builtin/shared_bikes/density.py``): the newest snapshot's
bikes counted per operator and H3 cell, stored per run for the map's H3 layers."""

from __future__ import annotations

from pathlib import Path

import h3
import pandas as pd
import pyarrow as pa

from citybrain.core.engine import open_engine
from citybrain.topics.builtin.shared_bikes.density import (
    DENSITY_TABLE,
    RESOLUTION,
    density_cells,
    newest_points,
    store_density,
)

A, B = (104.06, 30.55), (104.07, 30.56)  # about 1.5 km apart: two cells


def test_newest_snapshot_counted_per_operator_and_cell(tmp_path: Path) -> None:
    reports = pa.table(
        {
            "operator": ["meituan", "meituan", "qingju", "hellobike", "meituan"],
            "bike_id": ["M1", "M2", "Q1", "H1", "M1"],
            "bucket": [900, 900, 900, 900, 0],  # M1 stood elsewhere in the older snapshot
            "lon": [A[0], A[0] + 0.00001, B[0], A[0], B[0]],
            "lat": [A[1], A[1], B[1], A[1], B[1]],
        }
    )
    with open_engine("duckdb", tmp_path / "lake") as engine:
        points = newest_points(engine, engine.register("reports", reports))
        cells = density_cells(points)
        by_cell = cells.set_index("h3")
        a, b = h3.latlng_to_cell(A[1], A[0], RESOLUTION), h3.latlng_to_cell(B[1], B[0], RESOLUTION)
        assert set(by_cell.index) == {a, b}
        assert by_cell.loc[a, ["bikes", "meituan", "hellobike", "qingju"]].tolist() == [3, 2, 1, 0]
        assert by_cell.loc[b, ["bikes", "qingju"]].tolist() == [1, 1]
        assert set(cells["snapshot"]) == {"1970-01-01 00:15"}
        assert abs(by_cell.loc[a, "lon"] - A[0]) < 0.001  # the cell's centre
        store_density(engine, cells, "r1")
        store_density(engine, density_cells(points.iloc[0:0]), "r2")  # nothing: nothing written
        stored = engine.to_pandas(engine.table("topic", DENSITY_TABLE))
    assert set(stored["run_id"]) == {"r1"} and len(stored) == 2
    assert density_cells(pd.DataFrame()).empty
