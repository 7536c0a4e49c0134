"""The group-rental topic (群租房): declares inputs, scores every dwelling-month, explains it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
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
    OverviewTile,
    PagePanel,
    Signal,
    Topic,
    TopicContext,
    TopicParams,
    build_reasons,
    findings_table,
)
from citybrain.topics.builtin.group_rental import features, scoring, supervised, text


class GroupRentalParams(TopicParams):
    threshold: float = Field(0.5, ge=0.0, le=1.0, description="score that raises a finding")
    high: float = Field(0.9, ge=0.0, le=1.0, description="score at or above which level is high")
    complaint_months: int = Field(6, ge=1, le=24, description="complaint window, months")
    churn_months: int = Field(12, ge=1, le=36, description="permit churn window, months")
    min_labels: int = Field(100, ge=10, description="case outcomes before LightGBM takes over")
    crowding_text_threshold: float | None = Field(
        None, ge=0.0, le=1.0, description="complaint classifier cut; None: fitted to the categories"
    )


@dataclass
class Scored:
    """The feature table, its signals and the final score of every dwelling-month."""

    features: features.Features
    signals: pd.DataFrame
    score: np.ndarray
    supervised: bool

    @property
    def frame(self) -> pd.DataFrame:
        return self.features.frame


def score_dwellings(ctx: TopicContext) -> Scored:
    params = ctx.params
    assert isinstance(params, GroupRentalParams)
    complaint = ctx.input("std.complaint")
    texts = ctx.engine.to_arrow(complaint.select("text", "category").distinct())
    crowding = text.classify_texts(texts, params.crowding_text_threshold)
    table = features.feature_table(
        ctx.engine,
        ctx.input,
        crowding.select(["text", "crowding"]),
        complaint_months=params.complaint_months,
        churn_months=params.churn_months,
    )
    pulled = features.pull_features(ctx.engine, table)
    frame = pulled.frame
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        signal_frame = scoring.score(frame, params.threshold)
    final = signal_frame["score"].to_numpy(dtype=np.float64)
    use_model = False
    if ctx.labels is not None and ctx.labels.num_rows:
        y = supervised.label_vector(frame, ctx.labels)
        if supervised.enough(y, params.min_labels):
            x = supervised.design_matrix(frame, signal_frame)
            proba = supervised.fit_predict(
                x, y, signal_frame["raw_score"].to_numpy(dtype=np.float64)
            )
            months = int(frame["m"].nunique())
            final = scoring.persistent(proba, months, params.threshold, scoring.Weights())
            use_model = True
    return Scored(pulled, signal_frame, final, use_model)


def _signals(rows: pd.DataFrame, signal_frame: pd.DataFrame) -> list[Signal]:
    def col(values: pd.Series | np.ndarray) -> pa.Array:
        return pa.array(np.asarray(values, dtype=np.float64), pa.float64())

    zeros = np.zeros(len(rows))
    # The usage term is the lower of the water and gas z-scores; an unmetered flat's comes from
    # gas alone, and its reason then speaks of gas, not of a water figure it does not have.
    by_water = np.isfinite(signal_frame["water_pp"].to_numpy(dtype=np.float64))
    usage = signal_frame["c_usage"].to_numpy(dtype=np.float64)
    return [
        Signal(
            "occupancy_gap",
            col(signal_frame["inferred"].fillna(0)),
            col(rows["registered"]),
            col(signal_frame["c_gap"]),
            "按用水用气推算约住{observed}人，登记人口{expected}人",
            "water and gas imply about {observed} occupants; {expected} registered",
            decimals=0,
        ),
        Signal(
            "water_per_person",
            col(signal_frame["water_pp"]),
            col(signal_frame["water_pp_expected"]),
            col(np.where(by_water, usage, 0.0)),
            "人均月用水{observed}吨，同楼同面积住户约{expected}吨",
            "{observed} t of water a month per registered person; comparable flats {expected} t",
        ),
        Signal(
            "gas_per_person",
            col(signal_frame["gas_pp"]),
            col(signal_frame["gas_pp_expected"]),
            col(np.where(by_water, 0.0, usage)),
            "人均月用气{observed}立方米，同楼同面积住户约{expected}立方米",
            "{observed} m³ of gas a month per registered person; comparable flats {expected} m³",
        ),
        Signal(
            "deliveries",
            col(rows["items"]),
            col(signal_frame["items_expected"]),
            col(signal_frame["c_items"]),
            "本月外卖快递{observed}件，同类住户约{expected}件",
            "{observed} deliveries this month; comparable flats about {expected}",
            decimals=0,
        ),
        Signal(
            "recipient_phones",
            col(rows["phones"]),
            col(signal_frame["phones_expected"]),
            col(signal_frame["c_phones"]),
            "收件电话{observed}个，同类住户约{expected}个",
            "{observed} distinct recipient phones; comparable flats about {expected}",
            decimals=0,
        ),
        Signal(
            "permit_churn",
            col(rows["permit_churn"]),
            col(zeros),
            col(signal_frame["c_churn"]),
            "近12个月居住证办理或注销{observed}次",
            "{observed} residence permits issued or cancelled in 12 months",
            decimals=0,
        ),
        Signal(
            "crowding_complaints",
            col(rows["complaints_dwelling"] + rows["complaints_unit"]),
            col(zeros),
            col(signal_frame["c_complaints"]),
            "近6个月12345投诉“群租/隔断”{observed}次",
            "{observed} hotline complaints about crowding or partitions in 6 months",
            decimals=0,
        ),
    ]


class GroupRental(Topic):
    """Dwellings where far more people live than are registered (群租房)."""

    name = "group_rental"
    title_zh = "群租房"
    title_en = "Group rental"
    subject_type = "dwelling"
    version = "1"
    department_hint = "{street}办事处"  # the street office of the flat, by name
    params_model: ClassVar[type[TopicParams]] = GroupRentalParams
    # The matched-address columns (address_id, address_level, grid_id, community_id,
    # street_id) that standardisation adds to every place-bearing table are read too; the catalog
    # does not list them yet, so only the standard-model columns are declared here.
    inputs = (
        InputSpec(table="utility_reading", columns=("utility", "period", "usage")),
        InputSpec(
            table="delivery", columns=("period", "items", "distinct_phones", "recipient_phone")
        ),
        InputSpec(table="complaint", columns=("received_at", "category", "text")),
        InputSpec(table="person_registration", columns=("id_number", "moved_in_date")),
        InputSpec(
            table="residence_permit",
            columns=("id_number", "issued_date", "valid_until", "cancelled_date"),
        ),
        InputSpec(
            table="standard_address",
            columns=(
                "address_id",
                "level",
                "parent_id",
                "estate_name",
                "building_no",
                "area_m2",
                "lon",
                "lat",
                "grid_code",
                "use",  # offices and shops are not dwellings anyone rents out to groups
            ),
        ),
    )

    def run(self, ctx: TopicContext) -> pa.Table:
        scored = score_dwellings(ctx)
        flagged = scored.score >= ctx.params.threshold
        rows = scored.frame.loc[flagged].reset_index(drop=True)
        signal_frame = scored.signals.loc[flagged].reset_index(drop=True)
        reasons = build_reasons(_signals(rows, signal_frame), min_contribution=0.05)
        places = scored.features.places.take(pa.array(scored.features.dwelling[flagged]))
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=places.column("address_id"),
            period=pa.array(rows["period"].astype(str).to_numpy(), pa.string()),
            score=pa.array(scored.score[flagged], pa.float64()),
            thresholds=self.level_thresholds(ctx.params),
            reasons=reasons,
            model_version=ctx.model_version + ("-lgbm" if scored.supervised else ""),
            lon=places.column("lon"),
            lat=places.column("lat"),
            grid_id=places.column("grid_id"),
            community_id=places.column("community_id"),
            street_id=places.column("street_id"),
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        from citybrain.topics.builtin.group_rental.evaluate import evaluate_group_rental

        return evaluate_group_rental(self.name, findings, truth_dir, ctx, score_dwellings(ctx))

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="group_rental_dwellings",
                title_zh="疑似群租房",
                title_en="Suspected group rentals",
            )
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="group_rental_flagged_month",
                title_zh="本月疑似群租房",
                title_en="Suspected group rentals this month",
                unit_zh="套",
                unit_en="dwellings",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="group_rental_how_to_read",
                title_zh="如何看懂这些发现",
                title_en="How to read these findings",
                text_zh=(
                    "每套房屋按月与同楼栋、面积相近的住户比较：水、气用量推算的居住人数"
                    "减去登记人数即“人口缺口”，再结合快递外卖量和群众投诉。"
                    "单独一个月异常不会被标记，连续数月异常评分更高。"
                    "原因一栏列出推高评分的各项信号及同类住户的一般水平。"
                ),
                text_en=(
                    "Each flat is compared month by month with similar flats in its building: the"
                    " people its water and gas use imply, minus those registered, is the occupancy"
                    " gap, weighed with deliveries and complaints. One odd month alone is never"
                    " flagged; several in a row score higher. The reasons list each signal that"
                    " raised the score next to what similar flats show."
                ),
            ),
            PagePanel(
                id="group_rental_by_street",
                title_zh="各街道疑似群租房",
                title_en="Suspected group rentals by street",
                kind="breakdown",
                by="street",
            ),
        ]
