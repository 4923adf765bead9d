"""Facts about label matrices: multi-label or not, class frequencies."""
from __future__ import annotations

import numpy as np


def is_multilabel(y: np.ndarray) -> bool:
    """Decide multi-label from labels: rows that all sum to one mean softmax.

    Parameters
    ----------
    y : array of shape (n, output_dim)
        Multi-hot labels (confidences allowed).

    Returns
    -------
    bool
        ``False`` when every row has exactly one positive (multi-class, use
        softmax); ``True`` otherwise (use a sigmoid per class). An empty
        matrix counts as multi-class.
    """
    y = np.asarray(y)
    if y.size == 0:
        return False
    positives = (y > 0).sum(axis=1)
    return bool(np.any(positives != 1))


def class_frequencies(y: np.ndarray) -> np.ndarray:
    """Number of positive examples per class, shape ``(output_dim,)``."""
    return (np.asarray(y) > 0).sum(axis=0).astype(np.int64)
