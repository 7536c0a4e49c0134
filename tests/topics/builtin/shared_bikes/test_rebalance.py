"""Rebalancing suggestions on hand-written zone counts (tests
``topics/builtin/shared_bikes/{rebalance,rebalancing}.py``): the surplus goes nearest first, only
to zones of the same operator with room, never beyond the radius, never more than the room."""

from __future__ import annotations

from datetime import datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pandas as pd
import pyarrow as pa

from citybrain.core import Workspace
from citybrain.core.engine import open_engine
from citybrain.topics import TopicContext, validate_findings
from citybrain.topics.builtin.shared_bikes.counts import Zones
from citybrain.topics.builtin.shared_bikes.rebalance import operator_balance, suggest_moves
from citybrain.topics.builtin.shared_bikes.rebalancing import BikeRebalancing

DEG_100M = 100 / (111_320.0 * 0.8616)  # about 100 m of longitude at 30.5° N


def _zones(lons: list[float], quota: int = 10) -> Zones:
    ids = [f"Z{i}" for i in range(len(lons))]
    table = pd.DataFrame(
        {
            "zone_id": ids,
            "name": [f"区{i}" for i in range(len(lons))],
            "quota": quota,
            "quota_meituan": 4,
            "quota_hellobike": 3,
            "quota_qingju": 3,
            "lon": lons,
            "lat": 30.5,
        }
    )
    return Zones(table, {}, [])


def _frame(zones: Zones, counts: dict[str, list[int]], bucket: int = 0) -> pd.DataFrame:
    f = pd.DataFrame({"zone_id": zones.table["zone_id"], "bucket": bucket, **counts})
    f["bikes"] = f[["meituan", "hellobike", "qingju"]].sum(axis=1)
    return f.merge(zones.table, on="zone_id")


def test_surplus_goes_nearest_first_within_room_and_radius() -> None:
    # Z0 holds 16 (capacity 10, meituan 12 against 4); Z1 100 m away has room for 3 of meituan,
    # Z2 200 m for 2 (zone room 4, meituan's 2); Z3 is 1 km away; Z4 has room but meituan none
    zones = _zones([104.0 + d * DEG_100M for d in (0, 1, 2, 10, 1.5)])
    frame = _frame(
        zones,
        {
            "meituan": [12, 1, 2, 0, 4],
            "hellobike": [3, 3, 3, 0, 0],
            "qingju": [1, 1, 1, 0, 0],
        },
    )
    moves = suggest_moves(frame, zones, radius_m=500)
    got = {(r.operator, r.from_zone, r.to_zone): r.bikes for r in moves.itertuples()}
    assert got == {("meituan", "Z0", "Z1"): 3, ("meituan", "Z0", "Z2"): 2}
    assert moves["distance_m"].between(90, 210).all()
    # a wider radius reaches Z3 for the last bike of the zone's excess of 6
    wider = suggest_moves(frame, zones, radius_m=1500)
    assert wider["bikes"].sum() == 6
    assert set(wider["to_zone"]) == {"Z1", "Z2", "Z3"}


def test_a_target_asked_by_two_serves_the_nearest_first() -> None:
    # Z0 and Z2 both over; Z1 between them (Z0 100 m, Z2 150 m) has room for 2 meituan bikes
    zones = _zones([104.0, 104.0 + DEG_100M, 104.0 + 2.5 * DEG_100M])
    frame = _frame(zones, {"meituan": [7, 2, 7], "hellobike": [3, 0, 3], "qingju": [3, 0, 3]})
    balance = operator_balance(frame)
    assert balance.loc[balance["operator"] == "meituan", "surplus"].tolist() == [3, 0, 3]
    moves = suggest_moves(frame, zones, radius_m=500)
    assert moves[["from_zone", "to_zone", "bikes"]].values.tolist() == [["Z0", "Z1", 2]]


def test_nothing_to_move_and_snapshots_apart() -> None:
    zones = _zones([104.0, 104.0 + DEG_100M])
    quiet = _frame(zones, {"meituan": [4, 1], "hellobike": [3, 1], "qingju": [3, 1]})
    assert suggest_moves(quiet, zones, radius_m=500).empty
    over = _frame(zones, {"meituan": [6, 1], "hellobike": [3, 1], "qingju": [3, 1]}, bucket=900)
    both = pd.concat([quiet, over], ignore_index=True)
    moves = suggest_moves(both, zones, radius_m=500)
    assert moves[["bucket", "bikes"]].values.tolist() == [[900, 2]]
    assert suggest_moves(both.iloc[0:0], zones, radius_m=500).empty


ZONE_WKT = "POLYGON(({x} 30.5,{x2} 30.5,{x2} 30.5002,{x} 30.5002,{x} 30.5))"


def _run_topic(tmp_path: Path, xs: list[float], positions: pa.Table) -> pa.Table:
    zones = pa.table(
        {
            "zone_id": ["A", "B"],
            "name": ["地铁口", "商场门口"],
            "geometry": [ZONE_WKT.format(x=x, x2=x + 0.0004) for x in xs],
            "quota": [3, 5],
            "quota_meituan": [1, 3],
            "quota_hellobike": [1, 1],
            "quota_qingju": [1, 1],
        }
    )
    topic = BikeRebalancing()
    with open_engine("duckdb", tmp_path / "lake") as engine:
        ctx = TopicContext(
            workspace=Workspace.init(tmp_path / "ws"),
            engine=engine,
            run_id="test",
            params=topic.default_params(),
            model_version=topic.model_version,
            inputs={
                "std.bike_position": engine.register("pos", positions),
                "std.bike_zone": engine.register("zones", zones),
            },
        )
        return validate_findings(topic.run(ctx))


def test_a_city_with_nothing_to_move_gives_no_findings_and_no_error(tmp_path: Path) -> None:
    xs = [104.0, 104.0 + DEG_100M]
    positions = pa.table(
        {
            "operator": ["meituan"],
            "bike_id": ["M1"],
            "ts": pa.array([datetime(2023, 3, 14, 8, 0)], pa.timestamp("us")),
            "lon": [xs[0] + 0.0001],
            "lat": [30.5001],
        }
    )
    assert _run_topic(tmp_path, xs, positions).num_rows == 0


def test_topic_finds_moves_of_the_newest_snapshot(tmp_path: Path) -> None:
    xs = [104.0, 104.0 + DEG_100M]
    t0 = datetime(2023, 3, 14, 8, 0)
    rows = [("meituan", f"M{i}", t0, xs[0] + 0.0001) for i in range(4)]  # 4 of meituan in A
    rows += [("meituan", "M9", t0 - timedelta(hours=2), xs[1] + 0.0001)]  # an older snapshot
    op, bike, ts, lon = zip(*rows, strict=True)
    positions = pa.table(
        {
            "operator": list(op),
            "bike_id": list(bike),
            "ts": pa.array(list(ts), pa.timestamp("us")),
            "lon": list(lon),
            "lat": [30.5001] * len(rows),
        }
    )
    findings = _run_topic(tmp_path, xs, positions)
    assert findings.column("subject_id").to_pylist() == ["meituan:A>B"]
    assert findings.column("period").to_pylist() == ["2023-03-14 08:00"]
    reason = findings.column("reasons")[0].as_py()[0]
    assert reason["observed"] == 1.0  # A: 4 bikes, capacity 3 → one bike to B
    assert "美团将1辆单车从超容的「地铁口」(A)调往约" in reason["text_zh"]
    assert "商场门口" in reason["text_zh"]
    registered = entry_points(group="citybrain.topics", name="bike_rebalancing")
    assert [e.value for e in registered] == [f"{BikeRebalancing.__module__}:BikeRebalancing"]
    assert BikeRebalancing.department_hint != "区综合行政执法局（城管）"


def test_the_newest_snapshot_with_bikes_in_a_zone_is_found_when_the_newest_has_none(
    tmp_path: Path,
) -> None:
    """The topic counts the newest snapshot alone; when none of its bikes stands in a zone (nor
    at a usable fix: 0,0), the newest snapshot that has one is found further back, as counting
    every snapshot would."""
    xs = [104.0, 104.0 + DEG_100M]
    t0 = datetime(2023, 3, 14, 8, 0)
    rows = [("meituan", f"M{i}", t0, xs[0] + 0.0001, 30.5001) for i in range(4)]  # A over
    rows += [("meituan", "M9", t0 + timedelta(hours=3), 105.0, 31.0)]  # later, in no zone
    rows += [("meituan", "M8", t0 + timedelta(hours=4), 0.0, 0.0)]  # latest: an unusable fix
    op, bike, ts, lon, lat = zip(*rows, strict=True)
    positions = pa.table(
        {
            "operator": list(op),
            "bike_id": list(bike),
            "ts": pa.array(list(ts), pa.timestamp("us")),
            "lon": list(lon),
            "lat": list(lat),
        }
    )
    findings = _run_topic(tmp_path, xs, positions)
    assert findings.column("subject_id").to_pylist() == ["meituan:A>B"]
    assert findings.column("period").to_pylist() == ["2023-03-14 08:00"]


def test_out_of_reach_gives_no_move() -> None:
    zones = _zones([104.0, 104.0 + DEG_100M])
    frame = _frame(zones, {"meituan": [6, 1], "hellobike": [3, 1], "qingju": [3, 1]})
    assert suggest_moves(frame, zones, radius_m=50.0).empty
