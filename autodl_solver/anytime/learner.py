"""The Learner protocol: one interface for every domain learner, baseline and T-NAML child.

A learner is built from the dataset :class:`~autodl_solver.data.Metadata`
(and a config dataclass with defaults), is trained in increments by the
engine, and predicts scores for any batch of examples at any time.

Contract (checked for every registered learner by
:func:`autodl_solver.testing.check_learner`):

* ``fit(data, budget_s)`` trains for at most ``budget_s`` seconds of wall
  time and may be called again to continue (the next increment);
* ``predict(xs)`` returns a finite float32 array ``(len(xs), output_dim)``;
* ``next_cost_s()`` estimates the wall time of the next ``fit`` call from the
  measured cost of earlier ones, so the engine can refuse an increment that
  would not fit in the remaining budget;
* ``done`` is True once more ``fit`` calls cannot help (the learner has seen
  all the data and converged, or reached its own cap).
"""
from __future__ import annotations

import abc
from typing import Any, Callable, ClassVar, Optional, Sequence

import numpy as np

from ..data.metadata import Metadata


class TrainData(abc.ABC):
    """The training examples a learner may read, growing as the engine reads more.

    Implemented by the engine's data pool (``anytime/data_pool.py``). The
    validation hold-out is never part of it.
    """

    @property
    @abc.abstractmethod
    def n_total(self) -> int:
        """Training examples in the whole set (read or not)."""

    @abc.abstractmethod
    def get(self, n: int) -> tuple[list[np.ndarray], np.ndarray]:
        """The first ``min(n, n_total)`` training examples and their labels.

        Reads (and caches) more of the underlying dataset when needed, so a
        learner asking for 500 rows costs 500 rows of decoding, not the set.
        """

    @property
    @abc.abstractmethod
    def multilabel(self) -> bool:
        """Whether the labels are multi-label (sigmoid) or multi-class (softmax)."""


class Learner(abc.ABC):
    """Base class of every learner (see the module docstring for the contract).

    Parameters
    ----------
    metadata : Metadata
        The dataset's metadata.
    config : dataclass instance, optional
        The learner's configuration; ``None`` means its defaults, resolved as
        the registry resolves them (:meth:`_default_config`).
    seed : int
        Seed of every random choice the learner makes.
    """

    #: Registry name (set by ``@register``).
    name: ClassVar[str] = ""
    #: Domains the learner accepts (``"any"`` for baselines that take every shape).
    domains: ClassVar[tuple[str, ...]] = ()
    #: Rounds without a better hold-out score after which the engine retires
    #: this learner; ``None`` uses the engine's ``patience``. A learner that
    #: overfits fast (the word CNN) sets a smaller one.
    patience: Optional[int] = None
    #: Whether ``fit`` stops by itself within ``budget_s`` (it checks the time
    #: between steps). The engine may then give it a shortened increment sized
    #: to the time left when a full one no longer fits.
    budget_aware: ClassVar[bool] = False
    #: The config dataclass (set by ``@register``).
    default_config: ClassVar[Optional[type]] = None
    #: Builds the resolved default config of exactly this class: dataclass defaults < its YAML
    #: section in ``configs/``. Set by the registry at registration (``anytime`` cannot import
    #: ``domains``); ``None`` for a class that is not registered itself.
    _config_factory: ClassVar[Optional[Callable[[], Any]]] = None

    def __init__(self, metadata: Metadata, config: Optional[Any] = None, seed: int = 0) -> None:
        self.metadata = metadata
        self.config = config if config is not None else self._default_config()
        self.seed = seed

    def _default_config(self, fallback: Optional[Callable[[], Any]] = None) -> Any:
        """The config a learner built without one gets.

        The registry's resolution (dataclass defaults < YAML file) when this
        very class is registered, so that ``LearnerClass(metadata)`` and
        ``registry.create(name, metadata)`` agree; else ``fallback()`` (a
        config class), or ``None`` without one.

        Parameters
        ----------
        fallback : callable, optional
            The config of an unregistered class (typically its config dataclass).
        """
        factory = type(self).__dict__.get("_config_factory")
        if factory is not None:
            return factory()
        return fallback() if fallback is not None else None

    @abc.abstractmethod
    def fit(self, data: TrainData, budget_s: float) -> None:
        """Train one increment for at most ``budget_s`` seconds."""

    @abc.abstractmethod
    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        """Scores of shape ``(len(xs), output_dim)``, float32, finite."""

    @abc.abstractmethod
    def next_cost_s(self) -> float:
        """Estimated seconds of the next ``fit`` call (from measured costs)."""

    @property
    def done(self) -> bool:
        """True when further ``fit`` calls cannot improve the learner."""
        return False

    def state_dict(self) -> dict[str, Any]:
        """The learner's fitted state, for ``AutoDLClassifier.save``.

        Only values that ``torch.load(..., weights_only=True)`` accepts:
        tensors, numpy arrays converted to tensors, str, int, float, bool,
        None, and lists/dicts of those (a LightGBM model is its text dump).
        Never a pickled object.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be saved")

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (on a learner built with the same metadata/config)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be loaded")
