"""A periodic topic's step recomputes only the days new rows touch, and stores what a full
recompute would: the bike topics (`citybrain.pipeline.topic_increment`).

Hand-made bike reports in four fenced zones, standardised by the test itself (std tables written
and appended in the lake, as standardize's append path does); the step runs through
`run_pipeline` on a graph of the topic steps, on DuckDB and on Spark. After each new delivery the
incremental run's findings and density layer equal a full recompute's (``--only topic``, which
never increments); a changed parameter, a table rewritten rather than appended and a topic that
declares no periods recompute whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.core.workspace import Workspace
from citybrain.pipeline import run_pipeline, topic_increment
from citybrain.pipeline.graph import Graph, Step, StepResult
from citybrain.pipeline.steps import topic_step
from citybrain.topics import Topic, TopicParams
from citybrain.topics.base import PeriodSpec
from citybrain.topics.builtin.muck_trucks import MuckTrucks
from citybrain.topics.builtin.muck_trucks.state import STATE_TABLE as MUCK_STATE
from citybrain.topics.builtin.parking_traffic.traffic import (
    SPEED_TABLE,
    SUMS_TABLE,
    RoadTraffic,
)
from citybrain.topics.builtin.shared_bikes import SharedBikes
from citybrain.topics.builtin.shared_bikes.density import DENSITY_TABLE
from citybrain.topics.builtin.shared_bikes.rebalancing import BikeRebalancing
from pipeline.tinycity import checksum
from topics.builtin.parking_traffic.test_traffic import ROADS
from topics.builtin.parking_traffic.test_traffic import pings as road_pings
from topics.builtin.test_muck_trucks_rules import DUMP, FIELD, SITE, leg, night

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DAY0 = datetime(2023, 3, 13)
ZONES = pa.table(
    {
        "zone_id": ["Z1", "Z2", "Z3", "Z4"],
        "name": ["地铁口", "商场", "学校", "公园"],
        "geometry": [
            f"POLYGON(({x} 30.5,{x + 0.0004} 30.5,{x + 0.0004} 30.5004,{x} 30.5004,{x} 30.5))"
            for x in (104.0, 104.001, 104.002, 104.003)
        ],
        "quota": [4, 6, 5, 8],
    }
)
OPERATORS = np.array(["meituan", "hellobike", "qingju"])


class WholeRebalancing(BikeRebalancing):
    """The same topic declaring no periods: recomputed whole, as any topic that does not."""

    name = "bike_rebalancing_whole"

    def period_spec(self, params: TopicParams) -> PeriodSpec | None:
        return None


TOPICS = (SharedBikes(), BikeRebalancing(), WholeRebalancing())


def reports(days: list[int], seed: int, *, broken: bool = False, bikes: str = "B") -> pa.Table:
    """Bike reports on ``days`` (counted from DAY0): 30 bikes (numbered after ``bikes``) at ten
    moments a day, some near midnight, crowding the first zones; ``broken``: every report at 0,0
    (none usable). (Two reports of a bike at one instant would leave its place to chance.)"""
    rng = np.random.default_rng(seed)
    minutes = np.array([5, 360, 480, 485, 500, 720, 1080, 1200, 1433, 1439])
    rows = []
    for day in days:
        for minute in minutes:
            n = 30
            zone = rng.choice(4, n, p=[0.45, 0.3, 0.15, 0.1])
            ts = DAY0 + timedelta(days=day, minutes=int(minute), seconds=int(rng.integers(50)))
            lon = 104.0 + zone * 0.001 + rng.uniform(0, 0.0004, n)
            lat = 30.5 + rng.uniform(0, 0.0004, n)
            rows.append(
                pa.table(
                    {
                        "operator": OPERATORS[rng.integers(3, size=n)],
                        "bike_id": [f"{bikes}{i:03d}" for i in range(n)],
                        "ts": pa.array([ts] * n, pa.timestamp("us")),
                        "lon": np.zeros(n) if broken else lon,
                        "lat": np.zeros(n) if broken else lat,
                    }
                )
            )
    table = pa.concat_tables(rows)
    return table.append_column("load_id", pa.array([f"load-{seed}"] * table.num_rows))


def _register(workspace: Workspace, table: str, data: pa.Table) -> None:
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        columns = tuple(ColumnInfo(name=f.name, type=str(f.type)) for f in data.schema)
        path = str(workspace.lake / "std" / table)
        catalog.register_dataset(DatasetSpec(zone="std", name=table, path=path, columns=columns))
    finally:
        catalog.close()


def deliver(workspace: Workspace, table: str, data: pa.Table, mode: str = "append") -> None:
    """Write (or append to) a std table as standardisation does, and list it in the catalog."""
    with workspace.engine() as engine:
        engine.write(data, "std", table, mode="replace" if mode == "replace" else "append")
    _register(workspace, table, data)


def _noop(ctx: Any, report: Any) -> StepResult:
    return StepResult("std tables written by the test")


def graph(topics: tuple[Topic, ...] = TOPICS) -> Graph:
    standardize = Step("standardize", "the test's std tables", _noop, writes=("std/*",))
    return Graph([standardize, *(topic_step(topic) for topic in topics)])


def run(workspace: Workspace, topics: tuple[Topic, ...] = TOPICS, **how: Any) -> dict[str, str]:
    """Run the graph; each topic step's summary, and the run's id under ``run_id``."""
    summary = run_pipeline(workspace, graph=graph(topics), **how)
    assert summary.status == "succeeded", summary.steps
    steps = {r.name.removeprefix("topic:"): r.summary for r in summary.steps}
    return {**steps, "run_id": summary.run_id}


def results(
    workspace: Workspace, run_id: str, tables: tuple[str, ...] = (DENSITY_TABLE,)
) -> dict[str, Any]:
    """Each bike topic's findings and ``tables`` (topic zone) of run ``run_id``, comparable across
    runs (by id: two runs in one second need not sort in the order they ran)."""
    names = [f"{topic.name}_findings" for topic in TOPICS] if tables == (DENSITY_TABLE,) else []
    found: dict[str, Any] = {}
    with workspace.engine() as engine:
        for name in [*names, *tables]:
            table = engine.table("topic", name)
            found[name] = checksum(engine.to_arrow(table.filter(table.run_id == run_id)))
    return found


@pytest.fixture(
    params=[
        pytest.param("duckdb", marks=pytest.mark.duckdb),
        pytest.param("spark", marks=pytest.mark.spark),
    ]
)
def workspace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace on the engine of the test's parameter, its topics' settings as ``settings``
    (``[topics.NAME]`` lines) say."""
    if request.param == "spark":
        request.getfixturevalue("spark_session")
    ws = Workspace.init(tmp_path / "ws")
    toml = ws.root / "citybrain.toml"
    text = toml.read_text("utf-8")
    assert 'kind = "duckdb"' in text
    toml.write_text(text.replace('kind = "duckdb"', f'kind = "{request.param}"', 1), "utf-8")
    yield Workspace.open(ws.root)


def _settings(workspace: Workspace, text: str) -> Workspace:
    toml = workspace.root / "citybrain.toml"
    toml.write_text(toml.read_text("utf-8") + text, "utf-8")
    return Workspace.open(workspace.root)


def _full(workspace: Workspace) -> dict[str, Any]:
    """A full recompute of every topic on the same data (``--only`` never increments)."""
    summaries = run(workspace, only="topic")
    assert not any("recomputed" in s for s in summaries.values()), summaries
    return results(workspace, summaries["run_id"])


@pytest.mark.parametrize(
    "settings",
    [
        "",  # 15-minute snapshots, rebalancing of the newest only
        # snapshots that reach past midnight (neighbours), every snapshot's moves
        "\n[topics.shared_bikes]\nsnapshot_minutes = 7\n"
        "[topics.bike_rebalancing]\nsnapshot_minutes = 7\nlatest_only = false\n",
    ],
    ids=["defaults", "straddling"],
)
def test_new_days_recompute_only_their_findings_and_end_as_a_full_recompute(
    workspace: Workspace, settings: str
) -> None:
    workspace = _settings(workspace, settings)
    deliver(workspace, "bike_zone", ZONES, "replace")
    deliver(workspace, "bike_position", reports([0, 1, 2, 3, 4], seed=1), "replace")
    first = run(workspace)
    assert not any("recomputed" in s for s in first.values()), first

    # the next day, and late reports of an earlier one
    deliver(workspace, "bike_position", reports([5], seed=2))
    deliver(workspace, "bike_position", reports([2], seed=3, bikes="L"))
    second = run(workspace)
    straddles = "snapshot_minutes = 7" in settings
    days = "6 days recomputed from the rows of 8" if straddles else "2 days recomputed from"
    assert days in second["shared_bikes"], second
    latest_only = "latest_only = false" not in settings
    if latest_only:  # the newest day's moves: from its rows (and the day before's, 7-minute)
        assert "1 days recomputed" in second["bike_rebalancing"], second
        assert "0 findings of other days kept" in second["bike_rebalancing"], second
    else:
        assert days in second["bike_rebalancing"], second
    assert "recomputed" not in second["bike_rebalancing_whole"], second
    assert results(workspace, second["run_id"]) == _full(workspace)

    # a day whose every report is at 0,0: the density layer stays the newest usable snapshot's
    deliver(workspace, "bike_position", reports([6], seed=4, broken=True))
    third = run(workspace)
    assert "recomputed" in third["shared_bikes"], third
    assert results(workspace, third["run_id"]) == _full(workspace)


def test_a_changed_parameter_or_a_rewritten_table_recomputes_whole(workspace: Workspace) -> None:
    deliver(workspace, "bike_zone", ZONES, "replace")
    deliver(workspace, "bike_position", reports([0, 1, 2], seed=1), "replace")
    run(workspace)
    deliver(workspace, "bike_position", reports([3], seed=2))
    assert "1 days recomputed" in run(workspace)["shared_bikes"]

    workspace = _settings(workspace, "\n[topics.shared_bikes]\nthreshold = 0.6\n")
    deliver(workspace, "bike_position", reports([4], seed=3))
    changed = run(workspace)
    assert "recomputed" not in changed["shared_bikes"], changed  # another stamp
    assert "recomputed" in changed["bike_rebalancing"], changed  # its own settings unchanged
    assert results(workspace, changed["run_id"]) == _full(workspace)

    # the same rows and one more day written as a new table: not an append
    again = pa.concat_tables(
        [reports([0, 1, 2], seed=1), reports([3], seed=2), reports([4], seed=3)]
    )
    deliver(workspace, "bike_position", pa.concat_tables([again, reports([5], seed=5)]), "replace")
    rewritten = run(workspace)
    assert not any("recomputed" in s for s in rewritten.values()), rewritten
    assert results(workspace, rewritten["run_id"]) == _full(workspace)

    # the zones changed (another input): whole again, though the positions only grew
    deliver(workspace, "bike_position", reports([6], seed=6))
    deliver(workspace, "bike_zone", ZONES.slice(0, 3), "replace")
    zones = run(workspace)
    assert not any("recomputed" in s for s in zones.values()), zones
    assert results(workspace, zones["run_id"]) == _full(workspace)


def _moved(table: pa.Table, days: int, plates: str = "") -> pa.Table:
    """``table``'s pings ``days`` later (their plates prefixed with ``plates``)."""
    ts = pc.add(table["ts"], pa.scalar(timedelta(days=days), pa.duration("us")))
    plate = pc.binary_join_element_wise(pa.scalar(plates), table["plate"], "")
    table = table.set_column(table.schema.get_field_index("ts"), "ts", ts)
    return table.set_column(table.schema.get_field_index("plate"), "plate", plate)


def test_road_traffic_keeps_its_per_day_sums_and_ends_as_a_full_recompute(
    workspace: Workspace,
) -> None:
    """Road traffic's findings are over all days (free flow, days congested), made from per-day
    slot sums it keeps as its state: the new days' sums are made, the others' kept."""
    traffic = (RoadTraffic(),)
    tables = (f"{RoadTraffic.name}_findings", SPEED_TABLE, SUMS_TABLE)
    deliver(workspace, "road", pa.Table.from_pandas(ROADS.astype({"road_id": str})), "replace")
    deliver(workspace, "vehicle_ping", road_pings(), "replace")
    assert "whole" in run(workspace, traffic)["road_traffic"]

    # two days more (a weekend) and, late, more pings of the second day
    deliver(workspace, "vehicle_ping", _moved(road_pings(), 5).slice(0, 78))
    deliver(workspace, "vehicle_ping", _moved(road_pings().slice(0, 39), 1, plates="L"))
    second = run(workspace, traffic)
    assert "3 days recomputed" in second["road_traffic"], second
    assert results(workspace, second["run_id"], tables) == _full_traffic(workspace, tables)


def _full_traffic(workspace: Workspace, tables: tuple[str, ...]) -> dict[str, Any]:
    summaries = run(workspace, (RoadTraffic(),), only="topic")
    assert "whole" in summaries["road_traffic"], summaries
    return results(workspace, summaries["run_id"], tables)


MUCK_DAY0 = datetime(2023, 3, 27)  # a Monday: the days run across the end of March
TRUCKS = {"A": "川A00001", "B": "川A00002", "C": "川A00003", "D": "川A00004", "E": "川A00005"}
ROUTE = "LINESTRING(104.0 30.5, 104.05 30.5)"  # the permits' route: the site to the dump


def _muck_day(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return MUCK_DAY0 + timedelta(days=day, hours=hour, minutes=minute)


def _unloaded(table: pa.Table) -> pa.Table:
    """``table`` with no load status (a taxi's terminal, or a truck's that stopped sending it)."""
    index = table.schema.get_field_index("loaded")
    return table.set_column(index, "loaded", pa.nulls(table.num_rows, pa.bool_()))


def muck_pings(days: list[int]) -> pa.Table:
    """The first delivery's pings, shift days ``days``: A lawful nights (permit, route); B also
    by day on day 1 (outside its hours); C without a permit on days 1 to 6 (March and April);
    D standing loaded in a field across 06:00 on day 2 and across midnight on day 4 (off its
    route to get there); E without a permit, reporting its load only on day 0; a taxi by day at
    70 km/h without load status (no muck truck)."""
    a, b, c, d, e = TRUCKS.values()
    parts = [night(a, _muck_day(day)) for day in days]
    parts += [night(b, _muck_day(day)) for day in days]
    parts += [night(c, _muck_day(day)) for day in days if 1 <= day <= 6]
    parts += [
        _unloaded(leg("川AT0001", _muck_day(day, 10), SITE, DUMP, speed=70.0)) for day in days
    ]
    if 1 in days:
        parts.append(leg(b, _muck_day(1, 10), SITE, DUMP))
    if 0 in days:
        parts.append(leg(e, _muck_day(0, 22), SITE, DUMP))
    for day, at in ((2, _muck_day(3, 5)), (4, _muck_day(4, 23))):
        if day in days:  # to the field, then 40 minutes standing loaded there
            parts.append(leg(d, at, SITE, FIELD, n=6))
            parts.append(leg(d, at + timedelta(minutes=40), FIELD, FIELD, n=5, minutes=10,
                             speed=0.0))  # fmt: skip
    return pa.concat_tables(parts).append_column(
        "load_id", pa.array([f"load-{min(days)}"] * sum(p.num_rows for p in parts))
    )


def muck_permits() -> pa.Table:
    plates = [TRUCKS["A"], TRUCKS["B"], TRUCKS["D"]]
    n = len(plates)
    return pa.table(
        {
            "permit_no": [f"P{i}" for i in range(n)],
            "plate": plates,
            "allowed_hours": ["22:00-06:00"] * n,
            "valid_from": pa.array([datetime(2023, 1, 1).date()] * n),
            "valid_to": pa.array([datetime(2023, 12, 31).date()] * n),
            "route": [ROUTE] * n,
        }
    )


def _muck_kinds(workspace: Workspace, run_id: str) -> dict[tuple[str, str, str], float]:
    """(plate, kind, period) → observed value of each muck-truck finding of run ``run_id``."""
    with workspace.engine() as engine:
        table = engine.table("topic", f"{MuckTrucks.name}_findings")
        findings = engine.to_arrow(table.filter(table.run_id == run_id))
    first = [reasons[0] for reasons in findings.column("reasons").to_pylist()]
    plates = findings.column("subject_id").to_pylist()
    periods = findings.column("period").to_pylist()
    return {
        (plate, reason["signal"], period): reason["observed"]
        for plate, reason, period in zip(plates, first, periods, strict=True)
    }


def test_muck_trucks_keep_their_shift_days_and_end_as_a_full_recompute(
    workspace: Workspace,
) -> None:
    """Muck trucks are judged per shift day (a night counts on its evening) and no_permit per
    month: the state keeps each truck-day's rows and the fleet; a nightly run judges the shift
    days around the new pings' days (a late ping before 06:00 belongs to the shift before, and
    one after 06:00 can lengthen a stop begun before it) and makes the month whole again."""
    muck = (MuckTrucks(),)
    tables = (f"{MuckTrucks.name}_findings", MUCK_STATE)
    sites = pa.table(
        {"site_id": ["S1", "S2"], "kind": ["construction", "disposal"],
         "lon": [SITE[0], DUMP[0]], "lat": [SITE[1], DUMP[1]]}
    )  # fmt: skip
    deliver(workspace, "site", sites, "replace")
    deliver(workspace, "transport_permit", muck_permits(), "replace")
    deliver(workspace, "vehicle_ping", muck_pings(list(range(8))), "replace")
    first = run(workspace, muck)
    assert "whole" in first["muck_trucks"], first
    before = _muck_kinds(workspace, first["run_id"])

    # the next night (E's terminal sends no load status now), then late pings of an old night:
    # C driving on at 03:00 (shift day 2), D still standing in the field after 06:00
    a, _, c, d, e = TRUCKS.values()
    night_8 = [night(a, _muck_day(8)), night(c, _muck_day(8)),
               _unloaded(leg(e, _muck_day(8, 22), SITE, DUMP))]  # fmt: skip
    late = [leg(c, _muck_day(3, 3), DUMP, SITE, loaded=False),
            leg(d, _muck_day(3, 6, 30), FIELD, FIELD, n=2, minutes=10, speed=0.0)]  # fmt: skip
    for parts, load in ((night_8, "load-8"), (late, "load-late")):
        table = pa.concat_tables(parts)
        deliver(workspace, "vehicle_ping", table.append_column(
            "load_id", pa.array([load] * table.num_rows)))  # fmt: skip
    second = run(workspace, muck)
    # touched calendar days 3, 8 and 9 (the night's small hours): shift days 2-4 and 7-10
    # judged, from the pings of calendar days 1-11; days 0, 1, 5 and 6 kept
    assert "7 days recomputed from the rows of 11" in second["muck_trucks"], second
    after = _muck_kinds(workspace, second["run_id"])
    assert results(workspace, second["run_id"], tables) == _full_muck(workspace, tables)

    assert {
        (TRUCKS["B"], "outside_hours", "2023-03-28"),
        (c, "no_permit", "2023-03"),
        (c, "no_permit", "2023-04"),
        (d, "illegal_dumping", "2023-03-29"),
        (d, "illegal_dumping", "2023-03-31"),
        (e, "no_permit", "2023-03"),
        (e, "no_permit", "2023-04"),  # a kept fleet member's pings without load status
    } <= set(after), sorted(after)
    assert not any(plate == "川AT0001" for plate, _, _ in after)  # the taxi is no muck truck
    assert (e, "no_permit", "2023-04") not in before
    # the stop across 06:00 grew by the late pings after it; C's March kept its days' count
    dumping = (d, "illegal_dumping", "2023-03-29")
    assert after[dumping] > before[dumping], (before[dumping], after[dumping])
    assert after[(c, "no_permit", "2023-03")] == before[(c, "no_permit", "2023-03")] == 4


def _full_muck(workspace: Workspace, tables: tuple[str, ...]) -> dict[str, Any]:
    summaries = run(workspace, (MuckTrucks(),), only="topic")
    assert "whole" in summaries["muck_trucks"], summaries
    return results(workspace, summaries["run_id"], tables)


def test_a_whole_recompute_over_a_large_input_is_made_in_chunks_of_days_alike(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over more rows than `CHUNK_ROWS`, a whole recompute of a periodic topic is made in chunks
    of consecutive days, each as a nightly run makes its days (a city's history is never sorted
    or grouped at once): the same findings, map layers and state as made at once."""
    sites = pa.table(
        {"site_id": ["S1", "S2"], "kind": ["construction", "disposal"],
         "lon": [SITE[0], DUMP[0]], "lat": [SITE[1], DUMP[1]]}
    )  # fmt: skip
    deliver(workspace, "bike_zone", ZONES, "replace")
    deliver(workspace, "bike_position", reports([0, 1, 2, 3, 4, 5], seed=1), "replace")
    deliver(workspace, "road", pa.Table.from_pandas(ROADS.astype({"road_id": str})), "replace")
    deliver(workspace, "site", sites, "replace")
    deliver(workspace, "transport_permit", muck_permits(), "replace")
    # F: no permit, its terminal sends a load status only on the last night: a muck truck on its
    # first nights too, though the chunk that judges them has none of its load reports
    late = "川A00009"
    first = pa.concat_tables([_unloaded(night(late, _muck_day(day))) for day in (0, 1)])
    last = night(late, _muck_day(7))
    truck_f = pa.concat_tables([first, last]).append_column(
        "load_id", pa.array(["load-f"] * (first.num_rows + last.num_rows))
    )
    pings = pa.concat_tables(
        [muck_pings(list(range(8))), truck_f, road_pings(), _moved(road_pings(), 2, plates="L")],
        promote_options="default",  # the taxis' pings have no load status
    )
    deliver(workspace, "vehicle_ping", pings, "replace")
    topics = (*TOPICS, RoadTraffic(), MuckTrucks())
    tables = (
        *(f"{t.name}_findings" for t in topics), DENSITY_TABLE, SPEED_TABLE, SUMS_TABLE,
        MUCK_STATE,
    )  # fmt: skip
    at_once = run(workspace, topics, only="topic")
    assert not any("chunks" in s for s in at_once.values()), at_once
    expected = results(workspace, at_once["run_id"], tables)  # the state is the latest run's
    assert (late, "no_permit", "2023-03") in _muck_kinds(workspace, at_once["run_id"])

    monkeypatch.setattr(topic_increment, "CHUNK_ROWS", pings.num_rows // 3)
    chunked = run(workspace, topics, only="topic")
    for name in ("shared_bikes", "road_traffic", "muck_trucks"):
        assert "chunks of days" in chunked[name], chunked
    assert "chunks" not in chunked["bike_rebalancing"], chunked  # the newest snapshot only
    assert results(workspace, chunked["run_id"], tables) == expected
