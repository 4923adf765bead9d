"""Tiny generated datasets for every domain: learnable, seeded, fast.

:func:`make_dataset` returns ``(train, test, y_test)``: two
:class:`~autodl_solver.data.ArrayDataset` (the test set has no labels, as in
the AutoDL protocol) and the test labels. The class of an example is visible
in its data, so any working learner scores well above chance:

========  ===================  ==============================================
domain    example shape        signal
========  ===================  ==============================================
tabular   (1, 1, F, 1)         a class-specific mean vector plus noise
image     (1, H, W, 3)         a class-specific colour and texture; H, W vary
                               with ``variable_size`` (-1 in the metadata)
video     (T, H, W, 1)         class-specific blinking spatial patterns; T
                               varies with ``variable_size``
text      (L, 1, 1, 1)         token indices; class keywords mixed with
                               filler words; vocabulary in ``channel_to_index``
speech    (L, 1, 1, 1)         16 kHz waveform: class-specific tones + noise
========  ===================  ==============================================

Multi-label variants (``multilabel=True``) superpose the signals of every
positive class. ``output_dim=1`` gives a binary task (about half positive).
"""
from __future__ import annotations

import numpy as np

from ..data.dataset import ArrayDataset
from ..data.metadata import Metadata
from ..errors import AutoDLInputError

__all__ = ["DOMAINS", "make_dataset", "make_labels", "inject_nan"]

DOMAINS = ("tabular", "image", "video", "text", "speech")
SAMPLE_RATE = 16000


def make_labels(n: int, output_dim: int, multilabel: bool, rng: np.random.Generator) -> np.ndarray:
    """Multi-hot labels ``(n, output_dim)`` float32.

    Multi-class: every class appears when ``n >= output_dim``. Multi-label:
    each class positive with probability 0.35, every row has a positive, and
    (when ``n >= 2``) at least one row has two. ``output_dim == 1``: binary.
    """
    k = output_dim
    if k == 1:
        y = (rng.permutation(n) % 2 == 0).astype(np.float32)[:, None]
        return y
    if not multilabel:
        cls = rng.permutation(np.arange(n) % k)
        return np.eye(k, dtype=np.float32)[cls]
    y = rng.random((n, k)) < 0.35
    for i in np.flatnonzero(~y.any(axis=1)):
        y[i, rng.integers(k)] = True
    if n >= 2 and not (y.sum(axis=1) >= 2).any():
        i = rng.integers(n)
        y[i, (np.flatnonzero(y[i])[0] + 1) % k] = True
    return y.astype(np.float32)


def make_dataset(domain: str, n_train: int = 60, n_test: int = 30, output_dim: int = 3, multilabel: bool = False,
                 seed: int = 0, variable_size: bool = False) -> tuple[ArrayDataset, ArrayDataset, np.ndarray]:
    """A tiny learnable dataset of ``domain``.

    Parameters
    ----------
    domain : {"tabular", "image", "video", "text", "speech"}
    n_train, n_test : int
        Examples in each subset (>= 1).
    output_dim : int
        Number of classes (>= 1; 1 gives a binary task).
    multilabel : bool
        Several positive classes per example.
    seed : int
        Everything (class signals, examples, labels) derives from it.
    variable_size : bool
        Image: H and W vary (``-1`` in the metadata); video: T varies.
        Text and speech always have variable length.

    Returns
    -------
    train : ArrayDataset
        With labels.
    test : ArrayDataset
        Without labels (``has_labels`` is False).
    y_test : ndarray of shape (n_test, output_dim)
        The test labels.
    """
    if domain not in DOMAINS:
        raise AutoDLInputError("domain", f"expected one of {DOMAINS}, got {domain!r}")
    for name, value, low in (("n_train", n_train, 1), ("n_test", n_test, 1), ("output_dim", output_dim, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise AutoDLInputError(name, f"expected an integer >= {low}, got {value!r}")
    rng = np.random.default_rng(seed)
    generator = _GENERATORS[domain](output_dim, variable_size, rng)
    y_train = make_labels(n_train, output_dim, multilabel, rng)
    y_test = make_labels(n_test, output_dim, multilabel, rng)
    x_train = [generator.example(z, rng) for z in y_train]
    x_test = [generator.example(z, rng) for z in y_test]
    meta = Metadata(output_dim=output_dim, sample_count=n_train, name=f"tiny_{domain}",
                    label_to_index={f"class_{k}": k for k in range(output_dim)}, **generator.meta_fields)
    train = ArrayDataset(x_train, y_train, meta)
    test = ArrayDataset(x_test, None, meta.replace(sample_count=n_test))
    return train, test, y_test


def inject_nan(dataset: ArrayDataset, fraction: float = 0.1, seed: int = 0, value: float = np.nan) -> ArrayDataset:
    """A copy of ``dataset`` with ``fraction`` of the values replaced by ``value`` (NaN by default)."""
    rng = np.random.default_rng(seed)
    xs, ys = dataset.take(0, len(dataset))
    out = []
    for x in xs:
        x = np.array(x, dtype=np.float32, copy=True)
        x[rng.random(x.shape) < fraction] = value
        out.append(x)
    return ArrayDataset(out, ys, dataset.metadata)


# ---------------------------------------------------------------- generators
class _Generator:
    meta_fields: dict

    def example(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


class _Tabular(_Generator):
    def __init__(self, k: int, variable_size: bool, rng: np.random.Generator) -> None:
        self.f = max(8, 2 * k)
        self.means = rng.normal(0.0, 2.0, (k, self.f))
        self.meta_fields = dict(sequence_size=1, row_count=1, col_count=self.f, raw_num_channels=1)

    def example(self, z, rng):
        x = z @ self.means + rng.normal(0.0, 1.0, self.f)
        return x.reshape(1, 1, self.f, 1).astype(np.float32)


class _Image(_Generator):
    size = 8

    def __init__(self, k: int, variable_size: bool, rng: np.random.Generator) -> None:
        self.variable = variable_size
        self.colors = rng.uniform(-0.4, 0.4, (k, 3))
        self.freqs = rng.uniform(0.5, 2.5, (k, 2))
        side = -1 if variable_size else self.size
        self.meta_fields = dict(sequence_size=1, row_count=side, col_count=side, raw_num_channels=3)

    def example(self, z, rng):
        h, w = (rng.integers(6, 13, 2) if self.variable else (self.size, self.size))
        yy, xx = np.meshgrid(np.linspace(0, np.pi, h), np.linspace(0, np.pi, w), indexing="ij")
        img = np.full((h, w, 3), 0.5)
        for c in np.flatnonzero(z):
            texture = 0.1 * np.sin(self.freqs[c, 0] * yy + self.freqs[c, 1] * xx)
            img += self.colors[c] + texture[:, :, None]
        img += rng.normal(0.0, 0.05, img.shape)
        return np.clip(img, 0.0, 1.0)[None].astype(np.float32)


class _Video(_Generator):
    frames, size = 4, 6

    def __init__(self, k: int, variable_size: bool, rng: np.random.Generator) -> None:
        self.variable = variable_size
        self.patterns = rng.uniform(0.0, 1.0, (k, self.size, self.size))
        self.phases = rng.uniform(0.0, 2 * np.pi, k)
        self.meta_fields = dict(sequence_size=-1 if variable_size else self.frames, row_count=self.size,
                                col_count=self.size, raw_num_channels=1)

    def example(self, z, rng):
        t = rng.integers(3, 7) if self.variable else self.frames
        steps = np.arange(t)[:, None, None]
        video = np.zeros((t, self.size, self.size))
        for c in np.flatnonzero(z):
            video += self.patterns[c] * (0.6 + 0.4 * np.sin(steps + self.phases[c]))
        video = video / max(1.0, z.sum()) + rng.normal(0.0, 0.05, video.shape)
        return np.clip(video, 0.0, 1.0)[..., None].astype(np.float32)


class _Text(_Generator):
    block = 5

    def __init__(self, k: int, variable_size: bool, rng: np.random.Generator) -> None:
        self.k = k
        self.vocab = self.block * k + 20  # class keywords first, then filler words
        self.meta_fields = dict(sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1,
                                channel_to_index={f"w{i}": i for i in range(self.vocab)})

    def example(self, z, rng):
        length = int(rng.integers(6, 21))
        positives = np.flatnonzero(z)
        tokens = rng.integers(self.block * self.k, self.vocab, length)  # filler
        if len(positives):
            keyword = rng.random(length) < 0.4
            cls = rng.choice(positives, size=length)
            tokens = np.where(keyword, cls * self.block + rng.integers(0, self.block, length), tokens)
        return tokens.reshape(length, 1, 1, 1).astype(np.float32)


class _Speech(_Generator):
    def __init__(self, k: int, variable_size: bool, rng: np.random.Generator) -> None:
        self.tones = np.linspace(200.0, 3000.0, k) if k > 1 else np.array([440.0])
        self.meta_fields = dict(sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1,
                                sample_rate=SAMPLE_RATE)

    def example(self, z, rng):
        length = int(rng.integers(SAMPLE_RATE // 10, SAMPLE_RATE // 5))
        t = np.arange(length) / SAMPLE_RATE
        wave = rng.normal(0.0, 0.3, length)
        for c in np.flatnonzero(z):
            wave += np.sin(2 * np.pi * self.tones[c] * t + rng.uniform(0, 2 * np.pi))
        return wave.reshape(length, 1, 1, 1).astype(np.float32)


_GENERATORS: dict[str, type[_Generator]] = {"tabular": _Tabular, "image": _Image, "video": _Video,
                                            "text": _Text, "speech": _Speech}
