"""The incremental learner base: growing rows, measured costs, ``done``, written once.

Most learners train on a growing prefix of the training rows: ``first_rows``,
then ``rows_growth`` times more per call (:func:`~.shapes.next_row_count`),
capped by the engine's row window (:func:`~.shapes.available_rows`), estimate
their next call from measured seconds (``prior_cost_s`` before anything ran),
and are ``done`` once a flag says so. :class:`IncrementalLearner` owns that;
a learner implements the step that is its own.

Two ways to use it:

* the whole template: implement :meth:`IncrementalLearner._fit_rows` (and
  :meth:`IncrementalLearner._fitted`); ``fit`` reads the next rows, times the
  step into ``_sec_per_row`` and sets ``done`` once every row was used
  (``LinearLearner`` and all its subclasses, ``text_fasttext``, AutoNLP
  Baseline 0, the worked example of ``docs/learner_contract.md``);
* the pieces: a learner with its own ``fit`` calls
  :meth:`IncrementalLearner._begin_fit` (the preamble) and uses ``_next_rows``,
  ``done`` and, through :meth:`IncrementalLearner._measured_cost_s`, the
  prior/measured cost switch (``tabular_gbdt`` and ``tabular_mlp``: rows and
  boosting rounds or epochs; ``VisionNetLearner``, hence the image, video and
  speech CNNs: rows and SGD steps, its own step-based cost).

Learners left out, because their schedule genuinely differs:

* ``text_transformer``: a schedule of training *examples* (``first_examples``
  times ``growth`` per round) over all rows, ``done`` computed from epochs;
* ``text_cnn``: all rows of the window every call, epochs per call doubling,
  cost from the doubling window plus preparation seconds;
* ``autospeech_baseline``: all rows of the window, features added under half the
  budget, cost from epoch progress;
* ``baseline1``/``baseline2`` (``baselines.py``): a schedule of SGD *steps*, the
  paper's "stop when the next iteration does not fit" check before reading;
  ``baseline0``: a single call.
"""
from __future__ import annotations

import time
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import Learner, TrainData
from ...data.metadata import Metadata
from .shapes import available_rows, next_row_count


class IncrementalLearner(Learner):
    """A learner refitted or continued on a growing prefix of the training rows.

    The config must have ``first_rows`` and ``rows_growth`` (when
    :meth:`_next_rows` is not overridden) and ``prior_cost_s`` (when
    :meth:`next_cost_s` is not overridden).

    Parameters
    ----------
    metadata : Metadata
        The training set's metadata.
    config : dataclass instance, optional
        The learner's config; ``None`` resolves the registered defaults
        (see :class:`~autodl_solver.anytime.learner.Learner`).
    seed : int
        Seed of every random choice.

    Attributes
    ----------
    _rows : int
        Training rows the model was last fitted on (rows read, not asked).
    _n_total : int or None
        ``data.n_total`` of the last ``fit`` (``None`` before the first).
    _sec_per_row : float or None
        Measured seconds per row of the last :meth:`_fit_rows` (template ``fit`` only).
    _done : bool
        What :attr:`done` returns.
    """

    def __init__(self, metadata: Metadata, config: Optional[Any] = None, seed: int = 0) -> None:
        super().__init__(metadata, config, seed)
        self._rows = 0
        self._n_total: Optional[int] = None
        self._sec_per_row: Optional[float] = None
        self._done = False

    # ------------------------------------------------------------ schedule
    @property
    def done(self) -> bool:
        """True once more ``fit`` calls cannot help (set by the learner in ``_done``)."""
        return self._done

    def _next_rows(self, n_total: int) -> int:
        """Rows of the next increment before the window: ``first_rows``, then ``rows_growth`` times more."""
        return next_row_count(self._rows, n_total, self.config.first_rows, self.config.rows_growth)

    def _measured_cost_s(self, rows: int) -> Optional[float]:
        """Seconds the next increment of ``rows`` rows should take, ``None`` while nothing is measured.

        Default: the measured seconds per row times ``rows``.
        """
        return None if self._sec_per_row is None else self._sec_per_row * rows

    def next_cost_s(self) -> float:
        """``prior_cost_s`` before a cost was measured, else :meth:`_measured_cost_s` of the next rows."""
        if self._n_total is None:
            return float(self.config.prior_cost_s)
        cost = self._measured_cost_s(self._next_rows(self._n_total))
        return float(self.config.prior_cost_s) if cost is None else float(cost)

    # --------------------------------------------------------------- train
    def _begin_fit(self, data: TrainData, budget_s: Optional[float]) -> Optional[int]:
        """The preamble of every ``fit``: the rows of this increment, or ``None`` for nothing to do.

        ``None`` when there is no budget, the learner is done, or the set is
        empty; else records ``_n_total`` and returns the next rows capped by the
        engine's row window (possibly 0, or the rows already fitted).
        """
        if budget_s is None or budget_s <= 0 or self._done:
            return None
        self._n_total = int(data.n_total)
        if self._n_total == 0:
            return None
        return min(self._next_rows(self._n_total), available_rows(data))

    def _affordable_rows(self, rows: int, budget_s: float) -> int:
        """Hook of the template ``fit``: the rows actually taken (default ``rows``)."""
        return rows

    def _nothing_new(self, rows: int) -> bool:
        """Hook of the template ``fit``: whether ``rows`` gives nothing to refit (default: no new rows)."""
        return rows == self._rows and self._fitted()

    def _fitted(self) -> bool:
        """Whether a model exists (implemented by learners using the template ``fit``)."""
        raise NotImplementedError

    def _fit_rows(self, xs: Sequence[np.ndarray], y: np.ndarray, multilabel: bool) -> None:
        """Fit on the first ``len(xs)`` rows and set ``_rows`` (implemented by template learners).

        Parameters
        ----------
        xs : sequence of numpy.ndarray
            The rows, from ``data.get``.
        y : numpy.ndarray
            Their ``(len(xs), output_dim)`` float32 labels.
        multilabel : bool
            ``data.multilabel``.
        """
        raise NotImplementedError

    def fit(self, data: TrainData, budget_s: float) -> None:
        """The template increment: the next rows, :meth:`_fit_rows` timed per row, ``done`` at the last row."""
        rows = self._begin_fit(data, budget_s)
        if rows is None:
            return
        rows = self._affordable_rows(rows, budget_s)
        if self._nothing_new(rows):
            return
        xs, y = data.get(rows)
        tic = time.perf_counter()
        self._fit_rows(xs, np.asarray(y, np.float32), bool(data.multilabel))
        self._sec_per_row = (time.perf_counter() - tic) / max(1, self._rows)
        if self._n_total is not None and self._rows >= self._n_total:
            self._done = True
