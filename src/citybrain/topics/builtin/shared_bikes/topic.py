"""The shared-bike topic (共享单车): parking zones holding more bikes than their capacity, with each
operator's share against its quota and the free places nearby to move the surplus to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import ibis.expr.types as ir
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
from citybrain.topics.builtin.shared_bikes import counts, density
from citybrain.topics.builtin.shared_bikes.evaluate import BikeEvaluation, evaluate_shared_bikes

DEPARTMENT = "区综合行政执法局（城管）"
OPERATOR_ZH = {"meituan": "美团", "hellobike": "哈啰", "qingju": "青桔"}


class SharedBikeParams(TopicParams):
    snapshot_minutes: int = Field(15, ge=1, le=1440, description="reports within are one snapshot")
    full_over: float = Field(0.6, gt=0, description="share over capacity that scores 1.0")
    nearby_m: float = Field(500.0, gt=0, description="radius to look for free places, metres")


@dataclass
class Counted:
    frame: pd.DataFrame  # one row per zone and snapshot
    zones: counts.Zones
    reports: ir.Table  # one row per operator, bike and snapshot: where it last reported


def count_zones(
    ctx: TopicContext, snapshot_minutes: int | None = None, since: datetime | None = None
) -> Counted:
    """Bikes per zone and snapshot (``snapshot_minutes``: the topic's own parameter if None);
    ``since``: of the snapshots from that moment on only (a snapshot's start)."""
    if snapshot_minutes is None:
        params = ctx.params
        assert isinstance(params, SharedBikeParams)
        snapshot_minutes = params.snapshot_minutes
    zones = counts.read_zones(ctx.engine, ctx.input("std.bike_zone"))
    positions = ctx.input("std.bike_position")
    if since is not None:
        positions = positions.filter(positions.ts >= since)
    reports = counts.last_reports(positions, snapshot_minutes)
    long = counts.zone_counts(ctx.engine, reports, zones)
    frame = counts.per_zone(long, zones) if len(long) else pd.DataFrame()
    return Counted(frame, zones, reports)


def score(frame: pd.DataFrame, full_over: float) -> np.ndarray:
    """0 within capacity; 0.5 one bike over, rising to 1.0 at ``full_over`` above capacity."""
    quota = frame["quota"].to_numpy(float)
    bikes = frame["bikes"].to_numpy(float)
    over = np.where(quota > 0, (bikes - quota) / np.maximum(quota, 1.0), np.inf)
    out: np.ndarray = np.where(
        np.nan_to_num(bikes - quota, nan=0.0) > 0,
        0.5 + 0.5 * np.clip(np.nan_to_num(over, posinf=full_over) / full_over, 0.0, 1.0),
        0.0,
    )
    return out


def _signals(rows: pd.DataFrame, near: np.ndarray) -> list[Signal]:
    def col(values: pd.Series | np.ndarray) -> pa.Array:
        return pa.array(np.asarray(values, dtype=np.float64), pa.float64())

    s = rows["score"].to_numpy(float)
    out = [
        Signal(
            "over_capacity",
            col(rows["bikes"]),
            col(rows["quota"]),
            col(s),
            "停放区内共有单车{observed}辆，容量{expected}辆",
            "{observed} bikes parked in the zone; capacity {expected}",
            decimals=0,
        )
    ]
    for op in counts.OPERATORS:
        quota = rows.get(f"quota_{op}")
        if quota is None:
            continue
        have = rows[op].to_numpy(float)
        allowed = quota.to_numpy(float)
        surplus = np.nan_to_num(have - allowed, nan=0.0)
        out.append(
            Signal(
                f"operator_{op}",
                col(have),
                col(allowed),
                col(np.where(surplus > 0, 0.1 * s, 0.0)),
                f"{OPERATOR_ZH[op]}在此停放{{observed}}辆，配额{{expected}}辆",
                f"{op}: {{observed}} bikes here against a quota of {{expected}}",
                decimals=0,
            )
        )
    out.append(
        Signal(
            "free_nearby",
            col(near),
            col(rows["bikes"] - rows["quota"]),
            col(np.where(near > 0, 0.01, 0.0)),
            "附近停放区尚有{observed}个空位，可调走超出的{expected}辆",
            "{observed} free places in zones nearby for the {expected} bikes over capacity",
            decimals=0,
        )
    )
    return out


#: what the bike topics read: every bike's reported position, and the fenced zones with quotas
BIKE_INPUTS = (
    InputSpec(table="bike_position", columns=("operator", "bike_id", "ts", "lon", "lat")),
    InputSpec(table="bike_zone", columns=("zone_id", "name", "geometry", "quota")),
)


def bike_periods(snapshot_minutes: int, *, latest_only: bool = False) -> PeriodSpec:
    """The bike topics' findings are per snapshot, named by its start (``2023-03-14 08:15``) and
    made from the reports within it alone (the zones whole): a day's findings come from that
    day's reports, and from the next day's when a snapshot can reach past midnight (one that does
    not divide the day). The density layer is the newest snapshot's."""
    straddles = 1440 % snapshot_minutes != 0
    return PeriodSpec(
        "std.bike_position", "ts", neighbours=1 if straddles else 0, latest_only=latest_only,
        usable=counts.usable,
    )  # fmt: skip


class SharedBikes(Topic):
    """Shared-bike parking zones over capacity (共享单车)."""

    name = "shared_bikes"
    title_zh = "共享单车停放"
    title_en = "Shared bikes"
    subject_type = "bike_zone"
    version = "1"
    department_hint = DEPARTMENT
    params_model: ClassVar[type[TopicParams]] = SharedBikeParams
    inputs = BIKE_INPUTS

    def period_spec(self, params: TopicParams) -> PeriodSpec:
        assert isinstance(params, SharedBikeParams)
        return bike_periods(params.snapshot_minutes)

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, SharedBikeParams)
        counted = count_zones(ctx)
        frame = counted.frame
        if ctx.side_tables:
            points = density.newest_points(ctx.engine, counted.reports)
            density.store_density(ctx.engine, density.density_cells(points), ctx.run_id)
        if frame.empty:
            rows = frame
            scores = np.zeros(0)
        else:
            scores = score(frame, params.full_over)
            keep = scores >= params.threshold
            rows = frame.loc[keep].reset_index(drop=True).assign(score=scores[keep])
            scores = scores[keep]
        n = len(rows)
        if n:
            near = counts.nearby_free(frame, counted.zones, params.nearby_m)
            near = near[score(frame, params.full_over) >= params.threshold]
            reasons = build_reasons(_signals(rows, near), min_contribution=0.0)
            period = rows["snapshot"].dt.strftime("%Y-%m-%d %H:%M")
        else:
            reasons = pa.array([], pa.list_(pa.struct([])))
            period = pd.Series([], dtype=str)
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=pa.array(rows["zone_id"].astype(str) if n else [], pa.string()),
            period=pa.array(period, pa.string()),
            score=pa.array(scores, pa.float64()),
            thresholds=self.level_thresholds(params),
            reasons=reasons,
            model_version=ctx.model_version,
            lon=pa.array(rows["lon"] if n else [], pa.float64()),
            lat=pa.array(rows["lat"] if n else [], pa.float64()),
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> BikeEvaluation:
        if findings.num_rows == 0:  # never run here: score what a run would find
            findings = self.run(ctx)
        return evaluate_shared_bikes(self.name, findings, truth_dir, ctx)

    def map_layers(self) -> list[MapLayer]:
        """The zones over capacity; and where the bikes stand now, as H3 cells coarser as the
        map zooms out (a cell counts all operators' bikes, the first property, and says how many
        of each). One density layer, not one per operator: the map turns every topic layer on."""
        return [
            MapLayer(
                id="shared_bikes_over_capacity",
                title_zh="单车停放超容",
                title_en="Bike zones over capacity",
                color="#1c7ed6",
            ),
            MapLayer(
                id="shared_bikes_density",
                title_zh="单车密度",
                title_en="Bike density",
                kind="h3",
                color="#5f3dc4",
                source=density.DENSITY_TABLE,
                latest="snapshot",
                properties=["bikes", *counts.OPERATORS],
            ),
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="shared_bikes_zones_over",
                title_zh="今日超容停放区",
                title_en="Bike zones over capacity today",
                unit_zh="个",
                unit_en="zones",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="shared_bikes_how_to_read",
                title_zh="如何看懂这些发现",
                title_en="How to read these findings",
                text_zh=(
                    "三家运营企业上报的单车位置按时段合并（每辆车取该时段最后一次上报），"
                    "落在电子围栏停放区内的车辆数超过该区容量即为超容。原因一栏列出各企业"
                    "在区内的车辆数与配额，以及附近停放区的空位，便于企业调度。"
                ),
                text_en=(
                    "The three operators' bike reports are merged per snapshot (each bike's last"
                    " report in it); a fenced parking zone holding more bikes than its capacity is"
                    " over capacity. The reasons list each operator's bikes against its quota and"
                    " the free places in zones nearby, where the surplus can be moved."
                ),
            ),
            PagePanel(
                id="shared_bikes_by_level",
                title_zh="超容按等级",
                title_en="Over-capacity by level",
                kind="breakdown",
                by="level",
            ),
        ]
