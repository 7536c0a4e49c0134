"""The offline base map's tile build over a synthetic city's geography, against a reference.

    uv run python benchmarks/basemap.py [--scale district] [--out benchmarks/results/basemap.json]

The scale's geography (``citybrain.sim.geography``: streets, communities, grids, roads, estates,
buildings) is written as the register's std place tables of a temporary workspace, then:

- build: ``citybrain.api.basemap`` loads the layers and writes every tile from zoom 10 to 16 into
  one PMTiles file (per tile: STRtree query, vectorised simplify / clip / orient / pixel transform
  per layer, ``mapbox_vector_tile.encode`` of ready pixel geometries);
- reference, same run, same tiles: each tile clipped the same way but quantized by the encoder
  itself (``quantize_bounds``, its per-feature coordinate transform and winding check), which is
  how the library is usually called.

The JSON has both times, the tile and feature counts, the archive's size and the machine block.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import mapbox_vector_tile  # type: ignore[import-untyped]
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from machine import machine

from citybrain.api import basemap
from citybrain.api.deps import Lake
from citybrain.core import Workspace
from citybrain.sim import SCALES
from citybrain.sim.geography import build_geography


def write_place_tables(workspace: Workspace, scale: str, seed: int = 7) -> dict[str, int]:
    geo = build_geography(SCALES[scale], seed)

    def areas(t: pa.Table, level: str, code: str, name: str) -> pa.Table:
        return pa.table({"level": pa.repeat(pa.scalar(level), len(t)), "code": t[code],
                         "name": t[name], "geometry": t["wkt"]})  # fmt: skip

    admin = pa.concat_tables([
        areas(geo.streets, "street", "street_code", "street_name"),
        areas(geo.communities, "community", "community_code", "community_name"),
        areas(geo.grids, "grid", "grid_code", "grid_name"),
    ])  # fmt: skip
    roads = pa.table({"road_id": pc.cast(geo.roads["road_id"], pa.string()),
                      "name": geo.roads["road_name"], "geometry": geo.roads["wkt"]})  # fmt: skip
    b = geo.buildings
    estate = geo.estates.take(b["estate_id"])
    road = pc.take(geo.roads["road_name"], estate["road_id"])
    number = pc.cast(estate["road_no"], pa.string())
    building = pc.cast(b["building_no"], pa.string())
    full = pc.binary_join_element_wise(
        road, number, "号", estate["estate_name"], building, "栋", ""
    )
    register = pa.table({
        "address_id": pc.binary_join_element_wise("B", pc.cast(b["building_id"], pa.string()), ""),
        "level": pa.repeat(pa.scalar("building"), len(b)), "full_address": full,
        "road_name": road, "road_no": number, "estate_name": estate["estate_name"],
        "building_no": building, "lon": b["lon"], "lat": b["lat"],
    })  # fmt: skip
    with workspace.engine() as engine:
        engine.write(admin, "std", "admin_area")
        engine.write(roads, "std", "road")
        engine.write(register, "std", "standard_address")
    return {"areas": len(admin), "roads": len(roads), "buildings": len(b),
            "estates": len(geo.estates)}  # fmt: skip


def reference_tile(layers: list[basemap.Layer], z: int, x: int, y: int) -> bytes | None:
    """The same tile, quantized and winding-checked by the encoder, feature by feature."""
    west, south, east, north = basemap.tile_bounds(z, x, y)
    pad = (east - west) * basemap.BUFFER
    box = shapely.box(west - pad, south - pad, east + pad, north + pad)
    encoded = []
    for layer in layers:
        found = layer.tree.query(box)
        found = np.sort(found[layer.minzoom[found] <= z])
        if not len(found):
            continue
        geoms = layer.geoms[found]
        if layer.name != "labels":
            geoms = shapely.clip_by_rect(geoms, west - pad, south - pad, east + pad, north + pad)
        kept = zip(geoms, found, strict=True)
        features = [
            {"geometry": g, "properties": layer.props[i]}
            for g, i in kept
            if not shapely.is_empty(g)
        ]
        if features:
            encoded.append({"name": layer.name, "features": features})
    if not encoded:
        return None
    options = {"quantize_bounds": (west, south, east, north), "extents": basemap.EXTENT}
    data: bytes = mapbox_vector_tile.encode(encoded, default_options=options)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="district", choices=sorted(SCALES))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/basemap.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.init(Path(tmp) / "ws")
        counts = write_place_tables(workspace, args.scale)
        lake = Lake(workspace)
        started = time.perf_counter()
        layers = basemap.load_layers(lake.read)
        loaded = time.perf_counter() - started
        path = Path(tmp) / "base.pmtiles"
        started = time.perf_counter()
        meta = basemap.write_archive(layers, path, "bench")
        built = time.perf_counter() - started
        extent = basemap._extent(layers)
        assert extent is not None
        coords = [(z, x, y) for z in range(basemap.MIN_ZOOM, basemap.MAX_ZOOM + 1)
                  for x, y in basemap._tile_range(extent, z)]  # fmt: skip
        started = time.perf_counter()
        ref_tiles = sum(reference_tile(layers, *c) is not None for c in coords)
        reference = time.perf_counter() - started
        result: dict[str, Any] = {
            "benchmark": "basemap", "scale": args.scale, "inputs": counts,
            "layers": {layer.name: len(layer.geoms) for layer in layers},
            "tiles": meta["tiles"], "tiles_tried": len(coords), "reference_tiles": ref_tiles,
            "archive_bytes": path.stat().st_size, "load_layers_s": round(loaded, 3),
            "build_s": round(built, 3), "reference_encode_s": round(reference, 3),
            "speedup": round(reference / built, 2), "machine": machine(load_before),
        }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
