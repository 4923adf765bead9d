"""Callbacks: cross-cutting concerns of an engine run (files, curves, progress, logs).

A :class:`Callback` receives the engine's events; every method is a no-op by
default. Exceptions raised by a callback propagate (a broken callback is a
bug to see, not to hide).

Events, in order: ``on_start`` (the clock started), then per round
``on_round_end`` and, when the round produced a new best model,
``on_improvement``; ``on_learner_error`` when a learner raised or returned
unusable predictions; ``on_prediction`` each time test predictions are
emitted (by :meth:`Engine.fit`, or by whoever drives the engine); ``on_end``.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from ..utils.atomic import atomic_open, atomic_write_text

if TYPE_CHECKING:  # pragma: no cover
    from .clock import Clock
    from .engine import Engine

__all__ = ["RoundInfo", "Callback", "PredictionWriter", "LearningCurveRecorder", "ProgressBar", "LoggingCallback",
           "RoundLogWriter", "format_prediction"]


@dataclass
class RoundInfo:
    """What happened in one engine round.

    Attributes
    ----------
    index : int
        Round number, from 0.
    learner : str
        Name of the learner trained.
    elapsed_s : float
        Seconds since the clock started, at the end of the round.
    fit_s, budget_s : float
        Wall time of ``learner.fit`` and the budget it was given.
    val_score : float or None
        The learner's validation NAUC after the round (None when it failed).
    n_rows : int
        Training rows the learner read in this round.
    improved : bool
        Whether the round produced a new best model.
    best_score : float or None
        Validation NAUC of the best model after the round.
    best_learner : str or None
        Name of the best model (a learner or ``ensemble(a*2+b)``).
    error : str or None
        The error message when the learner failed.
    reason : str or None
        Why the scheduler chose this round (its expected gain and source).
    partial : bool
        Whether it was a shortened increment sized to the time left.
    """

    index: int
    learner: str
    elapsed_s: float
    fit_s: float
    budget_s: float
    val_score: Optional[float]
    n_rows: int
    improved: bool
    best_score: Optional[float]
    best_learner: Optional[str]
    error: Optional[str] = None
    reason: Optional[str] = None
    partial: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form."""
        return asdict(self)


def _clock(engine: "Engine") -> "Clock":
    """The engine's clock: it is started before ``on_start`` and every later event."""
    assert engine.clock is not None
    return engine.clock


class Callback:
    """Base class: override the events you need (all are no-ops)."""

    def on_start(self, engine: "Engine") -> None:
        """The clock started."""

    def on_round_end(self, engine: "Engine", info: RoundInfo) -> None:
        """A learner round finished (successfully or not)."""

    def on_improvement(self, engine: "Engine", info: RoundInfo) -> None:
        """The round produced a new best validated model."""

    def on_prediction(self, engine: "Engine", prediction: np.ndarray, elapsed_s: float) -> None:
        """Test predictions were emitted ``elapsed_s`` seconds after the start."""

    def on_learner_error(self, engine: "Engine", learner_name: str, exc: BaseException) -> None:
        """A learner raised or returned unusable output; it is now marked failed."""

    def on_end(self, engine: "Engine") -> None:
        """The run is over."""


def format_prediction(prediction: np.ndarray) -> str:
    """Text of a prediction file: rows of ``'{0:g}'``-formatted values joined by spaces.

    Identical to the official ``data_io.write`` (``%g`` is ``{0:g}`` for floats).
    """
    values = np.asarray(prediction, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    return "".join(" ".join("%g" % v for v in row) + "\n" for row in values)


class PredictionWriter(Callback):
    """Write every emitted prediction as the official ingestion program does.

    Produces ``<output_dir>/start.txt`` (``ingestion_pid``, ``task_name``,
    ``time_budget``, ``start_time``, then ``<k>: <epoch>`` per prediction,
    written before the prediction file), ``<task>.predict_<k>`` files and
    ``end.txt``, all atomically, so the run can be scored by the official
    scorer or ours.

    Parameters
    ----------
    output_dir : str or os.PathLike
        Created if missing.
    task_name : str
        The dataset basename (``X`` for ``X.data``).
    """

    def __init__(self, output_dir: str | os.PathLike, task_name: str) -> None:
        self.output_dir = Path(output_dir)
        self.task_name = str(task_name)
        self.count = 0
        self._lines: list[str] = []
        self._start = 0.0

    def on_start(self, engine: "Engine") -> None:
        clock = _clock(engine)
        self._start = clock.start
        self.count = 0
        self._lines = [f"ingestion_pid: {os.getpid()}", f"task_name: {self.task_name}",
                       f"time_budget: {clock.time_budget!r}", f"start_time: {clock.start!r}"]
        self._write_start()

    def on_prediction(self, engine: "Engine", prediction: np.ndarray, elapsed_s: float) -> None:
        if not self._lines:  # driven without on_start (a caller forgot it): still write a usable file
            self.on_start(engine)
        self._lines.append(f"{self.count}: {self._start + elapsed_s!r}")
        self._write_start()
        path = self.output_dir / f"{self.task_name}.predict_{self.count}"
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(format_prediction(prediction))
        self.count += 1

    def on_end(self, engine: "Engine") -> None:
        now = time.time()
        text = (f"ingestion_duration: {now - self._start!r}\ningestion_success: 1\nend_time: {now!r}\n")
        atomic_write_text(self.output_dir / "end.txt", text)

    def _write_start(self) -> None:
        atomic_write_text(self.output_dir / "start.txt", "\n".join(self._lines) + "\n")


class LearningCurveRecorder(Callback):
    """Record ``{"elapsed_s", "val_score", "learner", "n_rows"}`` for each emitted prediction."""

    def __init__(self) -> None:
        self.points: list[dict[str, Any]] = []

    def on_prediction(self, engine: "Engine", prediction: np.ndarray, elapsed_s: float) -> None:
        last = engine.learning_curve[-1] if engine.learning_curve else {}
        self.points.append({"elapsed_s": float(elapsed_s), "val_score": engine.best_score,
                            "learner": engine.best_learner, "n_rows": last.get("n_rows", 0)})


class ProgressBar(Callback):
    """A tqdm bar over the time budget (to stderr), showing the best validation score.

    Parameters
    ----------
    disable : bool
        Show nothing (for quiet runs).
    """

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self._bar = None

    def on_start(self, engine: "Engine") -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=round(_clock(engine).time_budget, 1), unit="s", file=sys.stderr,
                         disable=self.disable, desc="autodl", leave=True, dynamic_ncols=True)

    def on_round_end(self, engine: "Engine", info: RoundInfo) -> None:
        if self._bar is None:
            return
        self._bar.n = round(min(info.elapsed_s, engine.clock.time_budget), 1)
        best = "-" if info.best_score is None else f"{info.best_score:.4f}"
        self._bar.set_postfix_str(f"best={best} ({info.best_learner or '-'}) last={info.learner}")

    def on_end(self, engine: "Engine") -> None:
        if self._bar is not None:
            # Training often ends before the budget (every learner done or retired): the bar still
            # completes, and says when the run ended.
            elapsed = engine.clock.elapsed() if engine.clock is not None else None
            best = "-" if engine.best_score is None else f"{engine.best_score:.4f}"
            ended = "" if elapsed is None else f" done at {elapsed:.1f} s"
            self._bar.n = self._bar.total
            self._bar.set_postfix_str(f"best={best} ({engine.best_learner or '-'}){ended}", refresh=False)
            self._bar.refresh()
            self._bar.close()
            self._bar = None


class LoggingCallback(Callback):
    """Log rounds, improvements and learner errors with :mod:`logging`."""

    def __init__(self, logger: Optional[logging.Logger] = None, level: int = logging.INFO) -> None:
        self.logger = logger or logging.getLogger("autodl_solver.anytime")
        self.level = level

    def on_start(self, engine: "Engine") -> None:
        self.logger.log(self.level, "engine started: budget %.1f s, learners %s", _clock(engine).time_budget,
                        ", ".join(engine.learner_names))

    def on_round_end(self, engine: "Engine", info: RoundInfo) -> None:
        score = "failed" if info.val_score is None else f"{info.val_score:.4f}"
        why = f" [{'shortened, ' if info.partial else ''}{info.reason}]" if info.reason else ""
        self.logger.log(self.level, "round %d at %.2f s: %s on %d rows in %.2f s -> val %s%s", info.index,
                        info.elapsed_s, info.learner, info.n_rows, info.fit_s, score, why)

    def on_improvement(self, engine: "Engine", info: RoundInfo) -> None:
        self.logger.log(self.level, "new best %.4f (%s) at %.2f s", info.best_score, info.best_learner,
                        info.elapsed_s)

    def on_prediction(self, engine: "Engine", prediction: np.ndarray, elapsed_s: float) -> None:
        self.logger.log(self.level, "prediction emitted at %.2f s", elapsed_s)

    def on_learner_error(self, engine: "Engine", learner_name: str, exc: BaseException) -> None:
        # the engine itself logs the failure at WARNING; here only the traceback, for whoever debugs it
        self.logger.debug("learner %s failed", learner_name, exc_info=(type(exc), exc, exc.__traceback__))

    def on_end(self, engine: "Engine") -> None:
        self.logger.log(self.level, "engine finished: best %s (%s)", engine.best_score, engine.best_learner)


class RoundLogWriter(Callback):
    """Keeps a JSON round log of the run at ``path``, rewritten atomically after every round.

    The log feeds ``benchmarks/fit_scheduler_prior.py`` (the scheduling prior
    is fitted from recorded rounds) and the per-learner summary of benchmark
    rows. Format::

        {"format": 1, "domain", "method", "time_budget", "device", "n_train",
         "tensor_shape", "output_dim", "prior", "rounds": [RoundInfo dicts],
         "learners": Engine.learner_summary()}

    A run killed at any moment leaves the last complete version.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def on_start(self, engine: "Engine") -> None:
        self._write(engine)

    def on_round_end(self, engine: "Engine", info: RoundInfo) -> None:
        self._write(engine)

    def on_end(self, engine: "Engine") -> None:
        self._write(engine)

    def _write(self, engine: "Engine") -> None:
        import json

        pool = engine.pool
        record = {
            "format": 1, "domain": engine.domain, "method": engine.method,
            "time_budget": engine.clock.time_budget if engine.clock is not None else None,
            "device": engine.device, "n_train": None if pool is None else int(pool.n_total),
            "tensor_shape": [None if d is None else int(d) for d in engine.metadata.tensor_shape],
            "output_dim": int(engine.metadata.output_dim),
            "prior": None if engine.prior is None else engine.prior.source,
            "rounds": [info.to_dict() for info in engine.history],
            "learners": engine.learner_summary(),
        }
        atomic_write_text(self.path, json.dumps(record, indent=1, default=float))
