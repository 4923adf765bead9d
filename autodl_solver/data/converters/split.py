"""Seeded, deterministic train/test split for sources that have none.

The official toolkit draws ``np.random.rand() < train_size`` per row with seed
42 (docs/protocol.md §5), so the test size only approximates the
fraction and a rare class can land entirely on one side. This split keeps the
same defaults (20 % test, seed 42) but takes an exact number of test examples
and, when possible, the same fraction of every class (stratified by the first
positive label), so a small dataset still has each class on both sides.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ...errors import AutoDLInputError

DEFAULT_TEST_SIZE = 0.2
DEFAULT_SEED = 42


def first_labels(y: np.ndarray) -> np.ndarray:
    """First positive class of each row of a label matrix, ``-1`` for rows without one.

    Parameters
    ----------
    y : array of shape (n, output_dim)
        Multi-hot labels or confidences.
    """
    y = np.asarray(y)
    if y.ndim != 2:
        raise AutoDLInputError("y", f"expected a (n, classes) label matrix, got shape {y.shape}")
    positive = y > 0
    first = positive.argmax(axis=1).astype(np.int64)
    first[~positive.any(axis=1)] = -1
    return first


def split_indices(n: int, test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
                  strata: Optional[Sequence | np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into train and test index arrays, each in a seeded shuffled order.

    The order is shuffled like the official toolkit's (it shuffles before
    writing): a source sorted by class (statsmodels' ``fair`` lists every
    positive first) would otherwise give learners that read progressively a
    first chunk of a single class.

    Parameters
    ----------
    n : int
        Number of examples (at least 2).
    test_size : float
        Fraction of examples in the test set, in (0, 1); the count is
        ``round(n * test_size)`` clipped to ``[1, n - 1]``.
    seed : int
        Same seed, same split.
    strata : sequence of length n, optional
        A group per example (for example :func:`first_labels`). The split is
        stratified when every group has at least two members and there are
        no more groups than test (and train) examples; otherwise it falls back
        to a plain shuffled split.

    Returns
    -------
    train, test : ndarray of int64
        Disjoint, together ``range(n)``, each shuffled with the seed.
    """
    n = int(n)
    if n < 2:
        raise AutoDLInputError("examples", f"need at least 2 examples to make a train/test split, got {n}")
    if not 0.0 < float(test_size) < 1.0:
        raise AutoDLInputError("test_size", f"got {test_size}, expected a number in (0, 1)")
    n_test = int(min(max(round(n * float(test_size)), 1), n - 1))
    rng = np.random.default_rng(int(seed))
    test = None
    if strata is not None:
        strata = np.asarray(strata)
        if len(strata) != n:
            raise AutoDLInputError("strata", f"expected {n} entries, got {len(strata)}")
        test = _stratified(strata, n_test, rng)
    if test is None:
        test = rng.permutation(n)[:n_test]
    mask = np.zeros(n, bool)
    mask[test] = True
    train_idx = rng.permutation(np.flatnonzero(~mask)).astype(np.int64)
    test_idx = rng.permutation(np.flatnonzero(mask)).astype(np.int64)
    return train_idx, test_idx


def _stratified(strata: np.ndarray, n_test: int, rng: np.random.Generator) -> Optional[np.ndarray]:
    """Test indices taking ``n_test * share`` of each group, or ``None`` if impossible."""
    groups, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    n = len(strata)
    if counts.min() < 2 or len(groups) > n_test or len(groups) > n - n_test:
        return None
    ideal = counts * n_test / n
    take = np.floor(ideal).astype(np.int64)
    # Largest remainder gives the leftover test slots; ties go to the group
    # listed first, which np.unique made deterministic.
    order = np.argsort(-(ideal - take), kind="stable")
    take[order[: n_test - int(take.sum())]] += 1
    # Keep at least one example of each group on each side.
    take = np.clip(take, 1, counts - 1)
    # Clipping may have changed the total: repair it on the biggest groups.
    while take.sum() > n_test:
        candidates = np.flatnonzero(take > 1)
        take[candidates[np.argmax(take[candidates])]] -= 1
    while take.sum() < n_test:
        candidates = np.flatnonzero(take < counts - 1)
        take[candidates[np.argmax(counts[candidates] - take[candidates])]] += 1
    chosen = []
    for g in range(len(groups)):
        members = np.flatnonzero(inverse == g)
        chosen.append(rng.permutation(members)[: take[g]])
    return np.concatenate(chosen)
