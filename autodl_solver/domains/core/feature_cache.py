"""Caches matched by identity: :func:`same_examples`, :class:`IdentityCache`, a mixin computing features once.

:class:`IdentityCache` is the small most-recent-first cache (two entries by
default) that every learner keeps for the lists the engine passes again and
again (converted tensors, token ids, spectrograms, documents, features).

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

:func:`same_examples` is how :class:`IdentityCache` recognises a list it has seen.
"""
from __future__ import annotations

from typing import Any, Callable, Generic, Hashable, Optional, Sequence, TypeVar

import numpy as np

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """The last ``capacity`` values computed for lists of examples, matched by identity.

    A list is found again when it holds the very same example arrays in the
    same order (:func:`same_examples`), and, when a ``version`` is given, was
    stored under an equal version (a learner bumps its version when what it
    caches goes stale, say a refitted vocabulary). The newest entry comes
    first; storing one more than ``capacity`` drops the oldest, whatever its
    version.

    Parameters
    ----------
    capacity : int
        Entries kept (the engine's hold-out and test lists: 2).
    """

    def __init__(self, capacity: int = 2) -> None:
        self.capacity = int(capacity)
        self._entries: list[tuple[Sequence[np.ndarray], Optional[Hashable], V]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, xs: Sequence[np.ndarray], version: Optional[Hashable] = None) -> Optional[V]:
        """The value stored for ``xs`` (and ``version``), or ``None``.

        Parameters
        ----------
        xs : sequence of numpy.ndarray
            The examples.
        version : hashable, optional
            Must equal the version the value was stored with.
        """
        found = self._find(xs, version)
        return None if found is None else found[0]

    def _find(self, xs: Sequence[np.ndarray], version: Optional[Hashable]) -> Optional[tuple[V]]:
        """``(value,)`` of the entry for ``xs`` and ``version`` (a stored ``None`` is a hit), or ``None``."""
        for src, ver, value in self._entries:
            if ver == version and same_examples(src, xs):
                return (value,)
        return None

    def put(self, xs: Sequence[np.ndarray], value: V, version: Optional[Hashable] = None,
            capacity: Optional[int] = None) -> V:
        """Store ``value`` for ``xs`` as the newest entry and return it.

        Parameters
        ----------
        xs : sequence of numpy.ndarray
            The examples (the list is kept, not copied).
        value
            What was computed for them.
        version : hashable, optional
            Version to match in :meth:`get`.
        capacity : int, optional
            Entries kept after this one is stored; default ``self.capacity``.
        """
        keep = self.capacity if capacity is None else int(capacity)
        self._entries = ([(xs, version, value)] + self._entries)[:keep]
        return value

    def get_or_compute(self, xs: Sequence[np.ndarray], compute: Callable[[], V],
                       version: Optional[Hashable] = None) -> V:
        """The stored value for ``xs``, else ``compute()``, stored and returned.

        Parameters
        ----------
        xs : sequence of numpy.ndarray
            The examples.
        compute : callable
            Computes the value of ``xs`` (called only on a miss).
        version : hashable, optional
            As in :meth:`get`.
        """
        found = self._find(xs, version)
        return found[0] if found is not None else self.put(xs, compute(), version)

    def clear(self) -> None:
        """Drop every entry."""
        self._entries = []


class CachedFeatures:
    """Mixin: ``_features`` from ``_compute``, each example computed once (see the module docstring)."""

    _train_feats: Optional[np.ndarray] = None
    _feature_cache_: Optional[IdentityCache[np.ndarray]] = None
    _in_fit: bool = False

    @property
    def _feature_cache(self) -> IdentityCache[np.ndarray]:
        """The features of the last two lists predicted (created on first use: a mixin has no ``__init__``)."""
        if self._feature_cache_ is None:
            self._feature_cache_ = IdentityCache(2)
        return self._feature_cache_

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
        return self._feature_cache.get_or_compute(xs, lambda: self._compute(xs))

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
