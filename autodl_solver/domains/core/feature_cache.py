"""Caches matched by identity: :func:`same_examples`, and a mixin computing costly features once.

:class:`CachedFeatures` is a mixin for :class:`~.linear.LinearLearner` subclasses.

The linear learners on frozen embeddings or clip statistics
(``image_embed_linear``, ``speech_linear``, ``text_embed_linear``) spend
their time on features, not on the regression. Two facts make caching exact:

* inside ``fit`` the learner gets the engine's growing training *prefix*
  (``data.get(n)`` returns the first ``n`` rows), so only the rows past the
  ones already seen need features;
* outside ``fit`` the engine predicts the same hold-out and test lists again
  and again, so the last two lists' features are kept (matched with
  :func:`same_examples`: the same arrays, not equal copies).

A subclass implements :meth:`CachedFeatures._compute`; put the mixin before
``LinearLearner`` in the bases.

:func:`same_examples` is also how every other per-list cache of the learners
(converted tensors, token ids, spectrograms, documents) recognises a list it has seen.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np


class CachedFeatures:
    """Mixin: ``_features`` from ``_compute``, each example computed once (see the module docstring)."""

    _train_feats: Optional[np.ndarray] = None
    _feature_cache: list[tuple[Sequence[np.ndarray], np.ndarray]] = []
    _in_fit: bool = False

    def _compute(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """The ``(len(xs), F)`` features of ``xs`` (implemented by the learner)."""
        raise NotImplementedError

    def fit(self, data: Any, budget_s: float) -> None:
        self._in_fit = True
        try:
            super().fit(data, budget_s)
        finally:
            self._in_fit = False

    def _features(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._in_fit:
            prefix = self._train_feats
            have = 0 if prefix is None else len(prefix)
            if prefix is None or len(xs) > have:
                new = self._compute(list(xs[have:]))
                self._train_feats = new if prefix is None else np.concatenate([prefix, new])
            return self._train_feats[: len(xs)]
        for src, feats in self._feature_cache:
            if same_examples(src, xs):
                return feats
        feats = self._compute(xs)
        self._feature_cache = [(xs, feats)] + self._feature_cache[:1]
        return feats

    def forget_training_features(self) -> None:
        """Drop the training prefix's features (after loading a state: rebuilt if ``fit`` runs again)."""
        self._train_feats = None


def same_examples(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> bool:
    """Whether two lists hold the very same example arrays, in order (identity, not equality).

    The engine's data pool hands out a new list at every ``validation()`` call
    (the learner's checkpoint and the engine's scoring get different lists of
    the same arrays), so caches match lists element by element: cheap, and
    never fooled by equal-looking data.
    """
    return a is b or (len(a) == len(b) and all(x is y for x, y in zip(a, b)))
