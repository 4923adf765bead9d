"""Image and video examples -> fixed-size, normalised torch batches, planned once per dataset.

AutoDL images and videos come as float32 ``(time, row, col, channel)``
arrays whose spatial size (and frame count) may vary from one example to the
next. :class:`VisionPlan` fixes, from the metadata and the first training
examples, what every example becomes: ``frames x channels x height x width``.

Size rules (AutoCLINT's, ``docs/winners.md`` §2.1, with the caps in the
learner's config because they depend on the hardware):

* the reference shape is the median ``(rows, cols)`` of the first examples;
* the longest side is capped at ``max_side`` (``max_side_wide`` when the
  aspect ratio is above 2, so a long strip keeps some height), keeping the
  aspect ratio; the shortest side is raised to ``min_side`` (an 8x8 digit
  is upsampled: a ResNet stem would reduce it to nothing);
* sides are rounded to a multiple of ``multiple``;
* video keeps at most ``max_frames`` frames, spread evenly over the clip for
  prediction and with a random offset for training (a time augmentation);
  a clip with fewer frames repeats its frames (a 1-frame video is a still).

Values: each channel is standardised with the mean and standard deviation of
the first examples (MNIST's 0-255, digits' 0-16 and JPEG's 0-1 all end up
alike). NaN and infinities become 0 first. The number of channels is the
metadata's; an example with another count is repeated/averaged
(:func:`~autodl_solver.domains.core.shapes.normalize_channels`).

:class:`TensorCache` keeps converted tensors: the test set is converted once
(the engine passes the same list every time) and a growing training prefix
converts only its new rows; on CUDA the cache lives on the GPU.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ...errors import AutoDLInputError
from .feature_cache import IdentityCache
from .shapes import normalize_channels

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass
class VisionPlan:
    """What every example is mapped to: ``(frames, channels, height, width)`` plus channel statistics."""

    frames: int
    channels: int
    height: int
    width: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, channels, height, width)`` of one converted example."""
        return (self.frames, self.channels, self.height, self.width)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for a learner's ``state_dict``)."""
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VisionPlan":
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["frames"]), int(data["channels"]), int(data["height"]), int(data["width"]),
                   tuple(float(v) for v in data["mean"]), tuple(float(v) for v in data["std"]))


def plan_size(rows: int, cols: int, max_side: int, max_side_wide: int, min_side: int,
              multiple: int = 4) -> tuple[int, int]:
    """Target ``(height, width)`` for a reference ``rows x cols`` (see the module docstring)."""
    rows, cols = max(1, int(rows)), max(1, int(cols))
    aspect = max(rows, cols) / min(rows, cols)
    cap = max_side_wide if aspect > 2 else max_side
    scale = min(1.0, cap / max(rows, cols))
    h, w = rows * scale, cols * scale
    if min(h, w) < min_side:
        # raise the short side, but never let the long side pass its cap
        up = min(min_side / min(h, w), cap / max(h, w)) if max(h, w) < cap else 1.0
        h, w = h * max(up, 1.0), w * max(up, 1.0)
        h, w = max(h, min_side), max(w, min_side)

    def snap(v: float) -> int:
        return max(multiple, int(round(v / multiple)) * multiple)

    return snap(h), snap(w)


def make_plan(metadata: Metadata, xs: Sequence[np.ndarray], *, max_frames: int, max_side: int,
              max_side_wide: int, min_side: int, multiple: int = 4, stats_examples: int = 200) -> VisionPlan:
    """Plan the conversion from the metadata and the first training examples ``xs``."""
    if len(xs) == 0:
        raise AutoDLInputError("train", "no training examples to plan the image size from")
    for i, x in enumerate(xs[:stats_examples]):  # before np.array: mixed ranks would fail there, obscurely
        if np.ndim(x) != 4:
            raise AutoDLInputError(f"train example {i}",
                                   f"expected a (time, row, col, channel) array, got shape {np.shape(x)}")
    shapes = np.array([np.shape(x) for x in xs[:stats_examples]], dtype=np.int64)
    t_meta, r_meta, c_meta, ch_meta = metadata.tensor_shape
    channels = int(ch_meta) if ch_meta and ch_meta > 0 else int(np.median(shapes[:, 3]))
    rows = r_meta if r_meta and r_meta > 0 else int(np.median(shapes[:, 1]))
    cols = c_meta if c_meta and c_meta > 0 else int(np.median(shapes[:, 2]))
    height, width = plan_size(rows, cols, max_side, max_side_wide, min_side, multiple)
    t_ref = t_meta if t_meta and t_meta > 0 else int(np.median(shapes[:, 0]))
    frames = max(1, min(int(max_frames), int(t_ref)))
    mean, std = _channel_stats((_clean(x, channels) for x in xs[:stats_examples]), channels)
    return VisionPlan(frames, channels, height, width, tuple(mean.tolist()), tuple(std.tolist()))


def _channel_stats(sample: Iterable[np.ndarray], channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation (1 where constant) of the pixels of ``sample``.

    Accumulated example by example (each example's mean and variance, pooled
    with the law of total variance): concatenating 200 long clips as float64
    would need gigabytes.
    """
    counts, means, variances = [], [], []
    for s in sample:
        flat = s.reshape(-1, channels)
        if len(flat) == 0:
            continue
        counts.append(len(flat))
        means.append(flat.mean(axis=0, dtype=np.float64))
        variances.append(flat.var(axis=0, dtype=np.float64))
    if not counts:
        return np.zeros(channels), np.ones(channels)
    w = np.asarray(counts, np.float64)[:, None] / sum(counts)
    means_a, var_a = np.asarray(means), np.asarray(variances)
    mean = (w * means_a).sum(axis=0)
    std = np.sqrt((w * (var_a + (means_a - mean) ** 2)).sum(axis=0))
    return mean, np.where(std > 1e-6, std, 1.0)


def _clean(x: np.ndarray, channels: int) -> np.ndarray:
    x = np.asarray(x, np.float32)
    if x.ndim != 4:
        raise AutoDLInputError("example", f"expected a (time, row, col, channel) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return normalize_channels(x, channels)


def frame_indices(t: int, frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """``frames`` indices into a clip of ``t`` frames: evenly spread, randomly offset when ``rng`` is given."""
    if t <= 0:
        raise AutoDLInputError("example", "a video with no frames")
    if t <= frames:
        return np.floor(np.arange(frames) * t / frames).astype(np.int64)  # repeat frames (1 frame = a still)
    step = t / frames
    offset = rng.uniform(0, step) if rng is not None else step / 2
    return np.minimum(np.floor(offset + step * np.arange(frames)).astype(np.int64), t - 1)


def convert(xs: Sequence[np.ndarray], plan: VisionPlan, rng: Optional[np.random.Generator] = None) -> "torch.Tensor":
    """Examples -> float32 CPU tensor ``(n, frames, channels, height, width)``, standardised.

    Examples that share a shape are resized in one ``interpolate`` call
    (antialiased when shrinking). ``rng`` randomises the video frame offsets
    (training); without it the frames are evenly spread (prediction).
    """
    import torch
    import torch.nn.functional as F

    n = len(xs)
    out = torch.empty((n, plan.frames, plan.channels, plan.height, plan.width), dtype=torch.float32)
    if n == 0:
        return out
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, x in enumerate(xs):
        groups.setdefault(tuple(np.shape(x)), []).append(i)
    mean = torch.tensor(plan.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(plan.std, dtype=torch.float32).view(1, -1, 1, 1)
    for shape, idx in groups.items():
        t = shape[0]
        picked = np.stack([_clean(xs[i], plan.channels)[frame_indices(t, plan.frames, rng)] for i in idx])
        batch = torch.from_numpy(picked).reshape(-1, *picked.shape[2:]).permute(0, 3, 1, 2)  # (k*F, C, H, W)
        if batch.shape[-2:] != (plan.height, plan.width):
            shrink = batch.shape[-2] > plan.height or batch.shape[-1] > plan.width
            batch = F.interpolate(batch, size=(plan.height, plan.width), mode="bilinear", align_corners=False,
                                  antialias=shrink)
        batch = (batch - mean) / std
        out[torch.as_tensor(idx)] = batch.reshape(len(idx), plan.frames, plan.channels, plan.height, plan.width)
    return out


class TensorCache:
    """Converted tensors of the test set (by identity) and of a growing training prefix.

    Parameters
    ----------
    plan : VisionPlan
        The conversion.
    dev : torch.device
        Where the cached tensors live (the GPU when training there).
    """

    def __init__(self, plan: VisionPlan, dev: "torch.device") -> None:
        self.plan = plan
        self.dev = dev
        self._fixed: IdentityCache["torch.Tensor"] = IdentityCache(2)
        self._train: Optional["torch.Tensor"] = None

    def fixed(self, xs: Sequence[np.ndarray], max_entries: int = 2) -> "torch.Tensor":
        """The converted ``xs`` (prediction frames), converted once per list of arrays (test, validation).

        A list holding the same arrays as a cached one (see :func:`~.feature_cache.same_examples`) gets the
        cached tensor.
        """
        tensor = self._fixed.get(xs)
        if tensor is None:
            tensor = self._fixed.put(xs, _to_device(convert(xs, self.plan), self.dev), capacity=max_entries)
        return tensor

    def train_prefix(self, xs: Sequence[np.ndarray]) -> "torch.Tensor":
        """The converted first ``len(xs)`` training examples; only new rows are converted.

        Video frames are taken evenly spread here (fixed); random frame
        offsets would need the raw clips at every epoch, which is the cost
        this cache avoids.
        """
        import torch

        have = 0 if self._train is None else self._train.shape[0]
        if len(xs) < have:
            return self._train[: len(xs)]
        if len(xs) > have:
            new = _to_device(convert(list(xs[have:]), self.plan), self.dev)
            self._train = new if self._train is None else torch.cat([self._train, new])
        return self._train

    def clear(self) -> None:
        """Drop every cached tensor."""
        self._fixed, self._train = IdentityCache(2), None


def _to_device(tensor: "torch.Tensor", dev: "torch.device") -> "torch.Tensor":
    if dev.type == "cuda":
        return tensor.pin_memory().to(dev, non_blocking=True)
    return tensor

