"""Any-time training of a torch vision network: the shared base of the image and video learners.

Subclasses only build the network (:meth:`VisionNetLearner.build_network`,
mapping ``(n, frames, channels, height, width)`` to logits); this base does
the rest, following AutoCLINT (``docs/winners.md`` §2.1) where it measured
well on this CPU:

* **Input**: planned once from the first rows (:mod:`.vision_input`); the
  training prefix and the test set are converted once and cached (on the GPU
  when training there).
* **Increments**: call ``k`` trains ``first_steps * steps_growth**k`` SGD
  steps (capped at ``max_steps_per_call``) on the rows the engine's window
  allows, growing like the seed's doubling schedule; it stops early at its
  budget. ``next_cost_s`` is the measured seconds per step times the next
  step count, plus the validation pass and the conversion of new rows.
* **Best checkpoint**: after each call the network is scored on the
  engine's hold-out (``data.validation()`` when the pool has one); only a
  score at least as good replaces the weights used by :meth:`predict` (a tie
  too: on a saturated hold-out the network trained further is the better
  bet; the engine then sees the same score when it validates: the prediction
  is cached). A drop
  of more than ``divergence_drop`` below the best reloads the best weights and
  divides the learning rate by 4 (DeepWisdom's divergence guard); a call
  without improvement halves it (down to ``min_lr_ratio``).
* **Loss**: softmax cross-entropy with square-root-balanced class weights
  (rows without a positive are skipped) for multi-class; BCE-with-logits with
  ``pos_weight = min(negatives / positives, max_pos_weight)`` for multi-label.
* **Optimiser**: SGD with Nesterov momentum and weight decay (``optimizer:
  sgd``, for the pretrained and ResNet backbones, as AutoCLINT) or Adam
  (``adam``, for small networks trained from scratch, as the seed's
  baselines); the learning rate scaled by ``batch_size / 32`` and warmed up
  linearly over ``warmup_steps``.
* **Flip**: random horizontal flips in training and flip test-time
  augmentation (mean of the two predictions) when ``flip`` is on —
  ``"auto"`` means on for colour images (natural photos are mirror
  symmetric; digits and letters are not).
* **Device**: CUDA when present, with mixed precision (``torch.autocast``
  fp16 + GradScaler) and pinned-memory transfers; CPU otherwise, with the
  caller's thread count.
* **Done** when every row is in and ``patience_calls`` calls in a row did not
  improve the hold-out score, or after ``max_epochs`` passes over the data
  (and at least ``min_steps`` steps).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import TrainData
from ...anytime.validation import validation_nauc
from ...data.metadata import Metadata
from .feature_cache import same_examples
from .incremental import IncrementalLearner
from .shapes import next_row_count
from .torch_utils import cpu_state, device, import_torch, seeded
from .vision_input import TensorCache, VisionPlan, make_plan


@dataclass
class VisionNetConfig:
    """Settings shared by the torch image and video learners (``configs/image.yaml`` / ``video.yaml``).

    Attributes
    ----------
    backbone : str
        Architecture name (see :mod:`~autodl_solver.domains.vision.vision_backbones`).
    pretrained : bool
        Use pretrained weights when they resolve offline.
    weights_path : str, optional
        Explicit checkpoint for the backbone.
    max_side, max_side_cuda : int, int
        Cap of the longest image side on CPU / on CUDA.
    max_side_wide : int
        The cap when the aspect ratio is above 2.
    min_side : int
        Shorter sides are upsampled to this.
    max_frames : int
        Frames kept per video (ignored for images).
    batch_size : int
        Examples per SGD step.
    optimizer : str
        ``"sgd"`` (Nesterov momentum) or ``"adam"``.
    lr, momentum, weight_decay : float
        ``lr`` is for batches of 32 (scaled linearly); ``momentum`` is SGD's.
    warmup_steps : int
        Linear learning-rate warm-up.
    first_rows, rows_growth : int, float
        Rows of the first call and their growth per call (within the engine's window).
    first_steps, steps_growth, max_steps_per_call : int, float, int
        SGD steps per call: AutoCLINT's 30-step "epoch", doubling, capped.
    flip : str
        ``"auto"``, ``"on"`` or ``"off"``: flip augmentation and flip test-time augmentation.
    divergence_drop, min_lr_ratio : float, float
        The divergence guard's drop and the learning-rate floor (ratio of ``lr``).
    patience_calls, max_epochs, min_steps : int, float, int
        When the learner is done (see the module docstring); ``max_epochs``
        only counts after ``min_steps`` steps (a 20-image set is 60 epochs
        after 30 steps).
    max_pos_weight : float
        Cap of the multi-label positive weights.
    eval_batch_size : int
        Examples per prediction batch.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    amp : bool
        Mixed precision on CUDA.
    prior_step_s : float
        Guess of seconds per step before any was measured (admission control).
    """

    backbone: str = "resnet18"
    pretrained: bool = True
    weights_path: Optional[str] = None
    max_side: int = 64
    max_side_cuda: int = 128
    max_side_wide: int = 128
    min_side: int = 32
    max_frames: int = 8
    batch_size: int = 32
    lr: float = 0.025
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 2.5e-4
    warmup_steps: int = 60
    first_rows: int = 500
    rows_growth: float = 2.0
    first_steps: int = 30
    steps_growth: float = 2.0
    max_steps_per_call: int = 480
    flip: str = "auto"
    divergence_drop: float = 0.1
    min_lr_ratio: float = 0.01
    patience_calls: int = 4
    max_epochs: float = 60.0
    min_steps: int = 500
    max_pos_weight: float = 10.0
    eval_batch_size: int = 128
    device: str = "auto"
    amp: bool = True
    prior_step_s: float = 0.3


class VisionNetLearner(IncrementalLearner):
    """Base of the torch image/video learners (see the module docstring); subclasses build the network."""

    budget_aware = True  # fit() checks the time between steps and stops within budget_s

    #: Whether examples are videos (frames kept) or images (first frame).
    video: bool = False

    def __init__(self, metadata: Metadata, config: Optional[VisionNetConfig] = None, seed: int = 0) -> None:
        # the registered subclass's own config class (video and image defaults differ)
        super().__init__(metadata, config or self._default_config(self.default_config or VisionNetConfig), seed)
        import_torch()  # torch and its optimiser imports are paid here, off the clock
        cfg = self.config
        self.output_dim = int(metadata.output_dim)
        self._dev = device(cfg.device)
        channels = metadata.tensor_shape[3]
        self._channels = int(channels) if channels and channels > 0 else 3
        with seeded(seed, self._dev):
            # built in the constructor (not timed by the protocol): weights load before the clock starts
            self.net, self.weights_source = self.build_network(self._channels)
        self.net.to(self._dev)
        self._eval_net: Optional[Any] = None
        self._plan: Optional[VisionPlan] = None
        self._cache: Optional[TensorCache] = None
        self._opt: Optional[Any] = None
        self._scaler: Optional[Any] = None
        self._loss: Optional[Any] = None
        self._rng = np.random.default_rng(seed)
        self._n_total = 0  # not None: next_cost_s reads ``self._n_total or first_rows``
        self._calls = 0
        self._steps_done = 0
        self._next_steps = int(cfg.first_steps)
        self._lr_scale = 1.0
        self._step_s: Optional[float] = None
        self._val_s = 0.0
        self._convert_s_per_row = 0.0
        self._best: float = -math.inf
        self._stall = 0
        self._val_cache: Optional[tuple[Sequence[np.ndarray], np.ndarray]] = None
        self._multilabel = False

    # ----------------------------------------------------------- subclass API
    def build_network(self, channels: int) -> tuple[Any, str]:
        """``(module mapping (n, F, C, H, W) -> (n, output_dim) logits, weights source)``."""
        raise NotImplementedError

    def max_side(self) -> int:
        """Longest image side for this device."""
        return self.config.max_side_cuda if self._dev.type == "cuda" else self.config.max_side

    @property
    def flip(self) -> bool:
        """Whether flip augmentation and flip TTA are used."""
        mode = self.config.flip
        return mode == "on" or (mode == "auto" and self._channels == 3)

    # ---------------------------------------------------------------- fit (rows, done: IncrementalLearner's)
    def fit(self, data: TrainData, budget_s: float) -> None:
        start = time.perf_counter()
        rows = self._begin_fit(data, budget_s)
        if rows is None:
            return
        deadline = start + float(budget_s)
        cfg = self.config
        xs, y = data.get(rows)
        if self._opt is None:  # first fit, or the first one after load_state_dict (plan kept)
            self._setup(xs, data)
        tic = time.perf_counter()
        x_train = self._cache.train_prefix(xs)
        if len(xs) > self._rows:
            self._convert_s_per_row = (time.perf_counter() - tic) / max(1, len(xs) - self._rows)
        self._rows = len(xs)
        y_train = self._labels_tensor(np.asarray(y, np.float32))
        self._train_steps(x_train, y_train, self._next_steps, deadline - self._val_s)
        self._calls += 1
        self._next_steps = int(min(cfg.max_steps_per_call, math.ceil(self._next_steps * cfg.steps_growth)))
        self._checkpoint(data)
        epochs = self._steps_done * cfg.batch_size / max(1, self._n_total)
        trained_enough = epochs >= cfg.max_epochs and self._steps_done >= cfg.min_steps
        if self._rows >= self._n_total and (self._stall >= cfg.patience_calls or trained_enough):
            self._done = True

    def next_cost_s(self) -> float:
        step = self._step_s if self._step_s is not None else self.config.prior_step_s
        new_rows = max(0, min(self._n_total or self.config.first_rows,
                              next_row_count(self._rows, self._n_total or 10**9, self.config.first_rows,
                                             self.config.rows_growth)) - self._rows)
        return step * self._next_steps + self._val_s + new_rows * self._convert_s_per_row

    def _setup(self, xs: Sequence[np.ndarray], data: TrainData) -> None:
        import torch

        cfg = self.config
        if self._plan is None:
            self._plan = make_plan(self.metadata, xs, max_frames=cfg.max_frames if self.video else 1,
                                   max_side=self.max_side(), max_side_wide=cfg.max_side_wide,
                                   min_side=cfg.min_side)
            self._cache = TensorCache(self._plan, self._dev)
        self._multilabel = bool(data.multilabel) or self.output_dim == 1
        if cfg.optimizer == "adam":
            self._opt = torch.optim.Adam(self.net.parameters(), lr=self._lr(), weight_decay=cfg.weight_decay)
        elif cfg.optimizer == "sgd":
            self._opt = torch.optim.SGD(self.net.parameters(), lr=self._lr(), momentum=cfg.momentum, nesterov=True,
                                        weight_decay=cfg.weight_decay)
        else:
            from ...errors import AutoDLInputError

            raise AutoDLInputError("optimizer", f"got {cfg.optimizer!r}, expected 'sgd' or 'adam'")
        if self._dev.type == "cuda" and cfg.amp:
            self._scaler = torch.amp.GradScaler("cuda")

    def _lr(self) -> float:
        cfg = self.config
        warm = min(1.0, (self._steps_done + 1) / max(1, cfg.warmup_steps))
        return cfg.lr * cfg.batch_size / 32 * self._lr_scale * warm

    def _labels_tensor(self, y: np.ndarray) -> Any:
        """Labels on the device, and the loss re-weighted for the rows seen."""
        import torch

        cfg = self.config
        pos = y.sum(axis=0)
        if self._multilabel:
            weight = np.clip((len(y) - pos) / np.maximum(pos, 1.0), 1.0, cfg.max_pos_weight)
            self._loss = torch.nn.BCEWithLogitsLoss(pos_weight=torch.as_tensor(weight, dtype=torch.float32,
                                                                                device=self._dev))
        else:
            weight = np.sqrt(pos.mean() / np.maximum(pos, 1.0)) * (pos > 0)
            self._loss = torch.nn.CrossEntropyLoss(weight=torch.as_tensor(weight / max(weight.max(), 1e-6),
                                                                          dtype=torch.float32, device=self._dev))
        return torch.as_tensor(y, dtype=torch.float32, device=self._dev)

    def _train_steps(self, x: Any, y: Any, steps: int, deadline: float) -> None:
        import torch

        cfg = self.config
        usable = torch.ones(len(y), dtype=torch.bool, device=y.device) if self._multilabel else y.sum(1) > 0
        index = torch.nonzero(usable).flatten().cpu().numpy()
        if len(index) == 0:
            return
        self.net.train()
        gen = self._rng
        tic, done = time.perf_counter(), 0
        amp = self._scaler is not None
        with seeded(self.seed + self._steps_done, self._dev):
            for _ in range(steps):
                if done and time.perf_counter() + (self._step_s or 0.0) > deadline:
                    break
                # at least 2 rows: batch norm cannot train on a single pooled value per channel
                size = max(2, min(cfg.batch_size, len(index)))
                batch = torch.as_tensor(gen.choice(index, size=size, replace=len(index) < size), device=x.device)
                xb, yb = x[batch], y[batch]
                if self.flip:
                    flip = torch.as_tensor(gen.random(len(batch)) < 0.5, device=x.device)
                    xb = torch.where(flip.view(-1, 1, 1, 1, 1), xb.flip(-1), xb)
                for group in self._opt.param_groups:
                    group["lr"] = self._lr()
                with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                    logits = self.net(xb)
                    target = yb if self._multilabel else yb.argmax(1)
                    loss = self._loss(logits.float(), target)
                self._opt.zero_grad(set_to_none=True)
                if amp:
                    self._scaler.scale(loss).backward()
                    self._scaler.step(self._opt)
                    self._scaler.update()
                else:
                    loss.backward()
                    self._opt.step()
                done += 1
                self._steps_done += 1
        if done:
            self._step_s = (time.perf_counter() - tic) / done

    # -------------------------------------------------------- checkpointing
    def _checkpoint(self, data: TrainData) -> None:
        """Score on the hold-out; keep the weights only when they tie or beat the best (see the module docstring)."""
        val = data.validation() if getattr(data, "has_holdout", False) and hasattr(data, "validation") else None
        if val is None:  # no hold-out: the latest weights are the model
            self._eval_net = None
            self._val_cache = None
            return
        xs, y = val
        tic = time.perf_counter()
        pred = self._predict_with(self.net, xs)
        self._val_s = time.perf_counter() - tic
        score = validation_nauc(np.asarray(y, np.float32), pred)
        cfg = self.config
        improved = score > self._best + 1e-4
        if score >= self._best:
            # a tie takes the new weights too: on a saturated hold-out (NAUC 1.0) the network trained
            # further is the better bet, and the first round's weights would be kept for good
            if self._eval_net is None:
                self._eval_net = copy.deepcopy(self.net)
            else:
                self._eval_net.load_state_dict(self.net.state_dict())
            self._val_cache = (xs, pred)
        if improved:
            self._best, self._stall = score, 0
            return
        self._stall += 1
        if self._eval_net is not None and score < self._best - cfg.divergence_drop:
            self.net.load_state_dict(self._eval_net.state_dict())  # diverged: back to the best weights
            self._opt.state.clear()  # and drop the diverged run's momentum, which would push back there
            self._lr_scale = max(cfg.min_lr_ratio, self._lr_scale / 4)
        else:
            self._lr_scale = max(cfg.min_lr_ratio, self._lr_scale / 2)

    # ------------------------------------------------------------ predict
    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        if self._plan is None:
            raise RuntimeError(f"{self.name or type(self).__name__}: predict() before fit()")
        if self._val_cache is not None and same_examples(self._val_cache[0], xs):
            return self._val_cache[1].copy()
        return self._predict_with(self._eval_net if self._eval_net is not None else self.net, xs)

    def _predict_with(self, net: Any, xs: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        if len(xs) == 0:
            return np.zeros((0, self.output_dim), np.float32)
        x = self._cache.fixed(xs)
        net.eval()
        outs = []
        amp = self._dev.type == "cuda" and self.config.amp
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            for lo in range(0, len(x), self.config.eval_batch_size):
                xb = x[lo:lo + self.config.eval_batch_size]
                prob = self._probabilities(net(xb).float())
                if self.flip:
                    prob = (prob + self._probabilities(net(xb.flip(-1)).float())) / 2
                outs.append(prob.cpu())
        out = torch.cat(outs).numpy().astype(np.float32)
        return np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0)

    def _probabilities(self, logits: Any) -> Any:
        import torch

        return torch.sigmoid(logits) if self._multilabel else torch.softmax(logits, dim=1)

    # ---------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        if self._plan is None:
            return {"version": 1, "fitted": False}
        net = self._eval_net if self._eval_net is not None else self.net
        return {"version": 1, "fitted": True, "plan": self._plan.to_dict(), "net": cpu_state(net),
                "multilabel": self._multilabel, "best": float(self._best), "done": self._done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        self._plan = VisionPlan.from_dict(state["plan"])
        self._cache = TensorCache(self._plan, self._dev)
        self.net.load_state_dict({k: v.to(self._dev) for k, v in state["net"].items()})
        self._eval_net, self._val_cache = None, None
        self._multilabel = bool(state["multilabel"])
        self._best = float(state["best"])
        self._done = bool(state["done"])
