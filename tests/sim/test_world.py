"""The true city: map, people, enterprises and their monthly truth behave as documented."""

from __future__ import annotations

import numpy as np
import pytest
from shapely import wkt
from shapely.geometry import Point

from citybrain.sim.economy import firm_month
from citybrain.sim.geography import LAT0, LAT1, LON0, LON1
from citybrain.sim.scales import SCALES, estimate_records, resolve_scale
from citybrain.sim.usage import monthly_usage
from citybrain.sim.world import World, build_world


@pytest.fixture(scope="module")
def small_world() -> World:
    return build_world(SCALES["small"], 4)


def test_records_override_resizes_the_city() -> None:
    sc = resolve_scale("small", 200_000)
    assert 0.5 < estimate_records(sc) / 200_000 < 2.0
    assert sc.months == SCALES["small"].months
    with pytest.raises(ValueError, match="unknown scale"):
        resolve_scale("megacity")


def test_scales_grow() -> None:
    sizes = [estimate_records(SCALES[s]) for s in ("tiny", "small", "district", "city")]
    assert sizes == sorted(sizes)
    assert 1.1e9 < sizes[-1] < 1.35e9  # the reference city's 1.219 billion records


def test_dwellings_lie_in_their_grid_polygon(small_world: World) -> None:
    geo = small_world.geo
    grids = [wkt.loads(x) for x in geo.grids["wkt"].to_pylist()]
    e = geo.estates
    for lon, lat, g in zip(
        e["lon"].to_pylist(), e["lat"].to_pylist(), e["grid_id"].to_pylist(), strict=True
    ):
        assert LON0 <= lon <= LON1 and LAT0 <= lat <= LAT1
        assert grids[g].covers(Point(lon, lat))


def test_some_roads_have_old_names(small_world: World) -> None:
    aliases = small_world.geo.road_aliases
    assert len(aliases) > 0
    assert set(aliases["road_name"].to_pylist()) <= set(
        small_world.geo.roads["road_name"].to_pylist()
    )


def test_households_share_a_surname_and_dwelling(small_world: World) -> None:
    p = small_world.pop.persons.to_pandas()
    heads = p[p["member"] == 0].set_index("household_id")
    kids = p[p["member"] == 2]
    same = (
        kids["name"].str[0].to_numpy() == heads.loc[kids["household_id"], "name"].str[0].to_numpy()
    )
    assert same.mean() > 0.9


def test_distressed_firms_decline(small_world: World) -> None:
    e = small_world.ent.table
    start = e["distress_start"].to_numpy()
    firms = np.flatnonzero(start >= 2)
    assert firms.size > 10
    m_last = small_world.months - 1
    before = firm_month(small_world, 0, np.random.default_rng(0))
    after = firm_month(small_world, m_last, np.random.default_rng(1))
    ratio = after.revenue[firms] / before.revenue[firms]
    healthy = np.flatnonzero((start < 0) & (e["established_month"].to_numpy() < 0))
    assert np.median(ratio) < 0.6 * np.median(after.revenue[healthy] / before.revenue[healthy])
    assert after.headcount[firms].sum() < before.headcount[firms].sum()
    # and their premises use less power
    dw = e["dwelling_id"].to_numpy()[firms]
    p0, p1 = monthly_usage(small_world, 0, "power"), monthly_usage(small_world, m_last, "power")
    assert np.median((p1[dw] + 1) / (p0[dw] + 1)) < 0.8


def test_tiny_has_distress_too() -> None:
    w = build_world(SCALES["tiny"], 11)
    assert (w.ent.table["distress_start"].to_numpy() >= 0).any()


def test_residents_phones_are_unique_mobiles(small_world: World) -> None:
    phones = small_world.pop.persons["phone"].drop_null().to_pylist()
    assert len(phones) == len(set(phones)) > 10_000
    assert all(len(p) == 11 and p.isdigit() and p[0] == "1" for p in phones)


def test_bulk_exports_are_parquet_only_at_city_size() -> None:
    assert SCALES["city"].bulk_parquet and resolve_scale("city", 1_000_000).bulk_parquet
    assert not any(SCALES[s].bulk_parquet for s in ("tiny", "small", "district"))
