"""Road traffic (路况): road-segment speed and congestion from vehicle GPS pings, and the segments
congested again and again at the same hour of the same kind of day (weekdays and weekends judged
apart) — one finding per segment, day type and hour for the traffic police to act on (signal
timing, a lane, a works site, a school gate).

A topic of its own beside ``parking_traffic``: a topic has one subject type, and these findings
are about road segments (``road_segment``), not parking lots. The speeds of the newest day's hour
slots are stored in the topic zone (``road_segment_speed``, per run, with each segment's line as
WKT) and drawn on the map as the segments' lines, coloured 畅通 / 缓行 / 拥堵 (source layer
``road_segment_speed``, ``kind="lines"``).

The slots come from per-day sums (`slot_sums`), kept in the topic zone as the latest run made them
(``road_segment_slot_sums``): a nightly run makes only the sums of the days new pings fall on and
keeps the others' (`PeriodSpec.state`), then judges all days as a full run would.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pyarrow as pa
from pydantic import Field

from citybrain.topics import (
    REASON_TYPE,
    Evaluation,
    InputSpec,
    LegendEntry,
    MapLayer,
    PagePanel,
    PeriodSpec,
    Topic,
    TopicContext,
    TopicParams,
    findings_table,
    join_text,
    one_reason_per_row,
)
from citybrain.topics.builtin.parking_traffic.segments import (
    SUM_COLUMNS,
    SpeedRules,
    recurring,
    road_segments,
    slot_sums,
    speeds_of,
)
from citybrain.topics.builtin.parking_traffic.traffic_evaluate import evaluate_road_traffic

log = logging.getLogger(__name__)
SPEED_TABLE = "road_segment_speed"
TRAFFIC_POLICE = "区公安分局交通警察大队"


class RoadTrafficParams(TopicParams):
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="share of days congested: a finding")
    high: float = Field(0.8, ge=0.0, le=1.0, description="share of days at or above: level high")
    snap_m: float = Field(30.0, gt=0, description="farthest a ping lies from its road segment, m")
    min_pings: int = Field(3, ge=1, description="fewest moving pings for a slot's speed")
    slow_ratio: float = Field(0.7, gt=0, le=1, description="under this share of free flow: slow")
    congested_ratio: float = Field(0.5, gt=0, le=1, description="under this share: congested")
    min_days: int = Field(3, ge=1, description="days congested at the same hour for a finding")


def _rules(p: RoadTrafficParams) -> SpeedRules:
    return SpeedRules(
        snap_m=p.snap_m,
        min_pings=p.min_pings,
        slow_ratio=p.slow_ratio,
        congested_ratio=p.congested_ratio,
    )


#: the per-day sums of every day so far, as the latest run made them: a nightly run recomputes
#: only the days new pings fall on and keeps the others' (`PeriodSpec.state`)
SUMS_TABLE = "road_segment_slot_sums"
SUMS_SCHEMA = pa.schema(
    [("seg", pa.int64()), ("day", pa.string()), ("hour", pa.int64()), ("pings", pa.int64()),
     ("vehicles", pa.int64()), ("inverse", pa.float64())]
)  # fmt: skip


def kept_sums(ctx: TopicContext, sums: pd.DataFrame) -> pd.DataFrame:
    """Every day's slot sums: ``sums`` — on an incremental run only those of the days it
    recomputes, with the previous run's of the others —, stored as this run's state."""
    sums = sums[list(SUM_COLUMNS)]
    if ctx.kept is not None:
        mine = sums.loc[sums["day"].astype(str).isin(ctx.kept.day_texts)]
        sums = pd.concat([ctx.engine.to_pandas(ctx.kept.rows), mine], ignore_index=True)
    table = pa.Table.from_pandas(sums, schema=SUMS_SCHEMA, preserve_index=False)
    table = table.append_column("run_id", pa.array([ctx.run_id] * table.num_rows, pa.string()))
    # the latest run's sums only (the next run keeps from them): replaced, so the table does not
    # grow by every day's sums each night, and a run stopped and run again writes them once
    ctx.engine.write(table, "topic", SUMS_TABLE, mode="replace", partition_by=["run_id"])
    return sums


def store_speeds(ctx: TopicContext, slots: pd.DataFrame) -> None:
    """The newest day's slots, appended to the topic zone for the map (nothing without any). A
    table of an older shape (written before the segments' lines were kept) is replaced: the map
    reads only the newest run."""
    if slots.empty:
        return
    newest = slots.loc[slots["day"] == slots["day"].max()]
    table = pa.Table.from_pandas(newest, preserve_index=False)
    table = table.append_column("run_id", pa.array([ctx.run_id] * len(newest), pa.string()))
    engine = ctx.engine
    same = not engine.exists("topic", SPEED_TABLE) or sorted(
        engine.table("topic", SPEED_TABLE).columns
    ) == sorted(table.column_names)
    engine.write(table, "topic", SPEED_TABLE, mode="append" if same else "replace",
                 partition_by=["run_id"])  # fmt: skip


def congestion_reasons(found: pd.DataFrame, hours: pd.Series) -> pa.ListArray:
    """One reason per finding, in words: which segment, which kind of day and hour (``hours``,
    e.g. ``08:00–09:00``), on how many of those days, how slow."""
    n = len(found)
    if n == 0:  # nothing found: the empty columns carry no string type to build texts from
        return pa.array([], pa.list_(REASON_TYPE))

    def words(values: pd.Series) -> pa.Array:
        return pa.array(values.astype(str).tolist(), pa.string())

    road = words(found["road_name"].fillna(found["segment_id"]))
    seg, hour = words(found["segment_id"]), words(hours)
    weekend = found["day_type"] == "weekend"
    when_zh = words(weekend.map({True: "周末", False: "工作日"}))
    when_en = words(weekend.map({True: "weekend days", False: "weekdays"}))
    days = words(found["days_observed"].astype(int))
    jammed = words(found["days_congested"].astype(int))
    speed = words(found["speed_kmh"].round().astype(int))
    free = words(found["free_flow_kmh"].round().astype(int))
    zh = join_text(road, "（路段", seg, "）", when_zh, hour, "常发拥堵：", days, "个", when_zh,
                   "中有", jammed, "天车速约", speed, "公里/小时，畅通时约", free,
                   "公里/小时")  # fmt: skip
    en = join_text(road, " (segment ", seg, ") is congested on ", when_en, " at ", hour,
                   " again and again: on ", jammed, " of ", days, " ", when_en, " about ",
                   speed, " km/h against ", free, " km/h in free flow")  # fmt: skip
    return one_reason_per_row(
        "recurring_congestion",
        found["speed_kmh"].to_numpy(float),
        found["free_flow_kmh"].to_numpy(float),
        found["share"].to_numpy(float),
        zh,
        en,
    )


PERIOD_DAYS = {"weekday": "工作日", "weekend": "周末"}


def findings_of(found: pd.DataFrame, topic: Topic, ctx: TopicContext) -> pa.Table:
    """One finding per segment, day type (weekdays, weekends) and hour congested on at least
    ``threshold`` of those days; its period names both, e.g. ``工作日 08:00–09:00``."""
    params = ctx.params
    assert isinstance(params, RoadTrafficParams)
    found = found.loc[found["share"] >= params.threshold].reset_index(drop=True)
    n = len(found)
    hour = found["hour"].astype(int)
    hours = pd.Series(
        [f"{h:02d}:00–{(h + 1) % 24:02d}:00" for h in hour.tolist()], dtype=object
    )  # one per finding: a handful
    period = found["day_type"].map(PERIOD_DAYS).astype(object) + " " + hours
    return findings_table(
        topic.name,
        topic.subject_type,
        subject_id=pa.array(found["segment_id"].astype(str).tolist() if n else [], pa.string()),
        period=pa.array(period.tolist() if n else [], pa.string()),
        score=pa.array(found["share"].to_numpy(float), pa.float64()),
        thresholds=topic.level_thresholds(params),
        reasons=congestion_reasons(found, hours),
        model_version=ctx.model_version,
        lon=pa.array(found["lon"].to_numpy(float), pa.float64()),
        lat=pa.array(found["lat"].to_numpy(float), pa.float64()),
    )


class RoadTraffic(Topic):
    """Road segments congested again and again at the same hour (路段常发拥堵)."""

    name = "road_traffic"
    title_zh = "路况与常发拥堵路段"
    title_en = "Road traffic"
    subject_type = "road_segment"
    version = "1"
    department_hint = TRAFFIC_POLICE
    params_model: ClassVar[type[TopicParams]] = RoadTrafficParams
    inputs = (
        InputSpec(table="vehicle_ping", columns=("plate", "ts", "lon", "lat", "speed")),
        InputSpec(table="road", columns=("road_id", "name", "geometry")),
    )
    # findings over all days, made from per-day slot sums: those are kept, a day's from its pings
    periodic = PeriodSpec("std.vehicle_ping", "ts", state=SUMS_TABLE)

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, RoadTrafficParams)
        roads = ctx.engine.to_pandas(ctx.input("std.road").select("road_id", "name", "geometry"))
        segments = road_segments(roads)
        if segments is None:
            log.warning("road_traffic: std.road has no readable road line: no speed judged")
            found = recurring(pd.DataFrame(), params.min_days)
        else:
            sums, counts = slot_sums(ctx.engine, ctx.input("std.vehicle_ping"), segments,
                                     _rules(params))  # fmt: skip
            log.info(
                "road_traffic: %(pings)d pings, %(moving)d moving, %(on_segments)d within reach"
                " of a road segment (the rest: standing, without speed or off every road)",
                counts,
            )
            slots = speeds_of(kept_sums(ctx, sums), segments, _rules(params))
            if ctx.side_tables:
                store_speeds(ctx, slots)
            found = recurring(slots, params.min_days)
        return findings_of(found, self, ctx)

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        """Precision and recall over (segment, hour) against the planted recurring jams."""
        if findings.num_rows == 0:  # never run here: score what a run would find
            findings = self.run(ctx)
        return evaluate_road_traffic(self.name, findings, truth_dir, ctx)

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id=SPEED_TABLE,
                title_zh="路段车速",
                title_en="Road segment speed",
                kind="lines",  # each segment drawn as its line (the table's geometry column)
                source=SPEED_TABLE,
                latest="slot",
                properties=[
                    "road_name",
                    "segment_id",
                    "slot",
                    "speed_kmh",
                    "free_flow_kmh",
                    "congestion",
                    "level_zh",
                    "level",
                ],
                color_by="level",
                legend=[
                    LegendEntry(value="free", label_zh="畅通", label_en="free", color="#2f9e44"),
                    LegendEntry(value="slow", label_zh="缓行", label_en="slow", color="#f59f00"),
                    LegendEntry(
                        value="congested", label_zh="拥堵", label_en="congested", color="#e03131"
                    ),
                ],
            ),
            MapLayer(id="road_congestion", title_zh="常发拥堵路段", title_en="Recurring jams"),
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="road_traffic_how_to_read",
                title_zh="如何看懂这些发现",
                title_en="How to read these findings",
                text_zh=(
                    "道路在交叉口处切分为路段；车辆定位点（约10米取整）匹配到30米内最近的路段。"
                    "每个路段每小时的车速取行驶中定位点速度的调和平均，畅通车速取该路段各小时车速的"
                    "第85百分位；车速低于畅通车速50%为拥堵，低于70%为缓行。工作日与周末分开判断："
                    "同一路段在工作日（或周末）的同一小时多日（默认至少3天，且占这类日子观测天数"
                    "一半以上）拥堵即提示，交交警部门处置。"
                ),
                text_en=(
                    "Roads are cut into segments at their crossings; each GPS ping (rounded to"
                    " about 10 m) goes to its nearest segment within 30 m. A segment's speed in an"
                    " hour is the harmonic mean of its moving pings' speeds; its free-flow speed is"
                    " the 85th percentile of its hourly speeds. Under 50% of free flow is"
                    " congested, under 70% slow. Weekdays and weekends are judged apart: a"
                    " segment congested at the same hour on several weekdays (or weekend days; 3"
                    " by default, and at least half of those days observed) is flagged for the"
                    " traffic police."
                ),
            )
        ]
