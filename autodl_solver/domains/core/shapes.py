"""Turn variable-shape AutoDL examples into fixed-shape arrays.

Examples are float32 ``(time, row, col, channel)`` arrays whose variable axes
(``-1`` in the metadata) differ from one example to the next. Learners that
need one tensor per batch use these helpers:

* :func:`flatten_tabular` — ``(1, 1, F, 1)`` or ``(1, F, 1, 1)`` -> ``(F,)`` rows,
  infinities turned into NaN (missing);
* :func:`resize_images` — bilinear resize of the two spatial axes
  (``torch.nn.functional.interpolate``);
* :func:`sample_frames` — a random window of consecutive frames (seeded);
* :func:`pad_or_crop` and :func:`sequence_length` — a fixed length for text
  and speech (the 95th percentile of the lengths seen, capped);
* :func:`normalize_channels` — a fixed channel count;
* :class:`FixedShaper` — all of the above planned once from the metadata and
  the first training examples (:func:`plan_shape`), then applied to every
  batch, training and test alike.

The seed paper's Baselines 1 and 2 resize images to 112 x 112 *only when the
spatial shape is variable* and take 10 consecutive random frames *only when
the time axis is variable*, "both for training and testing"; the plan follows
that. Two additions, both documented on :func:`plan_shape`: a variable time
axis with ``row == col == 1`` (text, speech) is padded/cropped to a length
(10 samples of a waveform carry nothing), and a cap on the units per example
keeps memory bounded on large fixed shapes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ...errors import AutoDLInputError

TIME_MODES = ("keep", "pad", "frames")


def available_rows(data: Any) -> int:
    """Rows a :class:`~autodl_solver.anytime.learner.TrainData` hands out now.

    The engine's data pool caps each round's rows (``n_available``); any other
    ``TrainData`` gives all ``n_total``.
    """
    return int(getattr(data, "n_available", data.n_total))


def next_row_count(rows: int, n_total: int, first_rows: int, growth: float) -> int:
    """Rows of a learner's next increment: ``first_rows``, then ``growth`` times more, capped at ``n_total``.

    The geometric row schedule every progressive learner shares (the seed's
    doubling increments); it never shrinks below the rows already used.
    """
    if rows <= 0:
        return min(n_total, max(1, int(first_rows)))
    return min(n_total, max(rows, int(math.ceil(rows * growth))))


def flatten_tabular(xs: Sequence[np.ndarray], n_features: Optional[int] = None) -> np.ndarray:
    """Tabular examples as a float32 ``(n, F)`` matrix; ``±inf`` become NaN.

    Parameters
    ----------
    xs : sequence of arrays
        Examples of any shape, usually ``(1, 1, F, 1)`` or ``(1, F, 1, 1)``;
        each is flattened in C order.
    n_features : int, optional
        Width of the result. Examples with more values are cropped, examples
        with fewer are padded with NaN (missing), which GBDTs and the MLP's
        missing-value mask handle. ``None`` means the widest example.
    """
    n = len(xs)
    if n == 0:
        return np.zeros((0, int(n_features or 0)), np.float32)
    sizes = {int(np.size(x)) for x in xs}
    width = int(n_features) if n_features is not None else max(sizes)
    if len(sizes) == 1 and width in sizes:
        out = np.stack([np.asarray(x, np.float32).reshape(-1) for x in xs])
    else:
        out = np.full((n, width), np.nan, np.float32)
        for i, x in enumerate(xs):
            row = np.asarray(x, np.float32).reshape(-1)[:width]
            out[i, : row.size] = row
    out[np.isinf(out)] = np.nan
    return out


def resize_images(batch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of the spatial axes of a ``(n, T, H, W, C)`` batch to ``size``.

    All frames of all examples go through one ``interpolate`` call.
    """
    import torch
    import torch.nn.functional as F

    n, t, h, w, c = batch.shape
    rows, cols = int(size[0]), int(size[1])
    if (h, w) == (rows, cols):
        return np.asarray(batch, np.float32)
    frames = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).reshape(n * t, h, w, c).permute(0, 3, 1, 2)
    out = F.interpolate(frames, size=(rows, cols), mode="bilinear", align_corners=False)
    return out.permute(0, 2, 3, 1).reshape(n, t, rows, cols, c).numpy()


def sample_frames(x: np.ndarray, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    """``n_frames`` consecutive frames from a random start (zero-padded at the end when shorter).

    As the seed's Baseline 1 does for a variable time axis, for training and
    testing alike; ``rng`` makes it reproducible.
    """
    t = x.shape[0]
    if t <= n_frames:
        return pad_or_crop(x, n_frames)
    start = int(rng.integers(0, t - n_frames + 1))
    return x[start : start + n_frames]


def pad_or_crop(x: np.ndarray, length: int, axis: int = 0) -> np.ndarray:
    """Keep the first ``length`` entries along ``axis``, zero-padding at the end when shorter."""
    size = x.shape[axis]
    if size == length:
        return x
    if size > length:
        index = [slice(None)] * x.ndim
        index[axis] = slice(0, length)
        return x[tuple(index)]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (0, length - size)
    return np.pad(x, pad)


def sequence_length(lengths: Sequence[int], percentile: float = 95.0, cap: Optional[int] = None) -> int:
    """A fixed sequence length: the ``percentile`` of ``lengths``, at most ``cap``, at least 1."""
    if len(lengths) == 0:
        return 1
    value = int(math.ceil(float(np.percentile(np.asarray(lengths, float), percentile))))
    if cap is not None:
        value = min(value, int(cap))
    return max(1, value)


def normalize_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """Give ``x`` (channels last) exactly ``channels`` channels.

    One channel is repeated (grey -> RGB); several channels are averaged when
    one is wanted; otherwise extra channels are dropped and missing ones are
    zeros.
    """
    have = x.shape[-1]
    if have == channels:
        return x
    if have == 1:
        return np.repeat(x, channels, axis=-1)
    if channels == 1:
        return x.mean(axis=-1, keepdims=True)
    if have > channels:
        return x[..., :channels]
    pad = [(0, 0)] * (x.ndim - 1) + [(0, channels - have)]
    return np.pad(x, pad)


@dataclass
class ShapePlan:
    """The fixed ``(time, rows, cols, channels)`` every example is mapped to, and how.

    ``time_mode`` is ``"keep"`` (the time axis is fixed and used whole),
    ``"pad"`` (first ``time`` steps, zero-padded) or ``"frames"`` (a random
    window of ``time`` consecutive frames).
    """

    time: int
    rows: int
    cols: int
    channels: int
    time_mode: str = "keep"

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(time, rows, cols, channels)``."""
        return (self.time, self.rows, self.cols, self.channels)

    @property
    def units(self) -> int:
        """Values per example."""
        return self.time * self.rows * self.cols * self.channels

    def to_dict(self) -> dict[str, Any]:
        """Plain values for a learner's ``state_dict``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ShapePlan":
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: (str(v) if k == "time_mode" else int(v)) for k, v in data.items()})


def plan_shape(
    metadata: Metadata,
    xs: Sequence[np.ndarray],
    image_size: tuple[int, int] = (112, 112),
    n_frames: int = 10,
    seq_percentile: float = 95.0,
    max_seq_len: int = 16000,
    max_units: Optional[int] = None,
) -> ShapePlan:
    """Decide the fixed shape from the metadata and a sample of training examples.

    * A fixed axis keeps its size; a variable spatial axis becomes
      ``image_size``; a variable time axis becomes ``n_frames`` random
      consecutive frames (video), or, when ``row == col == 1`` (text, speech),
      the ``seq_percentile`` of the sample's lengths capped at ``max_seq_len``.
    * When ``max_units`` is given and one example would hold more values:
      a long fixed time axis of a video switches to ``n_frames`` random
      consecutive frames; then the spatial axes shrink by one common factor
      (bilinear resize); then the time axis is cropped. This bounds memory
      (and a linear layer's weight count) on large fixed shapes.
    """
    t, r, c, _ = metadata.tensor_shape
    channels = int(metadata.num_channels)
    if t != -1:
        time, mode = int(t), "keep"
    elif r == 1 and c == 1:
        time, mode = sequence_length([x.shape[0] for x in xs], seq_percentile, max_seq_len), "pad"
    else:
        time, mode = int(n_frames), "frames"
    rows = int(r) if r != -1 else int(image_size[0])
    cols = int(c) if c != -1 else int(image_size[1])
    plan = ShapePlan(time, rows, cols, channels, mode)
    if max_units is None or plan.units <= max_units:
        return plan
    if plan.time_mode == "keep" and plan.time > n_frames and rows * cols > 1:
        plan.time, plan.time_mode = int(n_frames), "frames"
    if plan.units > max_units and rows > 1 and cols > 1:
        scale = math.sqrt(max_units / plan.units)
        plan.rows, plan.cols = max(1, int(rows * scale)), max(1, int(cols * scale))
    if plan.units > max_units:
        plan.time = max(1, max_units // (plan.rows * plan.cols * plan.channels))
        if plan.time_mode == "keep":
            plan.time_mode = "pad"
    if plan.units > max_units:
        # A single time step is still too wide (very wide tabular rows): shrink the widest axis.
        room = max(1, max_units // (plan.time * plan.channels))
        if plan.cols >= plan.rows:
            plan.cols = max(1, room // plan.rows)
        else:
            plan.rows = max(1, room // plan.cols)
    return plan


class FixedShaper:
    """Map lists of examples to one float32 ``(n, time, rows, cols, channels)`` array.

    Parameters
    ----------
    plan : ShapePlan
        The target shape (see :func:`plan_shape`).
    fill_nan : float, optional
        Replace NaN and ``±inf`` by this value (before any resize, so that a
        missing value does not spread to its neighbours); ``None`` keeps them.
    """

    def __init__(self, plan: ShapePlan, fill_nan: Optional[float] = 0.0) -> None:
        if plan.time_mode not in TIME_MODES:
            raise AutoDLInputError("time_mode", f"got {plan.time_mode!r}, expected one of {TIME_MODES}")
        self.plan = plan
        self.fill_nan = fill_nan

    def transform(self, xs: Sequence[np.ndarray], rng: Optional[np.random.Generator] = None) -> np.ndarray:
        """The examples as ``(len(xs),) + plan.shape`` float32.

        ``rng`` draws the random frame windows (``time_mode == "frames"``);
        ``None`` uses a generator seeded with 0.
        """
        p = self.plan
        n = len(xs)
        out = np.empty((n,) + p.shape, np.float32)
        if n == 0:
            return out
        if all(np.shape(x) == p.shape for x in xs):  # fixed-shape data: one stack, no loop work
            out[:] = np.stack(xs)
            return self._fill(out)
        rng = rng if rng is not None else np.random.default_rng(0)
        groups: dict[tuple[int, int], list[int]] = {}
        timed: list[np.ndarray] = []
        for i, x in enumerate(xs):
            x = np.asarray(x, np.float32)
            if x.ndim != 4:
                raise AutoDLInputError(f"examples[{i}]",
                                       f"expected a 4-D (time, row, col, channel) array, got {x.shape}")
            x = normalize_channels(x, p.channels)
            if self.fill_nan is not None:
                x = self._fill(x.copy())
            if p.time_mode == "frames":
                x = sample_frames(x, p.time, rng)
            else:
                x = pad_or_crop(x, p.time)
            timed.append(x)
            groups.setdefault(x.shape[1:3], []).append(i)
        for (h, w), idx in groups.items():
            batch = np.stack([timed[i] for i in idx])
            out[idx] = resize_images(batch, (p.rows, p.cols)) if (h, w) != (p.rows, p.cols) else batch
        return out

    def _fill(self, x: np.ndarray) -> np.ndarray:
        if self.fill_nan is not None:
            bad = ~np.isfinite(x)
            if bad.any():
                x[bad] = self.fill_nan
        return x
