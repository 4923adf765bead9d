"""Our :class:`~autodl_solver.data.dataset.Dataset` over the ``tf.data.Dataset`` ingestion passes.

The official ingestion program hands ``Model.train``/``Model.test`` the same
``tf.data.Dataset`` object on every call: not shuffled, not batched and **not
repeated** (``docs/protocol.md`` §1.1). :class:`TFDatasetAdapter` reads it
progressively through one persistent iterator, converting examples to
float32 numpy arrays and caching them, so ``take(0, 500)`` then
``take(0, 1000)`` decodes 1000 examples once (winners' lesson 3: read data
progressively, convert the test set once).

Both TensorFlow modes are handled:

* TF2 eager (our ingestion, today's TensorFlow): ``iter(dataset)`` / ``next``;
* graph mode (the 2019 reference environment, TF 1.13, reproduced with
  ``tf.compat.v1.disable_v2_behavior()``): a one-shot iterator in the
  dataset's graph and one ``tf.compat.v1.Session`` created once.

When every dimension of an element is static the dataset is read through
``dataset.batch(k)``, which is many times faster than one ``sess.run`` or
``next`` per element; variable-size data is read element by element.

One of our own :class:`Dataset` objects is accepted too and passed through
untouched, so our ingestion and the library can skip TensorFlow entirely.
TensorFlow is imported only when a TF dataset is actually read.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Optional

import numpy as np

from ..data.dataset import Batch, Dataset
from ..data.metadata import Metadata
from ..errors import AutoDLInputError

logger = logging.getLogger(__name__)

#: Examples per ``dataset.batch(k)`` read when all dimensions are static.
DEFAULT_BATCH_SIZE = 128


def import_tensorflow():
    """``import tensorflow`` and return it (``autodl_solver._environment`` has kept triton out already)."""
    import tensorflow as tf

    return tf


def hide_gpus_from_tensorflow() -> None:
    """Keep TensorFlow off the GPU (best effort, idempotent).

    The data pipeline runs on the CPU; a TensorFlow that initialises a GPU
    grabs nearly all of its memory and starves the torch learners. This only
    works before TensorFlow has initialised its devices, so failures are
    ignored.
    """
    try:
        tf = import_tensorflow()
        tf.config.set_visible_devices([], "GPU")
    except Exception:  # noqa: BLE001 - devices already initialised, or no TF: nothing to do
        pass


class TFDatasetAdapter(Dataset):
    """A lazily converted, cached view of an official ``tf.data.Dataset``.

    Parameters
    ----------
    dataset : tf.data.Dataset or Dataset
        Elements ``(example float32 (T, R, C, Ch), labels float32 (output_dim,))``
        as the official ingestion builds them, eager or graph mode. One of our
        :class:`Dataset` objects is passed through (all calls delegate to it).
    metadata : Metadata
        The subset's metadata.
    sample_count : int, optional
        Number of elements, when known (the train metadata's ``sample_count``).
        ``None`` means unknown (the test set: ``Model`` only receives the
        train metadata); :meth:`__len__` then reads the dataset to its end.
    has_labels : bool, optional
        ``False`` for a test set, whose labels are all zeros. ``None`` decides
        from the first elements read (all-zero labels mean a test set).
    batch_size : int
        Elements per read when every dimension is static.

    Notes
    -----
    If the dataset holds fewer elements than ``sample_count`` the length
    shrinks to what was actually read once the end is reached.
    """

    def __init__(
        self,
        dataset: Any,
        metadata: Metadata,
        sample_count: Optional[int] = None,
        has_labels: Optional[bool] = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise AutoDLInputError("batch_size", f"must be >= 1, got {batch_size}")
        self.metadata = metadata
        self.source = dataset
        self._inner: Optional[Dataset] = dataset if isinstance(dataset, Dataset) else None
        if self._inner is None and dataset is None:
            raise AutoDLInputError("dataset", "got None, expected a tf.data.Dataset or a Dataset")
        self._count = None if sample_count is None else int(sample_count)
        self._has_labels = has_labels
        self._batch_size = int(batch_size)
        self._xs: list[np.ndarray] = []
        self._ys: list[np.ndarray] = []
        self._exhausted = False
        self._reader: Optional[_Reader] = None

    # ------------------------------------------------------------ Dataset API
    def __len__(self) -> int:
        if self._inner is not None:
            return len(self._inner)
        if self._count is None:
            self._read_until(None)  # unknown length: count by reading to the end
        if self._exhausted or self._count is None:  # (reading to the end sets _exhausted)
            return len(self._xs) if self._count is None else min(self._count, len(self._xs))
        return self._count

    @property
    def has_labels(self) -> bool:
        if self._inner is not None:
            return self._inner.has_labels
        if self._has_labels is None:
            self._read_until(1)
            # A test set's labels are all zeros (empty label lists in its records).
            self._has_labels = bool(self._ys) and any(bool(np.any(y)) for y in self._ys)
        return self._has_labels

    def take(self, start: int, stop: int) -> Batch:
        """Examples ``start:stop``; reads the dataset only as far as ``stop``."""
        if self._inner is not None:
            return self._inner.take(start, stop)
        if start < 0 or stop < start:
            raise AutoDLInputError("take", f"expected 0 <= start <= stop, got start={start}, stop={stop}")
        if self._count is not None:
            stop = min(stop, self._count)
        self._read_until(stop)
        xs = self._xs[start:stop]
        if not self.has_labels:
            return xs, None
        ys = self._ys[start:stop]
        labels = np.stack(ys).astype(np.float32, copy=False) if ys else np.zeros(
            (0, self.metadata.output_dim), np.float32)
        return xs, labels

    @property
    def n_read(self) -> int:
        """Elements converted so far (cached)."""
        return len(self._inner) if self._inner is not None else len(self._xs)

    @property
    def complete(self) -> bool:
        """Whether every element is converted (the known count reached, or the end of the data)."""
        if self._inner is not None:
            return True
        return self._exhausted or (self._count is not None and len(self._xs) >= self._count)

    def read_for(self, seconds: float) -> bool:
        """Convert elements for about ``seconds`` (at least one chunk); return :attr:`complete`.

        Lets a caller with a deadline predict the part read so far
        (:meth:`prefix`) instead of waiting for a large test set.
        """
        stop_at = time.monotonic() + max(0.0, float(seconds))
        while not self.complete:
            self._read_until(len(self._xs) + 1)  # one chunk: a batch, or one element
            if time.monotonic() >= stop_at:
                break
        return self.complete

    def prefix(self, n: int) -> Dataset:
        """A view of the first ``n`` converted elements (a new object on every call)."""
        return _Prefix(self, min(int(n), self.n_read))

    def close(self) -> None:
        """Release the TF iterator and session (the cache stays usable)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # --------------------------------------------------------------- reading
    def _read_until(self, stop: Optional[int]) -> None:
        """Convert elements until ``stop`` are cached (``None``: to the end)."""
        while not self._exhausted and (stop is None or len(self._xs) < stop):
            if self._reader is None:
                self._reader = _Reader(self.source, self._batch_size)
            chunk = self._reader.next_chunk()
            if chunk is None:
                self._exhausted = True
                self._reader.close()
                if self._count is not None and len(self._xs) != self._count:
                    # Flagged so that ingestion reports it as a data error (exit status 2), not just a log line.
                    problem = f"the dataset has {len(self._xs)} elements, the metadata sample_count says {self._count}"
                    logger.warning("dataset has %d elements, metadata says %d", len(self._xs), self._count,
                                   extra={"autodl_data_error": ("metadata sample_count", problem)})
                break
            xs, ys = chunk
            self._xs.extend(self._fix_example(x) for x in xs)
            self._ys.extend(ys)

    def _fix_example(self, x: np.ndarray) -> np.ndarray:
        """Make one parsed example match the metadata shape where the official parse does not."""
        meta = self.metadata
        seq, row, col, channels = meta.tensor_shape
        # Official SPARSE tabular parse: (1, nnz, 2, 1) rows of (column index, value).
        if meta.format == "SPARSE" and col > channels and x.ndim == 4 and x.shape[2] == 2 and col > 0:
            dense = np.zeros((1, max(row, 1), col, 1), np.float32)
            pairs = x.reshape(-1, 2)
            cols = pairs[:, 0].astype(np.int64)
            keep = (cols >= 0) & (cols < col)
            dense[0, 0, cols[keep], 0] = pairs[keep, 1]
            return dense
        return x


class _Prefix(Dataset):
    """The first ``n`` elements of a :class:`TFDatasetAdapter` (already converted)."""

    def __init__(self, source: TFDatasetAdapter, n: int) -> None:
        self.source, self.n, self.metadata = source, n, source.metadata

    def __len__(self) -> int:
        return self.n

    @property
    def has_labels(self) -> bool:
        return self.source.has_labels

    def take(self, start: int, stop: int) -> Batch:
        stop = min(stop, self.n)
        return self.source.take(min(start, stop), stop)


class _Reader:
    """One persistent iterator over a ``tf.data.Dataset``, eager or graph mode."""

    def __init__(self, dataset: Any, batch_size: int) -> None:
        tf = import_tensorflow()
        self._tf = tf
        shapes = _element_shapes(tf, dataset)
        # Batching stacks elements, so it needs every dimension static.
        self.batched = shapes is not None and all(s.is_fully_defined() for s in shapes)
        source = dataset.batch(batch_size) if self.batched else dataset
        # No tf.data autotuning thread: destroying a half-read iterator waits for it, and on a long run
        # that wait grew to more than 30 s after ingestion had ended (measured in benchmarks/soak.py at
        # T = 60 s: the process outlived end.txt and was killed). Parallel calls then use every core.
        options = tf.data.Options()
        options.autotune.enabled = False
        source = source.with_options(options)
        self._session = None
        if tf.executing_eagerly():
            self._iterator = iter(source)
            self._next = None
        else:
            graph = getattr(dataset, "_graph", None) or tf.compat.v1.get_default_graph()
            with graph.as_default():
                self._next = tf.compat.v1.data.make_one_shot_iterator(source).get_next()
            config = tf.compat.v1.ConfigProto(device_count={"GPU": 0})
            # Grappler has nothing to gain on a graph that only reads data, and its pass made the first
            # sess.run of each reader about 20 ms slower (the first prediction waits for it).
            config.graph_options.rewrite_options.disable_meta_optimizer = True
            self._session = tf.compat.v1.Session(graph=graph, config=config)

    def next_chunk(self) -> Optional[tuple[list[np.ndarray], list[np.ndarray]]]:
        """The next element (or batch) as lists of float32 arrays; ``None`` at the end."""
        tf = self._tf
        try:
            if self._session is not None:
                example, labels = self._session.run(self._next)
            else:
                example, labels = next(self._iterator)
                example, labels = example.numpy(), labels.numpy()
        except (StopIteration, tf.errors.OutOfRangeError):
            return None
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as exc:
            # Corrupt or truncated records, or records that do not match the metadata shape:
            # one line naming the cause instead of TensorFlow's long traceback.
            raise AutoDLInputError("tf.data records", "TensorFlow could not read the dataset: "
                                   + tf_error_message(exc)) from None
        example = np.asarray(example, dtype=np.float32)
        labels = np.asarray(labels, dtype=np.float32)
        if self.batched:
            return list(example), list(labels)
        return [example], [labels]

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        self._iterator = None


def tf_error_message(exc: BaseException) -> str:
    """The first line of a TensorFlow error without its ``{{function_node ...}}`` and ``[Op:...]`` noise."""
    import re

    text = (getattr(exc, "message", None) or str(exc) or type(exc).__name__).strip()
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
    text = re.sub(r"\s*\[Op:[^\]]*\].*$", "", text.splitlines()[0] if text else "")
    return text.strip() or type(exc).__name__


def _element_shapes(tf: Any, dataset: Any):
    """Static shapes ``(example, labels)`` of the elements, or ``None`` when unknown."""
    try:
        spec = dataset.element_spec
        shapes = tuple(s.shape for s in spec)
    except (AttributeError, TypeError):
        try:
            shapes = tuple(tf.compat.v1.data.get_output_shapes(dataset))
        except Exception:  # noqa: BLE001 - an unusual dataset: read it element by element
            return None
    return shapes if len(shapes) == 2 else None
