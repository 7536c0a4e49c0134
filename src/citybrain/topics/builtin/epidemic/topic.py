"""The epidemic topic (疫情防控): a reusable emergency topic a city switches on.

Findings are persons (subject ``person``, keyed by identity number; the API masks them by default
and shows one in clear only under a purpose-bound unmask grant, every look audited) and screening
gaps (subject ``community``):

- cases (阳性病例): a positive test, score 1;
- close contacts (密切接触者): co-residence and co-location with a case, high or medium;
- arrivals from risk areas (入域管控) with no test since arriving (pending, a case), tested
  negative (low, shown, no case);
- residents of a case's grid who need care brought to them (精准医疗): those on the chronic-care
  register (慢病管理 / 家庭医生签约: dialysis, expecting mothers, the disabled, the chronically
  ill), the elderly living alone (medium), the very old (low). A city that has not connected the
  register gets the elderly only, and the run says so (log and street summary);
- communities a screening round left out or covered thinly (入户排查缺口).

Reasons carry no personal data: counts, ages and shares only. Every run also writes a situation
summary per street (``topic/epidemic_street_summary``, one ``run_id`` partition per run).
The scenario (严防严控 / 复工复产) orders the page: contacts and entry control first, or medical
support, screening and the street summary first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import Field, field_validator

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
    levels_from_scores,
)
from citybrain.topics.builtin.epidemic.analysis import Analysis, Knobs, analyse
from citybrain.topics.builtin.epidemic.contacts import HIGH

#: the situation per street, one ``run_id`` partition per run (for the page and the report)
SUMMARY_TABLE = "epidemic_street_summary"
Scenario = Literal["strict_control", "resume_work"]
SCENARIO_ZH = {"strict_control": "严防严控", "resume_work": "复工复产"}

log = logging.getLogger(__name__)
NO_REGISTER = (
    "精准医疗：慢病管理/家庭医生签约名册（std.chronic_care）未接入，只列独居与高龄老人 — "
    "medical support: the chronic-care register is not connected; the elderly only"
)

SCORES = {
    "case": 1.0,
    "contact_high": 0.9,
    "contact_medium": 0.7,
    "arrival_pending": 0.6,
    "arrival_unplaced": 0.55,
    "arrival_tested": 0.3,
    "alone": 0.6,
    "very_old": 0.35,
}
#: the chronic-care register's categories: score, zh and en words (most care first)
CARE = {
    "dialysis": (0.8, "需定期透析", "on dialysis"),
    "maternity": (0.7, "孕产妇", "expecting or new mother"),
    "disability": (0.6, "残疾人", "disabled"),
    "copd": (0.6, "慢阻肺患者", "COPD patient"),
    "diabetes": (0.55, "糖尿病患者", "diabetes patient"),
    "hypertension": (0.5, "高血压患者", "hypertension patient"),
}


class EpidemicParams(TopicParams):
    """The city sets these in ``[topics.epidemic]`` of citybrain.toml (``citybrain topic
    configure epidemic --set scenario=复工复产``); ``scenario`` takes the Chinese name too."""

    scenario: Scenario = Field(
        "strict_control", description="严防严控 (strict_control) or 复工复产 (resume_work)"
    )
    risk_areas: tuple[str, ...] = Field(
        (), description="cities the health authority lists as risk areas (whole period)"
    )
    lookback_days: int = Field(14, ge=1, le=60, description="days before a case's test searched")
    near_rows: int = Field(3, ge=0, le=30, description="rows either side that count as near")
    window_days: int = Field(14, ge=1, le=60, description="risk window around an imported case")
    followup_days: int = Field(3, ge=1, le=30, description="days after arriving to be tested")
    elderly_age: int = Field(65, ge=50, le=100, description="age from which one is elderly")
    very_old_age: int = Field(80, ge=60, le=110, description="age of the very old")
    min_coverage: float = Field(
        0.5, ge=0.0, le=1.0, description="screening coverage below which an area is a gap"
    )

    @field_validator("scenario", mode="before")
    @classmethod
    def _chinese_name(cls, value: object) -> object:
        names = {zh: code for code, zh in SCENARIO_ZH.items()}
        return names.get(value.strip(), value.strip()) if isinstance(value, str) else value


def _col(values: object) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.float64), pa.float64())


def _day(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d")


def contact_rows(a: Analysis) -> pd.DataFrame:
    """One row per contact person: the kinds that make them one, counted, and the best rank."""
    p = a.contacts
    if p.empty:
        return pd.DataFrame(columns=["person_key", "rank", "at", "n_" + "travel"])
    wide = p.pivot_table(
        index="person_key", columns="kind", values="case_key", aggfunc="nunique", fill_value=0
    )
    for kind in ("travel", "household", "neighbour"):
        if kind not in wide:
            wide[kind] = 0
    wide = wide[["travel", "household", "neighbour"]].add_prefix("n_")
    close = p.loc[(p["kind"] == "travel") & (p["rank"] >= HIGH)]
    wide["n_travel_close"] = close.groupby("person_key")["case_key"].nunique()
    best = p.groupby("person_key").agg(rank=("rank", "max"), at=("at", "min"))
    out = wide.join(best).fillna({"n_travel_close": 0}).reset_index()
    return out.merge(a.homes, on="person_key", how="left")


EMPTY_COLUMNS = ("kind", "subject_type", "person_key", "period", "score", "lon", "lat", "grid_id",
                 "community_id", "street_id")  # fmt: skip


def finding_rows(a: Analysis, params: EpidemicParams) -> pd.DataFrame:
    """Every finding as one row: kind, subject, period, score, place and the signal columns."""
    parts = []
    c = a.cases
    if len(c):
        parts.append(
            c.assign(kind="case", subject_type="person", period=_day(c["case_time"]),
                     score=SCORES["case"])
        )  # fmt: skip
    k = contact_rows(a)
    if len(k):
        score = np.where(k["rank"] >= HIGH, SCORES["contact_high"], SCORES["contact_medium"])
        parts.append(
            k.assign(kind="contact", subject_type="person", period=_day(k["at"]), score=score)
        )
    e = a.entry.loc[a.entry["status"] != "positive"] if len(a.entry) else a.entry
    if len(e):
        placed = e["address_id"].notna()
        score = np.where(
            e["status"] == "pending",
            np.where(placed, SCORES["arrival_pending"], SCORES["arrival_unplaced"]),
            SCORES["arrival_tested"],
        )
        # one finding per traveller: their latest arrival from a risk area
        e = e.assign(score=score).sort_values(["person_key", "arrived_at"])
        e = e.drop_duplicates("person_key", keep="last")
        parts.append(
            e.assign(kind="arrival", subject_type="person", period=_day(e["arrived_at"]),
                     placed=e["address_id"].notna().astype(float))
        )  # fmt: skip
    s = a.support
    if len(s) and len(c):
        parts.append(support_rows(s, pd.Timestamp(c["case_time"].max()), params))
    g = a.communities
    if len(g):
        gaps = g.loc[g["coverage"] < params.min_coverage]
        parts.append(
            gaps.assign(kind="gap", subject_type="community", person_key=gaps["area_id"],
                        community_id=gaps["area_id"], period=_day(gaps["round_start"]),
                        score=0.5 + 0.3 * (1.0 - gaps["coverage"].astype(float)))
        )  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=[*EMPTY_COLUMNS])
    rows = pd.concat(parts, ignore_index=True)
    # a person is one finding: a case over a contact over an arrival over a support need
    order = {"case": 0, "contact": 1, "arrival": 2, "support": 3, "gap": 4}
    rows = rows.assign(_o=rows["kind"].map(order)).sort_values(["_o", "score"], kind="stable")
    rows = rows.drop_duplicates(["subject_type", "person_key"], keep="first").drop(columns="_o")
    return rows.reset_index(drop=True)


def support_rows(s: pd.DataFrame, latest: pd.Timestamp, params: EpidemicParams) -> pd.DataFrame:
    """Residents of the affected grids who need care brought to them: on the chronic-care
    register, elderly living alone, or very old; the score is the most demanding need's."""
    age = pd.to_numeric(s["age"], errors="coerce")
    alone = ((age >= params.elderly_age) & (s["household"] == 1)).to_numpy()
    very_old = (age >= params.very_old_age).to_numpy()
    condition = s["condition"].astype(object).where(s["condition"].notna(), None)
    care = condition.map(lambda c: CARE[c][0] if c in CARE else 0.0).astype(float).to_numpy()
    elder = np.where(alone, SCORES["alone"], np.where(very_old, SCORES["very_old"], 0.0))
    followed = pd.to_datetime(s["last_followup"], errors="coerce")
    since = (latest.normalize() - followed).dt.days.clip(lower=0)
    keep = alone | very_old | (care > 0)
    out = s.assign(
        kind="support", subject_type="person", period=latest.strftime("%Y-%m-%d"),
        score=np.maximum(elder, care), alone=alone.astype(float),
        very_old=(very_old & ~alone).astype(float), condition=condition,
        followup_days=since,
    )  # fmt: skip
    return out.loc[keep]


def _signals(rows: pd.DataFrame, params: EpidemicParams) -> list[Signal]:
    n = len(rows)
    kind = rows["kind"].to_numpy()
    zeros = np.zeros(n)

    def num(name: str) -> pd.Series:
        return rows[name].astype(float).fillna(0) if name in rows else pd.Series(zeros)

    def on(mask: np.ndarray, weight: float) -> pa.Array:
        return _col(np.where(mask, weight, 0.0))

    def status(value: str) -> np.ndarray:
        if "status" not in rows:
            return np.zeros(n, dtype=bool)
        return (rows["status"] == value).to_numpy()

    travel, close = num("n_travel"), num("n_travel_close")
    age = num("age")
    out = [
        Signal("positive_test", _col(num("positives")), _col(zeros), on(kind == "case", 1.0),
               "核酸检测阳性（阳性记录{observed}条）",
               "tested positive ({observed} positive record(s))", decimals=0),
        Signal("co_travel_close", _col(close), _col(np.full(n, params.near_rows)),
               on((kind == "contact") & (close > 0), 0.9),
               "与{observed}名病例同乘同一车厢且座位相距{expected}排以内",
               "same carriage as {observed} case(s), within {expected} rows", decimals=0),
        Signal("co_travel", _col(travel), _col(zeros),
               on((kind == "contact") & (travel > 0), 0.7),
               "与{observed}名病例同日同乘一趟列车或航班",
               "on the same train or flight as {observed} case(s) that day", decimals=0),
        Signal("co_household", _col(num("n_household")), _col(zeros),
               on((kind == "contact") & (num("n_household") > 0), 0.95),
               "与{observed}名病例同住一户",
               "lives in the same dwelling as {observed} case(s)", decimals=0),
        Signal("co_landing", _col(num("n_neighbour")), _col(zeros),
               on((kind == "contact") & (num("n_neighbour") > 0), 0.6),
               "与{observed}名病例同单元且楼层相邻（同层或上下层）",
               "same stairwell as {observed} case(s), same floor or next to it", decimals=0),
        Signal("arrival_pending", _col(np.full(n, params.followup_days)), _col(zeros),
               on((kind == "arrival") & status("pending"), 0.6),
               "自风险地区入域，{observed}天内未见检测记录，待跟进",
               "arrived from a risk area; no test within {observed} days: follow up",
               decimals=0),
        Signal("arrival_tested", _col(num("tests")), _col(zeros),
               on((kind == "arrival") & status("tested_negative"),
                  0.3),
               "自风险地区入域，已检测{observed}次，结果阴性",
               "arrived from a risk area; tested {observed} time(s), negative", decimals=0),
        Signal("arrival_unplaced", _col(num("placed")), _col(zeros),
               on((kind == "arrival") & (num("placed") == 0).to_numpy(), 0.1),
               "人口库中匹配到本区住址{observed}处，需核实落脚点",
               "{observed} dwelling(s) here in the population base: find where they stay",
               decimals=0),
        Signal("alone_elderly", _col(age), _col(np.full(n, params.elderly_age)),
               on((kind == "support") & (num("alone") > 0).to_numpy(), 0.6),
               "{observed}岁独居老人（{expected}岁以上），所在网格有病例",
               "{observed}-year-old living alone (over {expected}) in a grid with a case",
               decimals=0),
        Signal("very_old", _col(age), _col(np.full(n, params.very_old_age)),
               on((kind == "support") & (num("very_old") > 0).to_numpy(), 0.35),
               "{observed}岁高龄老人（{expected}岁以上），所在网格有病例",
               "{observed} years old (over {expected}) in a grid with a case", decimals=0),
        Signal("screening_gap", _col(num("coverage") * 100), _col(num("round")),
               on(kind == "gap", 0.5),
               "第{expected}轮入户排查仅覆盖在册住户的{observed}%",
               "round {expected} of household screening covered {observed}% of the dwellings",
               decimals=0),
    ]  # fmt: skip
    condition = (
        rows["condition"].to_numpy(dtype=object) if "condition" in rows else np.full(n, None)
    )
    followed = rows["followup_days"] if "followup_days" in rows else pd.Series(np.full(n, np.nan))
    has_date = followed.notna().to_numpy()
    days = _col(followed.fillna(0))
    for code, (weight, zh, en) in CARE.items():
        mine = (kind == "support") & (condition == code)
        out.append(
            Signal(f"care_{code}", days, _col(zeros), on(mine & has_date, weight),
                   f"慢病管理/家庭医生签约名册：{zh}，末次随访距今{{observed}}天，所在网格有病例",
                   f"on the chronic-care register: {en}; last follow-up {{observed}} days ago;"
                   " in a grid with a case", decimals=0)
        )  # fmt: skip
        out.append(
            Signal(f"care_{code}_no_followup", _col(age), _col(zeros),
                   on(mine & ~has_date, weight),
                   f"慢病管理/家庭医生签约名册：{zh}（{{observed}}岁），无随访记录，所在网格有病例",
                   f"on the chronic-care register: {en} ({{observed}} years old); no follow-up"
                   " recorded; in a grid with a case", decimals=0)
        )  # fmt: skip
    return out


def street_summary(a: Analysis, rows: pd.DataFrame) -> pd.DataFrame:
    """Per street: cases, contacts (high / medium), risk arrivals (pending), screening coverage
    of the latest round, residents needing medical support."""
    people = rows.loc[rows["subject_type"] == "person"]
    by = people.assign(street_id=people["street_id"].fillna("(unplaced)"))

    def count(mask: pd.Series) -> pd.Series:
        return by.loc[mask].groupby("street_id").size()

    table = pd.DataFrame(
        {
            "cases": count(by["kind"] == "case"),
            "contacts_high": count((by["kind"] == "contact") & (by["score"] >= 0.8)),
            "contacts_medium": count((by["kind"] == "contact") & (by["score"] < 0.8)),
            "risk_arrivals": count(by["kind"] == "arrival"),
            "arrivals_pending": count((by["kind"] == "arrival") & (by["score"] >= 0.5)),
            "medical_support": count(by["kind"] == "support"),
        }
    )
    g = a.communities
    if len(g):
        last = g.loc[g["round"] == g["round"].max()]
        cov = last.groupby("street_id")[["screened", "base_dwellings"]].sum()
        table = table.join(
            (cov["screened"] / cov["base_dwellings"]).rename("screening_coverage"), how="outer"
        )
    else:
        table["screening_coverage"] = np.nan
    table = table.fillna({c: 0 for c in table.columns if c != "screening_coverage"})
    out = table.rename_axis("street_id").reset_index()
    for column in out.columns:
        if column not in ("street_id", "screening_coverage"):
            out[column] = out[column].astype("int64")
    # whether medical support could use the chronic-care register (else: the elderly only)
    out["chronic_register"] = a.care_connected
    return out


def _store_summary(ctx: TopicContext, summary: pd.DataFrame) -> None:
    table = pa.Table.from_pandas(summary, preserve_index=False)
    table = table.append_column("run_id", pa.array([ctx.run_id] * table.num_rows, pa.string()))
    ctx.engine.write(table, "topic", SUMMARY_TABLE, mode="append", partition_by=["run_id"])


def knobs(params: EpidemicParams) -> Knobs:
    return Knobs(
        lookback_days=params.lookback_days,
        near_rows=params.near_rows,
        window_days=params.window_days,
        followup_days=params.followup_days,
        risk_areas=tuple(params.risk_areas),
    )


def analyse_ctx(ctx: TopicContext) -> Analysis:
    params = ctx.params
    assert isinstance(params, EpidemicParams)

    def has(dataset: str) -> bool:
        if ctx.inputs is not None:
            return dataset in ctx.inputs
        zone, _, table = dataset.partition(".")
        return ctx.engine.exists(zone, table)

    with ctx.staging() as stage:
        return analyse(ctx.engine, ctx.input, has, knobs(params), stage)


PANELS: dict[str, PagePanel] = {
    "contacts": PagePanel(
        id="epidemic_contacts",
        title_zh="密切接触者与病例",
        title_en="Cases and close contacts",
        text_zh=(
            "病例来自检测阳性记录。密切接触者按两类线索找出：同住（人口库中同户，或同单元同层及"
            "上下层）和同时空（同日同乘一趟列车或航班；同车厢前后几排内为高风险）。"
            "个人信息默认脱敏，查看明细需说明用途申请授权，每次查看留痕。"
        ),
        text_en=(
            "Cases are positive test records. Close contacts come from co-residence (the same"
            " dwelling in the population base, or the same stairwell on the floor or next to"
            " it) and co-location (the same train or flight that day; the same carriage within"
            " a few rows is high risk). Personal data is masked; seeing it takes a grant with a"
            " purpose, and every look is audited."
        ),
    ),
    "entry": PagePanel(
        id="epidemic_entry",
        title_zh="入域管控",
        title_en="Entry control",
        text_zh=(
            "来自风险地区（卫健部门公布，或出现输入病例的城市）的到达旅客，匹配到人口库住址，"
            "并看到达后是否已检测：未检测的待跟进（派单），人口库中无住址的需核实落脚点。"
        ),
        text_en=(
            "Arrivals from risk areas (listed by the health authority, or cities that sent an"
            " imported case), matched to the population base, with whether they were tested"
            " since: untested ones are followed up (a case), those without a dwelling here are"
            " traced."
        ),
    ),
    "screening": PagePanel(
        id="epidemic_screening",
        title_zh="入户排查覆盖与缺口",
        title_en="Household screening coverage and gaps",
        text_zh=(
            "每轮入户排查登记表与人口库在册住户比对，按社区和网格计算覆盖率；覆盖率低于阈值的社区"
            "列为缺口，需补排。"
        ),
        text_en=(
            "Each round's screening sheets against the dwellings of the population base, by"
            " community and grid; a community below the coverage threshold is a gap to revisit."
        ),
    ),
    "support": PagePanel(
        id="epidemic_support",
        title_zh="精准医疗保障",
        title_en="Precise medical support",
        text_zh=(
            "有病例的网格内需上门送医送药的居民：慢病管理/家庭医生签约名册中的透析、孕产妇、残疾"
            "和慢病患者，以及独居老人和高龄老人。未接入该名册的城市只列老人，各街道态势注明。"
        ),
        text_en=(
            "Residents of grids with a case who need care and medicine brought to them: those on"
            " the chronic-care and family-doctor register (dialysis, expecting mothers, the"
            " disabled, the chronically ill), the elderly living alone and the very old. A city"
            " without the register gets the elderly only; the street summary says so."
        ),
    ),
    "streets": PagePanel(
        id="epidemic_by_street",
        title_zh="各街道态势",
        title_en="Situation by street",
        kind="breakdown",
        by="street",
    ),
    "levels": PagePanel(
        id="epidemic_by_level",
        title_zh="风险等级分布",
        title_en="Findings by level",
        kind="breakdown",
        by="level",
    ),
}

#: what each scenario's page leads with
PANEL_ORDER: dict[str, tuple[str, ...]] = {
    "strict_control": ("contacts", "entry", "levels", "screening", "streets", "support"),
    "resume_work": ("support", "streets", "screening", "entry", "contacts", "levels"),
}


def panels_for(scenario: Scenario) -> list[PagePanel]:
    """The page's panels in the order the scenario leads with."""
    return [PANELS[key] for key in PANEL_ORDER[scenario]]


class Epidemic(Topic):
    """Cases, close contacts, entry control, screening gaps and medical support (疫情防控)."""

    name = "epidemic"
    title_zh = "疫情防控"
    title_en = "Epidemic response"
    subject_type = "person"
    version = "1"
    department_hint = "区卫生健康局"
    params_model: ClassVar[type[TopicParams]] = EpidemicParams
    inputs = (
        InputSpec(table="test_record", columns=("test_id", "id_number", "phone", "sampled_at",
                                                "result")),
        InputSpec(table="person_registration", columns=("record_id", "id_number", "phone",
                                                        "birth_date", "moved_in_date")),
        InputSpec(table="residence_permit", columns=("permit_id", "id_number", "phone",
                                                     "issued_date", "valid_until",
                                                     "cancelled_date")),
        InputSpec(table="standard_address", columns=("address_id", "level", "parent_id",
                                                     "floor_no", "lon", "lat")),
        InputSpec(table="arrival", columns=("record_id", "id_number", "phone", "trip_no", "seat",
                                            "from_city", "arrived_at"), optional=True),
        InputSpec(table="screening", columns=("record_id", "outsiders", "screened_date",
                                              "round"), optional=True),
        InputSpec(table="delivery", columns=("stat_id", "period", "recipient_phone"),
                  optional=True),
        InputSpec(table="chronic_care", columns=("record_id", "id_number", "phone", "condition",
                                                 "last_followup_date"), optional=True),
    )  # fmt: skip

    def run(self, ctx: TopicContext) -> pa.Table:
        params = ctx.params
        assert isinstance(params, EpidemicParams)
        found = analyse_ctx(ctx)
        if not found.care_connected:
            log.warning(NO_REGISTER)
        rows = finding_rows(found, params)
        _store_summary(ctx, street_summary(found, rows))
        n = len(rows)
        scores = _col(rows["score"]) if n else pa.array([], pa.float64())

        def text(name: str) -> pa.Array:
            if name not in rows:
                return pa.nulls(n, pa.string())
            return pa.array(rows[name].astype(object).where(rows[name].notna(), None), pa.string())

        return pa.table(
            {
                "topic": pa.array([self.name] * n, pa.string()),
                "subject_type": text("subject_type"),
                "subject_id": text("person_key"),
                "period": text("period"),
                "score": scores,
                "level": levels_from_scores(scores, self.level_thresholds(params)),
                "lon": _col(rows["lon"]) if "lon" in rows else pa.nulls(n, pa.float64()),
                "lat": _col(rows["lat"]) if "lat" in rows else pa.nulls(n, pa.float64()),
                "grid_id": text("grid_id"),
                "community_id": text("community_id"),
                "street_id": text("street_id"),
                "model_version": pa.array([ctx.model_version] * n, pa.string()),
                "reasons": build_reasons(_signals(rows, params), min_contribution=0.0),
            }
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        from citybrain.topics.builtin.epidemic.evaluate import evaluate_epidemic

        return evaluate_epidemic(self.name, analyse_ctx(ctx), truth_dir, ctx, findings.num_rows)

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="epidemic_findings",
                title_zh="病例、密接与重点人员（住址）",
                title_en="Cases, contacts and people to follow up (homes)",
                color="#c92a2a",
            )
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="epidemic_contacts",
                title_zh="密切接触者",
                title_en="Close contacts",
                unit_zh="人",
                unit_en="people",
            ),
            OverviewTile(
                id="epidemic_pending_arrivals",
                title_zh="风险地区入域待跟进",
                title_en="Risk-area arrivals to follow up",
                unit_zh="人",
                unit_en="people",
            ),
        ]

    def page_panels(self) -> list[PagePanel]:
        return panels_for("strict_control")

    def page_panels_for(self, params: TopicParams) -> list[PagePanel]:
        """The page leads with what the city's scenario needs (``[topics.epidemic] scenario``)."""
        assert isinstance(params, EpidemicParams)
        return panels_for(params.scenario)
