"""The seed paper's tabular network: a 2x256 MLP, trained in growing increments.

Baseline 3's tabular model is "a fully connected neural network with 2
hidden layers of 256 neurons" (seed paper §4.4). Every winning team replaced
it by a GBDT (``docs/winners.md`` §2.7, §6) but it stays useful as a second
opinion in the ensemble, and it is the ``mlp`` method on its own.

* Inputs: standardised with the rows seen so far (refitted when the rows
  grow), clipped to ``±clip``; NaN (and ``±inf``) become 0 after
  standardising, and one 0/1 "was missing" feature is appended for every
  column that had a missing value in the first rows (the width then stays
  fixed). Non-tabular shapes (the ``mlp`` method on any domain) are mapped
  to a fixed shape by :class:`~autodl_solver.domains.core.shapes.FixedShaper`
  (capped at ``max_input_units`` values) and flattened.
* Network: Linear-ReLU-Dropout twice, then a linear output; Adam.
* Loss: softmax cross-entropy for multi-class (rows without a positive are
  left out); BCE-with-logits for multi-label and ``output_dim == 1``, with
  positives re-weighted by ``min(negatives / positives, max_pos_weight)``
  per class (``docs/winners.md`` §7 lesson 10).
* Schedule: rows double per call (as the engine's row window allows),
  epochs per call double from ``first_epochs`` up to ``max_epochs_per_call``.
  Once it has ``min_rows_for_valid`` rows it keeps an internal split and
  predicts with the best-so-far weights on it (NAUC); it is done when all
  rows are in and ``patience_epochs`` epochs passed without improvement, or
  after ``max_epochs`` epochs (``max_epochs_without_valid`` without a split).
* Torch's thread count is left as the caller set it; seeded (weights,
  shuffling and dropout) through a forked RNG.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import TrainData
from ...anytime.validation import validation_nauc
from ...data.metadata import Metadata
from ..core.incremental import IncrementalLearner
from ..core.shapes import FixedShaper, ShapePlan, flatten_tabular, plan_shape
from ..core.standardizer import Standardizer
from ..core.torch_utils import cpu_state, device, import_torch, seeded, to_tensor
from ..inference import infer_domain
from ..registration import register


@dataclass
class MLPConfig:
    """Settings of :class:`MLPLearner` (overridable in ``configs/tabular.yaml``).

    Attributes
    ----------
    hidden, layers, dropout : int, int, float
        Network: ``layers`` hidden layers of ``hidden`` units.
    lr, weight_decay, batch_size : float, float, int
        Adam and mini-batches.
    first_rows, rows_growth : int, float
        Rows of the first call and their growth factor per call.
    first_epochs, epochs_growth, max_epochs_per_call : int, float, int
        Epochs per call: ``first_epochs`` then multiplied by ``epochs_growth``, capped.
    max_epochs, max_epochs_without_valid : int
        Total epochs before ``done`` (with and without an internal split).
    valid_fraction, min_valid_rows, max_valid_rows, min_rows_for_valid : float or int
        The internal split that picks the best-so-far weights.
    patience_epochs : int
        Epochs without a better split score before ``done`` (all rows read).
    clip : float
        Standardised inputs are clipped to ``[-clip, clip]``.
    max_pos_weight : float
        Cap of the multi-label positive re-weighting.
    max_input_units : int
        Cap on the values per example for non-tabular shapes.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    hidden: int = 256
    layers: int = 2
    dropout: float = 0.1
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 128
    first_rows: int = 500
    rows_growth: float = 2.0
    first_epochs: int = 4
    epochs_growth: float = 2.0
    max_epochs_per_call: int = 64
    max_epochs: int = 1000
    max_epochs_without_valid: int = 200
    valid_fraction: float = 0.1
    min_valid_rows: int = 100
    max_valid_rows: int = 2000
    min_rows_for_valid: int = 1000
    patience_epochs: int = 20
    clip: float = 10.0
    max_pos_weight: float = 10.0
    max_input_units: int = 16384
    device: str = "auto"
    prior_cost_s: float = 0.5


def build_mlp(in_dim: int, out_dim: int, hidden: int, layers: int, dropout: float) -> "Any":
    """``layers`` x (Linear, ReLU, Dropout) then a Linear output layer."""
    import torch.nn as nn

    blocks: list[Any] = []
    width = in_dim
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    blocks.append(nn.Linear(width, out_dim))
    return nn.Sequential(*blocks)


@register("tabular_mlp", domains=("tabular",), default_config=MLPConfig)
class MLPLearner(IncrementalLearner):
    """The 2x256 MLP (see the module docstring)."""

    budget_aware = True  # fit() checks the time between steps and stops within budget_s

    def __init__(self, metadata: Metadata, config: Optional[MLPConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(MLPConfig), seed)
        import_torch()  # import cost paid here, outside the timed fits

        self.output_dim = int(metadata.output_dim)
        self._tabular = infer_domain(metadata) == "tabular"
        shape = metadata.tensor_shape
        self._n_features: Optional[int] = None if -1 in shape else int(np.prod(shape))
        self._plan: Optional[ShapePlan] = None
        self._scaler = Standardizer(self.config.clip)
        self._net: Any = None
        self._best: Optional[dict[str, Any]] = None
        self._best_score = -math.inf
        self._since_best = 0
        self._epochs_total = 0
        self._epoch_budget = int(self.config.first_epochs)
        self._multilabel = False
        self._sec_per_row_epoch: Optional[float] = None
        self._calls = 0
        self._dev = device(self.config.device)
        self._xva: Optional[np.ndarray] = None

    # ------------------------------------------------------------ features
    def _matrix(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._tabular:
            x = flatten_tabular(xs, self._n_features)
            self._n_features = x.shape[1]
            return x
        if self._plan is None:
            self._plan = plan_shape(self.metadata, xs, max_units=self.config.max_input_units)
        rng = np.random.default_rng(self.seed + 1)  # same frame windows on every call
        x = FixedShaper(self._plan, fill_nan=None).transform(xs, rng)
        return x.reshape(len(xs), -1)

    # ------------------------------------------------------------ schedule
    # (rows, prior/measured cost and done: IncrementalLearner's)
    def _measured_cost_s(self, rows: int) -> Optional[float]:
        if self._sec_per_row_epoch is None:
            return None
        return self._sec_per_row_epoch * rows * self._epoch_budget

    # --------------------------------------------------------------- train
    def fit(self, data: TrainData, budget_s: float) -> None:
        start = time.perf_counter()
        rows = self._begin_fit(data, budget_s)
        if rows is None:
            return
        deadline = start + float(budget_s)
        if rows != self._rows or self._net is None:
            xs, y = data.get(rows)
            self._multilabel = bool(data.multilabel) or self.output_dim == 1
            self._prepare(self._matrix(xs), np.asarray(y, np.float32))
        self._train(self._epoch_budget, deadline)
        self._calls += 1
        self._epoch_budget = int(min(self.config.max_epochs_per_call,
                                     math.ceil(self._epoch_budget * self.config.epochs_growth)))
        cfg = self.config
        cap = cfg.max_epochs if self._xva is not None else min(cfg.max_epochs, cfg.max_epochs_without_valid)
        stalled = self._xva is not None and self._since_best >= cfg.patience_epochs
        if self._rows >= self._n_total and (stalled or self._epochs_total >= cap):
            self._done = True

    def _prepare(self, x: np.ndarray, y: np.ndarray) -> None:
        """New rows: refit the scaler, re-split, move tensors to the device (the network is kept)."""
        import torch

        cfg = self.config
        self._rows = len(x)
        if not self._multilabel:
            keep = y.sum(axis=1) > 0
            x, y = x[keep], y[keep]
        self._scaler.fit(x)
        z = self._scaler.transform(x)
        n = len(z)
        order = np.random.default_rng(self.seed).permutation(n)
        n_valid = 0
        if n >= cfg.min_rows_for_valid:
            n_valid = int(np.clip(round(cfg.valid_fraction * n), cfg.min_valid_rows, cfg.max_valid_rows))
        tr, va = order[: n - n_valid], order[n - n_valid :]
        self._xtr, self._ytr = to_tensor(z[tr], self._dev), to_tensor(y[tr], self._dev)
        self._xva, self._yva = (z[va], y[va]) if n_valid else (None, None)
        if self._multilabel:
            pos = y[tr].sum(axis=0)
            weight = np.clip((len(tr) - pos) / np.maximum(pos, 1.0), 1.0, cfg.max_pos_weight)
            self._loss = torch.nn.BCEWithLogitsLoss(pos_weight=to_tensor(weight, self._dev))
        else:
            self._loss = torch.nn.CrossEntropyLoss()  # soft targets: rows normalised below
            self._ytr = self._ytr / self._ytr.sum(dim=1, keepdim=True).clamp_min(1e-12)
        if self._net is None:
            with seeded(self.seed, self._dev):
                self._net = build_mlp(self._scaler.out_dim, self.output_dim, cfg.hidden, cfg.layers,
                                      cfg.dropout).to(self._dev)
            self._opt = torch.optim.Adam(self._net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        # Scores on a new split are not comparable with the old one: start the best over.
        self._best_score, self._since_best = -math.inf, 0
        self._best = cpu_state(self._net)
        if self._xva is not None:
            self._best_score = self._score()

    def _score(self) -> float:
        return validation_nauc(self._yva, self._forward(self._xva))

    def _train(self, epochs: int, deadline: float) -> None:
        import torch

        cfg = self.config
        n = len(self._xtr)
        if n == 0:
            return
        rng = np.random.default_rng(self.seed + 7919 * (self._epochs_total + 1))
        epoch_s: Optional[float] = None
        spent_total, epochs_done = 0.0, 0
        for _ in range(int(epochs)):
            tic = time.perf_counter()
            if epoch_s is not None and tic + epoch_s > deadline:
                break
            self._net.train()
            perm = torch.from_numpy(rng.permutation(n)).to(self._dev)
            with seeded(self.seed + self._epochs_total, self._dev):
                for lo in range(0, n, cfg.batch_size):
                    idx = perm[lo : lo + cfg.batch_size]
                    loss = self._loss(self._net(self._xtr[idx]), self._ytr[idx])
                    self._opt.zero_grad(set_to_none=True)
                    loss.backward()
                    self._opt.step()
                    if time.perf_counter() > deadline:
                        break
            self._epochs_total += 1
            if self._xva is not None:
                score = self._score()
                if score > self._best_score + 1e-6:
                    self._best_score, self._best, self._since_best = score, cpu_state(self._net), 0
                else:
                    self._since_best += 1
            else:
                self._best = None  # no split: predict with the latest weights
            spent = time.perf_counter() - tic
            epoch_s = spent if epoch_s is None else 0.5 * epoch_s + 0.5 * spent
            spent_total, epochs_done = spent_total + spent, epochs_done + 1
            if time.perf_counter() > deadline:
                break
        if epochs_done:
            measured = spent_total / epochs_done / max(1, self._rows)
            old = self._sec_per_row_epoch
            self._sec_per_row_epoch = measured if old is None else 0.5 * old + 0.5 * measured

    # ------------------------------------------------------------- predict
    def _forward(self, z: np.ndarray) -> np.ndarray:
        import torch

        self._net.eval()
        outs = []
        with torch.no_grad():
            for lo in range(0, len(z), 4096):
                logits = self._net(to_tensor(z[lo : lo + 4096], self._dev))
                p = torch.sigmoid(logits) if self._multilabel else torch.softmax(logits, dim=1)
                outs.append(p.float().cpu().numpy())
        return np.concatenate(outs) if outs else np.zeros((0, self.output_dim), np.float32)

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._net is None or len(xs) == 0:
            return np.zeros((len(xs), self.output_dim), np.float32)
        z = self._scaler.transform(self._matrix(xs))
        if self._best is not None:
            latest = cpu_state(self._net)
            self._net.load_state_dict(self._best)
            try:
                p = self._forward(z)
            finally:
                self._net.load_state_dict(latest)
        else:
            p = self._forward(z)
        return np.nan_to_num(p, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32)

    # --------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        if self._net is None:
            return {"version": 1, "fitted": False}
        return {
            "version": 1, "fitted": True, "weights": self._best if self._best is not None else cpu_state(self._net),
            "scaler": self._scaler.state(), "n_features": self._n_features,
            "plan": None if self._plan is None else self._plan.to_dict(), "multilabel": self._multilabel,
            "rows": self._rows, "n_total": self._n_total, "epochs_total": self._epochs_total,
            "epoch_budget": self._epoch_budget, "sec_per_row_epoch": self._sec_per_row_epoch, "done": self._done,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        if not state.get("fitted"):
            return
        cfg = self.config
        self._scaler = Standardizer(cfg.clip).load(state["scaler"])
        self._n_features = None if state["n_features"] is None else int(state["n_features"])
        self._plan = None if state["plan"] is None else ShapePlan.from_dict(state["plan"])
        self._multilabel = bool(state["multilabel"])
        self._net = build_mlp(self._scaler.out_dim, self.output_dim, cfg.hidden, cfg.layers, cfg.dropout).to(self._dev)
        self._net.load_state_dict({k: v.to(self._dev) for k, v in state["weights"].items()})
        self._opt = torch.optim.Adam(self._net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self._best = None
        # The training tensors are not saved: the next fit re-reads its rows.
        self._rows = 0
        self._n_total = state["n_total"]
        self._epochs_total = int(state["epochs_total"])
        self._epoch_budget = int(state["epoch_budget"])
        self._sec_per_row_epoch = state["sec_per_row_epoch"]
        self._done = bool(state["done"])
