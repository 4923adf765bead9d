"""The AutoDL 2019 metrics: NAUC per prediction, ALC per run.

Pure numpy, so ``import autodl_solver.challenge.scoring`` stays cheap. Each
function reproduces the official scoring program (``score.py`` v20191219 and
``libscores.py`` of the AutoDL starting kit); see
``docs/protocol.md`` §4 for the formulas. The arithmetic is the package's one
implementation in :mod:`autodl_solver.metrics` (shared with the engine's
validation score and scheduler); this module adds the official input checks and
errors.

* :func:`nauc` - normalized area under the ROC curve, ``2 * mean_k AUC_k - 1``
  over the classes that have both positive and negative test examples.
* :func:`accuracy` - the informational accuracy written for one-hot tasks.
* :func:`transform_time` - the log time axis ``t~ = log(1+t/t0)/log(1+T/t0)``.
* :func:`alc` - area under the step learning curve on that axis.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from .. import metrics
from ..errors import AutoDLInputError
from ..metrics import DEFAULT_T0

__all__ = [
    "DEFAULT_T0",
    "valid_columns",
    "tiedrank",
    "column_aucs",
    "nauc",
    "is_multiclass",
    "accuracy",
    "transform_time",
    "alc",
]


def _as_2d(array, where: str) -> np.ndarray:
    """``array`` as a float64 matrix; a vector becomes one column (as ``read_array``)."""
    try:
        out = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AutoDLInputError(where, f"expected a numeric matrix, got {type(array).__name__} ({exc})") from None
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.ndim != 2:
        raise AutoDLInputError(where, f"expected a 2-D (examples, classes) matrix, got {out.ndim} dimensions")
    return out


def _check_pair(solution, prediction) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (solution, prediction) pair; return both as float64 matrices."""
    sol = _as_2d(solution, "solution")
    pred = _as_2d(prediction, "prediction")
    if sol.shape != pred.shape:
        raise AutoDLInputError(
            "prediction", f"shape {pred.shape} does not match the solution shape {sol.shape}"
        )
    if sol.shape[0] == 0:
        raise AutoDLInputError("solution", "has no rows (no test examples)")
    if not np.all(np.isfinite(sol)):
        raise AutoDLInputError("solution", "contains NaN or infinite values")
    if not np.all(np.isfinite(pred)):
        bad = int(np.count_nonzero(~np.isfinite(pred)))
        raise AutoDLInputError("prediction", f"contains {bad} NaN or infinite values; expected finite scores")
    return sol, pred


def valid_columns(solution) -> np.ndarray:
    """Indices of the classes that have both positive and negative examples.

    Same rule as the official ``get_valid_columns``: a column is dropped when
    its sum is close (``np.isclose``) to 0 (no positive) **or** to the number
    of rows (no negative).

    Parameters
    ----------
    solution : array-like of shape (n_examples, n_classes)
        The 0/1 test labels.

    Returns
    -------
    numpy.ndarray of int
        The kept column indices, increasing.
    """
    return np.flatnonzero(metrics.valid_columns(_as_2d(solution, "solution")))


def tiedrank(values) -> np.ndarray:
    """1-based ranks of ``values``; tied values share their average rank.

    The vectorized equivalent of ``libscores.tiedrank`` (which averages the
    ranks of a run of ties with a moving average); identical up to rounding.
    """
    return metrics.average_ranks(np.asarray(values, dtype=np.float64).ravel())[:, 0]


def column_aucs(solution, prediction) -> np.ndarray:
    """ROC AUC of every column, exactly as ``libscores.auc_metric`` computes it.

    ``AUC_k = (sum of the ranks of the positives - P(P+1)/2) / (P * N)`` with
    ``P = #(y == 1)`` and ``N = #(y < 1)``: the Mann-Whitney statistic, ties
    counted one half. Columns without positives or negatives give NaN (the
    official code divides by zero there); :func:`nauc` drops them first.

    Parameters
    ----------
    solution, prediction : array-like of shape (n_examples, n_classes)
        Labels (0/1) and any real scores (only their order matters).

    Returns
    -------
    numpy.ndarray of shape (n_classes,)
    """
    sol, pred = _check_pair(solution, prediction)
    return metrics.column_aucs(sol == 1, pred, negative=sol < 1)


def nauc(solution, prediction) -> float:
    """Normalized AUC of one prediction: ``2 * mean_k(AUC_k) - 1``.

    The per-dataset point of the AutoDL learning curve (``autodl_auc`` of the
    official scorer): the unweighted mean is over the columns kept by
    :func:`valid_columns`. It equals
    ``2 * sklearn.metrics.roc_auc_score(solution, prediction, average='macro') - 1``
    on those columns. A constant prediction scores 0, a perfect one 1.

    Parameters
    ----------
    solution : array-like of shape (n_examples, n_classes)
        The 0/1 test labels (``X.solution``).
    prediction : array-like of shape (n_examples, n_classes)
        Finite real scores; only their order within each column matters.

    Returns
    -------
    float
        In [-1, 1].

    Raises
    ------
    AutoDLInputError
        ``'prediction'`` when the shapes differ or a value is NaN or
        infinite; ``'solution'`` when a label is not 0 or 1, or when no column has both a positive and a
        negative example. (There the official rank-based code returns NaN
        and the later sklearn-based copy raises; an error is the clear
        choice.)
    """
    sol, pred = _check_pair(solution, prediction)
    if not np.all((sol == 0) | (sol == 1)):
        # The official code counts positives as ``y == 1`` and negatives as
        # ``y < 1``; other values would silently give NaN.
        raise AutoDLInputError("solution", "expected 0/1 labels only")
    if not metrics.valid_columns(sol).any():
        raise AutoDLInputError(
            "solution",
            "no class has both positive and negative test examples, so NAUC is undefined",
        )
    # With 0/1 labels, "above 0" (the shared rule) is the official ``y == 1``.
    return metrics.nauc(sol, pred)


def is_multiclass(solution) -> bool:
    """Whether every solution row is one-hot (official ``is_multiclass``)."""
    sol = _as_2d(solution, "solution")
    norm_1 = np.linalg.norm(sol, ord=1, axis=1)
    norm_inf = np.linalg.norm(sol, ord=np.inf, axis=1)
    return bool(np.all((norm_1 == 1) & (norm_inf == 1)))


def accuracy(solution, prediction) -> Optional[float]:
    """The official informational accuracy, or None for multi-label tasks.

    ``sum(solution * pred / (sum_j |pred_ij| + 1e-15)) / n``: each prediction
    row is L1-normalized and the mass on the true class is averaged. Defined
    only when every solution row is one-hot (:func:`is_multiclass`), as in
    ``score.py``, which writes ``accuracy`` to ``scores.txt`` only then.

    Parameters
    ----------
    solution, prediction : array-like of shape (n_examples, n_classes)

    Returns
    -------
    float or None
    """
    sol, pred = _check_pair(solution, prediction)
    if not is_multiclass(sol):
        return None
    normalized = pred / (np.sum(np.abs(pred), axis=1, keepdims=True) + 1e-15)
    return float(np.sum(sol * normalized) / sol.shape[0])


def _check_budget(time_budget: float, t0: float) -> tuple[float, float]:
    try:
        T = float(time_budget)
        t0 = float(t0)
    except (TypeError, ValueError):
        raise AutoDLInputError("time_budget", f"expected numbers, got {time_budget!r} and t0={t0!r}") from None
    if not (math.isfinite(T) and T > 0):
        raise AutoDLInputError("time_budget", f"expected a positive number of seconds, got {time_budget!r}")
    if not (math.isfinite(t0) and t0 > 0):
        raise AutoDLInputError("t0", f"expected a positive number of seconds, got {t0!r}")
    return T, t0


def transform_time(t, time_budget: float, t0: float = DEFAULT_T0):
    """The AutoDL log time axis: ``log(1 + t/t0) / log(1 + T/t0)``.

    Maps ``[0, T]`` onto ``[0, 1]``; times past ``T`` map above 1.

    Parameters
    ----------
    t : float or array-like
        Seconds since the start of the budget.
    time_budget : float
        ``T``, the budget in seconds (1200 in AutoDL 2019).
    t0 : float, default 60
        The official constant; small ``t0`` rewards early predictions more.

    Returns
    -------
    float or numpy.ndarray
        Same shape as ``t``.
    """
    T, t0 = _check_budget(time_budget, t0)
    return metrics.transform_time(t, T, t0)


def alc(
    timestamps: Sequence[float],
    scores: Sequence[float],
    time_budget: float,
    t0: float = DEFAULT_T0,
    clip: bool = False,
) -> float:
    """Area under the step learning curve on the transformed time axis.

    The official ``LearningCurve.get_alc(t0=60, method='step')``::

        X = [0] + [t~(t_1), ..., t~(t_n)] + [1]
        Y = [0] + [s_1,     ..., s_n    ] + [s_n]
        ALC = sum_i (X[i+1] - X[i]) * Y[i]

    i.e. ``(1/log(1+T/t0)) * integral_0^T s(t)/(t+t0) dt`` for the step
    function ``s`` that is 0 before the first prediction and then holds the
    latest NAUC. No prediction gives 0.

    Parity quirk: the value that ``score.py`` writes to ``scores.txt`` does
    **not** drop predictions made after ``T``; such a prediction has
    ``t~ > 1`` and its last segment ``(1 - t~) * s`` is negative. That is
    the default here (``clip=False``). Only the figure (``plot_learning_curve``)
    drops predictions with ``t > T`` first, and shows that value in its
    legend; ``clip=True`` reproduces it.

    Parameters
    ----------
    timestamps : sequence of float
        Seconds since the start for each prediction, non-decreasing, >= 0.
    scores : sequence of float
        The NAUC of each prediction.
    time_budget : float
        ``T`` in seconds.
    t0 : float, default 60
    clip : bool, default False
        Drop predictions made after ``T`` (figure variant).

    Returns
    -------
    float

    Raises
    ------
    AutoDLInputError
        When the lengths differ, a timestamp is negative or not finite, or
        timestamps decrease.
    """
    T, t0 = _check_budget(time_budget, t0)
    ts = np.asarray(timestamps, dtype=np.float64).ravel()
    ss = np.asarray(scores, dtype=np.float64).ravel()
    if ts.size != ss.size:
        raise AutoDLInputError("timestamps", f"{ts.size} timestamps but {ss.size} scores; expected one per prediction")
    if ts.size and not (np.all(np.isfinite(ts)) and np.all(ts >= 0)):
        raise AutoDLInputError("timestamps", "expected finite seconds >= 0 since the start")
    if ts.size > 1 and np.any(np.diff(ts) < 0):
        raise AutoDLInputError("timestamps", "expected non-decreasing times (one per prediction, in order)")
    if ts.size and not np.all(np.isfinite(ss)):
        raise AutoDLInputError("scores", "expected finite scores")
    if clip:
        keep = ts <= T
        ts, ss = ts[keep], ss[keep]
    if ts.size == 0:
        return 0.0
    x = np.concatenate(([0.0], metrics.transform_time(ts, T, t0), [1.0]))
    y = np.concatenate(([0.0], ss))  # Y[-1] (= s_n) multiplies no segment.
    return float(np.sum(np.diff(x) * y))
