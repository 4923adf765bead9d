"""Validation score of the engine: the official NAUC (2 * macro AUC - 1).

The formula follows the AutoDL scoring program (docs/protocol.md
§4.1): columns whose labels are all negative or all positive are dropped,
each kept column gets the Mann-Whitney AUC with ties counted one half, and
the unweighted mean ``m`` gives ``2 * m - 1``. The arithmetic is the one in
:mod:`autodl_solver.metrics`, which the official scorer
(``challenge/scoring.py``) uses too, so both give the same number.

Two differences from the official scorer, both on purpose:

* no valid column (a tiny hold-out, all-zero labels) gives ``0.0`` instead
  of an error: the engine must still rank learners and predict;
* no input checks beyond the shapes: a label above 0 counts as positive (the
  official scorer accepts only 0/1), and the scores are not checked for NaN
  (the engine checks before scoring; a NaN score makes the result NaN).

The AUC is computed with one vectorised rank pass over all columns (checked
against scikit-learn in ``tests/test_metrics.py`` and ``tests/test_engine.py``),
cheap enough to run dozens of times per round, as the greedy ensemble
selection does.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .. import metrics

__all__ = ["validation_nauc", "valid_columns", "pair_flip"]


def valid_columns(y_true: ArrayLike) -> np.ndarray:
    """Boolean mask of the columns the official scorer keeps.

    A column is dropped when its positives sum to (close to) 0 or to the
    number of rows, i.e. when it has only one class.
    """
    return metrics.valid_columns(np.asarray(y_true, dtype=np.float64) > 0)


def validation_nauc(y_true: ArrayLike, y_score: ArrayLike) -> float:
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

    Raises
    ------
    ValueError
        When the shapes differ.
    """
    return metrics.nauc(y_true, y_score, undefined=0.0)


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
