"""The engine's view of the training set: read progressively, cached, with a hold-out.

:class:`DataPool` is the :class:`~autodl_solver.anytime.learner.TrainData`
that learners receive. It reads the underlying
:class:`~autodl_solver.data.Dataset` only as far as somebody asks:

* the **first read** takes ``first_rows`` rows plus the planned hold-out
  from the start of the dataset (nothing is read when the pool is built);
* the **hold-out** is carved from that first read: at most ``holdout_max``
  examples (``holdout_fraction`` of the set, clamped, and at least
  ``holdout_per_class`` per class when that is at most a fifth of the set: 10 % of a
  210-clip, 8-class set is 21 clips, which scored the linear model 0.995
  while it reaches an ALC of 0.71 alone (``members_T60.md`` at 1f31a33); with
  32 the solver's ALC on that set at T = 60 s went from 0.7662 to 0.8550
  (``benchmarks/results/suite_quick_T60.md`` at 1f31a33 and cf50d9e)), stratified and
  multi-label aware — every class with at least two positives among the rows
  read gets at least one in validation when possible, a row is never moved
  to validation if that would leave a class without training positives, so
  classes seen once stay in train; the remaining places are filled in
  proportion to the classes;
* later rows are read on demand by :meth:`DataPool.get` — exactly the rows
  missing, never more — and all go to training;
* the engine sets a **row window** before each round
  (:meth:`DataPool.set_window`): a learner asking for more rows than the
  window gets the window, so early rounds stay cheap; :attr:`n_available`
  tells a learner how many rows it may get now (``< n_total`` means more will
  come in later rounds).

Sets with fewer than ``holdout_min_examples`` examples (or ``holdout=False``)
get no hold-out; :meth:`DataPool.validation` then returns the training rows of
the first read, so the engine's "validation" score is a training score.
"""
from __future__ import annotations

import math
import time
from typing import Optional

import numpy as np

from ..data.dataset import Dataset
from ..data.labels import is_multilabel
from ..errors import AutoDLInputError
from .config import EngineConfig
from .learner import TrainData

__all__ = ["DataPool", "plan_holdout_size", "carve_holdout"]


def plan_holdout_size(n_examples: int, config: EngineConfig, n_classes: int = 0) -> int:
    """Hold-out size for a training set of ``n_examples`` (0 = no hold-out)."""
    if not config.holdout or n_examples < config.holdout_min_examples:
        return 0
    size = math.ceil(config.holdout_fraction * n_examples)
    classes = max(2, int(n_classes)) if n_classes else 0  # a binary task (one column) has two classes
    per_class = config.holdout_per_class * classes
    if per_class > n_examples // 5:
        # so few examples per class that the floor would cost more than a fifth of the training rows:
        # measured, those rows are worth more than the steadier ranking (miniciao, 82 images of 10
        # classes: a 20-image hold-out instead of 10 cost 0.031 ALC at T = 300 s)
        per_class = 0
    size = min(max(size, config.min_holdout, per_class), config.holdout_max)
    return int(min(size, n_examples // 2))


def carve_holdout(y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Pick ``size`` validation rows of the label matrix ``y`` (sorted indices).

    Stratified and multi-label aware (see the module docstring). Returns
    fewer rows when the constraints leave too few candidates (for example one
    example per class).
    """
    pos = np.asarray(y) > 0
    m, k = pos.shape
    if size <= 0 or m == 0:
        return np.zeros(0, np.int64)
    counts = pos.sum(axis=0)
    train_left = counts.copy()
    chosen = np.zeros(m, bool)
    val_has = np.zeros(k, bool)
    taken = 0

    def can_take(i: int) -> bool:
        # moving row i must leave every one of its classes a training positive
        return bool(np.all(train_left[pos[i]] >= 2))

    def take(i: int) -> None:
        nonlocal taken
        chosen[i] = True
        train_left[pos[i]] -= 1
        val_has[pos[i]] = True
        taken += 1

    # 1. cover every class with >= 2 positives, rarest first
    tie = rng.random(int(k))
    for c in sorted(np.flatnonzero(counts >= 2), key=lambda c: (counts[c], tie[c])):
        if taken >= size:
            break
        if val_has[c]:
            continue
        for i in rng.permutation(np.flatnonzero(pos[:, c])):
            if not chosen[i] and can_take(i):
                take(i)
                break
    # 2. fill the rest in proportion to the strata (a row's stratum is its rarest class)
    masked = np.where(pos, counts[None, :], np.iinfo(np.int64).max)
    stratum = np.where(pos.any(axis=1), masked.argmin(axis=1), k)
    key = np.empty(m)
    for s in np.unique(stratum):
        members = rng.permutation(np.flatnonzero(stratum == s))
        key[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    for i in np.argsort(key, kind="stable"):
        if taken >= size:
            break
        if not chosen[i] and can_take(i):
            take(i)
    return np.flatnonzero(chosen)


class DataPool(TrainData):
    """Progressive, cached reader of a training :class:`Dataset` with a hold-out.

    Parameters
    ----------
    dataset : Dataset
        Training examples with labels. Nothing is read at construction.
    config : EngineConfig, optional
        Uses ``holdout*``, ``min_holdout`` and ``first_rows``.
    seed : int
        Seed of the hold-out split.

    Notes
    -----
    Learners must not modify the returned arrays in place: they are the cache.
    """

    def __init__(self, dataset: Dataset, config: Optional[EngineConfig] = None, seed: int = 0) -> None:
        self.dataset = dataset
        self.config = config or EngineConfig()
        self.seed = int(seed)
        self.output_dim = int(dataset.metadata.output_dim)
        self._n = len(dataset)
        if self._n < 1:
            raise AutoDLInputError("train", "the training set is empty")
        if not dataset.has_labels:
            raise AutoDLInputError("train", "the training set has no labels")
        self._planned_holdout = plan_holdout_size(self._n, self.config, self.output_dim)
        self._holdout = 0
        self._first_done = False
        self._first_train_rows = 0
        self._next_row = 0  # dataset rows consumed (train + hold-out)
        self._train_x: list[np.ndarray] = []
        self._train_y = np.zeros((0, self.output_dim), np.float32)
        self._val_x: list[np.ndarray] = []
        self._val_y = np.zeros((0, self.output_dim), np.float32)
        self._multilabel: Optional[bool] = None
        self._window: Optional[int] = None
        self._requested = 0
        self.read_s = 0.0  # seconds spent in dataset.take

    # ----------------------------------------------------------- TrainData
    @property
    def n_total(self) -> int:
        """Training examples in the whole set (read or not), hold-out excluded."""
        return self._n - (self._holdout if self._first_done else self._planned_holdout)

    def get(self, n: int) -> tuple[list[np.ndarray], np.ndarray]:
        """The first ``min(n, n_available)`` training examples and their labels.

        Reads only the rows not cached yet. Labels are a fresh float32 copy.
        """
        self._ensure_first_read()
        n = max(0, min(int(n), self.n_available))
        self._requested = max(self._requested, n)
        missing = n - len(self._train_x)
        if missing > 0:
            xs, ys = self._read(self._next_row, self._next_row + missing)
            self._train_x.extend(xs)
            self._train_y = np.concatenate([self._train_y, ys])
        return list(self._train_x[:n]), self._train_y[:n].copy()

    @property
    def multilabel(self) -> bool:
        """``metadata.multilabel`` when set, else decided from the labels of the first read."""
        if self._multilabel is None:
            declared = self.dataset.metadata.multilabel
            if declared is not None:
                self._multilabel = bool(declared)
            else:
                self._ensure_first_read()
                self._multilabel = is_multilabel(np.concatenate([self._train_y, self._val_y]))
        return self._multilabel

    # ------------------------------------------------------------ the rest
    @property
    def n_available(self) -> int:
        """Rows :meth:`get` returns at most right now (the engine's window)."""
        cap = self.n_total if self._window is None else min(self._window, self.n_total)
        return int(cap)

    def set_window(self, rows: Optional[int]) -> None:
        """Cap the rows a learner may get until the next call (``None``: no cap); resets :attr:`requested`."""
        self._window = None if rows is None else max(1, int(rows))
        self._requested = 0

    @property
    def requested(self) -> int:
        """Most rows handed out by :meth:`get` since the last :meth:`set_window`."""
        return self._requested

    @property
    def rows_read(self) -> int:
        """Dataset rows read so far (training and hold-out)."""
        return self._next_row

    @property
    def train_rows_read(self) -> int:
        """Training rows cached so far."""
        return len(self._train_x)

    @property
    def holdout_size(self) -> int:
        """Examples in the hold-out (the planned size until the first read)."""
        return self._holdout if self._first_done else self._planned_holdout

    @property
    def has_holdout(self) -> bool:
        """Whether validation uses a real hold-out (else the first read's training rows)."""
        return self.holdout_size > 0

    @property
    def seconds_per_row(self) -> float:
        """Measured reading cost per row (0 before anything was read)."""
        return self.read_s / self._next_row if self._next_row else 0.0

    def validation(self) -> tuple[list[np.ndarray], np.ndarray]:
        """``(xs, y)`` of the hold-out, or of the first read's training rows when there is none."""
        self._ensure_first_read()
        if self._holdout:
            return list(self._val_x), self._val_y.copy()
        n = self._first_train_rows
        return list(self._train_x[:n]), self._train_y[:n].copy()

    def read_first(self) -> None:
        """Read the first chunk and carve the hold-out (idempotent)."""
        self._ensure_first_read()

    # ------------------------------------------------------------- private
    def _ensure_first_read(self) -> None:
        if self._first_done:
            return
        first = min(self._n, self.config.first_rows + self._planned_holdout)
        xs, ys = self._read(0, first)
        # A dataset stored sorted by class gives a first chunk of one class: no learner can
        # learn from it and the hold-out cannot score (NAUC needs positives and negatives).
        # Keep doubling the read until two classes are present or the set is exhausted.
        while first < self._n and int(((ys > 0).sum(axis=0) > 0).sum()) < min(2, self.output_dim):
            more_x, more_y = self._read(first, min(self._n, 2 * first))
            xs, ys = xs + more_x, np.concatenate([ys, more_y])
            first = len(xs)
        val_idx = carve_holdout(ys, self._planned_holdout, np.random.default_rng(self.seed))
        is_val = np.zeros(len(xs), bool)
        is_val[val_idx] = True
        self._val_x = [xs[i] for i in val_idx]
        self._val_y = ys[is_val]
        self._train_x = [x for x, v in zip(xs, is_val) if not v]
        self._train_y = ys[~is_val]
        self._holdout = int(is_val.sum())
        self._first_train_rows = len(self._train_x)
        self._first_done = True

    def _read(self, start: int, stop: int) -> tuple[list[np.ndarray], np.ndarray]:
        tic = time.perf_counter()
        xs, ys = self.dataset.take(start, stop)
        self.read_s += time.perf_counter() - tic
        xs = [np.asarray(x, dtype=np.float32) for x in xs]
        if ys is None:
            raise AutoDLInputError("train", f"rows {start}:{stop} came without labels")
        ys = np.asarray(ys, dtype=np.float32)
        if len(xs) != stop - start or ys.shape != (stop - start, self.output_dim):
            raise AutoDLInputError(
                "train", f"rows {start}:{stop}: expected {stop - start} examples with labels of width "
                f"{self.output_dim}, got {len(xs)} examples and labels of shape {ys.shape}")
        if not np.all(np.isfinite(ys)):
            raise AutoDLInputError("train", f"rows {start}:{stop}: labels contain NaN or inf")
        self._next_row = stop
        return xs, ys
