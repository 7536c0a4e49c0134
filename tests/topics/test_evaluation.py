from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from citybrain.core import Workspace
from citybrain.topics import (
    Evaluation,
    TopicContext,
    TopicParams,
    binary_scores,
    evaluation_folder,
    pr_curve,
    precision_at_k,
    save_evaluation,
)

if TYPE_CHECKING:
    from citybrain.core.engine import Engine


def test_binary_scores() -> None:
    predicted = np.array([True, True, False, False, True])
    actual = np.array([True, False, True, False, True])
    scores = binary_scores(predicted, actual)
    assert scores.precision == 2 / 3
    assert scores.recall == 2 / 3
    assert abs(scores.f1 - 2 / 3) < 1e-12
    assert (scores.flagged, scores.support) == (3, 3)


def test_nothing_flagged_scores_zero() -> None:
    scores = binary_scores(np.zeros(3, bool), np.array([True, False, False]))
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def test_precision_at_k() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    actual = np.array([True, False, True, True])
    assert precision_at_k(scores, actual, k=2) == 0.5
    assert precision_at_k(scores, actual, k=100) == 0.75


def test_pr_curve_handles_ties() -> None:
    scores = np.array([0.9, 0.9, 0.5, 0.1])
    actual = np.array([True, False, True, False])
    precision, recall, thresholds = pr_curve(scores, actual)
    assert list(thresholds) == [0.9, 0.5, 0.1]
    assert list(precision) == [0.5, 2 / 3, 0.5]
    assert list(recall) == [0.5, 1.0, 1.0]


def _context(tmp_path: Path, artifacts_dir: Path | None) -> TopicContext:
    workspace = Workspace.init(tmp_path / "ws")
    engine = cast("Engine", object())  # saving an evaluation never touches the lake engine
    return TopicContext(
        workspace, engine, "run-1", TopicParams(), "m1", artifacts_dir=artifacts_dir
    )


def test_save_evaluation_writes_json_in_the_topic_zone_and_names_it(tmp_path: Path) -> None:
    ctx = _context(tmp_path, None)
    result = Evaluation(topic="demo", precision=0.5, recall=1.0, f1=2 / 3, extra={"n": 3})
    assert save_evaluation(result, ctx) is result
    path = ctx.workspace.zone("topic") / "demo_evaluation" / "evaluation.json"
    assert result.extra["json"] == str(path)
    written = json.loads(path.read_text("utf-8"))
    assert written["topic"] == "demo" and written["extra"] == {"n": 3, "json": str(path)}


def test_save_evaluation_writes_into_the_context_artifacts_dir(tmp_path: Path) -> None:
    ctx = _context(tmp_path, tmp_path / "out" / "here")
    assert evaluation_folder(ctx, "demo") == tmp_path / "out" / "here"
    save_evaluation(Evaluation(topic="demo", precision=0.0, recall=0.0, f1=0.0), ctx)
    assert (tmp_path / "out" / "here" / "evaluation.json").is_file()
    assert not (ctx.workspace.zone("topic") / "demo_evaluation").exists()


def test_scores_fill_an_evaluations_shared_figures() -> None:
    ours = binary_scores(np.array([True, True, False]), np.array([True, False, True]))
    result = Evaluation(topic="demo", **ours.fields(), threshold=0.5)
    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)
    assert (result.support, result.flagged, result.threshold) == (2, 2, 0.5)
