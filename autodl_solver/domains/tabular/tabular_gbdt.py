"""Tabular gradient boosting (LightGBM) trained in growing increments.

Why LightGBM and not scikit-learn's HistGradientBoosting: measured in
``benchmarks/gbdt_choice.py`` (``benchmarks/results/gbdt_choice.md``) — a
much faster first model and continued boosting (HistGradientBoosting's
``warm_start`` re-validates and re-bins on every call), and a text model dump
(``model_to_string``) that saves a fitted learner without pickle.

Schedule (the winners' recipe, ``docs/winners.md`` §2.2, §2.3, §6):

* call 1: a tiny model, ``first_rounds`` (10) rounds on the first
  ``first_rows`` (500) rows, so the first prediction comes well under 1 s;
* each later call doubles the rows while unread rows remain (a new booster on
  the larger set) and doubles the rounds of the call, capped at
  ``max_rounds_per_call``; because the rounds double, a rebuilt model always
  gets at least as many rounds as all earlier calls together;
* once all rows are in, the same booster keeps boosting (``Booster.update``).

Early stopping: the learner never sees the engine's hold-out, so it keeps an
internal split of its own rows (``valid_fraction``, at least
``min_valid_rows``) once it has ``min_rows_for_valid`` rows; it predicts with
the best iteration on that split and stops a model after ``patience_rounds``
rounds without improvement. With fewer rows it trains on all of them and
stops after ``rounds_without_valid`` rounds (a fixed schedule). The learning
rate is fixed (DeepBlueAI decayed it; with early stopping on a split a fixed
rate is simpler and loses nothing measurable here).

Targets: multi-class uses the softmax objective (binary when there are two
classes, rows without a positive are left out); multi-label (and
``output_dim == 1``) trains one binary booster per class (one-vs-rest);
a class whose training rows are all negative (or all positive) gets a
constant score column. NaN is missing (LightGBM routes it), ``±inf`` become
NaN. ``num_threads`` defaults to 1, by measurement (``gbdt_choice.md``,
"LightGBM threads"): on an idle 2-core machine two threads are at most about
1.3x faster (and no faster on the small first models), but when other
processes compete for the cores OpenMP's spin-waiting makes two threads
10-200x slower, enough for one round to outlast a fit's whole budget.
Deterministic for a seed (``deterministic=True``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import TrainData
from ...data.metadata import Metadata
from ..core.incremental import IncrementalLearner
from ..core.shapes import flatten_tabular
from ..registration import register


@dataclass
class GBDTConfig:
    """Settings of :class:`GBDTLearner` (overridable in ``configs/tabular.yaml``).

    Attributes
    ----------
    first_rows, first_rounds : int
        Rows and boosting rounds of the first (tiny) model.
    rows_growth, rounds_growth : float
        Factors applied per call to the rows read and to the rounds of a call.
    max_rounds_per_call, max_rounds : int
        Caps on the rounds of one call and of one model.
    learning_rate, num_leaves, min_data_in_leaf, feature_fraction, lambda_l2, max_bin : float or int
        LightGBM parameters (``min_data_in_leaf`` is lowered to a tenth of the
        rows on tiny sets).
    max_tree_features : int
        On wider tables ``feature_fraction`` shrinks so a tree scans about
        this many columns.
    first_call_max_s : float
        The first call stops boosting after this many seconds (one round at least).
    first_max_bin : int
        ``max_bin`` of the first model (coarser bins, faster rounds).
    valid_fraction, min_valid_rows, max_valid_rows, min_rows_for_valid : float or int
        The internal early-stopping split, used from ``min_rows_for_valid`` rows on.
    patience_rounds : int
        Rounds without a better split score before a model stops.
    rounds_without_valid : int
        Rounds of a model trained without a split (fixed schedule).
    max_classes_auc_mu : int
        Multi-class early stopping watches ``auc_mu`` up to this many classes,
        the multi-class log-loss beyond.
    num_threads : int
        LightGBM threads (1 by measurement, see the module docstring).
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    first_rows: int = 500
    first_rounds: int = 10
    rows_growth: float = 2.0
    rounds_growth: float = 2.0
    max_rounds_per_call: int = 640
    max_rounds: int = 5000
    learning_rate: float = 0.1
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.9
    max_tree_features: int = 500
    first_call_max_s: float = 1.0
    first_max_bin: int = 63
    lambda_l2: float = 0.0
    max_bin: int = 255
    valid_fraction: float = 0.1
    min_valid_rows: int = 100
    max_valid_rows: int = 2000
    min_rows_for_valid: int = 1000
    patience_rounds: int = 100
    rounds_without_valid: int = 300
    max_classes_auc_mu: int = 20
    num_threads: int = 1
    prior_cost_s: float = 0.5


class _Model:
    """One booster (or a constant) producing some of the output columns."""

    def __init__(self, columns: list[int], constant: Optional[np.ndarray] = None) -> None:
        self.columns = columns
        self.constant = constant  # scores when there is no booster
        self.booster: Any = None
        self.rounds = 0
        self.best_iter = 0
        self.best_score = -math.inf
        self.stalled = constant is not None
        self.has_valid = False

    def step(self, patience: int, cap: int, cap_without_valid: int) -> None:
        """One boosting round; updates the best iteration and whether the model stalled."""
        finished = self.booster.update()  # True: no split with positive gain is left
        if finished:  # LightGBM added no tree: nothing more to learn on these rows
            self.stalled = True
            return
        self.rounds += 1
        if self.has_valid:
            _, _, value, higher_better = self.booster.eval_valid()[0]
            score = float(value) if higher_better else -float(value)
            # ">=": among equal scores keep the later round (AUC saturates on small splits
            # while the ranking of the test rows still improves).
            if score >= self.best_score - 1e-12:
                self.best_score, self.best_iter = score, self.rounds
            self.stalled = self.rounds - self.best_iter >= patience
        else:
            self.best_iter = self.rounds
            cap = min(cap, cap_without_valid)
        if self.rounds >= cap:
            self.stalled = True

    def predict(self, x: np.ndarray, binary_pair: bool) -> np.ndarray:
        if self.booster is None or self.best_iter == 0:
            const = self.constant if self.constant is not None else np.zeros(len(self.columns), np.float32)
            return np.tile(np.asarray(const, np.float32), (len(x), 1))
        p = np.asarray(self.booster.predict(x, num_iteration=self.best_iter), np.float64)
        if p.ndim == 1:
            p = np.column_stack([1.0 - p, p]) if binary_pair else p[:, None]
        return p.astype(np.float32)


@register("tabular_gbdt", domains=("tabular",), default_config=GBDTConfig)
class GBDTLearner(IncrementalLearner):
    """LightGBM with growing rows and rounds (see the module docstring)."""

    budget_aware = True  # fit() checks the time between steps and stops within budget_s

    def __init__(self, metadata: Metadata, config: Optional[GBDTConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(GBDTConfig), seed)
        import lightgbm  # noqa: F401  (about 1 s the first time: paid here, outside the timed fits)

        self.output_dim = int(metadata.output_dim)
        shape = metadata.tensor_shape
        self._n_features: Optional[int] = None if -1 in shape else int(np.prod(shape))
        self._models: list[_Model] = []
        self._mode = ""
        self._round_budget = int(self.config.first_rounds)
        self._calls = 0
        self._has_valid = False
        self._stale = False  # boosters loaded from a state dict cannot continue: rebuild on next fit
        self._sec_per_round_row: Optional[float] = None
        self._setup_sec_per_row: Optional[float] = None

    # ------------------------------------------------------------ schedule (rows: IncrementalLearner's)
    def _measured_cost_s(self, rows: int) -> Optional[float]:
        if self._sec_per_round_row is None:
            return None
        rebuild = rows != self._rows or self._stale or self._calls == 1
        cost = self._round_budget * self._models_per_round(rebuild) * self._sec_per_round_row * rows
        if rebuild:
            cost += (self._setup_sec_per_row or 0.0) * rows
        return float(cost)

    def _models_per_round(self, rebuild: bool) -> int:
        # Per-round cost is measured per model; one-vs-rest models stall one by one, and a
        # rebuild starts every booster again.
        if self._mode != "ovr":
            return 1
        return max(1, sum((m.booster is not None) if rebuild else (not m.stalled) for m in self._models))

    # --------------------------------------------------------------- train
    def fit(self, data: TrainData, budget_s: float) -> None:
        start = time.perf_counter()
        # The engine's data pool may cap the rows of this round (its row window).
        rows = self._begin_fit(data, budget_s)
        if rows is None:
            return
        deadline = start + float(budget_s)
        # The first model's coarse bins are not kept: the second call rebuilds even on the same rows.
        rebuild = rows != self._rows or self._stale or not self._models or self._calls == 1
        if rebuild and self._models and not self._stale and self._setup_sec_per_row is not None:
            # A rebuild that cannot fit in the budget would overrun: keep boosting what we have.
            if self._setup_sec_per_row * rows > budget_s and not all(m.stalled for m in self._models):
                rebuild = False
        if rebuild:
            xs, y = data.get(rows)
            # Reading rows is the data pool's cost (the engine estimates it); ours starts here.
            t = time.perf_counter()
            self._build(xs, np.asarray(y, np.float32), bool(data.multilabel))
            self._setup_sec_per_row = (time.perf_counter() - t) / max(1, self._rows)
        if self._calls == 0:
            # The first model must be tiny whatever the budget: the first prediction is worth
            # most of the ALC. At least one round runs; later calls follow the doubling schedule.
            deadline = min(deadline, time.perf_counter() + self.config.first_call_max_s)
        self._boost(self._round_budget, deadline)
        self._calls += 1
        self._round_budget = int(min(self.config.max_rounds_per_call,
                                     math.ceil(self._round_budget * self.config.rounds_growth)))
        if self._rows >= self._n_total and all(m.stalled for m in self._models):
            self._done = True

    def _build(self, xs: Sequence[np.ndarray], y: np.ndarray, multilabel: bool) -> None:
        import lightgbm as lgb

        cfg = self.config
        x = flatten_tabular(xs, self._n_features)
        self._n_features = x.shape[1]
        self._rows = len(x)
        self._stale = False
        k = self.output_dim
        self._mode = "ovr" if (multilabel or k == 1) else ("binary" if k == 2 else "multiclass")
        if self._mode != "ovr":
            keep = y.sum(axis=1) > 0  # a softmax row needs a class
            x, y = x[keep], y[keep]
        n = len(x)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(n)
        self._has_valid = n >= cfg.min_rows_for_valid
        n_valid = 0
        if self._has_valid:
            n_valid = int(np.clip(round(cfg.valid_fraction * n), cfg.min_valid_rows, cfg.max_valid_rows))
        tr, va = order[: n - n_valid], order[n - n_valid :]
        params = {
            "learning_rate": cfg.learning_rate, "num_leaves": cfg.num_leaves,
            "min_data_in_leaf": int(max(1, min(cfg.min_data_in_leaf, len(tr) // 10))),
            # Wide tables: each tree sees at most ~max_tree_features columns (DeepWisdom's first
            # model used every other column above 500); tree cost grows with the columns it scans.
            "feature_fraction": float(min(cfg.feature_fraction, max(cfg.max_tree_features / max(1, x.shape[1]), 0.01))),
            # The first (tiny) model bins coarser: 2-3x faster rounds on wide tables.
            "lambda_l2": cfg.lambda_l2, "max_bin": cfg.first_max_bin if self._calls == 0 else cfg.max_bin,
            "num_threads": cfg.num_threads, "seed": self.seed, "deterministic": True,
            "force_row_wise": True, "verbose": -1,
        }
        # Early stopping watches the AutoDL metric's cousin: AUC (auc_mu for softmax, whose
        # cost grows with the square of the classes: log-loss beyond max_classes_auc_mu).
        binary = {"objective": "binary", "metric": "auc"}
        if self._mode == "multiclass":
            metric = "auc_mu" if k <= cfg.max_classes_auc_mu else "multi_logloss"
            targets = [(list(range(k)), y.argmax(axis=1).astype(np.float64),
                        {"objective": "multiclass", "num_class": k, "metric": metric})]
        elif self._mode == "binary":
            targets = [([0, 1], (y[:, 1] > y[:, 0]).astype(np.float64), binary)]
        else:
            targets = [([j], (y[:, j] > 0).astype(np.float64), binary) for j in range(k)]
        self._models = []
        reference = None
        for columns, label, objective in targets:
            if len(tr) < 2:
                self._models.append(_Model(columns, self._prior(columns, label)))
                continue
            if objective["objective"] == "binary" and label[tr].min() == label[tr].max():
                self._models.append(_Model(columns, self._prior(columns, label[tr])))
                continue
            p = {**params, **objective}
            train_set = lgb.Dataset(x[tr], label[tr], params=p, reference=reference, free_raw_data=True)
            model = _Model(columns)
            model.booster = lgb.Booster(p, train_set)
            reference = reference or train_set
            # AUC needs both labels in the split; a rare class without them trains on the fixed schedule.
            model.has_valid = self._has_valid and (objective["objective"] != "binary"
                                                   or label[va].min() != label[va].max())
            if model.has_valid:
                model.booster.add_valid(lgb.Dataset(x[va], label[va], reference=train_set, params=p), "valid")
            self._models.append(model)

    def _prior(self, columns: list[int], label: np.ndarray) -> np.ndarray:
        """Constant scores: the class frequency (0 when there is nothing to learn from)."""
        if len(columns) == 1:
            return np.array([float(label.mean()) if label.size else 0.0], np.float32)
        if self._mode == "binary":
            rate = float(label.mean()) if label.size else 0.5
            return np.array([1.0 - rate, rate], np.float32)
        counts = np.bincount(label.astype(int), minlength=len(columns)).astype(np.float32) if label.size else \
            np.zeros(len(columns), np.float32)
        return counts / max(1.0, counts.sum())

    def _boost(self, rounds: int, deadline: float) -> None:
        cfg = self.config
        round_s = None
        total_s, model_rounds = 0.0, 0
        for _ in range(int(rounds)):
            active = [m for m in self._models if not m.stalled]
            if not active:
                break
            now = time.perf_counter()
            # Stop before a round that would pass the deadline, except the very first
            # round of a fresh model (a model with no tree can only predict a constant).
            if now + (round_s or 0.0) > deadline and any(m.rounds > 0 for m in active):
                break
            for m in active:
                m.step(cfg.patience_rounds, cfg.max_rounds, cfg.rounds_without_valid)
            spent = time.perf_counter() - now
            round_s = spent if round_s is None else 0.7 * round_s + 0.3 * spent
            total_s, model_rounds = total_s + spent, model_rounds + len(active)
            if now + spent > deadline:
                break
        if model_rounds:
            # The call's average (a fresh booster's first round is slower; averaging amortises it),
            # blended with earlier calls.
            measured = total_s / model_rounds / max(1, self._rows)
            old = self._sec_per_round_row
            self._sec_per_round_row = measured if old is None else 0.5 * old + 0.5 * measured

    # ------------------------------------------------------------- predict
    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(xs), self.output_dim), np.float32)
        if not self._models or len(xs) == 0:
            return out
        x = flatten_tabular(xs, self._n_features)
        for m in self._models:
            out[:, m.columns] = m.predict(x, binary_pair=self._mode == "binary")
        return np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)

    # --------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        models = []
        for m in self._models:
            models.append({
                "columns": list(m.columns), "rounds": m.rounds, "best_iter": m.best_iter,
                "stalled": bool(m.stalled), "has_valid": bool(m.has_valid),
                "constant": None if m.constant is None else [float(v) for v in m.constant],
                "booster": None if m.booster is None else m.booster.model_to_string(),
            })
        return {
            "version": 1, "mode": self._mode, "n_features": self._n_features, "rows": self._rows,
            "n_total": self._n_total, "round_budget": self._round_budget, "has_valid": self._has_valid,
            "sec_per_round_row": self._sec_per_round_row, "setup_sec_per_row": self._setup_sec_per_row,
            "done": self._done, "calls": self._calls, "models": models,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import lightgbm as lgb

        self._mode = str(state["mode"])
        self._n_features = None if state["n_features"] is None else int(state["n_features"])
        self._rows = int(state["rows"])
        self._n_total = None if state["n_total"] is None else int(state["n_total"])
        self._round_budget = int(state["round_budget"])
        self._has_valid = bool(state["has_valid"])
        self._sec_per_round_row = state["sec_per_round_row"]
        self._setup_sec_per_row = state["setup_sec_per_row"]
        self._done = bool(state["done"])
        self._calls = int(state["calls"])
        self._models = []
        for s in state["models"]:
            const = None if s["constant"] is None else np.asarray(s["constant"], np.float32)
            m = _Model([int(c) for c in s["columns"]], const)
            m.rounds, m.best_iter, m.stalled = int(s["rounds"]), int(s["best_iter"]), bool(s["stalled"])
            m.has_valid = bool(s["has_valid"])
            if s["booster"] is not None:
                m.booster = lgb.Booster(model_str=s["booster"])
            self._models.append(m)
        # A booster rebuilt from text has no training data attached: continuing means rebuilding.
        self._stale = bool(self._models) and not self._done
