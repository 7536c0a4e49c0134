"""政策主动推送: the catalogue as configuration, the rules over hand-made firms, the findings."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.errors import UserError
from citybrain.topics import TopicContext, validate_findings
from citybrain.topics.builtin.enterprise_warning.features import GOLDEN, Panel
from citybrain.topics.builtin.policy_push import PolicyPush
from citybrain.topics.builtin.policy_push.attributes import compute
from citybrain.topics.builtin.policy_push.catalogue import (
    DEFAULT_CATALOGUE,
    load_catalogue,
    parse_catalogue,
)
from citybrain.topics.builtin.policy_push.topic import SERVICE_OUTCOMES, qualify

MONTHS = 7


def _panel() -> Panel:
    """Five firms × seven months: a steady employer, a shedding one, a hiring one, a small shop
    whose revenue halves, a software firm founded recently."""
    firms = pa.table(
        {
            GOLDEN: ["G1", "G2", "G3", "G4", "G5"],
            "uscc": ["91510100MA0000001A", "91510100MA0000002B", "91510100MA0000003C",
                     "92510109MA0000004D", "91510100MA0000005E"],
            "name": ["稳岗公司", "缩编公司", "扩招公司", "小吃店", "新软件公司"],
            "industry_code": ["I6513", "H6210", "G5431", "H6220", "I6520"],
            "founded": [100, 100, 100, 100, 24_000 + MONTHS - 3],
            "street_id": ["S1", "S1", "S2", "S1", "S2"],
            "grid_id": ["g"] * 5,
            "community_id": ["c"] * 5,
        }
    )  # fmt: skip
    insured = np.array(
        [[20, 20, 21, 20, 20, 21, 21],
         [30, 30, 30, 30, 29, 27, 25],
         [10, 10, 10, 10, 12, 13, 14],
         [np.nan] * 7,
         [np.nan, np.nan, np.nan, np.nan, 3, 3, 3]],
        dtype=np.float64,
    )  # fmt: skip
    revenue = np.array(
        [[50, 50, 50, 50, 50, 50, 50],
         [80, 80, 80, 80, 80, 80, 80],
         [40, 40, 40, 40, 40, 40, 40],
         [20, 20, 20, 20, 9, 9, 9],
         [np.nan, np.nan, np.nan, np.nan, 5, 5, 5]],
        dtype=np.float64,
    ) * 10_000  # fmt: skip
    zeros = np.zeros((5, MONTHS))
    values = {"revenue": revenue, "insured": insured, "late": zeros, "arrears": zeros.copy()}
    values["arrears"][1, -1] = 1.0
    return Panel(firms, np.arange(24_000, 24_000 + MONTHS, dtype=np.int64), values)


def test_the_rules_pick_the_firms_each_policy_is_for() -> None:
    attrs = compute(_panel())
    policies = {p.key: p for p in parse_catalogue(DEFAULT_CATALOGUE, "default")}
    picked = {k: set(np.flatnonzero(qualify(attrs, p)[0]).tolist()) for k, p in policies.items()}
    # kept (or grew) headcount, ≥ 10 insured, no arrears: the steady and the hiring firm
    assert picked["employment_stabilisation"] == {0, 2}
    assert picked["rent_relief"] == {3}  # small, revenue fell to 45 %
    assert picked["rd_credit"] == {0}  # software; the other software firm is three months old
    assert picked["shared_staff_out"] == {1}
    assert picked["shared_staff_in"] == {2}
    assert attrs.individual.tolist() == [False, False, False, True, False]


def test_findings_give_each_rule_and_the_partners_as_reasons(tmp_path: Path) -> None:
    ctx = TopicContext(
        Workspace.init(tmp_path / "ws"), engine=cast(Any, None), run_id="r",
        model_version="policy_push-1", params=PolicyPush().default_params(), inputs={},
    )  # fmt: skip
    attrs = compute(_panel())
    topic = PolicyPush()
    out = {}
    for policy in load_catalogue(ctx.workspace.root):
        out[policy.key] = topic._findings(ctx, attrs, policy, pa.array([], pa.string()))
    table = validate_findings(pa.concat_tables(out.values()))
    assert table.column("subject_id").to_pylist() == [
        "employment_stabilisation:G1", "employment_stabilisation:G3", "rent_relief:G4",
        "rd_credit:G1", "shared_staff_out:G2",
        "shared_staff_in:G3",
    ]  # fmt: skip
    assert set(table.column("subject_type").to_pylist()) == {"enterprise_policy"}
    assert set(table.column("period").to_pylist()) == {"2000-07"}
    reasons: list[dict[str, Any]] = out["rent_relief"].column("reasons").to_pylist()[0]
    texts = [r["text_zh"] for r in reasons]
    assert texts[0].startswith("符合「小微企业房租减免」条件")
    assert "近3个月月均申报营业收入9万元（政策要求≤30）" in texts
    assert any("0.45倍" in t for t in texts)
    shed = out["shared_staff_out"].column("reasons").to_pylist()[0]
    partner = next(r for r in shed if r["signal"] == "partners")
    assert partner["text_zh"] == "可对接企业1家（同街道优先）：扩招公司"
    assert "1 firm(s) to match with" in partner["text_en"]
    # a pair a service case judged "not eligible" is not pushed again
    again = topic._findings(
        ctx, attrs, next(p for p in load_catalogue(ctx.workspace.root) if p.key == "rent_relief"),
        pa.array(["rent_relief:G4"]),
    )  # fmt: skip
    assert again.num_rows == 0
    assert SERVICE_OUTCOMES["not eligible"][1] == "rejected"


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        ("policies:\n  a:\n    zh: 甲\n    en: a\n    when:\n      revnue_3m: {max: 3}\n", 6,
         "policies.a.when.revnue_3m: unknown key"),
        ("policies:\n  a:\n    zh: 甲\n    en: a\n    when:\n      insured: {min: 3, mx: 4}\n", 6,
         "policies.a.when.insured.mx: unknown key"),
        ("policies:\n  a:\n    zh: 甲\n    en: [a\n    when: {}\n", 5, "(yaml)"),
    ],
)  # fmt: skip
def test_a_bad_catalogue_is_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str
) -> None:
    (tmp_path / "policies.yaml").write_text(text, "utf-8")
    with pytest.raises(UserError) as caught:
        load_catalogue(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'policies.yaml'}:{line}: {key}"), message
    assert "\n" not in message


def test_the_default_catalogue_is_the_synthetic_citys() -> None:
    from citybrain.sim.economy import POLICY_CATALOGUE

    assert parse_catalogue(POLICY_CATALOGUE, "sim") == parse_catalogue(DEFAULT_CATALOGUE, "pkg")
