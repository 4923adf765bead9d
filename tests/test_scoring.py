"""NAUC, accuracy, time transformation and ALC against the official definitions."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from autodl_solver.challenge.learning_curve import LearningCurve
from autodl_solver.challenge.scoring import (
    accuracy,
    alc,
    column_aucs,
    is_multiclass,
    nauc,
    tiedrank,
    transform_time,
    valid_columns,
)
from autodl_solver.errors import AutoDLInputError


# ------------------------------------------------------------------ ALC / time
def test_worked_example_of_the_protocol():
    t = [30, 100, 400]
    assert np.allclose(transform_time(t, 1200), [0.13318, 0.32216, 0.66903], atol=1e-5)
    assert alc(t, [0.5, 0.7, 0.8], 1200) == pytest.approx(0.60208, abs=1e-5)


def test_perfect_prediction_at_10_and_60_seconds():
    assert alc([10], [1.0], 1200) == pytest.approx(0.94937, abs=1e-5)
    assert alc([60], [1.0], 1200) == pytest.approx(0.77233, abs=1e-5)


def test_prediction_after_budget_is_not_clipped_by_default():
    unclipped = alc([30, 1250], [0.5, 0.9], 1200)
    clipped = alc([30, 1250], [0.5, 0.9], 1200, clip=True)
    assert unclipped == pytest.approx(0.42830, abs=1e-5)
    assert clipped == pytest.approx(0.43341, abs=1e-5)
    # The late prediction's segment is negative: less than stopping at 30 s.
    assert unclipped < alc([30], [0.5], 1200) == pytest.approx(clipped)


def test_no_prediction_gives_zero():
    assert alc([], [], 1200) == 0.0
    assert alc([], [], 1200, clip=True) == 0.0
    assert alc([1300], [0.9], 1200, clip=True) == 0.0
    assert LearningCurve(time_budget=1200).alc() == 0.0


def test_transform_time_endpoints_and_t0():
    assert transform_time(0, 1200) == 0.0
    assert transform_time(1200, 1200) == pytest.approx(1.0)
    assert transform_time(1300, 1200) > 1.0
    assert transform_time(300, 1200, t0=300) == pytest.approx(math.log(2) / math.log(5))
    assert isinstance(transform_time(5.0, 60), float)
    assert transform_time(np.array([1.0, 2.0]), 60).shape == (2,)


def _alc_by_integral(timestamps, scores, T, t0=60.0):
    """(1/log(1+T/t0)) * integral of s(t)/(t+t0) dt, closed form on each step.

    s(t) = 0 before the first prediction, then the latest score up to T;
    a prediction after T makes the last segment run backwards (negative),
    as the official unclipped formula does.
    """
    total = 0.0
    edges = list(timestamps) + [T]
    for i, s in enumerate(scores):
        total += s * (math.log(edges[i + 1] + t0) - math.log(edges[i] + t0))
    return total / math.log(1 + T / t0)


def test_alc_matches_the_integral_on_random_curves():
    rng = np.random.default_rng(0)
    for _ in range(300):
        T = float(rng.choice([60, 600, 1200, 7200]) * rng.uniform(0.5, 2))
        t0 = float(rng.choice([10.0, 60.0, 300.0]))
        n = int(rng.integers(1, 15))
        ts = np.sort(rng.uniform(0, T * 1.1, n))  # a few land after T
        ss = rng.uniform(-1, 1, n)
        expected = _alc_by_integral(ts, ss, T, t0)
        assert alc(ts, ss, T, t0=t0) == pytest.approx(expected, abs=1e-6)
        keep = ts <= T
        assert alc(ts, ss, T, t0=t0, clip=True) == pytest.approx(
            _alc_by_integral(ts[keep], ss[keep], T, t0), abs=1e-6
        )


def test_alc_bad_input():
    with pytest.raises(AutoDLInputError, match="timestamps"):
        alc([1, 2], [0.5], 1200)
    with pytest.raises(AutoDLInputError, match="non-decreasing"):
        alc([5, 2], [0.5, 0.6], 1200)
    with pytest.raises(AutoDLInputError, match="time_budget"):
        alc([5], [0.5], 0)
    with pytest.raises(AutoDLInputError):
        alc([-1], [0.5], 1200)
    with pytest.raises(AutoDLInputError, match="scores"):
        alc([1], [float("nan")], 1200)


def test_learning_curve_object():
    curve = LearningCurve([30, 100, 400], [0.5, 0.7, 0.8], time_budget=1200, task_name="x")
    assert curve.alc() == pytest.approx(0.60208, abs=1e-5)
    assert curve.duration == 400 and curve.final_score == 0.8 and len(curve) == 3
    curve.append(1250, 0.9)
    assert curve.alc() < curve.alc(clip=True)
    assert curve.to_dict()["alc_clipped"] == pytest.approx(curve.alc(clip=True))
    with pytest.raises(AutoDLInputError):
        curve.append(10, 0.1)
    with pytest.raises(AutoDLInputError):
        LearningCurve([1, 2], [0.5])
    assert LearningCurve().duration == 0


# ----------------------------------------------------------------------- NAUC
def _libscores_tiedrank(a):
    """A direct loop port of the rule: 1-based ranks, ties share the average rank."""
    a = np.asarray(a, dtype=float)
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a))
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and a[order[j + 1]] == a[order[i]]:
            j += 1
        ranks[order[i:j + 1]] = (i + 1 + j + 1) / 2.0
        i = j + 1
    return ranks


def test_tiedrank():
    assert np.array_equal(tiedrank([3.0, 1.0, 2.0]), [3.0, 1.0, 2.0])
    assert np.array_equal(tiedrank([1.0, 1.0, 0.0, 1.0]), [3.0, 3.0, 1.0, 3.0])
    rng = np.random.default_rng(1)
    for _ in range(50):
        a = rng.integers(0, 5, size=int(rng.integers(1, 40))).astype(float)
        assert np.array_equal(tiedrank(a), _libscores_tiedrank(a))


def _sklearn_nauc(solution, prediction):
    keep = valid_columns(solution)
    return 2 * roc_auc_score(solution[:, keep], prediction[:, keep], average="macro") - 1


def _g_round(array):
    """What a prediction becomes after the '{0:g}' write and read back."""
    return np.vectorize(lambda v: float("{0:g}".format(float(v))))(array)


def test_nauc_equals_sklearn_macro_auc_with_ties():
    rng = np.random.default_rng(2)
    for trial in range(200):
        n = int(rng.integers(4, 60))
        c = int(rng.integers(2, 8))
        solution = (rng.random((n, c)) < rng.uniform(0.1, 0.6)).astype(float)
        solution[0, :] = 1
        solution[1, :] = 0  # every column has a positive and a negative
        if trial % 3 == 0:
            prediction = rng.integers(0, 4, size=(n, c)).astype(float)  # many ties
        elif trial % 3 == 1:
            prediction = _g_round(rng.random((n, c)) * 1e-3 + 0.5)  # ties made by %g rounding
        else:
            prediction = rng.normal(size=(n, c))
        assert nauc(solution, prediction) == pytest.approx(_sklearn_nauc(solution, prediction), abs=1e-9)


def test_nauc_one_hot_multiclass_matches_sklearn():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n, c = 40, 5
        labels = np.concatenate([np.arange(c), rng.integers(0, c, n - c)])
        solution = np.eye(c)[labels]
        prediction = _g_round(rng.dirichlet(np.ones(c), size=n))
        assert nauc(solution, prediction) == pytest.approx(_sklearn_nauc(solution, prediction), abs=1e-9)


def test_nauc_extremes():
    solution = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=float)
    assert nauc(solution, solution) == pytest.approx(1.0)
    assert nauc(solution, 1 - solution) == pytest.approx(-1.0)
    assert nauc(solution, np.full(solution.shape, 0.3)) == 0.0
    # Only the order matters, not the scale.
    assert nauc(solution, 100 * solution - 7) == pytest.approx(1.0)


def test_columns_without_positives_or_negatives_are_dropped():
    rng = np.random.default_rng(4)
    n = 30
    core = (rng.random((n, 3)) < 0.4).astype(float)
    core[0], core[1] = 1, 0
    solution = np.column_stack([core[:, 0], np.zeros(n), core[:, 1], np.ones(n), core[:, 2]])
    prediction = rng.random((n, 5))
    assert list(valid_columns(solution)) == [0, 2, 4]
    expected = nauc(core, prediction[:, [0, 2, 4]])
    assert nauc(solution, prediction) == pytest.approx(expected, abs=1e-12)
    # The dropped columns' predictions do not matter at all.
    prediction[:, [1, 3]] = rng.random((n, 2))
    assert nauc(solution, prediction) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(column_aucs(solution, prediction)[1])  # the raw rule divides by zero


def test_no_valid_column_is_a_solution_error():
    with pytest.raises(AutoDLInputError) as info:
        nauc(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[0.2, 0.3], [0.4, 0.1]]))
    assert info.value.where == "solution"


@pytest.mark.parametrize(
    "prediction",
    [np.zeros((4, 3)), np.array([[0.1, 0.2]] * 3), np.array([[np.nan, 0.1]] + [[0.2, 0.3]] * 3),
     np.array([[np.inf, 0.1]] + [[0.2, 0.3]] * 3)],
)
def test_bad_prediction_names_prediction(prediction):
    solution = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=float)
    with pytest.raises(AutoDLInputError) as info:
        nauc(solution, prediction)
    assert info.value.where == "prediction"


def test_non_binary_solution_rejected():
    with pytest.raises(AutoDLInputError, match="0/1"):
        nauc(np.array([[0.5], [1.0], [0.0]]), np.array([[0.1], [0.2], [0.3]]))


# ------------------------------------------------------------------- accuracy
def test_accuracy_official_formula():
    solution = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float)
    prediction = np.array([[2.0, 1.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 1.0, 0.0]])
    # Row-wise L1 normalization, mass on the true class: 0.5, 1.0, 0.0.
    assert accuracy(solution, prediction) == pytest.approx(0.5)
    assert is_multiclass(solution)


def test_accuracy_is_none_for_multilabel():
    solution = np.array([[1, 1], [0, 1], [1, 0]], dtype=float)
    assert not is_multiclass(solution)
    assert accuracy(solution, np.ones((3, 2))) is None


def _shared_samples():
    return Path(__file__).resolve().parents[2] / "shared" / "autodl_samples"


def test_real_solution_with_classes_absent_from_test():
    solution_file = _shared_samples() / "miniciao" / "miniciao.solution"
    if not solution_file.is_file():
        pytest.skip("shared AutoDL samples not available")
    solution = np.loadtxt(solution_file)
    assert 2 not in valid_columns(solution) and 9 not in valid_columns(solution)  # no positives in test
    rng = np.random.default_rng(6)
    for _ in range(20):
        prediction = _g_round(rng.random(solution.shape))
        assert nauc(solution, prediction) == pytest.approx(_sklearn_nauc(solution, prediction), abs=1e-9)
    assert accuracy(solution, solution) == pytest.approx(1.0)
