"""The AutoDL metrics' one implementation: valid columns, NAUC and the log time axis.

A leaf module (numpy only, nothing of the package), so that every layer may import it:
``challenge/scoring.py`` (the official scorer) wraps it with the official input checks
and errors, ``anytime/validation.py`` (the engine's hold-out score) with its own
no-valid-column rule, and ``anytime/scheduler.py`` uses the time axis. The formulas are
those of the official scoring program (``score.py`` v20191219 and ``libscores.py``);
see ``docs/protocol.md`` §4.

* :func:`valid_columns` - the official ``get_valid_columns`` rule, as a boolean mask.
* :func:`average_ranks` - 1-based ranks per column, ties sharing their average rank.
* :func:`column_aucs` - the Mann-Whitney AUC of every column in one vectorised pass.
* :func:`nauc` - ``2 * mean_k AUC_k - 1`` over the valid columns.
* :func:`transform_time` - ``t~ = log(1 + t/t0) / log(1 + T/t0)``.

No input checking beyond shapes: callers check finiteness, label values and the budget
(and raise the errors of their own face).
"""
from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np
from numpy.typing import ArrayLike

#: The official ``t0`` of the time transformation (seconds).
DEFAULT_T0 = 60.0

__all__ = ["DEFAULT_T0", "valid_columns", "average_ranks", "column_aucs", "nauc", "transform_time"]


def _matrix(array: ArrayLike, dtype: Optional[type] = None) -> np.ndarray:
    """``array`` as a 2-D array; a vector becomes one column."""
    out = np.asarray(array, dtype=dtype)
    return out.reshape(-1, 1) if out.ndim == 1 else out


def valid_columns(labels: ArrayLike) -> np.ndarray:
    """Boolean mask of the columns that have both positive and negative examples.

    The official ``get_valid_columns`` rule: a column is dropped when its sum is close
    (``np.isclose``) to 0 (no positive) or to the number of rows (no negative). Pass
    0/1 labels, or a boolean "is positive" matrix to count positives whatever the
    label values. A vector is one column.
    """
    y = _matrix(labels, np.float64)
    col_sum = y.sum(axis=0)
    return ~(np.isclose(col_sum, 0.0) | np.isclose(col_sum, float(y.shape[0])))


def _sorted_ranks(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row of a non-empty C-contiguous ``(k, n)`` matrix and rank the sorted values.

    Returns the flat indices that sort every row (into ``scores.ravel()``) and the
    ``(k, n)`` ranks of the sorted values. A value's rank is its sorted position + 1,
    except in a run of equal values at sorted positions ``f .. l``: every member gets
    the run's average rank ``(f + l)/2 + 1`` (a half-integer, so exact). The runs are
    filled through one difference array, so the work beyond the sort is a few passes
    over the matrix.
    """
    k, n = scores.shape
    order = np.argsort(scores, axis=1)
    order += (np.arange(k) * n)[:, None]
    flat_order = order.ravel()
    ranked = scores.ravel()[flat_order].reshape(k, n)
    ranks = np.tile(np.arange(1.0, n + 1.0), (k, 1))
    equal = ranked[:, 1:] == ranked[:, :-1]
    if not equal.any():
        return flat_order, ranks
    # Flat positions of the first and last member of each run of two or more.
    first = np.zeros((k, n), dtype=bool)
    first[:, :-1] = equal
    first[:, 1:] &= ~equal
    last = np.zeros((k, n), dtype=bool)
    last[:, 1:] = equal
    last[:, :-1] &= ~equal
    first_at = np.flatnonzero(first)
    last_at = np.flatnonzero(last)
    average = 0.5 * (first_at + last_at) - (first_at // n) * n + 1.0
    # ranks[first_at[r] .. last_at[r]] = average[r]: add the step at each run's start, remove it after its end.
    step = np.zeros(k * n + 1)
    step[first_at] = average
    step[last_at + 1] -= average  # may be the next run's start
    tied = first  # reuse: every member of a run of two or more
    tied[:, 1:] |= equal
    np.copyto(ranks, np.cumsum(step[:-1]).reshape(k, n), where=tied)
    return flat_order, ranks


def average_ranks(scores: ArrayLike) -> np.ndarray:
    """1-based ranks within each column; tied values share their average rank.

    Same numbers as ``scipy.stats.rankdata(scores, method='average', axis=0)`` and the
    official ``libscores.tiedrank`` (per column). A vector is one column; the result is
    ``(n, k)`` float64.
    """
    s = np.ascontiguousarray(_matrix(scores, np.float64).T)
    ranks = np.empty_like(s)
    if s.size:
        flat_order, sorted_ranks = _sorted_ranks(s)
        ranks.ravel()[flat_order] = sorted_ranks.ravel()
    return ranks.T


def _column_aucs(pos: np.ndarray, scores: np.ndarray, n_neg: Optional[np.ndarray] = None) -> np.ndarray:
    """:func:`column_aucs` on C-contiguous ``(k, n)`` matrices (one row per column)."""
    n_pos = pos.sum(axis=1).astype(np.float64)
    if n_neg is None:
        n_neg = pos.shape[1] - n_pos
    if scores.size:
        flat_order, sorted_ranks = _sorted_ranks(scores)
        # Integers and half-integers: every partial sum is exact, so the sum of the
        # positives' ranks is the same in any order.
        rank_sum = np.where(pos.ravel()[flat_order].reshape(pos.shape), sorted_ranks, 0.0).sum(axis=1)
    else:
        rank_sum = np.zeros(pos.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        aucs = (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
    nan_score = np.isnan(scores).any(axis=1)
    if nan_score.any():
        aucs[nan_score] = np.nan
    return aucs


def column_aucs(positive: ArrayLike, scores: ArrayLike, negative: Optional[ArrayLike] = None) -> np.ndarray:
    """ROC AUC of every column, ``libscores.auc_metric``'s rank formula, vectorised.

    ``AUC_k = (sum of the ranks of the positives - P(P+1)/2) / (P * N)``: the
    Mann-Whitney statistic, ties counted one half. Columns without positives or
    negatives give NaN (the official code divides by zero there), and so does a column
    with a NaN score (as ``scipy.stats.rankdata`` propagates it).

    Parameters
    ----------
    positive : array-like of bool, shape (n, k)
        Which examples are positive in each column.
    scores : array-like, shape (n, k)
        Any real scores; only their order within a column matters.
    negative : array-like of bool, shape (n, k), optional
        Which examples count as negative (``N``); by default every example that is not
        positive. The official code counts ``y < 1``, which differs only for labels
        other than 0 and 1.

    Returns
    -------
    numpy.ndarray of shape (k,)
    """
    pos = _matrix(positive, bool)
    s = _matrix(scores, np.float64)
    if pos.shape != s.shape:
        raise ValueError(f"labels {pos.shape} and scores {s.shape} differ in shape")
    n_neg = None if negative is None else _matrix(negative, bool).sum(axis=0).astype(np.float64)
    return _column_aucs(np.ascontiguousarray(pos.T), np.ascontiguousarray(s.T), n_neg)


def nauc(labels: ArrayLike, scores: ArrayLike, undefined: float = math.nan) -> float:
    """Normalized AUC ``2 * mean_k(AUC_k) - 1`` over the valid columns.

    A label above 0 counts as positive, any other as negative; the columns kept are
    those with both (:func:`valid_columns` on the positives). Identical to
    ``2 * sklearn.metrics.roc_auc_score(labels[:, keep], scores[:, keep], average='macro') - 1``
    up to rounding. A constant prediction scores 0, a perfect one 1.

    Parameters
    ----------
    labels : array-like, shape (n, k)
        Multi-hot labels; a vector is one column.
    scores : array-like, shape (n, k)
        Real scores (a NaN makes the result NaN).
    undefined : float, default NaN
        Returned when no column is valid (no rows, or every column single-class).

    Returns
    -------
    float
        In [-1, 1].
    """
    positive = _matrix(labels) > 0
    s = _matrix(scores, np.float64)
    if positive.shape != s.shape:
        raise ValueError(f"labels {positive.shape} and scores {s.shape} differ in shape")
    keep = valid_columns(positive)
    if not keep.any():
        return float(undefined)
    aucs = _column_aucs(positive.T[keep], s.T[keep])  # one row per kept column, contiguous
    return float(2.0 * aucs.mean() - 1.0)


def transform_time(
    t: Union[float, ArrayLike], time_budget: float, t0: float = DEFAULT_T0
) -> Union[float, np.ndarray]:
    """The AutoDL log time axis: ``log(1 + t/t0) / log(1 + T/t0)``, unclipped.

    Maps ``[0, T]`` onto ``[0, 1]``; times past ``T`` map above 1. ``time_budget`` and
    ``t0`` must be positive (not checked here). Returns a float for a scalar ``t``, else
    an array of its shape.
    """
    out = np.log1p(np.asarray(t, dtype=np.float64) / t0) / math.log1p(time_budget / t0)
    return float(out) if out.ndim == 0 else out
