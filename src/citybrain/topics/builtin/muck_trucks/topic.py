"""The muck-truck topic (渣土车): trucks driving outside their permitted hours, without a permit,
too fast, off their permit's approved route, or standing loaded away from every site (suspected
illegal dumping).

Its findings are made from rows per truck and shift day, kept in the topic zone as the latest run
made them (``muck_truck_days``, `state`): a nightly run judges only the shift days new pings can
change, keeps the others' rows, and makes the findings of all days as a full run would (what may
still differ is said in `state`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field

from citybrain.topics import (
    InputSpec,
    MapLayer,
    OverviewTile,
    PagePanel,
    PeriodSpec,
    Signal,
    Topic,
    TopicContext,
    TopicParams,
    build_reasons,
    findings_table,
)
from citybrain.topics.builtin.muck_trucks.corridor import CorridorRules
from citybrain.topics.builtin.muck_trucks.evaluate import MuckEvaluation, evaluate_muck_trucks
from citybrain.topics.builtin.muck_trucks.rules import RuleLimits
from citybrain.topics.builtin.muck_trucks.state import (
    STATE_TABLE,
    kept_days,
    kept_rows,
    known_fleet,
)
from citybrain.topics.builtin.muck_trucks.track import TrackRules
from citybrain.topics.builtin.muck_trucks.violations import KINDS, day_rows, violations_from

DEPARTMENT = "区综合行政执法局（城管）"


class MuckTruckParams(TopicParams):
    speed_limit_kmh: float = Field(60.0, gt=0, description="speed limit for muck trucks, km/h")
    max_kmh: float = Field(150.0, gt=0, description="faster than this between points: a jump")
    stop_kmh: float = Field(5.0, ge=0, description="at or below this speed a truck stands")
    day_start_hour: int = Field(6, ge=0, le=23, description="a night shift belongs to its evening")
    site_radius_m: float = Field(150.0, gt=0, description="standing within this of a site is fine")
    min_stop_minutes: float = Field(8.0, gt=0, description="shortest stop that can be a dump")
    reach_kmh: float = Field(
        40.0, gt=0, description="a loaded truck's average road speed: time to reach a stop"
    )
    min_outside_pings: int = Field(3, ge=1, description="pings outside the hours for a finding")
    min_outside_minutes: float = Field(15.0, ge=0, description="minutes outside the hours")
    min_speeding_pings: int = Field(2, ge=1, description="pings above the limit in a day")
    single_ping_stops: bool = Field(
        True, description="a sparse terminal's short standing run counts by the time around it"
    )
    corridor_m: float = Field(200.0, gt=0, description="half-width of the route corridor, metres")
    min_off_route_pings: int = Field(3, ge=2, description="consecutive pings off the route")
    min_off_route_minutes: float = Field(5.0, ge=0, description="minutes off the route")


def _limits(p: MuckTruckParams) -> tuple[TrackRules, RuleLimits]:
    return (
        TrackRules(max_kmh=p.max_kmh, stop_kmh=p.stop_kmh, day_start_hour=p.day_start_hour),
        RuleLimits(
            speed_limit_kmh=p.speed_limit_kmh,
            min_speeding_pings=p.min_speeding_pings,
            min_outside_pings=p.min_outside_pings,
            min_outside_minutes=p.min_outside_minutes,
            min_stop_minutes=p.min_stop_minutes,
            site_radius_m=p.site_radius_m,
            single_ping_stops=p.single_ping_stops,
            reach_kmh=p.reach_kmh,
        ),
    )


def violations_of(ctx: TopicContext) -> pd.DataFrame:
    """The violations of all days: the rows of the days handed (all, on a full run) and, on a
    nightly run, the kept rows of the others (`state`)."""
    params = ctx.params
    assert isinstance(params, MuckTruckParams)
    track, limits = _limits(params)
    sites = ctx.input("std.site") if _has(ctx, "std.site") else None
    corridor = CorridorRules(
        corridor_m=params.corridor_m,
        min_pings=params.min_off_route_pings,
        min_minutes=params.min_off_route_minutes,
    )
    pings = ctx.input("std.vehicle_ping")
    kept = kept_rows(ctx)
    fleet = known_fleet(ctx, pings, kept)
    known = (
        None
        if fleet is None
        else ctx.engine.register(
            "muck_truck_fleet", pa.table({"m_plate": pa.array(fleet, pa.string())})
        )
    )
    rows = day_rows(ctx.engine, pings, ctx.input("std.transport_permit"), sites, track, limits,
                    corridor, known)  # fmt: skip
    return violations_from(kept_days(ctx, rows, kept, fleet))


def _has(ctx: TopicContext, dataset: str) -> bool:
    if ctx.inputs is not None:
        return dataset in ctx.inputs
    zone, _, table = dataset.partition(".")
    return ctx.engine.exists(zone, table)


_TEXT = {
    "outside_hours": (
        "在核准准运时段外行驶约{observed}分钟（应为{expected}）",
        "drove about {observed} minutes outside its permitted hours (allowed: {expected})",
    ),
    "illegal_dumping": (
        "重车在非工地、非消纳场处停留约{observed}分钟，疑似偷倒",
        "stood loaded about {observed} minutes away from any site: suspected dumping",
    ),
    "no_permit": (
        "本月{observed}天无有效核准证上路行驶",
        "drove on {observed} days this month without a valid transport permit",
    ),
    "speeding": (
        "最高车速{observed}公里/小时，限速{expected}",
        "top speed {observed} km/h against a limit of {expected}",
    ),
    "off_route": (
        "偏离核准运输线路行驶约{observed}分钟",
        "drove about {observed} minutes off its permitted route",
    ),
}
_EXTRA = {
    "outside_hours": ("时段外定位点{observed}个", "{observed} pings outside the hours"),
    "illegal_dumping": ("距最近工地或消纳场{observed}米", "{observed} m from the nearest site"),
    "no_permit": ("无证行驶定位点{observed}个", "{observed} pings without a permit"),
    "speeding": ("超速定位点{observed}个", "{observed} pings above the limit"),
    "off_route": ("线路走廊外定位点{observed}个", "{observed} pings outside the route corridor"),
}


def _signals(v: pd.DataFrame) -> list[Signal]:
    score = v["score"].to_numpy(float)
    out: list[Signal] = []
    for kind in KINDS:
        mine = (v["kind"] == kind).to_numpy()
        zh, en = _TEXT[kind]
        out.append(
            Signal(
                kind,
                pa.array(v["observed"].to_numpy(float)),
                pa.array(v["expected"].to_numpy(float)),
                pa.array(np.where(mine, score, 0.0)),
                zh,
                en,
                decimals=0,
            )
        )
        zh, en = _EXTRA[kind]
        out.append(
            Signal(
                f"{kind}_evidence",
                pa.array(v["extra"].to_numpy(float)),
                pa.array(np.zeros(len(v))),
                pa.array(np.where(mine, 0.01, 0.0)),
                zh,
                en,
                decimals=0,
            )
        )
    return out


class MuckTrucks(Topic):
    """Muck trucks breaking the rules of their transport permits (渣土车)."""

    name = "muck_trucks"
    title_zh = "渣土车监管"
    title_en = "Muck trucks"
    subject_type = "vehicle"
    version = "1"
    department_hint = DEPARTMENT
    params_model: ClassVar[type[TopicParams]] = MuckTruckParams
    inputs = (
        InputSpec(table="vehicle_ping", columns=("plate", "ts", "lon", "lat", "speed", "loaded")),
        InputSpec(
            table="transport_permit",
            columns=("permit_no", "plate", "allowed_hours", "valid_from", "valid_to", "route"),
        ),
        InputSpec(table="site", columns=("site_id", "kind", "lon", "lat"), optional=True),
    )
    # Judged per shift day (a night shift belongs to the day it began, ``day_start_hour``), kept
    # per shift day in the state. A ping on calendar day T belongs to shift T-1 or T, and changes
    # its neighbours' speeds, stands and jumps (lag/lead), which may fall on the shift before or
    # after it; a stop or off-route run crossing the shift's start counts on the day it began.
    # So one neighbour, whatever ``day_start_hour``: shifts T-1..T+1 are recomputed, from the
    # pings of calendar days T-2..T+2 — with shifts from 06:00, 30 hours before them and 18
    # after, the neighbours of their first and last fixes and runs that cross 06:00 (what a
    # longer silence or run leaves apart from a full run is said in `state`).
    periodic = PeriodSpec("std.vehicle_ping", "ts", neighbours=1, state=STATE_TABLE)

    def run(self, ctx: TopicContext) -> pa.Table:
        v = violations_of(ctx)
        v = v.loc[v["score"] >= ctx.params.threshold].reset_index(drop=True)
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=pa.array(v["plate"].astype(str), pa.string()),
            period=pa.array(v["period"].astype(str), pa.string()),
            score=pa.array(v["score"].to_numpy(float), pa.float64()),
            thresholds=self.level_thresholds(ctx.params),
            reasons=build_reasons(_signals(v), min_contribution=0.0),
            model_version=ctx.model_version,
            # means of pings, summed in whatever order the engine's threads took: rounded to
            # about 1 cm so two runs over the same pings give the same findings
            lon=pa.array(np.round(v["lon"].to_numpy(float), 7), pa.float64()),
            lat=pa.array(np.round(v["lat"].to_numpy(float), 7), pa.float64()),
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> MuckEvaluation:

        if findings.num_rows == 0:  # never run here: score what a run would find
            findings = self.run(ctx)
        return evaluate_muck_trucks(self.name, findings, truth_dir, ctx)

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="muck_truck_violations", title_zh="渣土车违规", title_en="Muck-truck violations"
            )
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="muck_truck_violations_month",
                title_zh="本月渣土车违规",
                title_en="Muck-truck violations this month",
                unit_zh="起",
                unit_en="violations",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="muck_trucks_how_to_read",
                title_zh="如何看懂这些发现",
                title_en="How to read these findings",
                text_zh=(
                    "每辆渣土车的定位先去噪：重复点合并、乱序点按时间重排、漂移跳点和 0,0 点剔除、"
                    "不可能的车速视为未知。再对照核准证：准运时段外行驶、无有效核准证上路、超速、"
                    "连续偏离核准线路走廊行驶，以及重车在工地和消纳场以外停留（疑似偷倒）。"
                    "夜班按开始那天计。"
                ),
                text_en=(
                    "Each truck's pings are cleaned first: repeats merged, late points put in"
                    " order, jumps and 0,0 points left out, impossible speeds treated as unknown."
                    " Then they are checked against the permit: driving outside the permitted"
                    " hours, driving without a valid permit, speeding, driving outside the"
                    " corridor around the approved route, and standing loaded away from any"
                    " construction or disposal site (suspected dumping). A night shift counts on"
                    " the day it began."
                ),
            ),
            PagePanel(
                id="muck_trucks_by_level",
                title_zh="违规按等级",
                title_en="Violations by level",
                kind="breakdown",
                by="level",
            ),
        ]
