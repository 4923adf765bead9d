"""The seed paper's AutoSpeech baseline (section 4.3): MFCC features and a CNN sized by them.

The paper: "Features are extracted on each dataset using MFCC, with shape
padding. We then apply a CNN backbone model on the extracted preprocessed
features, automatically adapting the number of layers according to the number
of features. We train only one iteration or perform early stopping at
convergence." The AutoSpeech 2019 starting kit's ``model.py`` (Keras) gives
the details this module follows:

* **Features**: ``librosa.feature.mfcc`` with 13 coefficients and librosa's
  framing defaults (``n_fft`` 2048, hop 512) at the metadata's sample rate
  (16 kHz when unknown), one clip at a time, as ``(frames, 13)``.
* **Shape padding**: every clip is zero-padded at the end (or cut) to the
  frame count of the longest training clip of the first fit — the kit's
  ``pad_sequences(maxlen=max_len, padding='post')`` — capped at
  ``max_frames`` so that clips of several minutes cannot blow up memory.
* **CNN**: the ``(frames, 13)`` matrix is a one-channel image. Blocks of
  Conv2d(64, 3x3, same) + ReLU + BatchNorm + MaxPool(2x2) are added, up to
  ``max_blocks`` (5), halving ``min(frames, n_mfcc)`` each time and stopping
  after the block that brings it below 2 (the kit's ``min_size`` rule); then
  Flatten, Dense(64), Dropout(0.5), ReLU, Dense(classes) with softmax
  (sigmoid for multi-label data). A pooling window never exceeds its axis.
* **Training**: SGD, learning rate 0.01 with Keras' time decay
  ``lr / (1 + 1e-6 * steps)``, batches of 32, cross-entropy; early stopping
  on the loss of a 10 % validation split with patience 10, at most 100
  epochs.

Any-time protocol (the engine runs it as its own method, like Baseline 1):
each :meth:`AutoSpeechBaseline.fit` call reads every row the engine's window
allows, extracts the MFCCs of the new rows (for at most half its budget; the
rest wait for the next call), and trains **one epoch** over the training rows
whose features are ready (a partial epoch resumes in the next call when the
budget runs out; new rows start a new epoch). Every row is assigned to the internal validation split
with probability ``val_fraction`` (seeded, stable as rows grow); at the end
of each epoch the validation loss drives early stopping. New rows mean a new
problem, so the patience count restarts when rows are added. ``done`` is set
once every row is in and the loss has not improved for ``patience`` epochs,
or after ``max_epochs`` epochs.

Choices where the kit is silent or unusable here, all in the config:
predictions are class probabilities (the kit emitted one-hot
``predict_classes``, which wastes the ranking AUC scores); predictions use
the latest weights (as the kit, which kept the weights at the end of training
— ``predict_best`` uses the best-validation epoch's instead); the padded
length comes from the rows of the first call, not the whole training set; sets too small
for ``min_val_rows`` validation rows monitor the training loss; NaN/inf
samples become 0; clips shorter than ``n_fft`` are zero-padded to it (librosa
warns otherwise). librosa's numba JIT is warmed up in the constructor (the
protocol does not time it).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import Learner, TrainData
from ...data.metadata import Metadata
from ..core.shapes import available_rows
from ..core.torch_utils import cpu_state, device, import_torch, seeded, to_tensor
from ..registration import register


@dataclass
class AutoSpeechBaselineConfig:
    """Settings of the AutoSpeech baseline (``configs/speech.yaml`` overrides them).

    Attributes
    ----------
    n_mfcc, n_fft, hop_length : int
        MFCC coefficients and librosa's framing (the kit's values).
    max_frames : int
        Cap of the padded frame count (about 32 s at 16 kHz with hop 512).
    max_blocks, filters, kernel : int
        Conv blocks at most, channels and kernel size of every convolution.
    dense_units, dropout : int, float
        The hidden dense layer and its dropout.
    lr, lr_decay, momentum : float
        SGD learning rate, Keras time decay per step, momentum (Keras' 0).
    batch_size : int
        Examples per SGD step.
    val_fraction, min_val_rows : float, int
        Share of rows held out for early stopping; fewer validation rows than
        ``min_val_rows`` means the training loss is monitored instead.
    patience, max_epochs : int
        Early stopping: epochs without a better loss, and the epoch cap.
    min_delta : float
        Smallest loss decrease that counts as an improvement (Keras' 0).
    predict_best : bool
        Predict with the best-validation epoch's weights instead of the latest.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    prior_cost_s : float
        ``next_cost_s()`` before anything was measured.
    """

    n_mfcc: int = 13
    n_fft: int = 2048
    hop_length: int = 512
    max_frames: int = 1000
    max_blocks: int = 5
    filters: int = 64
    kernel: int = 3
    dense_units: int = 64
    dropout: float = 0.5
    lr: float = 0.01
    lr_decay: float = 1e-6
    momentum: float = 0.0
    batch_size: int = 32
    val_fraction: float = 0.1
    min_val_rows: int = 5
    patience: int = 10
    max_epochs: int = 100
    min_delta: float = 0.0
    predict_best: bool = False
    device: str = "auto"
    prior_cost_s: float = 1.0


# ------------------------------------------------------------------ features
def clip_mfcc(x: np.ndarray, sample_rate: int, cfg: AutoSpeechBaselineConfig) -> np.ndarray:
    """MFCC ``(frames, n_mfcc)`` float32 of one example (any shape, flattened to a waveform).

    NaN/inf become 0; the waveform is cut to what ``max_frames`` frames cover
    (bounded cost for long clips) and zero-padded to ``n_fft`` samples.
    """
    import librosa

    wave = np.nan_to_num(np.asarray(x, np.float32).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
    wave = wave[: (cfg.max_frames - 1) * cfg.hop_length]
    if len(wave) < cfg.n_fft:
        wave = np.pad(wave, (0, cfg.n_fft - len(wave)))
    m = librosa.feature.mfcc(y=wave, sr=sample_rate, n_mfcc=cfg.n_mfcc, n_fft=cfg.n_fft, hop_length=cfg.hop_length)
    return np.nan_to_num(m.T, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def mfcc_frames(n_samples: int, cfg: AutoSpeechBaselineConfig) -> int:
    """Frames :func:`clip_mfcc` gives for ``n_samples`` samples (librosa's centred framing), without computing it."""
    kept = min(n_samples, (cfg.max_frames - 1) * cfg.hop_length)
    return min(cfg.max_frames, 1 + max(cfg.n_fft, kept) // cfg.hop_length)


def pad_frames(m: np.ndarray, length: int) -> np.ndarray:
    """``m`` zero-padded at the end or cut to ``length`` frames (the kit's ``padding='post'``)."""
    if len(m) >= length:
        return m[:length]
    return np.pad(m, ((0, length - len(m)), (0, 0)))


def mfcc_cnn(frames: int, n_mfcc: int, out_dim: int, cfg: AutoSpeechBaselineConfig) -> Any:
    """The kit's CNN for one-channel ``(frames, n_mfcc)`` inputs (see the module docstring)."""
    import torch.nn as nn

    layers: list[Any] = []
    h, w, channels = int(frames), int(n_mfcc), 1
    min_size = min(h, w)
    for _ in range(int(cfg.max_blocks)):
        pool = (min(2, h), min(2, w))
        layers += [nn.Conv2d(channels, cfg.filters, cfg.kernel, padding="same"), nn.ReLU(),
                   nn.BatchNorm2d(cfg.filters), nn.MaxPool2d(pool)]
        channels, h, w = cfg.filters, h // pool[0], w // pool[1]
        min_size //= 2
        if min_size < 2:
            break
    layers += [nn.Flatten(), nn.Linear(channels * h * w, cfg.dense_units), nn.Dropout(cfg.dropout), nn.ReLU(),
               nn.Linear(cfg.dense_units, out_dim)]
    return nn.Sequential(*layers)


@register("autospeech_baseline", domains=("speech",), default_config=AutoSpeechBaselineConfig)
class AutoSpeechBaseline(Learner):
    """MFCC + adaptive-depth CNN, one epoch per ``fit`` with early stopping (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[AutoSpeechBaselineConfig] = None, seed: int = 0) -> None:
        super().__init__(metadata, config or self._default_config(AutoSpeechBaselineConfig), seed)
        import_torch()
        cfg = self.config
        self.output_dim = int(metadata.output_dim)
        self.sample_rate = int(metadata.effective_sample_rate)
        self._dev = device(cfg.device)
        # librosa's numba JIT costs seconds on the first call: pay it here, off the clock
        clip_mfcc(np.zeros(cfg.n_fft, np.float32), self.sample_rate, cfg)
        self._net: Any = None
        self._best_net: Any = None
        self._opt: Any = None
        self._frames = 0
        self._multilabel = False
        self._n_total = 0
        self._is_val = np.zeros(0, bool)
        self._feats: list[np.ndarray] = []  # padded MFCCs of the training rows read, in order
        self._arrays: list[np.ndarray] = []  # the rows themselves (the pool's cache, not copies)
        self._index: dict[int, int] = {}  # id(row array) -> position, to reuse features in predict
        self._train_idx = np.zeros(0, np.int64)
        self._val_idx = np.zeros(0, np.int64)
        self._order = np.zeros(0, np.int64)
        self._pos = 0
        self._epochs = 0
        self._steps = 0
        self._best_loss = math.inf
        self._stall = 0
        self._done = False
        self._row_s: Optional[float] = None  # seconds per trained row
        self._feat_s = 0.0  # seconds of feature extraction per row
        self._val_s = 0.0
        self._test_feats: Optional[tuple[list[np.ndarray], list[np.ndarray]]] = None  # last other set predicted

    @property
    def done(self) -> bool:
        return self._done

    def next_cost_s(self) -> float:
        if self._row_s is None:
            return float(self.config.prior_cost_s)
        rows = len(self._feats)
        new = max(0, min(self._n_total, 2 * rows) - rows)  # the engine's window about doubles per round
        # new rows restart the epoch over every row; otherwise the current epoch goes on
        left = len(self._train_idx) + new if new else len(self._train_idx) - self._pos
        return float(self._row_s * left + self._feat_s * new + self._val_s)

    # ------------------------------------------------------------------ fit
    def fit(self, data: TrainData, budget_s: float) -> None:
        start = time.perf_counter()
        if budget_s is None or budget_s <= 0 or self._done:
            return
        self._n_total = int(data.n_total)
        if self._n_total == 0:
            return
        xs, y = data.get(min(self._n_total, available_rows(data)))
        y = np.asarray(y, np.float32)
        if self._opt is None:
            self._setup(xs, data)
        if len(xs) > len(self._feats):
            # at most half the budget for new features; rows left out are taken in the next call
            self._add_rows(xs, y, start + 0.5 * float(budget_s))
        if len(self._train_idx) == 0:
            return
        self._train(y, start + float(budget_s))
        if self._pos >= len(self._train_idx):  # a whole epoch: validate, early stopping, reshuffle
            self._end_epoch(y)
        cfg = self.config
        if len(self._feats) >= self._n_total and (self._stall >= cfg.patience or self._epochs >= cfg.max_epochs):
            self._done = True

    def _setup(self, xs: Sequence[np.ndarray], data: TrainData) -> None:
        import torch

        cfg = self.config
        self._multilabel = bool(data.multilabel) or self.output_dim == 1
        if self._net is None:  # else restored by load_state_dict: keep its weights and frame count
            self._frames = max(mfcc_frames(int(np.size(x)), cfg) for x in xs)
            with seeded(self.seed, self._dev):
                self._net = mfcc_cnn(self._frames, cfg.n_mfcc, self.output_dim, cfg).to(self._dev)
        self._opt = torch.optim.SGD(self._net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        self._is_val = np.random.default_rng([self.seed, 7]).random(self._n_total) < cfg.val_fraction

    def _add_rows(self, xs: Sequence[np.ndarray], y: np.ndarray, deadline: float) -> None:
        tic, old = time.perf_counter(), len(self._feats)
        for x in xs[old:]:
            if len(self._feats) > old and time.perf_counter() > deadline:
                break
            self._index[id(x)] = len(self._arrays)
            self._arrays.append(x)
            self._feats.append(pad_frames(clip_mfcc(x, self.sample_rate, self.config), self._frames))
        self._feat_s = (time.perf_counter() - tic) / (len(self._feats) - old)
        n = len(self._feats)
        usable = np.ones(n, bool) if self._multilabel else y[:n].sum(axis=1) > 0  # softmax rows need a class
        is_val = self._is_val[:n] if len(self._is_val) >= n else np.zeros(n, bool)
        val = np.flatnonzero(usable & is_val)
        if len(val) < self.config.min_val_rows:
            val = np.zeros(0, np.int64)  # too few to mean anything: monitor the training loss
        self._val_idx = val
        self._train_idx = np.setdiff1d(np.flatnonzero(usable), val)
        self._pos = 0
        self._new_order()
        self._best_loss, self._stall = math.inf, 0  # new rows, new problem: early stopping restarts

    def _new_order(self) -> None:
        rng = np.random.default_rng([self.seed, self._epochs, len(self._feats)])
        self._order = self._train_idx[rng.permutation(len(self._train_idx))]

    def _loss_fn(self) -> Any:
        import torch

        return torch.nn.BCEWithLogitsLoss() if self._multilabel else torch.nn.CrossEntropyLoss()

    def _targets(self, y: np.ndarray) -> Any:
        import torch

        if self._multilabel:
            return to_tensor(y, self._dev)
        return torch.as_tensor(y.argmax(axis=1), dtype=torch.long, device=self._dev)

    def _batch(self, idx: np.ndarray) -> Any:
        return to_tensor(np.stack([self._feats[i] for i in idx])[:, None], self._dev)

    def _train(self, y: np.ndarray, deadline: float) -> None:
        cfg = self.config
        loss_fn = self._loss_fn()
        self._net.train()
        tic, rows, step_s = time.perf_counter(), 0, 0.0
        with seeded(self.seed + self._steps, self._dev):
            while self._pos < len(self._order):
                if rows and time.perf_counter() + step_s > deadline:
                    break  # the rest of the epoch goes to the next call
                now = time.perf_counter()
                idx = self._order[self._pos: self._pos + cfg.batch_size]
                for group in self._opt.param_groups:  # Keras' time-based decay
                    group["lr"] = cfg.lr / (1.0 + cfg.lr_decay * self._steps)
                loss = loss_fn(self._net(self._batch(idx)), self._targets(y[idx]))
                self._opt.zero_grad(set_to_none=True)
                loss.backward()
                self._opt.step()
                self._pos += len(idx)
                self._steps += 1
                rows += len(idx)
                step_s = time.perf_counter() - now
        if rows:
            self._row_s = (time.perf_counter() - tic) / rows

    def _end_epoch(self, y: np.ndarray) -> None:
        import torch

        tic = time.perf_counter()
        idx = self._val_idx if len(self._val_idx) else self._train_idx
        self._net.eval()
        with torch.no_grad():
            losses = [float(self._loss_fn()(self._net(self._batch(idx[lo:lo + 256])),
                                            self._targets(y[idx[lo:lo + 256]]))) * len(idx[lo:lo + 256])
                      for lo in range(0, len(idx), 256)]
        loss = sum(losses) / max(1, len(idx))
        self._val_s = time.perf_counter() - tic
        self._epochs += 1
        if math.isfinite(loss) and loss < self._best_loss - self.config.min_delta:
            self._best_loss, self._stall = loss, 0
            if self.config.predict_best:
                self._best_net = copy.deepcopy(self._net)
        else:
            self._stall += 1
        self._pos = 0
        self._new_order()

    # -------------------------------------------------------------- predict
    def predict(self, xs: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        n = len(xs)
        if self._net is None or n == 0:
            return np.zeros((n, self.output_dim), np.float32)
        feats = self._features(xs)
        net = self._best_net if self._best_net is not None else self._net
        net.eval()
        outs = []
        with torch.no_grad():
            for lo in range(0, n, 256):
                logits = net(to_tensor(np.stack(feats[lo:lo + 256])[:, None], self._dev))
                p = torch.sigmoid(logits) if self._multilabel else torch.softmax(logits, dim=1)
                outs.append(p.float().cpu().numpy())
        return np.nan_to_num(np.concatenate(outs), nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32)

    def _features(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Padded MFCCs of ``xs``: cached for training rows and for the last other set (the test set)."""
        cached = self._test_feats
        if cached is not None and len(cached[0]) == len(xs) and all(a is b for a, b in zip(cached[0], xs)):
            return cached[1]
        feats, computed = [], 0
        for x in xs:
            pos = self._index.get(id(x))
            if pos is not None and self._arrays[pos] is x:
                feats.append(self._feats[pos])
            else:
                feats.append(pad_frames(clip_mfcc(x, self.sample_rate, self.config), self._frames))
                computed += 1
        if computed:  # a set of training rows (the engine's validation) must not evict the test set
            self._test_feats = (list(xs), feats)
        return feats

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        if self._net is None:
            return {"version": 1, "fitted": False}
        net = self._best_net if self._best_net is not None else self._net
        return {"version": 1, "fitted": True, "weights": cpu_state(net), "frames": self._frames,
                "multilabel": self._multilabel, "epochs": self._epochs, "steps": self._steps,
                "best_loss": float(self._best_loss), "stall": self._stall, "done": self._done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        self._frames = int(state["frames"])
        self._multilabel = bool(state["multilabel"])
        with seeded(self.seed, self._dev):
            self._net = mfcc_cnn(self._frames, self.config.n_mfcc, self.output_dim, self.config).to(self._dev)
        self._net.load_state_dict({k: v.to(self._dev) for k, v in state["weights"].items()})
        self._best_net, self._opt, self._test_feats = None, None, None
        self._epochs, self._steps = int(state["epochs"]), int(state["steps"])
        self._best_loss, self._stall = float(state["best_loss"]), int(state["stall"])
        self._done = bool(state["done"])
