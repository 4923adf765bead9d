"""The Dataset contract: examples read progressively, never all at once.

An example is a float32 array of shape ``(time, row, col, channel)``; for
variable-size data the shapes differ from example to example, so batches are
*lists* of arrays. Labels are a float32 ``(n, output_dim)`` multi-hot matrix,
or ``None`` where they are unknown (a test set).

Two implementations ship: :class:`ArrayDataset` (in memory) and
``autodl_solver.data.reader.AutoDLSubset`` (an official TFRecord subset, read
lazily record by record).
"""
from __future__ import annotations

import abc
from typing import Iterator, Optional, Sequence, cast

import numpy as np

from ..errors import AutoDLInputError
from .metadata import Metadata

Batch = tuple[list[np.ndarray], Optional[np.ndarray]]


class Dataset(abc.ABC):
    """Examples plus labels, readable in slices.

    Subclasses implement :meth:`__len__` and :meth:`take`; :meth:`chunks` and
    :meth:`labels` are built on them.
    """

    metadata: Metadata

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of examples."""

    @abc.abstractmethod
    def take(self, start: int, stop: int) -> Batch:
        """Examples ``start:stop`` as ``(list of arrays, labels or None)``.

        Reads only those examples (plus what the storage forces, such as
        skipping over earlier records).
        """

    @property
    def has_labels(self) -> bool:
        """Whether :meth:`take` returns labels."""
        return True

    @property
    def corrupt_rows(self) -> list[int]:
        """Sorted indices of the examples read so far whose input was corrupt and replaced.

        A reader that substitutes a placeholder for undecodable input (such
        as ``AutoDLSubset(on_corrupt="skip")``, which puts zero images) lists
        those rows here, so that a consumer (the engine's test prediction)
        can treat them apart. Empty by default: in-memory data is never
        corrupt.
        """
        return []

    def chunks(self, n: int, start: int = 0) -> Iterator[Batch]:
        """Yield consecutive slices of at most ``n`` examples from ``start``."""
        if n < 1:
            raise AutoDLInputError("n", f"chunk size must be >= 1, got {n}")
        total = len(self)
        for lo in range(start, total, n):
            yield self.take(lo, min(lo + n, total))

    def labels(self) -> Optional[np.ndarray]:
        """All labels as ``(len, output_dim)`` float32, or ``None``."""
        if not self.has_labels:
            return None
        ys = [cast(np.ndarray, y) for _, y in self.chunks(4096)]  # not None: has_labels
        if not ys:
            return np.zeros((0, self.metadata.output_dim), np.float32)
        return np.concatenate(ys).astype(np.float32, copy=False)


class ArrayDataset(Dataset):
    """An in-memory dataset.

    Parameters
    ----------
    x : array of shape (n, T, R, C, Ch) or sequence of 4-D arrays
        The examples; a sequence allows variable shapes.
    y : array of shape (n, output_dim), optional
        Multi-hot (or one-hot) labels.
    metadata : Metadata
        Must agree with ``x`` and ``y`` (checked).
    """

    def __init__(self, x: np.ndarray | Sequence[np.ndarray], y: Optional[np.ndarray], metadata: Metadata) -> None:
        self.metadata = metadata
        self._x = [np.asarray(e, dtype=np.float32) for e in x]
        for i, e in enumerate(self._x):
            if e.ndim != 4:
                raise AutoDLInputError(f"x[{i}]",
                                       f"expected a 4-D (time, row, col, channel) array, got shape {e.shape}")
            for axis, (got, want) in enumerate(zip(e.shape, metadata.tensor_shape)):
                if want != -1 and got != want:
                    raise AutoDLInputError(
                        f"x[{i}]", f"shape {e.shape} does not match metadata tensor shape {metadata.tensor_shape}")
        if y is not None:
            y = np.asarray(y, dtype=np.float32)
            if y.ndim != 2 or y.shape != (len(self._x), metadata.output_dim):
                raise AutoDLInputError(
                    "y", f"expected shape ({len(self._x)}, {metadata.output_dim}), got {y.shape}")
        self._y = y

    def __len__(self) -> int:
        return len(self._x)

    @property
    def has_labels(self) -> bool:
        return self._y is not None

    def take(self, start: int, stop: int) -> Batch:
        ys = None if self._y is None else self._y[start:stop]
        return self._x[start:stop], ys


def stack_examples(xs: Sequence[np.ndarray]) -> np.ndarray:
    """Stack equal-shape examples into one ``(n, T, R, C, Ch)`` array.

    Raises a clear error when the shapes differ (variable-size data must be
    resized or padded by the learner first).
    """
    shapes = {e.shape for e in xs}
    if len(shapes) > 1:
        raise AutoDLInputError("examples", f"cannot stack examples of different shapes {sorted(shapes)[:3]}")
    if not xs:
        return np.zeros((0, 0, 0, 0, 0), np.float32)
    return np.stack(xs).astype(np.float32, copy=False)
