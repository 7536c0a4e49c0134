"""What topics share to evaluate themselves: precision, recall, F1, precision@k, the PR curve,
and where an evaluation is written (``evaluation_folder``, ``save_evaluation``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from citybrain.topics.base import Evaluation, TopicContext

E = TypeVar("E", bound="Evaluation")


class ScoreFields(TypedDict):
    """The shared figures of an ``Evaluation``, as keywords."""

    precision: float
    recall: float
    f1: float
    support: int
    flagged: int


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    flagged: int
    support: int

    def fields(self) -> ScoreFields:
        """These figures as an evaluation's keywords: ``Evaluation(topic=…, **ours.fields())``."""
        return ScoreFields(
            precision=self.precision,
            recall=self.recall,
            f1=self.f1,
            support=self.support,
            flagged=self.flagged,
        )


def binary_scores(predicted: NDArray[np.bool_], actual: NDArray[np.bool_]) -> Scores:
    tp = int(np.count_nonzero(predicted & actual))
    flagged = int(np.count_nonzero(predicted))
    support = int(np.count_nonzero(actual))
    precision = tp / flagged if flagged else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, flagged, support)


def precision_at_k(scores: NDArray[np.float64], actual: NDArray[np.bool_], k: int = 100) -> float:
    """Share of true positives among the ``k`` highest scores (ties broken by position)."""
    if len(scores) == 0:
        return 0.0
    top = np.argsort(-scores, kind="stable")[: min(k, len(scores))]
    return float(np.mean(actual[top]))


def pr_curve(
    scores: NDArray[np.float64], actual: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Precision, recall and threshold at every distinct score, highest threshold first."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    hits = np.cumsum(actual[order])
    last_of_each = np.r_[np.nonzero(np.diff(sorted_scores))[0], len(sorted_scores) - 1]
    flagged = last_of_each + 1
    precision = hits[last_of_each] / flagged
    recall = hits[last_of_each] / max(int(actual.sum()), 1)
    return precision.astype(np.float64), recall.astype(np.float64), sorted_scores[last_of_each]


def evaluation_folder(ctx: TopicContext, topic: str) -> Path:
    """The folder a topic's evaluation writes into (made if missing): the context's
    ``artifacts_dir``, else ``<topic zone>/<topic>_evaluation``."""
    folder = ctx.artifacts_dir or ctx.workspace.zone("topic") / f"{topic}_evaluation"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_evaluation(result: E, ctx: TopicContext) -> E:
    """Write ``result`` as ``evaluation.json`` in its topic's evaluation folder, note that file's
    path in ``result.extra["json"]``, and hand ``result`` back."""
    path = evaluation_folder(ctx, result.topic) / "evaluation.json"
    result.extra["json"] = str(path)
    path.write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), "utf-8")
    return result
