"""Learning curves: NAUC of each prediction against the time it was made.

:class:`LearningCurve` holds the points and computes the ALC;
:class:`RunScorer` builds one from an ingestion output folder, scoring each
``<task>.predict_<k>`` once (so the live scorer can call it repeatedly).
"""
from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Optional, Union, cast

import numpy as np

from ..errors import AutoDLInputError
from . import prediction_files as pf
from .scoring import DEFAULT_T0, accuracy, alc, is_multiclass, nauc, transform_time

PathLike = Union[str, os.PathLike]

__all__ = ["LearningCurve", "PredictionScore", "RunScorer", "observe_scoring", "score_prediction_file"]

logger = logging.getLogger(__name__)

#: prediction folder (resolved) -> callbacks ``f(scorer, new_points)``; see :func:`observe_scoring`.
_OBSERVERS: dict[Path, list[Callable]] = {}
_OBSERVERS_LOCK = threading.Lock()


def _key(prediction_dir: PathLike) -> Path:
    try:
        return Path(prediction_dir).resolve()
    except OSError:
        return Path(os.path.abspath(prediction_dir))


@contextmanager
def observe_scoring(prediction_dir: PathLike, callback: Callable) -> Iterator[None]:
    """Call ``callback(scorer, new_points)`` each time a :class:`RunScorer` of ``prediction_dir`` scores.

    ``new_points`` lists the :class:`PredictionScore` of the predictions just
    scored (in order). This is how ``autodl-solver run`` follows the scoring
    program's live loop (its progress line) without scoring anything twice.
    An exception in ``callback`` is logged and ignored: watching never
    breaks scoring.
    """
    key = _key(prediction_dir)
    with _OBSERVERS_LOCK:
        _OBSERVERS.setdefault(key, []).append(callback)
    try:
        yield
    finally:
        with _OBSERVERS_LOCK:
            callbacks = _OBSERVERS.get(key, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                _OBSERVERS.pop(key, None)


def _notify(scorer: "RunScorer", new_points: list) -> None:
    if not _OBSERVERS or not new_points:
        return
    with _OBSERVERS_LOCK:
        callbacks = list(_OBSERVERS.get(_key(scorer.prediction_dir), ()))
    for callback in callbacks:
        try:
            callback(scorer, list(new_points))
        except Exception:  # noqa: BLE001 - a progress display must not fail the scoring
            logger.exception("scoring observer %r failed (ignored)", callback)


@dataclass
class LearningCurve:
    """Scores of successive predictions and the times they were made.

    Parameters
    ----------
    timestamps : list of float
        Seconds since the start of the budget, one per prediction, in order.
    scores : list of float
        The NAUC of each prediction.
    time_budget : float, default 1200
        ``T`` in seconds.
    t0 : float, default 60
        The constant of the log time transformation.
    task_name : str, optional
        Shown in figure titles.
    learners : list of str, optional
        The learner that made each prediction, when known (the library's
        ``learning_curve_``; the challenge's prediction files do not say):
        the figure's zoomed panel marks them.
    """

    timestamps: list = field(default_factory=list)
    scores: list = field(default_factory=list)
    time_budget: float = 1200.0
    t0: float = DEFAULT_T0
    task_name: Optional[str] = None
    learners: Optional[list] = None

    def __post_init__(self) -> None:
        self.timestamps = [float(t) for t in self.timestamps]
        self.scores = [float(s) for s in self.scores]
        if len(self.timestamps) != len(self.scores):
            raise AutoDLInputError(
                "timestamps", f"{len(self.timestamps)} timestamps but {len(self.scores)} scores; expected one each"
            )
        if self.learners is not None:
            self.learners = [None if name is None else str(name) for name in self.learners]
            if len(self.learners) != len(self.scores):
                raise AutoDLInputError(
                    "learners", f"{len(self.learners)} learner names but {len(self.scores)} scores; expected one each"
                )
        self.time_budget = float(self.time_budget)
        self.t0 = float(self.t0)

    def __len__(self) -> int:
        return len(self.scores)

    def append(self, timestamp: float, score: float, learner: Optional[str] = None) -> None:
        """Add the point of a new prediction (made after the previous ones), and its learner when known."""
        if self.timestamps and float(timestamp) < self.timestamps[-1]:
            raise AutoDLInputError("timestamp", f"{timestamp} is earlier than the previous one {self.timestamps[-1]}")
        self.timestamps.append(float(timestamp))
        self.scores.append(float(score))
        if learner is not None and self.learners is None:
            self.learners = [None] * (len(self.scores) - 1)
        if self.learners is not None:
            self.learners.append(None if learner is None else str(learner))

    def alc(self, clip: bool = False) -> float:
        """Area under the learning curve (see :func:`~.scoring.alc`).

        ``clip=False`` is the value of the official ``scores.txt``;
        ``clip=True`` drops predictions made after ``T`` (the figure legend).
        """
        return alc(self.timestamps, self.scores, self.time_budget, t0=self.t0, clip=clip)

    def transformed_timestamps(self) -> np.ndarray:
        """The timestamps on the [0, 1] log time axis."""
        return np.asarray(transform_time(np.asarray(self.timestamps), self.time_budget, self.t0)).reshape(-1)

    @property
    def duration(self) -> float:
        """Time of the last prediction (official ``get_time_used``), 0 if none."""
        return self.timestamps[-1] if self.timestamps else 0

    @property
    def final_score(self) -> float:
        """NAUC of the last prediction, 0 if none."""
        return self.scores[-1] if self.scores else 0.0

    def to_dict(self) -> dict:
        """Plain data: points, budget, and both ALC variants."""
        return {
            "task_name": self.task_name,
            "time_budget": self.time_budget,
            "t0": self.t0,
            "timestamps": list(self.timestamps),
            "scores": list(self.scores),
            "alc": self.alc(),
            "alc_clipped": self.alc(clip=True),
            **({"learners": list(self.learners)} if self.learners is not None else {}),
        }

    @classmethod
    def from_points(
        cls,
        points,
        time_budget: float,
        *,
        score: Optional[str] = None,
        t0: float = DEFAULT_T0,
        task_name: Optional[str] = None,
    ) -> "LearningCurve":
        """The curve of the library's ``AutoDLClassifier.learning_curve_`` (or the engine's).

        Parameters
        ----------
        points : list of dict
            ``elapsed_s``, ``val_score``, ``learner`` and, when test labels
            were given to ``fit``, ``test_nauc``.
        time_budget : float
            The ``time_budget`` of the fit.
        score : {"test_nauc", "val_score"}, optional
            Which score to plot; by default ``test_nauc`` when every point has
            one, else the hold-out ``val_score``. Points without it are skipped.
        """
        points = [dict(p) for p in points]
        if score is None:
            score = "test_nauc" if points and all(p.get("test_nauc") is not None for p in points) else "val_score"
        kept = [p for p in points if p.get(score) is not None]
        return cls([float(p["elapsed_s"]) for p in kept], [float(p[score]) for p in kept], time_budget, t0,
                   task_name, learners=[p.get("learner") for p in kept])

    @classmethod
    def from_classifier(cls, classifier, *, score: Optional[str] = None, t0: float = DEFAULT_T0,
                        task_name: Optional[str] = None) -> "LearningCurve":
        """:meth:`from_points` of a fitted ``AutoDLClassifier`` (its ``learning_curve_`` and ``time_budget``)."""
        points = getattr(classifier, "learning_curve_", None)
        if points is None:
            raise AutoDLInputError("classifier", "not fitted: no learning_curve_ (call fit first)")
        return cls.from_points(points, float(classifier.time_budget), score=score, t0=t0,
                               task_name=task_name or getattr(classifier, "domain_", None))

    @classmethod
    def from_prediction_dir(
        cls,
        solution: PathLike,
        prediction_dir: PathLike,
        *,
        task_name: Optional[str] = None,
        t0: float = DEFAULT_T0,
    ) -> "LearningCurve":
        """Score every prediction of a finished ingestion run.

        Parameters
        ----------
        solution : str or os.PathLike
            The ``<task>.solution`` file, or the folder holding exactly one.
        prediction_dir : str or os.PathLike
            Ingestion's output folder (``start.txt`` and the predictions).
        task_name : str, optional
            Defaults to the solution's name up to its first dot.
        t0 : float, default 60

        Returns
        -------
        LearningCurve
        """
        scorer = RunScorer(solution, prediction_dir, task_name=task_name)
        info = pf.read_start_file(Path(prediction_dir) / pf.START_FILE)
        scorer.update(strict=True)
        return scorer.curve(info["time_budget"], t0=t0)


class PredictionScore(NamedTuple):
    """Scores of one prediction file."""

    k: int
    path: Path
    timestamp: float  #: seconds since ingestion's start_time
    nauc: float
    accuracy: Optional[float]  #: None unless every solution row is one-hot


def score_prediction_file(
    solution: np.ndarray, path: PathLike, solution_path: Optional[PathLike] = None
) -> tuple[float, Optional[float]]:
    """NAUC and accuracy of one prediction file.

    Raises
    ------
    AutoDLInputError
        Naming the prediction file (and the solution file when its shape
        differs from the solution's).
    """
    path = Path(path)
    prediction = pf.read_prediction(path)
    if prediction.shape != solution.shape:
        against = f"the solution {solution_path}" if solution_path else "the solution"
        raise AutoDLInputError(
            path,
            f"has {prediction.shape[0]} rows of {prediction.shape[1]} values but {against} has "
            f"{solution.shape[0]} rows of {solution.shape[1]} values; expected the same shape",
        )
    try:
        return nauc(solution, prediction), accuracy(solution, prediction)
    except AutoDLInputError as exc:
        where = solution_path if exc.where == "solution" and solution_path else path
        raise AutoDLInputError(where, exc.problem) from None


class RunScorer:
    """Score the predictions of one ingestion run, each file once.

    Parameters
    ----------
    solution : str or os.PathLike
        The ``<task>.solution`` file, or a folder holding exactly one.
    prediction_dir : str or os.PathLike
        Ingestion's output folder.
    task_name : str, optional
        Defaults to the solution's name up to its first dot (official rule).
    """

    def __init__(self, solution: PathLike, prediction_dir: PathLike, task_name: Optional[str] = None) -> None:
        solution = Path(solution)
        self.solution_path = pf.find_solution_file(solution) if solution.is_dir() else solution
        self.solution = pf.read_solution(self.solution_path)
        self.is_multiclass = is_multiclass(self.solution)
        self.prediction_dir = Path(prediction_dir)
        self.task_name = task_name or pf.task_name_from_solution(self.solution_path)
        self.points: list[PredictionScore] = []

    def update(self, start_info: Optional[dict] = None, *, strict: bool = True) -> int:
        """Score the prediction files not scored yet.

        Parameters
        ----------
        start_info : dict, optional
            From :func:`~.prediction_files.read_start_file`. By default
            ``start.txt`` is read *after* listing the files: ingestion writes
            a timestamp before its file, so every listed file then has one.
        strict : bool, default True
            A file without a timestamp line in ``start.txt`` is an error;
            with ``strict=False`` it and later files wait for the next call.

        Returns
        -------
        int
            How many new predictions were scored.
        """
        listed = pf.list_predictions(self.prediction_dir, self.task_name)
        if start_info is None:
            start_info = pf.read_start_file(self.prediction_dir / pf.START_FILE)
        start_time = float(start_info["start_time"])
        stamps = pf.start_timestamps(start_info)
        done = {p.k for p in self.points}
        added = 0
        new_points = []
        for k, path in listed:
            if k in done:
                continue
            if k not in stamps:
                if strict:
                    raise AutoDLInputError(
                        self.prediction_dir / pf.START_FILE,
                        f"has no '{k}: <time>' line for {path.name}; expected one timestamp per prediction",
                    )
                break
            if not stamps[k] >= start_time:
                raise AutoDLInputError(
                    self.prediction_dir / pf.START_FILE,
                    f"timestamp {stamps[k]} of prediction {k} is before start_time {start_time}",
                )
            score, acc = score_prediction_file(self.solution, path, self.solution_path)
            self.points.append(PredictionScore(k, path, stamps[k] - start_time, score, acc))
            new_points.append(self.points[-1])
            added += 1
        self.points.sort(key=lambda p: p.k)
        _notify(self, new_points)
        return added

    @property
    def timestamps(self) -> list[float]:
        return [p.timestamp for p in self.points]

    @property
    def nauc_scores(self) -> list[float]:
        return [p.nauc for p in self.points]

    @property
    def accuracy_scores(self) -> Optional[list[float]]:
        """Accuracy per prediction, or None when the task is not one-hot."""
        # One-hot solutions: every point's accuracy is a float (scoring.accuracy gives None otherwise only).
        return [cast(float, p.accuracy) for p in self.points] if self.is_multiclass else None

    def curve(self, time_budget: float, t0: float = DEFAULT_T0) -> LearningCurve:
        """The learning curve of the predictions scored so far."""
        return LearningCurve(self.timestamps, self.nauc_scores, time_budget, t0, self.task_name)
