"""Routing rules: the most specific location wins, with fallbacks; YAML errors name the line."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from citybrain.cases.areas import AreaIndex, fill_locations
from citybrain.cases.routing import parse_routing, route, route_table
from citybrain.cases.settings import parse_case_settings
from citybrain.core.yamlmodel import SettingsFileError

from .conftest import findings

RULES_YAML = """\
default_department: 城市运行管理中心
supervisor: 督办中心
rules:
  - name: grid-g7
    topics: [group_rental]
    grids: [G7]
    departments: [G7网格站]
  - name: community-c1
    topics: [group_rental]
    communities: [C1]
    departments: [C1社区居委会, 派出所]
  - name: street-any-topic
    streets: [S1]
    departments: [科技园街道办]
  - name: street-group-rental
    topics: [group_rental]
    streets: [S1]
    departments: [科技园街道办（住房）]
  - name: group-rental-high
    topics: [group_rental]
    levels: [high]
    departments: [住建局]
"""
RULES = parse_routing(RULES_YAML, "routing.yaml")


def _route(**where: str | None) -> tuple[str | None, str | None, str | None]:
    values = {"topic": "group_rental", "level": "high", **where}
    decision = route(RULES, hints={"credit": "发改局"}, **values)  # type: ignore[arg-type]
    return decision.department, decision.rule, decision.matched_on


def test_grid_then_community_then_street_then_topic_then_hint_then_default() -> None:
    where = {"grid_id": "G7", "community_id": "C1", "street_id": "S1"}
    assert _route(**where) == ("G7网格站", "grid-g7", "grid")
    assert _route(**{**where, "grid_id": "G8"}) == ("C1社区居委会", "community-c1", "community")
    assert _route(grid_id="G8", community_id="C9", street_id="S1") == (
        "科技园街道办（住房）",
        "street-group-rental",
        "street",
    )  # a rule naming the topic beats an any-topic rule of the same tier
    assert _route(street_id="S9") == ("住建局", "group-rental-high", "topic")
    assert _route(street_id="S9", level="low") == ("城市运行管理中心", None, "default")
    assert _route(topic="credit") == ("发改局", None, "hint")
    assert _route(topic="credit", street_id="S1") == ("科技园街道办", "street-any-topic", "street")


def test_no_default_leaves_a_case_unrouted() -> None:
    rules = parse_routing("default_department: null\n")
    decision = route(rules, topic="x", level="low")
    assert decision.department is None and decision.matched_on is None
    assert "no rule" in decision.reason_en


def test_dry_run_says_where_and_why() -> None:
    table = findings(
        [
            {"subject_id": "D1", "grid_id": "G7"},
            {"subject_id": "D2", "grid_id": "G8", "community_id": "C1"},
            {"subject_id": "D3", "grid_id": "G7"},
        ]
    )
    routed = route_table(RULES, table).to_pylist()
    assert [r["department"] for r in routed] == ["G7网格站", "C1社区居委会", "G7网格站"]
    assert routed[1]["co_departments"] == ["派出所"]
    assert routed[0]["route_reason_en"] == "rule #0 'grid-g7' matched on grid"
    assert routed[1]["route_reason_zh"] == "按社区匹配规则 #1「community-c1」"


@pytest.mark.parametrize(
    ("text", "line", "key", "message"),
    [
        ("rules:\n  - name: a\n    departments: [x]\n    colour: red\n", 4, "rules[0].colour",
         "unknown key"),
        ("rules:\n  - name: a\n    topics: [t]\n", 2, "rules[0].departments", "required"),
        ("rules:\n  - name: a\n    levels: [urgent]\n    departments: [x]\n", 3,
         "rules[0].levels[0]", "high"),
        ("rules: [\n", 2, "(yaml)", ""),
    ],
)  # fmt: skip
def test_rule_errors_name_the_line(text: str, line: int, key: str, message: str) -> None:
    with pytest.raises(SettingsFileError) as caught:
        parse_routing(text, "routing.yaml")
    assert caught.value.line == line and caught.value.key == key
    assert str(caught.value).startswith(f"routing.yaml:{line}: {key}: ")
    assert message in str(caught.value)


def test_settings_file_with_sla_and_calendar() -> None:
    settings = parse_case_settings(
        "sla:\n  topics:\n    muck_truck: {high: 2}\n  calendar:\n    holidays: [2026-10-01]\n"
        "routing:\n" + "".join(f"  {line}\n" for line in RULES_YAML.splitlines())
    )
    assert settings.sla.hours_for("muck_truck", "high") == 2
    assert len(settings.routing.rules) == 5
    with pytest.raises(SettingsFileError, match=r"cases.yaml:2: sla.topics: unknown level"):
        parse_case_settings("sla:\n  topics:\n    muck_truck: {urgent: 2}\n")


SQUARE = "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))"
SMALL = "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"


def test_areas_locate_the_smallest_area_holding_a_point() -> None:
    areas = AreaIndex.from_table(
        pa.table(
            {
                "grid_id": [None, "G1"],
                "community_id": ["C1", "C1"],
                "street_id": ["S1", "S1"],
                "geometry": [SQUARE, SMALL],
            }
        )
    )
    located = areas.locate(pa.array([0.5, 5.0, 50.0, None]), pa.array([0.5, 5.0, 50.0, None]))
    assert located.to_pylist() == [
        {"grid_id": "G1", "community_id": "C1", "street_id": "S1"},
        {"grid_id": None, "community_id": "C1", "street_id": "S1"},
        {"grid_id": None, "community_id": None, "street_id": None},
        {"grid_id": None, "community_id": None, "street_id": None},
    ]


def test_findings_without_a_grid_are_located_from_geojson() -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"grid_id": "G7", "community_id": "C7", "street_id": "S7"},
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2],
                                                                  [0, 0]]]},
            }
        ],
    }  # fmt: skip
    areas = AreaIndex.from_geojson(json.dumps(collection))
    table = findings(
        [
            {"subject_id": "D1", "lon": 1.0, "lat": 1.0, "grid_id": None, "community_id": None,
             "street_id": None},
            {"subject_id": "D2", "lon": 1.0, "lat": 1.0, "grid_id": "G1"},
        ]
    )  # fmt: skip
    filled = fill_locations(table, areas).to_pylist()
    assert (filled[0]["grid_id"], filled[0]["street_id"]) == ("G7", "S7")
    assert (filled[1]["grid_id"], filled[1]["street_id"]) == ("G1", "S1")  # kept its own
    routed = route_table(RULES, fill_locations(table, areas)).to_pylist()
    assert routed[0]["department"] == "G7网格站"


def test_dry_run_filters_locates_and_routes_without_a_database() -> None:
    from citybrain.cases import CaseSettings, dry_run

    areas = AreaIndex.from_table(
        pa.table({"grid_id": ["G7"], "community_id": ["C7"], "street_id": ["S7"],
                  "geometry": [SQUARE]})
    )  # fmt: skip
    table = findings(
        [
            {"subject_id": "D1", "lon": 5.0, "lat": 5.0, "grid_id": None},
            {"subject_id": "D2", "score": 0.1, "level": "low"},
        ]
    )
    routed = dry_run(table, settings=CaseSettings(routing=RULES), areas=areas).to_pylist()
    assert [(r["subject_id"], r["grid_id"], r["department"]) for r in routed] == [
        ("D1", "G7", "G7网格站")
    ]


def test_the_documented_example_settings_parse() -> None:
    from citybrain.cases import settings as settings_module

    doc = settings_module.__doc__ or ""
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    settings = parse_case_settings(example)
    assert settings.routing.rules[0].name == "group-rental-by-street"
    assert settings.sla.calendar.holidays and settings.merge.distance_m == 30


def test_department_placeholders_name_the_findings_street_office() -> None:
    rules = parse_routing(
        "default_department: '{street}城管执法中队'\n"
        "rules:\n"
        "  - name: community-office\n"
        "    topics: [bikes]\n"
        "    departments: ['{community}居委会', '{street}办事处']\n"
    )
    names = {"S1": "石羊街道", "C1": "南湖社区"}
    hinted = route(rules, topic="group_rental", level="high", street_id="S1",
                   hints={"group_rental": "{street}办事处"}, area_names=names)  # fmt: skip
    assert (hinted.department, hinted.matched_on) == ("石羊街道办事处", "hint")
    ruled = route(rules, topic="bikes", level="low", community_id="C1", street_id="S1",
                  area_names=names)  # fmt: skip
    assert ruled.departments == ("南湖社区居委会", "石羊街道办事处")
    # Without the area the placeholder names, the next tier takes over; unknown names keep ids.
    fallback = route(rules, topic="bikes", level="low", street_id="S2", area_names=names)
    assert (fallback.department, fallback.matched_on) == ("S2城管执法中队", "default")
    nowhere = route(rules, topic="group_rental", level="high",
                    hints={"group_rental": "{street}办事处"})  # fmt: skip
    assert nowhere.department is None and nowhere.matched_on is None


def test_unknown_placeholder_is_a_clear_error() -> None:
    with pytest.raises(SettingsFileError, match=r"unknown placeholder \{district\}"):
        parse_routing("rules:\n  - name: r\n    departments: ['{district}办']\n", "cases.yaml")


def test_subject_prefixes_send_each_operators_moves_to_it() -> None:
    rules = parse_routing(
        "rules:\n"
        "  - {name: to-meituan, topics: [bike_rebalancing], subject_prefixes: [meituan],"
        " departments: [美团单车（运营企业）]}\n"
        "  - {name: to-hellobike, topics: [bike_rebalancing], subject_prefixes: [hellobike],"
        " departments: [哈啰出行（运营企业）]}\n"
    )
    move = {"topic": "bike_rebalancing", "subject_type": "bike_move"}
    table = findings(
        [
            {**move, "subject_id": "meituan:A>B"},
            {**move, "subject_id": "hellobike:A>C"},
            {**move, "subject_id": "qingju:A>B"},
            {"topic": "group_rental", "subject_id": "meituan:D1"},  # another topic: not by subject
        ]
    )
    hints = {"bike_rebalancing": "共享单车运营企业"}
    routed = route_table(rules, table, hints).to_pylist()
    assert [r["department"] for r in routed] == [
        "美团单车（运营企业）", "哈啰出行（运营企业）", "共享单车运营企业", "城市运行管理中心",
    ]  # fmt: skip
    assert routed[0]["routing_rule"] == "to-meituan"
    assert route(rules, topic="bike_rebalancing", level="high").department == "城市运行管理中心"
