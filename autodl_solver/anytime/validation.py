"""Validation score of the engine: the official NAUC (2 * macro AUC - 1).

The formula follows the AutoDL scoring program (docs/protocol.md
§4.1): columns whose labels are all negative or all positive are dropped,
each kept column gets the Mann-Whitney AUC with ties counted one half, and
the unweighted mean ``m`` gives ``2 * m - 1``.

Two differences from the official scorer, both on purpose:

* no valid column (a tiny hold-out, all-zero labels) gives ``0.0`` instead
  of an error: the engine must still rank learners and predict;
* the AUC is computed with one vectorised rank pass over all columns
  instead of ``sklearn.metrics.roc_auc_score`` per column. The result is the
  same number (checked against scikit-learn in ``tests/test_engine.py``) but
  it is cheap enough to run dozens of times per round, as the greedy
  ensemble selection does.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

__all__ = ["validation_nauc", "valid_columns", "pair_flip"]


def valid_columns(y_true: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns the official scorer keeps.

    A column is dropped when its positives sum to (close to) 0 or to the
    number of rows, i.e. when it has only one class.
    """
    y = np.asarray(y_true, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    col_sum = (y > 0).sum(axis=0).astype(np.float64)
    n = float(y.shape[0])
    return ~(np.isclose(col_sum, 0.0) | np.isclose(col_sum, n))


def validation_nauc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """NAUC of scores against multi-hot labels; 0.0 when no column is valid.

    Parameters
    ----------
    y_true : array of shape (n, k)
        Labels; a value above 0 counts as positive.
    y_score : array of shape (n, k)
        Any real scores (only their order within a column matters). Must be
        finite; the engine checks that before scoring.

    Returns
    -------
    float
        ``2 * mean_k(AUC_k) - 1`` over the valid columns, in ``[-1, 1]``.
    """
    y = np.asarray(y_true)
    s = np.asarray(y_score, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if s.ndim == 1:
        s = s[:, None]
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    if y.shape[0] == 0:
        return 0.0
    keep = valid_columns(y)
    if not keep.any():
        return 0.0
    pos = y[:, keep] > 0
    ranks = rankdata(s[:, keep], method="average", axis=0)
    n_pos = pos.sum(axis=0).astype(np.float64)
    n_neg = pos.shape[0] - n_pos
    auc = ((ranks * pos).sum(axis=0) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return float(2.0 * auc.mean() - 1.0)


def pair_flip(y_true: np.ndarray) -> float:
    """The largest NAUC change one swapped positive/negative pair can make on these labels.

    A column with ``p`` positives and ``q`` negatives has ``p * q`` pairs, so
    one pair moves its AUC by ``1 / (p * q)`` and the NAUC (twice the mean
    over the valid columns) by ``2 / (p * q * n_valid)``; the column with the
    fewest pairs gives the largest step. 0.0 when no column is valid.
    """
    y = np.asarray(y_true)
    if y.ndim == 1:
        y = y[:, None]
    keep = valid_columns(y)
    if not keep.any():
        return 0.0
    pos = (y[:, keep] > 0).sum(axis=0).astype(np.float64)
    pairs = pos * (y.shape[0] - pos)
    return float(2.0 / (pairs.min() * keep.sum()))
