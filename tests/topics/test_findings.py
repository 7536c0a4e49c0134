import pyarrow as pa
import pytest

from citybrain.topics import (
    FINDINGS_SCHEMA,
    REASON_TYPE,
    FindingsError,
    Level,
    Signal,
    build_reasons,
    findings_table,
    join_text,
    levels_from_scores,
    one_reason_per_row,
    validate_findings,
)


def two_signals() -> list[Signal]:
    return [
        Signal(
            name="electricity_per_occupant",
            observed=pa.array([412.0, 80.0, None]),
            expected=pa.array([120.0, 110.0, 100.0]),
            contribution=pa.array([0.6, -0.1, 0.2]),
            template_zh="人均月用电{observed}度，同类住户约{expected}度",
            template_en="{observed} kWh per occupant a month; similar flats use about {expected}",
            decimals=0,
        ),
        Signal(
            name="deliveries",
            observed=pa.array([95.0, 3.0, 40.5]),
            expected=pa.array([12.0, 10.0, 11.0]),
            contribution=pa.array([0.3, 0.0, 0.5]),
            template_zh="月外卖快递{observed}件（同类约{expected}件）",
            template_en="{observed} deliveries a month (similar flats: {expected})",
        ),
    ]


def test_reasons_keep_positive_contributions_largest_first() -> None:
    reasons = build_reasons(two_signals()).to_pylist()
    assert [r["signal"] for r in reasons[0]] == ["electricity_per_occupant", "deliveries"]
    assert reasons[1] == []
    assert [r["signal"] for r in reasons[2]] == ["deliveries", "electricity_per_occupant"]
    first = reasons[0][0]
    assert first["text_zh"] == "人均月用电412度，同类住户约120度"
    assert first["text_en"] == "412 kWh per occupant a month; similar flats use about 120"
    assert reasons[2][0]["text_zh"] == "月外卖快递40.5件（同类约11件）"
    # A missing observation is shown, not hidden.
    assert reasons[2][1]["text_zh"] == "人均月用电?度，同类住户约100度"


def test_a_nan_reads_as_missing_never_as_nan() -> None:
    signal = Signal(
        name="water_per_person",
        observed=pa.array([float("nan"), 7.25]),
        expected=pa.array([3.0, float("nan")]),
        contribution=pa.array([0.4, 0.4]),
        template_zh="人均月用水{observed}吨，同类约{expected}吨",
        template_en="{observed} t a person; similar flats {expected} t",
    )
    texts = [r[0]["text_zh"] for r in build_reasons([signal]).to_pylist()]
    assert texts == ["人均月用水?吨，同类约3吨", "人均月用水7.2吨，同类约?吨"]


def test_reasons_need_equal_lengths() -> None:
    broken = two_signals()[0]
    short = Signal(
        broken.name,
        broken.observed[:2],
        broken.expected,
        broken.contribution,
        broken.template_zh,
        broken.template_en,
    )
    with pytest.raises(ValueError, match="differ in length"):
        build_reasons([short])


def test_levels() -> None:
    levels = levels_from_scores(
        pa.array([0.95, 0.7, 0.2]), {Level.high: 0.9, Level.medium: 0.5}
    ).to_pylist()
    assert levels == ["high", "medium", "low"]


def findings(**overrides: object) -> pa.Table:
    row = {
        "topic": "group_rental",
        "subject_type": "dwelling",
        "subject_id": "D1",
        "period": "2025-03",
        "score": 0.93,
        "level": "high",
        "lon": 104.05,
        "lat": 30.57,
        "grid_id": "G1",
        "community_id": "C1",
        "street_id": "S1",
        "model_version": "group_rental-1",
        "reasons": build_reasons(two_signals()).to_pylist()[0],
    }
    row.update(overrides)
    return pa.Table.from_pylist([row])


def test_valid_findings_conform_to_the_schema() -> None:
    table = validate_findings(findings())
    assert table.schema == FINDINGS_SCHEMA


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"score": 1.5}, r"\[0, 1\]"),
        ({"level": "urgent"}, "high, medium or low"),
        ({"reasons": []}, "at least one reason"),
        ({"subject_id": None}, "no subject_id"),
    ],
)
def test_invalid_findings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(FindingsError, match=message):
        validate_findings(findings(**overrides))


def test_missing_columns_are_named() -> None:
    with pytest.raises(FindingsError, match="lat, grid_id"):
        validate_findings(findings().drop_columns(["lat", "grid_id"]))


def test_findings_table_fills_the_shared_columns_and_leaves_places_out_as_null() -> None:
    import pandas as pd

    table = findings_table(
        "group_rental",
        "dwelling",
        subject_id=pd.Series(["D1", "D2", "D3"]),
        period=["2025-03"] * 3,
        score=pa.array([0.95, 0.7, 0.2]),
        thresholds={Level.high: 0.9, Level.medium: 0.5},
        reasons=build_reasons(two_signals()),
        model_version="group_rental-1",
        street_id=["S1", None, "S3"],
    )
    assert table.column_names == FINDINGS_SCHEMA.names
    assert table.column("topic").to_pylist() == ["group_rental"] * 3
    assert table.column("subject_type").to_pylist() == ["dwelling"] * 3
    assert table.column("level").to_pylist() == ["high", "medium", "low"]
    assert table.column("model_version").to_pylist() == ["group_rental-1"] * 3
    assert table.column("street_id").to_pylist() == ["S1", None, "S3"]
    assert table.column("lon").null_count == 3 and table.column("lon").type == pa.float64()
    assert table.column("grid_id").null_count == 3 and table.column("grid_id").type == pa.string()
    assert validate_findings(table.take([0, 2])).num_rows == 2  # row 1 has no reason above 0


def test_one_reason_per_row_with_texts_written_by_join_text() -> None:
    place = pa.array(["地铁口", "商场"])
    zh = join_text("从「", place, "」调出", pa.array(["2", "5"]), "辆")
    en = join_text("move ", pa.array(["2", "5"]), " bikes from ", place)
    reasons = one_reason_per_row("rebalance", [2.0, 5.0], [120.0, 80.0], [0.6, 1.0], zh, en)
    assert reasons.type == pa.list_(REASON_TYPE)
    assert reasons.to_pylist() == [
        [{"signal": "rebalance", "observed": 2.0, "expected": 120.0, "contribution": 0.6,
          "text_zh": "从「地铁口」调出2辆", "text_en": "move 2 bikes from 地铁口"}],
        [{"signal": "rebalance", "observed": 5.0, "expected": 80.0, "contribution": 1.0,
          "text_zh": "从「商场」调出5辆", "text_en": "move 5 bikes from 商场"}],
    ]  # fmt: skip
