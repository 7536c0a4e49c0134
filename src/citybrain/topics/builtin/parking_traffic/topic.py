"""The parking and traffic topic (智能交通): parking lots forecast to be full within the hour, from
occupancy history, with the forecast judged against "same as now".

The public "nearest lots with free places" answer is served by the API (``GET
/api/v1/parking/nearest``, ``citybrain.api.parking``) from the lots' places in
``std.parking_occupancy``. Road-segment speed and congestion from vehicle pings are the
``road_traffic`` topic beside it (``traffic.py``): its findings are road segments, not lots.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field

from citybrain.topics import (
    Evaluation,
    InputSpec,
    MapLayer,
    PagePanel,
    Signal,
    Topic,
    TopicContext,
    TopicParams,
    binary_scores,
    build_reasons,
    findings_table,
    save_evaluation,
)
from citybrain.topics.builtin.parking_traffic.forecast import forecast, hourly, mae

DEPARTMENT = "区交通运输局"


class ParkingParams(TopicParams):
    full_at: float = Field(0.95, gt=0.0, le=1.0, description="occupancy that counts as full")


class ParkingEvaluation(Evaluation):
    """The shared evaluation with the forecast's error beside "same as now"."""

    mae: float
    baseline_mae: float
    beats_baseline: bool


def forecasts(ctx: TopicContext) -> tuple[pd.DataFrame, int]:
    frame, bad = hourly(ctx.engine, ctx.input("std.parking_occupancy"))
    return (forecast(frame) if len(frame) else frame), bad


def full_score(values: np.ndarray, full_at: float) -> np.ndarray:
    """0 below ``full_at``; 0.5 at it, 1.0 at a completely full lot."""
    room = max(1.0 - full_at, 1e-9)
    out: np.ndarray = np.where(
        values >= full_at, 0.5 + 0.5 * np.clip((values - full_at) / room, 0.0, 1.0), 0.0
    )
    return out


class ParkingTraffic(Topic):
    """Parking lots about to be full (智能交通)."""

    name = "parking_traffic"
    title_zh = "智能交通（停车）"
    title_en = "Parking and traffic"
    subject_type = "parking_lot"
    version = "1"
    department_hint = DEPARTMENT
    params_model: ClassVar[type[TopicParams]] = ParkingParams
    inputs = (
        InputSpec(
            table="parking_occupancy", columns=("lot_id", "name", "capacity", "free", "updated_at")
        ),
    )

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, ParkingParams)
        f, _ = forecasts(ctx)
        if len(f):
            f = f.loc[f["hour"] == f.groupby("lot_id")["hour"].transform("max")]
            scores = full_score(f["forecast"].to_numpy(float), params.full_at)
            f = f.assign(score=scores).loc[scores >= params.threshold].reset_index(drop=True)
        n = len(f)
        values = pa.array(f["score"].to_numpy(float) if n else [], pa.float64())
        if n:
            period = (pd.to_datetime(f["hour"]) + pd.Timedelta(hours=1)).dt.strftime(
                "%Y-%m-%d %H:00"
            )
            signals = [
                Signal(
                    "forecast_full",
                    pa.array(np.round(f["forecast"].to_numpy(float) * 100)),
                    pa.array(np.round(f["occupancy"].to_numpy(float) * 100)),
                    values,
                    "预计一小时后占用率{observed}%（现在{expected}%），即将满位",
                    "forecast {observed}% full in an hour (now {expected}%): about to be full",
                    decimals=0,
                )
            ]
            reasons = build_reasons(signals)
        else:
            period = pd.Series([], dtype=str)
            reasons = pa.array([], pa.list_(pa.struct([])))
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=f["lot_id"].astype(str) if n else [],
            period=period,
            score=values,
            thresholds=self.level_thresholds(params),
            reasons=reasons,
            model_version=ctx.model_version,
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        """Every lot-hour backtested: the forecast of the next hour against what came, beside
        "same as now"; and the "full within the hour" alert's precision and recall, both ways.
        The actual occupancy is the delivered data of the hour after, not the truth folder."""
        params = ctx.params
        assert isinstance(params, ParkingParams)
        f, bad = forecasts(ctx)
        known = f.loc[f["actual"].notna()] if len(f) else f
        actual = known["actual"].to_numpy(float) >= params.full_at
        ours = binary_scores(known["forecast"].to_numpy(float) >= params.full_at, actual)
        same = binary_scores(known["baseline"].to_numpy(float) >= params.full_at, actual)
        ours_mae, same_mae = (mae(known, "forecast"), mae(known, "baseline")) if len(known) else (
            float("nan"), float("nan"))  # fmt: skip
        result = ParkingEvaluation(
            topic=self.name,
            **ours.fields(),
            threshold=params.threshold,
            mae=ours_mae,
            baseline_mae=same_mae,
            beats_baseline=bool(ours_mae < same_mae),
            baselines={
                "same_as_now": {
                    "mae": same_mae,
                    "precision": same.precision,
                    "recall": same.recall,
                    "f1": same.f1,
                }
            },
            extra={"lot_hours": len(known), "readings_left_out": bad, "full_at": params.full_at},
        )
        return save_evaluation(result, ctx)

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(id="parking_full_soon", title_zh="即将满位停车场", title_en="Lots about full")
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="parking_how_to_read",
                title_zh="如何看懂这些发现",
                title_en="How to read these findings",
                text_zh=(
                    "每个停车场按小时计算占用率。下一小时的预测=现在的占用率+该停车场以往同类日子"
                    "（工作日或周末）这两个小时之间的一般变化；预测占用率达到满位线即提示。"
                    "评估时与“保持现状”的预测比较平均绝对误差。"
                ),
                text_en=(
                    "Each lot's occupancy is taken per hour. The next hour's forecast is the"
                    " occupancy now plus the change the lot usually shows between these two hours"
                    " on the same kind of day (workday or weekend); a lot forecast at the full"
                    " line is flagged. The evaluation compares the mean absolute error with the"
                    " 'same as now' forecast."
                ),
            )
        ]
