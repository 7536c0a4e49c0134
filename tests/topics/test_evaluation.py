import numpy as np

from citybrain.topics import binary_scores, pr_curve, precision_at_k


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
