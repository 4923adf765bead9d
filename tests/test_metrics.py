"""The one NAUC (autodl_solver.metrics) against scikit-learn, and its two faces against each other."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score

from autodl_solver import metrics
from autodl_solver.anytime import validation
from autodl_solver.anytime.scheduler import log_time
from autodl_solver.challenge import scoring
from autodl_solver.errors import AutoDLInputError


def _sklearn_nauc(solution: np.ndarray, prediction: np.ndarray) -> float:
    """2 * macro roc_auc_score - 1 over the columns with both classes (the definition)."""
    keep = [j for j in range(solution.shape[1]) if 0 < solution[:, j].sum() < solution.shape[0]]
    return 2.0 * roc_auc_score(solution[:, keep], prediction[:, keep], average="macro") - 1.0


def _random_case(rng: np.random.Generator, trial: int) -> tuple[np.ndarray, np.ndarray]:
    """Multi-label 0/1 labels with at least one dropped column, scores with ties most of the time."""
    n = int(rng.integers(5, 120))
    k = int(rng.integers(2, 12))
    solution = (rng.random((n, k)) < rng.uniform(0.05, 0.7, size=k)).astype(np.float64)  # multi-label rows
    solution[0], solution[1] = 1, 0  # every column has both classes ...
    dropped = rng.choice(k, size=int(rng.integers(1, k)), replace=False)
    solution[:, dropped[::2]] = 0.0  # ... but these have no positive
    solution[:, dropped[1::2]] = 1.0  # ... and these no negative
    kind = trial % 4
    if kind == 0:
        prediction = rng.integers(0, 4, size=(n, k)).astype(np.float64)  # few distinct values: many ties
    elif kind == 1:
        prediction = np.round(rng.random((n, k)) + 0.3 * solution, 1)  # rounding ties, informative
    elif kind == 2:
        prediction = rng.random((n, k)).astype(np.float32).astype(np.float64)
        prediction[:, 0] = 0.5  # one constant column
    else:
        prediction = rng.normal(size=(n, k))  # no ties
    return solution, prediction


def test_shared_nauc_matches_sklearn_with_ties_multilabel_and_dropped_columns():
    rng = np.random.default_rng(16)
    for trial in range(300):
        solution, prediction = _random_case(rng, trial)
        expected = _sklearn_nauc(solution, prediction)
        assert metrics.nauc(solution, prediction) == pytest.approx(expected, abs=1e-12)


def test_scoring_and_validation_give_identical_numbers():
    rng = np.random.default_rng(17)
    for trial in range(300):
        solution, prediction = _random_case(rng, trial)
        official = scoring.nauc(solution, prediction)
        assert validation.validation_nauc(solution, prediction) == official  # bit for bit
        assert validation.validation_nauc(solution.astype(np.float32), prediction) == official
        assert metrics.nauc(solution, prediction) == official
        keep = scoring.valid_columns(solution)
        assert np.array_equal(np.flatnonzero(validation.valid_columns(solution)), keep)
        aucs = scoring.column_aucs(solution, prediction)
        assert np.all(np.isnan(np.delete(aucs, keep)))  # the dropped columns divide by zero
        assert float(2.0 * np.mean(aucs[keep]) - 1.0) == official


def test_average_ranks_are_scipy_average_ranks():
    rng = np.random.default_rng(18)
    for trial in range(200):
        n, k = int(rng.integers(1, 60)), int(rng.integers(1, 6))
        values = rng.integers(0, 4, size=(n, k)).astype(float) if trial % 2 else rng.normal(size=(n, k))
        assert np.array_equal(metrics.average_ranks(values), rankdata(values, method="average", axis=0))
        assert np.array_equal(scoring.tiedrank(values[:, 0]), rankdata(values[:, 0], method="average"))
    assert metrics.average_ranks(np.array([np.inf, -np.inf, np.inf, 0.0]))[:, 0].tolist() == [3.5, 1.0, 3.5, 2.0]
    assert scoring.tiedrank([]).shape == (0,)


def test_edge_cases_each_face_keeps():
    one_class = np.array([[1.0, 0.0], [1.0, 0.0]])
    scores = np.array([[0.2, 0.3], [0.4, 0.1]])
    # No valid column: the official scorer raises, the engine's score is 0.0, the core returns `undefined`.
    with pytest.raises(AutoDLInputError):
        scoring.nauc(one_class, scores)
    assert validation.validation_nauc(one_class, scores) == 0.0
    assert validation.validation_nauc(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
    assert math.isnan(metrics.nauc(one_class, scores))
    # Labels: the scorer accepts 0/1 only; the engine counts any value above 0 as positive.
    soft = np.array([[0.7], [0.0], [1.0], [0.0]])
    pred = np.array([[0.9], [0.1], [0.8], [0.2]])
    with pytest.raises(AutoDLInputError, match="0/1"):
        scoring.nauc(soft, pred)
    assert validation.validation_nauc(soft, pred) == 1.0
    # A vector is one column; shapes must agree.
    assert validation.validation_nauc(soft[:, 0] > 0, pred[:, 0]) == 1.0
    with pytest.raises(ValueError, match="differ in shape"):
        validation.validation_nauc(np.ones((4, 2)), np.ones((4, 3)))
    # NaN scores: the scorer refuses them, the engine's score is NaN (as scipy's rankdata made it).
    nan_pred = pred.copy()
    nan_pred[0, 0] = np.nan
    with pytest.raises(AutoDLInputError):
        scoring.nauc(np.array([[1.0], [0.0], [1.0], [0.0]]), nan_pred)
    assert math.isnan(validation.validation_nauc(np.array([[1.0], [0.0], [1.0], [0.0]]), nan_pred))
    # The official per-column counts: N is #(y < 1), so a label of 2 is neither positive nor negative.
    odd = np.array([[1.0], [0.0], [2.0], [0.0]])
    ranks = np.array([4.0, 1.0, 3.0, 2.0])  # scores are their own ranks
    assert scoring.column_aucs(odd, ranks[:, None])[0] == (4.0 - 1.0) / (1.0 * 2.0)


def test_one_time_axis():
    t = np.array([0.0, 5.0, 30.0, 299.0, 300.0, 450.0])
    assert np.array_equal(scoring.transform_time(t, 300.0), metrics.transform_time(t, 300.0, 60.0))
    for v in t:
        assert scoring.transform_time(v, 300.0) == metrics.transform_time(v, 300.0)
        assert log_time(v, 300.0) == min(1.0, metrics.transform_time(v, 300.0))
    assert log_time(-3.0, 300.0) == 0.0 and log_time(10.0, 0.0) == 1.0  # the scheduler's clipping
    assert scoring.transform_time(450.0, 300.0) > 1.0  # the scorer does not clip
    with pytest.raises(AutoDLInputError):
        scoring.transform_time(1.0, 0.0)
