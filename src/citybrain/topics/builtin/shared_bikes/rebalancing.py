"""Bike rebalancing (单车调度建议): one finding per suggested move, "move N bikes of operator X from
zone A to zone B", for the operator to act on; each move is its own subject, so each opens its own
case. The cases go to the operators, not to 城管: the subject id starts with the operator
(``meituan:TCQ00012>TCQ00031``) and a routing rule of ``cases.yaml`` with ``subject_prefixes:
[meituan]`` sends that operator's moves to its company; without one, the topic's hint names the
operators' desk (共享单车运营企业)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field

from citybrain.topics import (
    REASON_TYPE,
    PagePanel,
    PeriodSpec,
    Topic,
    TopicContext,
    TopicParams,
    findings_table,
    join_text,
    one_reason_per_row,
)
from citybrain.topics.builtin.shared_bikes import counts
from citybrain.topics.builtin.shared_bikes.rebalance import suggest_moves
from citybrain.topics.builtin.shared_bikes.topic import (
    BIKE_INPUTS,
    OPERATOR_ZH,
    Counted,
    bike_periods,
    count_zones,
)

OPERATORS_DESK = "共享单车运营企业"


class RebalancingParams(TopicParams):
    snapshot_minutes: int = Field(15, ge=1, le=1440, description="reports within are one snapshot")
    nearby_m: float = Field(500.0, gt=0, description="farthest a move is suggested, metres")
    full_bikes: int = Field(10, ge=1, description="a move of this many bikes or more scores 1.0")
    latest_only: bool = Field(True, description="moves for the newest snapshot only (now)")


def move_scores(bikes: np.ndarray, full_bikes: int) -> np.ndarray:
    """0.5 for one bike, rising to 1.0 at ``full_bikes``: every suggestion reaches the operator."""
    out: np.ndarray = 0.5 + 0.5 * np.clip((bikes - 1) / max(full_bikes - 1, 1), 0.0, 1.0)
    return out


def move_reasons(moves: pd.DataFrame) -> pa.ListArray:
    """One reason per move, in words: who moves how many bikes from where to where, how far."""
    n = len(moves)
    if n == 0:  # nothing to move: the empty columns carry no string type to build texts from
        return pa.array([], pa.list_(REASON_TYPE))
    bikes = pa.array(moves["bikes"].astype(str), pa.string())
    metres = pa.array(np.round(moves["distance_m"].to_numpy(float)).astype(int).astype(str))
    op_zh = pa.array(moves["operator"].map(OPERATOR_ZH).fillna(moves["operator"]), pa.string())
    op_en = pa.array(moves["operator"], pa.string())
    a = pa.array(moves["from_name"].fillna(moves["from_zone"]), pa.string())
    b = pa.array(moves["to_name"].fillna(moves["to_zone"]), pa.string())
    a_id, b_id = pa.array(moves["from_zone"], pa.string()), pa.array(moves["to_zone"], pa.string())
    zh = join_text("建议", op_zh, "将", bikes, "辆单车从超容的「", a, "」(", a_id, ")调往约",
                   metres, "米外尚有空位的「", b, "」(", b_id, ")")  # fmt: skip
    en = join_text("move ", bikes, " ", op_en, " bikes from the over-full zone ", a, " (",
                   a_id, ") to ", b, " (", b_id, "), about ", metres, " m away, which has room",
                   )  # fmt: skip
    return one_reason_per_row(
        "rebalance",
        moves["bikes"].to_numpy(float),
        moves["distance_m"].to_numpy(float),
        moves["score"].to_numpy(float),
        zh,
        en,
    )


def newest_counted(ctx: TopicContext, params: RebalancingParams) -> Counted | None:
    """The zones' counts of the newest snapshot alone, without counting every snapshot of the
    reports handed (at a city's size, hundreds of millions of reports for one snapshot's moves);
    ``None`` when no bike of that snapshot stands in a zone: the newest snapshot with one lies
    further back, and only counting them all finds it."""
    minutes = params.snapshot_minutes
    newest = counts.newest_snapshot(ctx.engine, ctx.input("std.bike_position"), minutes)
    if newest is None:
        return None
    counted = count_zones(ctx, minutes, since=newest)
    return counted if len(counted.frame) else None


class BikeRebalancing(Topic):
    """Moves that would bring over-full bike zones under capacity (单车调度建议)."""

    name = "bike_rebalancing"
    title_zh = "单车调度建议"
    title_en = "Bike rebalancing"
    subject_type = "bike_move"
    version = "1"
    department_hint = OPERATORS_DESK
    params_model: ClassVar[type[TopicParams]] = RebalancingParams
    inputs = BIKE_INPUTS

    def period_spec(self, params: TopicParams) -> PeriodSpec:
        """Per snapshot as the zones' counts (`bike_periods`); with ``latest_only`` the newest
        snapshot's moves only."""
        assert isinstance(params, RebalancingParams)
        return bike_periods(params.snapshot_minutes, latest_only=params.latest_only)

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, RebalancingParams)
        counted = newest_counted(ctx, params) if params.latest_only else None
        counted = counted or count_zones(ctx, params.snapshot_minutes)
        frame = counted.frame
        if params.latest_only and len(frame):
            frame = frame.loc[frame["bucket"] == frame["bucket"].max()]
        moves = suggest_moves(frame, counted.zones, params.nearby_m)
        zones = counted.zones.table.assign(zone_id=lambda z: z["zone_id"].astype(str))
        names = zones.set_index("zone_id")["name"]
        moves = moves.assign(
            from_name=moves["from_zone"].map(names),
            to_name=moves["to_zone"].map(names),
            score=move_scores(moves["bikes"].to_numpy(float), params.full_bikes),
        ).merge(zones[["zone_id", "lon", "lat"]], left_on="from_zone", right_on="zone_id")
        moves = moves.loc[moves["score"] >= params.threshold].reset_index(drop=True)
        n = len(moves)
        # a snapshot with nothing to move leaves columns without a string type: no subject then
        subject: pd.Series | list[str] = (
            moves["operator"].astype(str)
            + ":"
            + moves["from_zone"].astype(str)
            + ">"
            + moves["to_zone"].astype(str)
            if n
            else []
        )
        period = pd.to_datetime(moves["bucket"], unit="s").dt.strftime("%Y-%m-%d %H:%M")
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=pa.array(subject if n else [], pa.string()),
            period=pa.array(period if n else [], pa.string()),
            score=pa.array(moves["score"].to_numpy(float), pa.float64()),
            thresholds=self.level_thresholds(params),
            reasons=move_reasons(moves),
            model_version=ctx.model_version,
            lon=pa.array(moves["lon"].to_numpy(float), pa.float64()),
            lat=pa.array(moves["lat"].to_numpy(float), pa.float64()),
        )

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="bike_rebalancing_how_to_read",
                title_zh="如何看懂这些建议",
                title_en="How to read these suggestions",
                text_zh=(
                    "在最新时段，某停放区车辆超过容量时，超出配额的运营企业车辆按就近原则调往"
                    "附近（默认500米内）同一企业尚未用满配额、且该区仍有空位的停放区。每条建议"
                    "作为案件派给该运营企业处理。"
                ),
                text_en=(
                    "At the newest snapshot, an operator's bikes above its quota in a zone over"
                    " capacity are sent, nearest first, to zones nearby (500 m by default) where"
                    " the same operator is under its quota and the zone has room. Each suggestion"
                    " goes to that operator as a case."
                ),
            )
        ]
