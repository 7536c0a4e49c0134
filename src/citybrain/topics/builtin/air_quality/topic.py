"""The air-quality topic (环境保护 · 空气质量): pollution episodes with their likely source, daily
AQI alerts, and faulty sensors kept apart from pollution.

Findings are per station (``air_station``) and day. Pollution episodes and daily AQI above 150 are
at or above the threshold and open cases for the environment bureau; a faulty sensor is a finding
below the threshold (level low): shown, never a pollution case.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field

from citybrain.topics import (
    Evaluation,
    InputSpec,
    LegendEntry,
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
from citybrain.topics.builtin.air_quality import detect, evidence, series, station_aqi
from citybrain.topics.builtin.air_quality.aqi import CATEGORIES, POLLUTANT_NAMES
from citybrain.topics.builtin.air_quality.series import POLLUTANTS

FAULT_SCORE = 0.3  # below any threshold: a broken instrument is not pollution
#: every station's daily AQI, one ``run_id`` partition per run (read by the map and the report)
DAILY_TABLE = "air_quality_station_daily"
#: the colours of the AQI categories I–VI (HJ 633-2012, Table 2: green, yellow, orange, red,
#: purple, maroon), in the order of ``aqi.CATEGORIES``
CATEGORY_COLOURS = ("#00e400", "#ffff00", "#ff7e00", "#ff0000", "#99004c", "#7e0023")
NO_AQI_COLOUR = "#adb5bd"  # a station without a valid daily AQI (too few valid hours)


class AirQualityParams(TopicParams):
    excess_ratio: float = Field(
        1.3, gt=1.0, description="station / neighbours ratio that marks a pollutant as raised"
    )
    daily_aqi_alert: int = Field(150, ge=50, le=500, description="daily AQI that raises an alert")
    neighbours: int = Field(8, ge=1, description="nearest stations a station is compared with")


@dataclass
class Detected:
    """What one pass over the readings found, with the station grid it came from."""

    grid: series.Grid
    stations: pd.DataFrame  # sensor_id, lon, lat (NaN where the station is not in std.site)
    episodes: pd.DataFrame  # sensor_id, start, end, hours, pollutant, source_kind, excess …
    faults: pd.DataFrame  # sensor_id, start, end, hours, kind
    daily: pd.DataFrame  # station_aqi.daily, fault hours left out

    def alerts(self, limit: int) -> pd.DataFrame:
        """Station-days whose AQI is above ``limit``: sensor_id, start, end, aqi."""
        hit = self.daily.loc[self.daily["aqi"] > limit]
        start = pd.to_datetime(hit["date"]).to_numpy().astype("datetime64[ns]")
        return pd.DataFrame(
            {
                "sensor_id": hit["sensor_id"].to_numpy(),
                "start": start,
                "end": start + np.timedelta64(1, "D"),
                "aqi": hit["aqi"].to_numpy(),
            }
        )


def _present(ctx: TopicContext, dataset: str) -> bool:
    if ctx.inputs is not None:
        return dataset in ctx.inputs
    zone, _, table = dataset.partition(".")
    return ctx.engine.exists(zone, table)


def _intervals(frame: pd.DataFrame, grid: series.Grid) -> pd.DataFrame:
    """Segment hour indices → station id and [start, end) timestamps."""
    station = frame["station"].to_numpy(dtype=np.int64)
    out = frame.drop(columns=["station", "segment"]).copy()
    out.insert(0, "sensor_id", grid.sensors[station])
    out["start"] = grid.hours[frame["t0"].to_numpy(dtype=np.int64)].astype("datetime64[ns]")
    end = grid.hours[frame["t1"].to_numpy(dtype=np.int64)] + np.timedelta64(1, "h")
    out["end"] = end.astype("datetime64[ns]")
    return out.drop(columns=["t0", "t1"])


def detect_all(ctx: TopicContext) -> Detected:
    params = ctx.params
    assert isinstance(params, AirQualityParams)
    grid = series.load_grid(ctx.engine, ctx.input("std.sensor_reading"))
    sites = (
        ctx.engine.to_arrow(ctx.input("std.site").select("site_id", "kind", "lon", "lat"))
        .to_pandas()
        .drop_duplicates("site_id")
        if _present(ctx, "std.site")
        else pd.DataFrame(columns=["site_id", "kind", "lon", "lat"])
    )
    # a registered station that never reported is an outage: flagged, in the daily table, no AQI
    registered = sites.loc[sites["kind"] == "air_station", "site_id"].dropna().astype(str)
    grid = station_aqi.with_stations(grid, registered)
    stations = (
        sites.set_index("site_id")
        .reindex(grid.sensors)[["lon", "lat"]]
        .astype(np.float64)
        .rename_axis("sensor_id")
        .reset_index()
    )
    knobs = detect.DetectParams(
        excess=float(np.log(params.excess_ratio)), neighbours=params.neighbours
    )
    lon, lat = stations["lon"].to_numpy(), stations["lat"].to_numpy()
    z = detect.log_ratios(grid, detect.neighbour_index(lon, lat, knobs.neighbours), 4)
    kinds = detect.fault_hours(grid, z, knobs)
    faulty = np.zeros(grid.shape, dtype=bool)
    for mask in kinds.values():
        faulty |= mask
    episodes = _intervals(detect.find_episodes(grid, z, faulty, knobs), grid)
    faults = _intervals(detect.find_faults(kinds, knobs), grid)
    # only muck trucks count: the ping table also holds taxis (floating-car data for road_traffic)
    permits = ctx.input("std.transport_permit") if _present(ctx, "std.transport_permit") else None
    pings = (
        evidence.ping_cells(
            ctx.engine, evidence.truck_pings(ctx.input("std.vehicle_ping"), permits)
        )
        if _present(ctx, "std.vehicle_ping")
        else None
    )
    episodes = evidence.attach(episodes, stations, sites, pings)
    # a faulty station's readings make no AQI: the hours of a fault are left out (flagged)
    trusted = replace(grid, values={p: np.where(faulty, np.nan, v) for p, v in grid.values.items()})
    return Detected(grid, stations, episodes, faults, station_aqi.daily(trusted))


def _col(values: object) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.float64), pa.float64())


def _rows(found: Detected, params: AirQualityParams) -> pd.DataFrame:
    """One row per finding with every signal's columns (zero where a signal does not apply)."""
    ep = found.episodes.assign(kind="episode")
    ep["score"] = 0.5 + 0.5 * np.minimum(1.0, ep["excess"].to_numpy() / 1.5)
    fa = found.faults.assign(kind="fault", fault=found.faults["kind"], score=FAULT_SCORE)
    alert = found.alerts(params.daily_aqi_alert)
    th = alert.drop(columns=["end"]).assign(
        kind="aqi", score=np.minimum(1.0, 0.5 + (alert["aqi"].to_numpy() - 150) / 300)
    )
    rows = pd.concat([ep, fa, th], ignore_index=True)
    rows = rows.merge(found.stations, on="sensor_id", how="left")
    rows["period"] = pd.to_datetime(rows["start"]).dt.strftime("%Y-%m-%d")
    rows["start_hour"] = pd.to_datetime(rows["start"]).dt.hour
    return rows


def _signals(rows: pd.DataFrame, params: AirQualityParams) -> list[Signal]:
    n = len(rows)
    zeros = np.zeros(n)
    episode = (rows["kind"] == "episode").to_numpy()
    fault = (rows["kind"] == "fault").to_numpy()
    out: list[Signal] = []
    for p in POLLUTANTS:
        mine = episode & (rows["pollutant"] == p).to_numpy()
        unit = "mg/m³" if p == "co" else "µg/m³"
        zh, en = POLLUTANT_NAMES[p]
        out.append(
            Signal(
                f"excess_{p}",
                _col(rows["concentration"].fillna(0)),
                _col(rows["neighbour_level"].fillna(0)),
                _col(np.where(mine, rows["excess"].fillna(0), 0.0)),
                f"{zh}时段均值{{observed}}{unit}，周边站点同期约{{expected}}{unit}",
                f"{en} averaged {{observed}} {unit}; nearby stations about {{expected}} {unit}",
            )
        )
    out.append(
        Signal(
            "duration",
            _col(rows["hours"].fillna(0)),
            _col(rows["start_hour"].fillna(0)),
            _col(np.where(episode | fault, 0.01, 0.0)),
            "当日{expected}时起持续约{observed}小时",
            "lasting about {observed} hours from {expected}:00 that day",
            decimals=0,
        )
    )
    ratio = np.exp(rows["excess"].fillna(0).to_numpy())
    for kind, zh, en in (
        ("construction_dust", "施工扬尘（颗粒物为主）", "construction dust (particles)"),
        ("industrial", "工业排放（二氧化硫为主）", "industrial emission (SO2)"),
        ("traffic", "交通排放（二氧化氮/一氧化碳为主）", "traffic exhaust (NO2/CO)"),
        ("photochemical", "光化学污染（臭氧偏高）", "photochemical (ozone)"),
    ):
        mine = episode & (rows["source_kind"] == kind).to_numpy()
        out.append(
            Signal(
                f"source_{kind}",
                _col(ratio),
                _col(np.ones(n)),
                _col(mine * 0.02),
                f"高于周边站点{{observed}}倍，特征与{zh}相符",
                f"{{observed}} times the nearby stations; the mix looks like {en}",
            )
        )
    out.append(
        Signal(
            "construction_nearby",
            _col(rows["sites_1km"].fillna(0)),
            _col(rows["nearest_site_m"].fillna(0)),
            _col(np.where(episode & (rows["sites_1km"].fillna(0) > 0), 0.015, 0.0)),
            "1公里内有在建工地{observed}处，最近约{expected}米",
            "{observed} construction site(s) within 1 km, nearest about {expected} m",
            decimals=0,
        )
    )
    out.append(
        Signal(
            "muck_trucks",
            _col(rows["truck_pings_1km"].fillna(0)),
            _col(zeros),
            _col(np.where(episode & (rows["truck_pings_1km"].fillna(0) > 0), 0.012, 0.0)),
            "期间1公里内渣土车定位{observed}次",
            "{observed} muck-truck GPS fixes within 1 km meanwhile",
            decimals=0,
        )
    )
    for kind, zh, en in (
        (
            "stuck",
            "读数连续{observed}小时不变（卡死或归零），判为设备故障",
            "reading unchanged for {observed} h (stuck or flat at zero): device fault",
        ),
        (
            "impossible",
            "{observed}小时内出现负值或超量程读数，判为设备故障",
            "negative or out-of-range readings within {observed} h: device fault",
        ),
        (
            "drift",
            "全部污染物同步偏离周边站点约{observed}小时，判为传感器漂移",
            "every pollutant off the neighbours together for {observed} h: sensor drift",
        ),
    ):
        mine = fault & (rows["fault"] == kind).to_numpy()
        out.append(
            Signal(
                f"fault_{kind}",
                _col(rows["hours"].fillna(0)),
                _col(zeros),
                _col(mine * 1.0),
                zh,
                en,
                decimals=0,
            )
        )
    aqi = (rows["kind"] == "aqi").to_numpy()
    out.append(
        Signal(
            "daily_aqi",
            _col(rows["aqi"].fillna(0)),
            _col(np.full(n, float(params.daily_aqi_alert))),
            _col(aqi * 1.0),
            "日空气质量指数{observed}，超过{expected}（中度污染及以上）",
            "daily AQI {observed}, above {expected} (moderately polluted or worse)",
            decimals=0,
        )
    )
    return out


def _store_daily(ctx: TopicContext, found: Detected) -> None:
    daily = found.daily.merge(found.stations, on="sensor_id", how="left")
    daily["date"] = pd.to_datetime(daily["date"]).dt.strftime("%Y-%m-%d")
    table = pa.Table.from_pandas(daily, preserve_index=False)
    table = table.append_column("run_id", pa.array([ctx.run_id] * table.num_rows, pa.string()))
    ctx.engine.write(table, "topic", DAILY_TABLE, mode="append", partition_by=["run_id"])


def _aqi_legend() -> list[LegendEntry]:
    """The six categories of HJ 633-2012 in their colours, and stations without a valid AQI."""
    legend = [
        LegendEntry(value=zh, color=colour, label_zh=f"{zh}（{n}级）", label_en=f"{en} ({n})")
        for (_, n, zh, en), colour in zip(CATEGORIES, CATEGORY_COLOURS, strict=True)
    ]
    legend.append(
        LegendEntry(value="", color=NO_AQI_COLOUR, label_zh="无有效日AQI", label_en="no valid AQI")
    )
    return legend


class AirQuality(Topic):
    """Pollution episodes, daily AQI alerts and faulty sensors at the air stations (空气质量)."""

    name = "air_quality"
    title_zh = "空气质量"
    title_en = "Air quality"
    subject_type = "air_station"
    version = "1"
    department_hint = "区生态环境局"
    params_model: ClassVar[type[TopicParams]] = AirQualityParams
    inputs = (
        InputSpec(
            table="sensor_reading",
            columns=("sensor_id", "observed_at", "pm25", "pm10", "no2", "so2", "o3", "co"),
        ),
        InputSpec(table="site", columns=("site_id", "kind", "lon", "lat"), optional=True),
        InputSpec(
            table="vehicle_ping", columns=("plate", "ts", "lon", "lat", "loaded"), optional=True
        ),
        InputSpec(table="transport_permit", columns=("plate",), optional=True),
    )

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, AirQualityParams)
        found = detect_all(ctx)
        _store_daily(ctx, found)
        rows = _rows(found, params)
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=rows["sensor_id"].astype(str),
            period=rows["period"],
            score=_col(rows["score"]),
            thresholds=self.level_thresholds(params),
            reasons=build_reasons(_signals(rows, params), min_contribution=0.0),
            model_version=ctx.model_version,
            lon=_col(rows["lon"]),
            lat=_col(rows["lat"]),
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        from citybrain.topics.builtin.air_quality.evaluate import evaluate_air_quality

        params = ctx.params
        assert isinstance(params, AirQualityParams)
        found = detect_all(ctx)
        alerts = found.alerts(params.daily_aqi_alert)
        return evaluate_air_quality(
            self.name, found.episodes, found.faults, alerts, truth_dir, ctx, findings.num_rows
        )

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="air_quality_alerts",
                title_zh="空气污染告警站点",
                title_en="Stations with pollution alerts",
                color="#7e0023",
            ),
            MapLayer(
                id="air_quality_station_aqi",
                title_zh="站点日空气质量指数",
                title_en="Stations by daily AQI",
                color=NO_AQI_COLOUR,
                source=DAILY_TABLE,
                latest="date",
                properties=["sensor_id", "date", "aqi", "category_zh", "category_en", "primary"],
                color_by="category_zh",
                legend=_aqi_legend(),
            ),
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="air_quality_alerts",
                title_zh="空气污染告警",
                title_en="Air pollution alerts",
                unit_zh="站次",
                unit_en="station-days",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="air_quality_how_to_read",
                title_zh="如何看懂这些发现",
                title_en="How to read these findings",
                text_zh=(
                    "空气质量指数按《环境空气质量指数（AQI）技术规定》(HJ 633-2012)"
                    "逐时、逐日计算。"
                    "每个站点逐时与最近的站点比较：某一两种污染物明显高于周边、其余正常，判为局地污染，"
                    "并按污染物特征和附近工地、渣土车活动提示可能来源；全部污染物同步偏离、读数卡死、"
                    "负值或超量程，判为设备故障（低等级，不派单），不计入污染。日AQI超过150另行告警。"
                ),
                text_en=(
                    "AQI follows HJ 633-2012, hourly and daily. Each station is compared hour by"
                    " hour with its nearest stations: one or two pollutants far above them while"
                    " the rest agree is local pollution, with a likely source from the pollutant"
                    " mix and nearby construction sites and muck trucks. Every pollutant off"
                    " together, stuck, negative or out-of-range readings are a device fault (low"
                    " level, no case), never pollution. A daily AQI above 150 is an alert too."
                ),
            ),
            PagePanel(
                id="air_quality_by_level",
                title_zh="告警等级分布",
                title_en="Alerts by level",
                kind="breakdown",
                by="level",
            ),
        ]
