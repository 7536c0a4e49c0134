"""Policy push scored against the synthetic city's truth of which firms qualify for each policy
(``policy_eligibility``: policy, enterprise). A finding is a (policy, golden firm) pair; the golden
firm is tied to the true enterprise through its registry records (``base.enterprise_link`` →
registration id → the truth's ``links_enterprise``), not through the USCC, which the registry
itself sometimes holds mistyped. Per policy: precision, recall and whether the pushed firms are
exactly the eligible ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.core.errors import UserError
from citybrain.topics import Evaluation, TopicContext, binary_scores, save_evaluation
from citybrain.topics.builtin.enterprise_warning import features


class PushEvaluation(Evaluation):
    """The shared figures plus, per policy, how the pushed firms match the eligible ones."""

    exact: bool
    per_policy: dict[str, dict[str, float | int | bool]]


def _pairs(policy: pa.Array, uscc: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(policy, uscc, "|")


def evaluate_push(
    topic: str, findings: pa.Table, truth_dir: Path, ctx: TopicContext
) -> PushEvaluation:
    path = truth_dir / "policy_eligibility.parquet"
    if not path.is_file():
        raise UserError(f"{path}: no policy_eligibility truth in this folder")
    truth = pq.read_table(path, columns=["policy", "enterprise_id"])
    links_path = truth_dir / "links_enterprise.parquet"
    if not links_path.is_file():
        raise UserError(f"{links_path}: no links_enterprise truth in this folder")
    true_links = pq.read_table(links_path, columns=["system", "key", "entity_id"])
    true_links = true_links.filter(pc.equal(true_links.column("system"), "market_registry"))
    links = ctx.input("base.enterprise_link")
    registry = links.filter(links.source_table == "enterprise_registration").select(
        "source_key", features.GOLDEN
    )
    golden_to_key = ctx.engine.to_arrow(registry)
    at = pc.index_in(golden_to_key.column("source_key"), value_set=true_links.column("key"))
    golden_entity = pa.table(
        {
            "golden": golden_to_key.column(features.GOLDEN).cast(pa.string()),
            "entity": pc.cast(true_links.column("entity_id").take(at), pa.string()),
        }
    ).filter(pc.is_valid(pc.index_in(golden_to_key.column("source_key"),
                                      value_set=true_links.column("key"))))  # fmt: skip
    subject = findings.column("subject_id").combine_chunks()
    split = pc.split_pattern(subject, ":", max_splits=1)
    pushed = pa.table({"policy": pc.list_element(split, 0), "golden": pc.list_element(split, 1)})
    # a golden firm stands for every true enterprise its registry records belong to
    joined = pushed.join(golden_entity, "golden", join_type="left outer")
    found = pc.unique(
        _pairs(joined.column("policy").combine_chunks(),
               pc.fill_null(joined.column("entity"), "?").combine_chunks())
    )  # fmt: skip
    true_entity = pc.cast(truth.column("enterprise_id"), pa.string()).combine_chunks()
    actual = pc.unique(_pairs(truth.column("policy").combine_chunks(), true_entity))
    universe = pc.unique(pa.concat_arrays([found, actual]))
    predicted = np.asarray(pc.is_in(universe, value_set=found).to_numpy(zero_copy_only=False))
    eligible = np.asarray(pc.is_in(universe, value_set=actual).to_numpy(zero_copy_only=False))
    which = np.asarray(
        pc.list_element(pc.split_pattern(universe, "|", max_splits=1), 0).to_numpy(
            zero_copy_only=False
        ),
        dtype=str,
    )
    overall = binary_scores(predicted, eligible)
    per_policy: dict[str, dict[str, float | int | bool]] = {}
    for name in np.unique(which).tolist():  # a handful of policies
        mine = which == name
        s = binary_scores(predicted[mine], eligible[mine])
        per_policy[name] = {
            "precision": s.precision,
            "recall": s.recall,
            "eligible": s.support,
            "pushed": s.flagged,
            "exact": bool((predicted[mine] == eligible[mine]).all()),
        }
    result = PushEvaluation(
        topic=topic,
        **overall.fields(),
        exact=bool((predicted == eligible).all()),
        per_policy=per_policy,
        extra={"pairs_definition": "(policy, true enterprise) pushed vs planted eligible"},
    )
    return save_evaluation(result, ctx)
