"""The public "nearest lots with free spaces" answer (tests ``api/parking.py`` and its route in
``api/routers/entities.py``): by a point or a typed address, each lot's newest snapshot, open to
anyone, one clear line for what cannot be answered."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from api.conftest import Harness

H8, H9 = datetime(2026, 3, 1, 8), datetime(2026, 3, 1, 9)
LOTS = pa.table(
    {
        "lot_id": ["L1", "L1", "L2", "L3", "L4"],
        "name": ["一号", "一号", "二号", "三号", "四号"],
        "lon": [104.0600, 104.0600, 104.0700, 104.0610, None],
        "lat": [30.5500, 30.5500, 30.5500, 30.5500, None],
        "capacity": [100, 100, 50, 30, 80],
        "free": [40, 0, 10, 5, 70],  # L1 is full now (09:00), free at 08:00
        "updated_at": [H8, H9, H9, H9, H9],
    }
)  # fmt: skip
REGISTER = pa.table(
    {
        "full_address": ["四川省成都市示例高新区桂溪街道天府六街20号翡翠名城",
                         "四川省成都市示例高新区桂溪街道天府六街20号翡翠名城1栋",
                         "四川省成都市示例高新区桂溪街道天府六街20号翡翠名城2栋"],
        "level": ["road_number", "building", "building"],
        "road_name": ["天府六街"] * 3,
        "road_no": ["20"] * 3,
        "estate_name": ["翡翠名城"] * 3,
        "building_no": [None, "1", "2"],
        "lon": [104.0700, 104.0701, 104.0702],
        "lat": [30.5500, 30.5501, 30.5502],
    }
)  # fmt: skip


def _seed(api: Harness, lots: pa.Table = LOTS) -> None:
    with api.workspace.engine() as engine:
        engine.write(lots, "std", "parking_occupancy")
        engine.write(REGISTER, "std", "standard_address")


def test_nearest_by_point_without_sign_in(api: Harness) -> None:
    near = {"lon": 104.06, "lat": 30.55}
    got = api.client.get("/api/v1/parking/nearest", params=near).json()
    assert (got["lots"], got["located"], got["message"]) == ([], False, "no parking data")
    _seed(api, LOTS.drop_columns(["lon", "lat"]))  # an older platform: lots without a place
    got = api.client.get("/api/v1/parking/nearest", params=near).json()
    assert got["located"] is False and "no coordinates" in got["message"]
    _seed(api)
    got = api.client.get("/api/v1/parking/nearest", params={**near, "k": 5})
    assert got.status_code == 200, got.text
    body = got.json()
    lots = [(lot["lot_id"], lot["free"]) for lot in body["lots"]]
    assert lots == [("L3", 5), ("L2", 10)]  # L1 full now, L4 has no place
    assert 90 < body["lots"][0]["distance_m"] < 100  # 0.001° of longitude at 30.55° N
    assert body["located"] is True
    more = api.client.get("/api/v1/parking/nearest", params={**near, "min_free": 6}).json()
    assert [lot["lot_id"] for lot in more["lots"]] == ["L2"]
    one = api.client.get("/api/v1/parking/nearest", params={**near, "k": 1}).json()
    assert [lot["lot_id"] for lot in one["lots"]] == ["L3"]
    # the clerks' /parking/lots over the same lots: within radius_m, nearest first, with the
    # distance; a lot with no place is left out, never placed at distance 0
    url, admin = "/api/v1/parking/lots", api.as_role("admin")
    got = api.client.get(url, params={**near, "radius_m": 2000}, headers=admin)
    assert got.status_code == 200, got.text
    assert got.json()["located"] is True
    assert [lot["lot_id"] for lot in got.json()["lots"]] == ["L3", "L2"]
    close, far = (lot["distance_m"] for lot in got.json()["lots"])
    assert 90 < close < 100 and 950 < far < 965  # 0.001° and 0.01° of longitude at 30.55° N
    within = api.client.get(url, params={**near, "radius_m": 500}, headers=admin).json()
    assert [lot["lot_id"] for lot in within["lots"]] == ["L3"]


def test_nearest_by_typed_address(api: Harness) -> None:
    _seed(api)
    got = api.client.get("/api/v1/parking/nearest", params={"address": "天府六街20号翡翠名城2栋"})
    body = got.json()
    assert body["point"]["level"] == "building"
    assert body["point"]["matched"].endswith("翡翠名城2栋")
    assert body["lots"][0]["lot_id"] == "L2"
    estate = api.client.get("/api/v1/parking/nearest", params={"address": "翡翠名城"}).json()
    assert estate["point"]["level"] == "estate"
    unknown = api.client.get("/api/v1/parking/nearest", params={"address": "无此路99号"})
    assert unknown.status_code == 404
    assert "not found in the address register" in unknown.json()["detail"]
    assert api.client.get("/api/v1/parking/nearest").status_code == 422
