"""The battery every registered learner must pass: ``check_learner(LearnerClass)``.

Checks, on tiny generated data of the learner's domain
(:func:`autodl_solver.testing.make_dataset`):

1. it builds from ``(metadata, config, seed)`` and ``next_cost_s()`` is a
   finite number >= 0 before any fit;
2. ``fit(data, budget_s)`` returns within ``budget_s * 1.5 + 1`` seconds of
   its own time and can be called again (resumability); after each fit
   ``predict`` returns a float32 ``(n, output_dim)`` finite array and
   ``next_cost_s()`` is finite and >= 0; ``done`` is a bool;
3. multi-label labels, ``output_dim == 1`` and a single training example are
   handled, plus NaN features for tabular data and variable sizes for image
   and video;
4. when ``state_dict()`` is supported, it survives
   ``torch.load(..., weights_only=True)`` and a fresh learner loaded with it
   predicts the same scores.

A failure raises :class:`AssertionError` whose message names the learner,
the domain and the check.

The budget check is judged on the fit's own time, not the raw wall clock:
on a busy machine (other tests, other jobs on the same cores) a fit is
slowed by the time its threads sat runnable on a run queue waiting for a
CPU, which the learner cannot see coming. That wait is measured (Linux
``/proc/self/task/*/schedstat``, the longest wait of any thread of this
process during the fit) and taken off the wall time; the limit itself
stays ``budget_s * 1.5 + 1``. A learner that really ignores its budget still
fails: a sleeping one never waits on a run queue, and a computing one is
judged on the CPU time it actually got. Where schedstat is unavailable the
wait counts as zero (the plain wall-clock check).
"""
from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ..anytime.config import EngineConfig
from ..anytime.data_pool import DataPool
from ..anytime.learner import Learner
from ..data.dataset import ArrayDataset
from .datasets import DOMAINS, inject_nan, make_dataset

__all__ = ["check_learner", "CentroidLearner", "CentroidConfig", "summary_features"]


def check_learner(learner_cls: type[Learner], domain: Optional[str] = None, config: Any = None, *,
                  budget_s: float = 2.0, n_train: int = 40, n_test: int = 20, output_dim: int = 3,
                  seed: int = 0) -> dict[str, list[str]]:
    """Run the battery on ``learner_cls``; raise AssertionError on the first failure.

    Parameters
    ----------
    learner_cls : type
        A :class:`~autodl_solver.anytime.learner.Learner` subclass.
    domain : str, optional
        Defaults to the first of ``learner_cls.domains`` (``tabular`` for ``"any"``).
    config : optional
        Passed to the learner's constructor (None: its defaults).
    budget_s : float
        Budget of every ``fit`` call.
    n_train, n_test, output_dim, seed : int
        Size and seed of the generated datasets.

    Returns
    -------
    dict
        ``{"passed": [...], "skipped": [...]}``, names of the checks.
    """
    if domain is None:
        declared = [d for d in getattr(learner_cls, "domains", ()) if d in DOMAINS]
        domain = declared[0] if declared else "tabular"
    checker = _Checker(learner_cls, domain, config, budget_s, seed)
    train, test, _ = make_dataset(domain, n_train=n_train, n_test=n_test, output_dim=output_dim, seed=seed)
    learner = checker.build(train)
    checker.cost(learner, "next_cost_s() before fit")
    for attempt in ("first", "second"):
        checker.fit(learner, train, f"{attempt} fit")
        checker.predict(learner, test, f"predict after the {attempt} fit")
        checker.cost(learner, f"next_cost_s() after the {attempt} fit")
    if not isinstance(learner.done, (bool, np.bool_)):
        checker.fail("done", f"expected a bool, got {learner.done!r}")
    checker.passed.append("done is a bool")
    checker.state_round_trip(learner, train, test)

    variants = [("multi-label", dict(multilabel=True, output_dim=output_dim)),
                ("output_dim 1", dict(output_dim=1)),
                ("single training example", dict(n_train=1, output_dim=output_dim))]
    if domain in ("image", "video"):
        variants.append(("variable-size examples", dict(variable_size=True, output_dim=output_dim)))
    for label, kwargs in variants:
        kwargs = {"n_train": n_train, "n_test": n_test, "seed": seed + 1, **kwargs}
        tr, te, _ = make_dataset(domain, **kwargs)
        checker.fit_and_predict(tr, te, label)
    if domain == "tabular":
        tr, te, _ = make_dataset(domain, n_train=n_train, n_test=n_test, output_dim=output_dim, seed=seed + 2)
        checker.fit_and_predict(inject_nan(tr, 0.1, seed), inject_nan(te, 0.1, seed + 1), "NaN features")
    return {"passed": checker.passed, "skipped": checker.skipped}


#: The budget check's limit: ``BUDGET_FACTOR * budget_s + BUDGET_SLACK_S`` seconds of the fit's own time.
BUDGET_FACTOR = 1.5
BUDGET_SLACK_S = 1.0


def run_queue_delays() -> dict[int, float]:
    """Seconds each thread of this process has spent runnable but waiting for a CPU, by thread id.

    From ``/proc/self/task/<tid>/schedstat`` (second field, nanoseconds);
    empty where that is not available (not Linux, no schedstat).
    """
    delays: dict[int, float] = {}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return delays
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as handle:
                delays[int(tid)] = int(handle.read().split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            continue  # the thread ended meanwhile, or no schedstat
    return delays


def waited_for_cpu(before: dict[int, float], after: dict[int, float]) -> float:
    """The longest run-queue wait of any thread between two :func:`run_queue_delays` readings.

    A thread started in between counts from zero. The longest, not the
    sum: threads waiting at the same time delay the fit once.
    """
    return max((delay - before.get(tid, 0.0) for tid, delay in after.items()), default=0.0)


class _Checker:
    def __init__(self, learner_cls: type, domain: str, config: Any, budget_s: float, seed: int) -> None:
        self.cls, self.domain, self.config, self.budget_s, self.seed = learner_cls, domain, config, budget_s, seed
        self.name = getattr(learner_cls, "name", "") or learner_cls.__name__
        self.passed: list[str] = []
        self.skipped: list[str] = []

    def fail(self, check: str, problem: str) -> None:
        raise AssertionError(f"check_learner({self.name}, domain={self.domain!r}): {check}: {problem}")

    def build(self, dataset: ArrayDataset) -> Learner:
        try:
            return self.cls(dataset.metadata, self.config, seed=self.seed)
        except Exception as exc:
            self.fail("construction", f"{type(exc).__name__}: {exc}")

    def pool(self, dataset: ArrayDataset) -> DataPool:
        return DataPool(dataset, EngineConfig(holdout=False), seed=self.seed)

    def cost(self, learner: Learner, check: str) -> None:
        try:
            cost = learner.next_cost_s()
        except Exception as exc:
            self.fail(check, f"raised {type(exc).__name__}: {exc}")
        if isinstance(cost, bool) or not isinstance(cost, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(cost)) or cost < 0:
            self.fail(check, f"expected a finite number >= 0, got {cost!r}")
        self.passed.append(check)

    def fit(self, learner: Learner, dataset: ArrayDataset, check: str, pool: Optional[DataPool] = None) -> None:
        pool = pool or self.pool(dataset)
        delays = run_queue_delays()
        tic = time.perf_counter()
        try:
            learner.fit(pool, self.budget_s)
        except Exception as exc:
            self.fail(check, f"fit raised {type(exc).__name__}: {exc}")
        took = time.perf_counter() - tic
        limit = self.budget_s * BUDGET_FACTOR + BUDGET_SLACK_S
        if took > limit:
            # Over the limit by the wall clock: take off the time spent waiting for a CPU (a busy machine).
            waited = min(max(waited_for_cpu(delays, run_queue_delays()), 0.0), took)
            if took - waited > limit:
                self.fail(check, f"fit took {took:.2f} s with budget_s={self.budget_s:g} (limit {limit:.2f} s; "
                                 f"{waited:.2f} s of it waiting for a CPU, so {took - waited:.2f} s of its own)")
        self.passed.append(check)

    def predict(self, learner: Learner, dataset: ArrayDataset, check: str) -> np.ndarray:
        xs, _ = dataset.take(0, len(dataset))
        try:
            pred = learner.predict(xs)
        except Exception as exc:
            self.fail(check, f"predict raised {type(exc).__name__}: {exc}")
        want = (len(xs), dataset.metadata.output_dim)
        if not isinstance(pred, np.ndarray):
            self.fail(check, f"expected a numpy array, got {type(pred).__name__}")
        if pred.shape != want:
            self.fail(check, f"expected shape {want}, got {pred.shape}")
        if pred.dtype != np.float32:
            self.fail(check, f"expected float32, got {pred.dtype}")
        if not np.all(np.isfinite(pred)):
            self.fail(check, "predictions contain NaN or inf")
        self.passed.append(check)
        return pred

    def fit_and_predict(self, train: ArrayDataset, test: ArrayDataset, label: str) -> None:
        learner = self.build(train)
        self.fit(learner, train, f"fit on {label}")
        self.predict(learner, test, f"predict on {label}")

    def state_round_trip(self, learner: Learner, train: ArrayDataset, test: ArrayDataset) -> None:
        check = "state_dict round trip"
        try:
            state = learner.state_dict()
        except NotImplementedError:
            self.skipped.append(check)
            return
        except Exception as exc:
            self.fail(check, f"state_dict raised {type(exc).__name__}: {exc}")
        import torch

        buffer = io.BytesIO()
        try:
            torch.save(state, buffer)
            buffer.seek(0)
            loaded = torch.load(buffer, weights_only=True)
        except Exception as exc:
            self.fail(check, f"state is not torch.load(weights_only=True)-safe: {type(exc).__name__}: {exc}")
        fresh = self.build(train)
        try:
            fresh.load_state_dict(loaded)
        except Exception as exc:
            self.fail(check, f"load_state_dict raised {type(exc).__name__}: {exc}")
        before = self.predict(learner, test, "predict before save")
        after = self.predict(fresh, test, "predict after load")
        if not np.allclose(before, after, rtol=1e-4, atol=1e-5):
            gap = float(np.max(np.abs(before - after)))
            self.fail(check, f"predictions differ after load (max abs difference {gap:.3g})")
        self.passed.append(check)


# ------------------------------------------------------------ reference learner
@dataclass
class CentroidConfig:
    """Settings of :class:`CentroidLearner`.

    Attributes
    ----------
    cost_s : float
        Simulated cost of each ``fit`` (it sleeps ``min(cost_s, budget_s)``);
        ``next_cost_s()`` then reports it. 0 means no sleep, and
        ``next_cost_s()`` reports the last measured fit time.
    max_fits : int, optional
        ``done`` after this many fits (default: once all rows were seen).
    """

    cost_s: float = 0.0
    max_fits: Optional[int] = None


def summary_features(x: np.ndarray) -> np.ndarray:
    """A fixed-length float64 summary of one example of any domain (NaN/inf become 0).

    Tabular examples are flattened; others give, per channel, the mean, the
    standard deviation and the mean absolute step along time and rows.
    """
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    t, r, c, _ = x.shape
    if t == 1 and (r == 1 or c == 1):
        return x.ravel()
    steps = [np.abs(np.diff(x, axis=a)).mean(axis=(0, 1, 2)) if x.shape[a] > 1 else np.zeros(x.shape[3])
             for a in (0, 1)]
    return np.concatenate([x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2)), *steps])


class CentroidLearner(Learner):
    """A minimal reference learner that passes :func:`check_learner`.

    Nearest class centroids on :func:`summary_features` (standardised): the
    score of class k is the squared distance to the centroid of its
    negatives minus the distance to the centroid of its positives. Works for
    every domain, multi-class and multi-label. Meant for testing code that
    drives learners (the engine, ``model.py``) without the real portfolio.
    """

    name = "centroid"
    domains = ("any",)

    def __init__(self, metadata, config: Optional[CentroidConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or CentroidConfig(), seed)
        self.fits = 0
        self._seen = 0
        self._n_total = None
        self._last_s = 0.0
        self._state: Optional[dict[str, np.ndarray]] = None

    def fit(self, data, budget_s: float) -> None:
        tic = time.perf_counter()
        xs, y = data.get(data.n_total)
        feats = np.stack([summary_features(x) for x in xs])
        mu, sd = feats.mean(axis=0), feats.std(axis=0) + 1e-6
        z = (feats - mu) / sd
        pos = y > 0
        n_pos, n_neg = pos.sum(axis=0)[:, None], (~pos).sum(axis=0)[:, None]
        c_pos = (pos.T.astype(np.float64) @ z) / np.maximum(n_pos, 1)
        c_neg = ((~pos).T.astype(np.float64) @ z) / np.maximum(n_neg, 1)
        has = ((n_pos > 0) & (n_neg > 0)).ravel().astype(np.float64)
        self._state = {"mu": mu, "sd": sd, "pos": c_pos, "neg": c_neg, "has": has}
        if self.config.cost_s > 0:
            time.sleep(max(0.0, min(self.config.cost_s, budget_s) - (time.perf_counter() - tic)))
        self.fits += 1
        self._seen, self._n_total = len(xs), data.n_total
        self._last_s = time.perf_counter() - tic

    def predict(self, xs) -> np.ndarray:
        if self._state is None:
            return np.zeros((len(xs), self.metadata.output_dim), np.float32)
        s = self._state
        z = (np.stack([summary_features(x) for x in xs]) - s["mu"]) / s["sd"]
        d_pos = ((z[:, None, :] - s["pos"][None]) ** 2).sum(axis=2)
        d_neg = ((z[:, None, :] - s["neg"][None]) ** 2).sum(axis=2)
        return np.nan_to_num((d_neg - d_pos) * s["has"][None]).astype(np.float32)

    def next_cost_s(self) -> float:
        return float(self.config.cost_s) if self.config.cost_s > 0 else self._last_s

    @property
    def done(self) -> bool:
        if self.config.max_fits is not None:
            return self.fits >= self.config.max_fits
        return self._n_total is not None and self._seen >= self._n_total

    def state_dict(self) -> dict[str, Any]:
        import torch

        if self._state is None:
            raise NotImplementedError("CentroidLearner has not been fitted")
        return {key: torch.from_numpy(np.ascontiguousarray(v)) for key, v in self._state.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._state = {key: np.asarray(v, dtype=np.float64) for key, v in state.items()}
        self.fits = max(self.fits, 1)
