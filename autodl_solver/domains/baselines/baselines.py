"""The seed paper's Baselines 0, 1 and 2 (AutoCV section 4.1), usable on every domain.

* **Baseline 0** predicts all zeros once (NAUC 0, hence ALC 0).
* **Baseline 1** is a linear classifier on the flattened input, trained with
  cross-entropy (softmax for multi-class, sigmoid for multi-label) and Adam.
* **Baseline 2** repeats a 3-D convolution (kernel 3, ReLU; 16 filters as in
  the starting kit's code) and a 3-D max-pool (size 2) until the hidden
  layer has fewer than ``max_hidden_units`` (1000) values, then one fully
  connected layer. A kernel or pool never exceeds its axis (a size-1 axis
  is not pooled), so tabular, text and speech shapes work too; an input
  already below 1000 values goes straight to the fully connected layer.

Both trained baselines share the paper's input handling and schedule:

* a variable spatial shape is resized to 112 x 112 (bilinear); a variable
  time axis takes 10 consecutive frames from a random start, for training and
  testing alike (seeded: a prediction is reproducible). Text and speech
  (``row == col == 1``) are instead padded/cropped to the 95th percentile of
  the first rows' lengths — the kit's 10-step crop leaves nothing of a
  waveform or a sentence. Fixed shapes are used as they are, except that an
  example above ``max_input_units`` values is shrunk (``shapes.plan_shape``)
  to bound memory: 2**18 values for Baseline 1, 2**16 for Baseline 2 on CPU
  training. NaN and infinities become 0, as in the kit's code.
* batches of 30 examples; 10 steps in the first call, then the number of
  steps doubles at every call; each call reads only the rows its steps need
  (``steps x 30``), like the kit's streaming pipeline;
* "stop training and predicting when the time budget is not enough for the
  next iteration": ``fit`` sets ``done`` and returns without training when
  ``budget_s`` is below :meth:`next_cost_s` (measured seconds per step times
  the next step count); the engine also refuses such an increment.

Differences from the kit's TensorFlow code, by the brief: the loss is
softmax cross-entropy for multi-class tasks (the kit used sigmoid
cross-entropy everywhere), Baseline 1 flattens the whole input (the kit
summed over the time axis first), and Baseline 2 ends with one fully
connected layer as the paper says (the kit had a 64-unit hidden layer:
``hidden_units: 64`` restores it).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import Learner, TrainData
from ...data.metadata import Metadata
from ..core.shapes import FixedShaper, ShapePlan, available_rows, plan_shape
from ..core.torch_utils import cpu_state, device, import_torch, seeded, to_tensor
from ..registration import register


@register("baseline0", domains=("any",))
class Baseline0(Learner):
    """All-zero predictions; done after its first call."""

    def __init__(self, metadata: Metadata, config: Any = None, seed: int = 0) -> None:
        super().__init__(metadata, config, seed)
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def fit(self, data: TrainData, budget_s: float) -> None:
        if budget_s is not None and budget_s > 0:
            self._done = True  # one single prediction, as the paper's Baseline 0

    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        return np.zeros((len(xs), int(self.metadata.output_dim)), np.float32)

    def next_cost_s(self) -> float:
        return 0.0

    def state_dict(self) -> dict[str, Any]:
        return {"version": 1, "done": self._done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._done = bool(state.get("done", False))


@dataclass
class Baseline1Config:
    """Settings of Baseline 1 (``configs/baselines.yaml`` overrides them).

    Attributes
    ----------
    batch_size, first_steps, steps_growth : int, int, float
        30 examples per step; 10 steps in the first call, doubling per call.
    lr : float
        Adam's learning rate (TensorFlow's default, as in the kit).
    image_size : (int, int)
        Size a variable spatial shape is resized to.
    n_frames : int
        Consecutive random frames taken from a variable time axis (video).
    seq_percentile, max_seq_len : float, int
        Text/speech length: this percentile of the first rows' lengths, capped.
    max_input_units : int
        Examples above this many values are shrunk (``shapes.plan_shape``).
    max_epochs : float, optional
        Passes over the data before ``done`` (the kit stopped after 1; the
        paper names no cap: ``None``).
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    batch_size: int = 30
    first_steps: int = 10
    steps_growth: float = 2.0
    lr: float = 1e-3
    image_size: tuple[int, int] = (112, 112)
    n_frames: int = 10
    seq_percentile: float = 95.0
    max_seq_len: int = 1 << 20
    max_input_units: int = 1 << 18
    max_epochs: Optional[float] = None
    device: str = "auto"
    prior_cost_s: float = 1.0


@dataclass
class Baseline2Config(Baseline1Config):
    """Settings of Baseline 2: Baseline 1's plus the network's.

    Attributes
    ----------
    filters : int
        Channels of every 3-D convolution (16 in the kit).
    max_hidden_units : int
        Convolve and pool until the hidden layer holds fewer values.
    hidden_units, dropout : int, float
        0: one fully connected layer (the paper); > 0: a ReLU layer of this
        size with dropout first (the kit's code used 64 and 0.15).
    """

    max_input_units: int = 1 << 16
    filters: int = 16
    max_hidden_units: int = 1000
    hidden_units: int = 0
    dropout: float = 0.15


class _TorchBaseline(Learner):
    """The shared input handling and doubling schedule of Baselines 1 and 2."""

    budget_aware = True  # fit() checks the time between steps and stops within budget_s

    def __init__(self, metadata: Metadata, config: Any = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(self.default_config), seed)
        import_torch()
        self.output_dim = int(metadata.output_dim)
        self._dev = device(self.config.device)
        self._plan: Optional[ShapePlan] = None
        self._net: Any = None
        self._multilabel = False
        self._steps_next = int(self.config.first_steps)
        self._steps_done = 0
        self._rows = 0
        self._n_total: Optional[int] = None
        self._order = np.zeros(0, np.int64)
        self._pos = 0
        self._passes = 0
        self._sec_per_step: Optional[float] = None
        self._done = False

    def _build_net(self, plan: ShapePlan) -> Any:
        raise NotImplementedError

    def _inputs(self, batch: np.ndarray) -> Any:
        """Network input from ``(n, T, H, W, C)`` float32."""
        return to_tensor(batch, self._dev)

    @property
    def done(self) -> bool:
        return self._done

    def next_cost_s(self) -> float:
        if self._sec_per_step is None:
            return float(self.config.prior_cost_s)
        return float(self._sec_per_step * self._steps_next)

    # --------------------------------------------------------------- train
    def fit(self, data: TrainData, budget_s: float) -> None:
        import torch

        start = time.perf_counter()
        if budget_s is None or budget_s <= 0 or self._done:
            return
        if self._sec_per_step is not None and budget_s < self.next_cost_s():
            self._done = True  # the paper: stop when the next iteration does not fit
            return
        cfg = self.config
        self._n_total = int(data.n_total)
        if self._n_total == 0:
            return
        steps = self._steps_next
        want = (self._steps_done + steps) * cfg.batch_size
        rows = min(max(self._rows, want), self._n_total, available_rows(data))
        xs, y = data.get(rows)
        y = np.asarray(y, np.float32)
        if self._net is None:
            self._multilabel = bool(data.multilabel) or self.output_dim == 1
            self._plan = plan_shape(self.metadata, xs[:1000], tuple(cfg.image_size), cfg.n_frames,
                                    cfg.seq_percentile, cfg.max_seq_len, cfg.max_input_units)
            with seeded(self.seed, self._dev):
                self._net = self._build_net(self._plan).to(self._dev)
            self._opt = torch.optim.Adam(self._net.parameters(), lr=cfg.lr)
        if not self._multilabel:
            keep = np.flatnonzero(y.sum(axis=1) > 0)  # a softmax row needs a class
            xs, y = [xs[i] for i in keep], y[keep] / y[keep].sum(axis=1, keepdims=True)
        if len(xs) != self._rows or len(self._order) == 0:
            self._rows = len(xs)
            self._order = np.random.default_rng([self.seed, self._rows]).permutation(self._rows)
            self._pos = 0
        if self._rows == 0:
            return
        shaper = FixedShaper(self._plan, fill_nan=0.0)
        loss_fn = torch.nn.BCEWithLogitsLoss() if self._multilabel else torch.nn.CrossEntropyLoss()
        rng = np.random.default_rng(self.seed + 1 + self._steps_done)
        deadline = start + float(budget_s)
        self._net.train()
        tic, done_steps, step_s = time.perf_counter(), 0, None
        with seeded(self.seed + self._steps_done, self._dev):
            for _ in range(steps):
                now = time.perf_counter()
                if step_s is not None and now + step_s > deadline:
                    break
                idx = self._next_batch(cfg.batch_size)
                batch = self._inputs(shaper.transform([xs[i] for i in idx], rng))
                loss = loss_fn(self._net(batch), to_tensor(y[idx], self._dev))
                self._opt.zero_grad(set_to_none=True)
                loss.backward()
                self._opt.step()
                done_steps += 1
                spent = time.perf_counter() - now
                step_s = spent if step_s is None else 0.8 * step_s + 0.2 * spent
        self._steps_done += done_steps
        if done_steps:
            measured = (time.perf_counter() - tic) / done_steps
            old = self._sec_per_step
            self._sec_per_step = measured if old is None else 0.5 * old + 0.5 * measured
        self._steps_next = int(math.ceil(steps * cfg.steps_growth))
        if cfg.max_epochs is not None and self._steps_done * cfg.batch_size >= cfg.max_epochs * self._n_total:
            self._done = True

    def _next_batch(self, size: int) -> np.ndarray:
        """The next ``size`` rows of a seeded shuffle, reshuffled at the end of every pass."""
        out = []
        while len(out) < size:
            if self._pos >= len(self._order):
                self._passes += 1
                self._order = np.random.default_rng([self.seed, self._passes]).permutation(self._rows)
                self._pos = 0
            take = self._order[self._pos : self._pos + size - len(out)]
            self._pos += len(take)
            out.extend(take.tolist())
            if self._rows < size and len(out) >= self._rows:
                break  # fewer rows than a batch: one pass is the batch
        return np.asarray(out, np.int64)

    # ------------------------------------------------------------- predict
    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        n = len(xs)
        if self._net is None or n == 0:
            return np.zeros((n, self.output_dim), np.float32)
        shaper = FixedShaper(self._plan, fill_nan=0.0)
        rng = np.random.default_rng(self.seed + 2)  # the same frame windows at every prediction
        self._net.eval()
        outs = []
        chunk = max(1, min(1024, (1 << 24) // max(1, self._plan.units)))
        with torch.no_grad():
            for lo in range(0, n, chunk):
                logits = self._net(self._inputs(shaper.transform(xs[lo : lo + chunk], rng)))
                p = torch.sigmoid(logits) if self._multilabel else torch.softmax(logits, dim=1)
                outs.append(p.float().cpu().numpy())
        return np.nan_to_num(np.concatenate(outs), nan=0.0).astype(np.float32)

    # --------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        if self._net is None:
            return {"version": 1, "fitted": False}
        return {"version": 1, "fitted": True, "weights": cpu_state(self._net), "plan": self._plan.to_dict(),
                "multilabel": self._multilabel, "steps_done": self._steps_done, "steps_next": self._steps_next,
                "sec_per_step": self._sec_per_step, "done": self._done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        import torch

        if not state.get("fitted"):
            return
        self._plan = ShapePlan.from_dict(state["plan"])
        self._multilabel = bool(state["multilabel"])
        self._net = self._build_net(self._plan).to(self._dev)
        self._net.load_state_dict({k: v.to(self._dev) for k, v in state["weights"].items()})
        self._opt = torch.optim.Adam(self._net.parameters(), lr=self.config.lr)
        self._steps_done, self._steps_next = int(state["steps_done"]), int(state["steps_next"])
        self._sec_per_step = state["sec_per_step"]
        self._done = bool(state["done"])


@register("baseline1", domains=("any",), default_config=Baseline1Config)
class Baseline1(_TorchBaseline):
    """Linear classifier on the flattened fixed-shape input (see the module docstring)."""

    def _build_net(self, plan: ShapePlan) -> Any:
        import torch.nn as nn

        return nn.Sequential(nn.Flatten(), nn.Linear(plan.units, self.output_dim))


def conv3d_stack(in_shape: tuple[int, int, int, int], out_dim: int, filters: int = 16,
                 max_hidden_units: int = 1000, hidden_units: int = 0, dropout: float = 0.15) -> Any:
    """Baseline 2's network for inputs ``(channels, time, rows, cols)``.

    Conv3d (kernel ``min(3, axis)``, valid padding) + ReLU + MaxPool3d
    (``min(2, axis)``) until ``filters x T x H x W < max_hidden_units`` (not
    at all when the input is already below it), then a linear layer (or a
    ``hidden_units`` ReLU layer with dropout first, as in the kit's code).
    """
    import torch.nn as nn

    c, t, h, w = (int(v) for v in in_shape)
    layers: list[Any] = []
    while c * t * h * w >= max_hidden_units and (t, h, w) != (1, 1, 1):
        kernel = (min(3, t), min(3, h), min(3, w))
        layers += [nn.Conv3d(c, filters, kernel), nn.ReLU()]
        c, t, h, w = filters, t - kernel[0] + 1, h - kernel[1] + 1, w - kernel[2] + 1
        pool = (min(2, t), min(2, h), min(2, w))
        layers.append(nn.MaxPool3d(pool, stride=pool))
        t, h, w = t // pool[0], h // pool[1], w // pool[2]
    layers.append(nn.Flatten())
    units = c * t * h * w
    if hidden_units > 0:
        layers += [nn.Linear(units, hidden_units), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_units, out_dim)]
    else:
        layers.append(nn.Linear(units, out_dim))
    return nn.Sequential(*layers)


@register("baseline2", domains=("any",), default_config=Baseline2Config)
class Baseline2(_TorchBaseline):
    """3-D CNN sized by the input shape (see the module docstring)."""

    def _build_net(self, plan: ShapePlan) -> Any:
        cfg = self.config
        return conv3d_stack((plan.channels, plan.time, plan.rows, plan.cols), self.output_dim, cfg.filters,
                            cfg.max_hidden_units, cfg.hidden_units, cfg.dropout)

    def _inputs(self, batch: np.ndarray) -> Any:
        # (n, T, H, W, C) -> (n, C, T, H, W), torch's Conv3d layout
        return to_tensor(np.ascontiguousarray(batch.transpose(0, 4, 1, 2, 3)), self._dev)
