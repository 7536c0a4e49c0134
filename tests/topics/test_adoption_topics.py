"""Adopting group_rental and credit in the second city (`sim --profile deqing`) with nothing but
its own source contracts and the bundles the first city exported; their evaluations side by side.

The first city is the shared tiny city, already landed (``std_city_copy``); only the second city
is generated (tiny, the systems its profile hands over) and landed here. At tiny both cities'
figures are degenerate (one group rental dwelling, no distressed firm: F1 0.0 and rules-only AUC
0.5 in both), so the 0.05 comparison alone could hardly fail; the test also asks that each firm
gets the same credit score and grade in both cities (the same world, other schemas, code lists,
formats and addresses): it fails when a firm is lost or doubled, or a penalty is not linked to
its firm. At tiny credit grades by rules only, so its tax and social-security columns are checked
per column by test_adoption.py, not here. The side by
side with figures that mean something is ``benchmarks/adoption.py`` (see its docstring for the
smallest size where they do).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.topics import get_topic
from citybrain.topics.adoption import (
    compare,
    export_bundles,
    import_bundles,
    land,
    outside,
    run_and_evaluate,
    side_by_side,
)
from citybrain.topics.builtin.credit.topic import SCORES_TABLE
from fixtures.tinycity import SEED, std_city_copy

TOPICS = ("group_rental", "credit")


def _scores(workspace: Workspace, run_id: str) -> pa.Table:
    with workspace.engine() as engine:
        table = engine.table("topic", SCORES_TABLE)
        table = table.filter(table.run_id == run_id).select("uscc", "score", "grade")
        return engine.to_arrow(table).sort_by("uscc")


@pytest.mark.slow
def test_group_rental_and_credit_adopted_by_the_second_city_by_contracts_and_bundles(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from citybrain.ingest.simsources import write_sim_sources
    from citybrain.sim.generate import generate

    monkeypatch.setenv("CITYBRAIN_BUNDLE_KEY", "adoption-test-key-0123456789")
    topics = {name: get_topic(name) for name in TOPICS}

    # the first city: run, evaluate against its truth, export the signed bundles
    first, first_city, _ = std_city_copy(tmp_path_factory, tmp_path / "first")
    ours = {n: run_and_evaluate(first, t, first_city / "truth") for n, t in topics.items()}
    bundles = export_bundles(first, topics.values(), tmp_path / "bundles")

    # the second city: its own contracts and the bundles, nothing else
    second_city = tmp_path / "deqing"
    generate("tiny", SEED, second_city, profile="deqing", workers=1)
    second = Workspace.init(tmp_path / "second", name="德清县")
    deployed = write_sim_sources(second.root / "sources", second_city).files
    assert {p.name for p in deployed} == {p.name for p in (second_city / "contracts").iterdir()}
    land(second, deployed)
    import_bundles(second, bundles, get_topic)
    theirs = {n: run_and_evaluate(second, t, second_city / "truth") for n, t in topics.items()}

    rows = compare(ours, theirs)
    with capsys.disabled():
        print("\n" + side_by_side(rows, ("示例高新区", "德清县")))
    assert not outside(rows, 0.05), side_by_side(rows, ("示例高新区", "德清县"))
    for name in TOPICS:
        assert ours[name]["findings"] == theirs[name]["findings"], name

    # the same world graded the same: every firm, its score and grade
    a = _scores(first, ours["credit"]["run_id"])
    b = _scores(second, theirs["credit"]["run_id"])
    assert a.num_rows == b.num_rows > 0
    assert a["uscc"].equals(b["uscc"])
    assert a["grade"].equals(b["grade"])
    diffs = np.abs(a["score"].to_numpy() - b["score"].to_numpy())
    assert diffs.max() < 0.5, diffs.max()


def test_the_side_by_side_names_each_figure_and_fails_on_the_headline_only() -> None:
    first = {
        "group_rental": {"f1": 0.90, "precision": 0.92, "recall": 0.88},
        "credit": {"auc": 0.88},
    }
    second = {"group_rental": {"f1": 0.84, "precision": 0.70, "recall": 0.99}, "credit": {}}
    rows = compare(first, second)
    assert [(r.topic, r.figure, r.headline) for r in rows[:4]] == [
        ("group_rental", "f1", True),
        ("group_rental", "precision", False),
        ("group_rental", "recall", False),
        ("credit", "auc", True),
    ]
    text = side_by_side(rows, ("示例高新区", "德清县"))
    assert "group_rental  f1" in text and "0.900" in text and "-0.060 *" in text
    assert "credit        auc" in text and "—" in text  # not evaluated in the second city
    # precision moved by 0.22 but only the headline decides; a missing headline fails too
    assert [(r.topic, r.figure) for r in outside(rows, 0.05)] == [
        ("group_rental", "f1"),
        ("credit", "auc"),
    ]
    assert [r.topic for r in outside(rows, 0.07)] == ["credit"]
