"""Policy push scored against hand-made truth (tests ``policy_push/evaluate.py``): a pushed
(policy, golden firm) pair is matched to the true enterprise through the registry's links, per
policy and overall, and the evaluation is written beside the topic zone."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.core import Workspace
from citybrain.topics import TopicContext
from citybrain.topics.builtin.policy_push.evaluate import evaluate_push
from citybrain.topics.builtin.policy_push.topic import PolicyPush


def test_pushed_pairs_are_scored_per_policy_through_the_registry_links(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    truth = tmp_path / "truth"
    truth.mkdir()
    pq.write_table(
        pa.table(
            {"policy": ["rent_relief", "rent_relief", "rd_credit"], "enterprise_id": [1, 2, 3]}
        ),
        truth / "policy_eligibility.parquet",
    )
    pq.write_table(
        pa.table(
            {"system": ["market_registry"] * 3, "key": ["R1", "R2", "R3"], "entity_id": [1, 2, 3]}
        ),
        truth / "links_enterprise.parquet",
    )
    links = pa.table(
        {
            "source_table": ["enterprise_registration"] * 3,
            "source_key": ["R1", "R2", "R3"],
            "golden_enterprise_id": ["G1", "G2", "G3"],
        }
    )
    findings = pa.table({"subject_id": ["rent_relief:G1", "rent_relief:G3", "rd_credit:G3"]})
    with workspace.engine() as engine:
        engine.write(links, "base", "enterprise_link")
        topic = PolicyPush()
        ctx = TopicContext(workspace, engine, "run-1", topic.default_params(), "m1")
        result = evaluate_push(topic.name, findings, truth, ctx)
    assert (result.precision, result.recall, result.support, result.flagged) == (2 / 3, 2 / 3, 3, 3)
    assert result.per_policy["rent_relief"] == {
        "precision": 0.5, "recall": 0.5, "eligible": 2, "pushed": 2, "exact": False}  # fmt: skip
    assert result.per_policy["rd_credit"]["exact"] is True and not result.exact
    written = json.loads(Path(result.extra["json"]).read_text("utf-8"))
    assert written["per_policy"] == result.per_policy
