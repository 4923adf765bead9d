"""Read official AutoDL datasets (TFRecords of ``SequenceExample``) without TensorFlow.

:class:`AutoDLSubset` is a lazy :class:`~autodl_solver.data.dataset.Dataset`
over one subset folder (``X.data/train`` or ``X.data/test``): it indexes the
record offsets once and decodes only the records :meth:`AutoDLSubset.take`
asks for, with the official parse (docs/protocol.md §3.2):

* DENSE: ``0_dense_input``, one float list of ``row*col*ch`` values per
  step, reshaped to ``(seq, row, col, ch)``; a variable ``sequence_size``
  (-1) takes the number of steps.
* COMPRESSED: ``0_compressed``, one encoded image per step (see
  :mod:`~autodl_solver.data.decode`); a frame whose size differs from the
  first frame of its video is resized (bilinear) to the first frame's size,
  so the frames stack. A ``take`` of many records decodes them on up to
  :data:`DECODE_THREADS` threads (Pillow releases the GIL while decoding).
* SPARSE: if ``col_count > num_channels`` ("sparse tabular") the official
  ``tf.data`` reader yields ``(1, nnz, 2, 1)`` (column, value) pairs; this
  Dataset returns the **densified** ``(1, row, col, ch)`` tensor instead
  (``(1, 1, col, 1)`` for the toolkit's tabular data; duplicates: the last
  entry wins). Otherwise ("sparse text") it yields the channel indices as a
  ``(-1, 1, 1, 1)`` token sequence, as the official reader does.

Labels are the context ``label_index``/``label_score`` made dense like
``tf.sparse.to_dense``. :meth:`AutoDLSubset.labels` reads only the context
bytes of each record (no image is decoded), which is what ``inspect`` uses.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional

import numpy as np
from google.protobuf.message import DecodeError

from ..errors import AutoDLInputError
from .dataset import Batch, Dataset
from .decode import RecordError, decode_example, decode_labels
from .protos import Features, SequenceExample, context_span
from .tfrecord import index_records, read_record_at
from .textproto import METADATA_FILE, read_metadata

ON_CORRUPT = ("raise", "skip")
#: Threads that decode COMPRESSED (JPEG/PNG) records of one ``take`` call, at most the CPU count.
DECODE_THREADS = 4
#: Records per decoding task; a ``take`` of fewer than twice this decodes in the calling thread.
PARALLEL_MIN_RECORDS = 16


def find_record_files(subset_dir: Path) -> list[Path]:
    """The record files of a subset: ``sample*`` (official glob), sorted.

    Folders whose files do not start with ``sample`` (such as the toolkit's
    ``mini-mnist`` shards) fall back to ``*.tfrecord``; the official reader
    would find nothing there.
    """
    def plain(paths):
        return sorted(p for p in paths if p.is_file() and p.name != METADATA_FILE)

    files = plain(subset_dir.glob("sample*")) or plain(subset_dir.glob("*.tfrecord"))
    if not files:
        found = sorted(p.name for p in subset_dir.iterdir())
        raise AutoDLInputError(subset_dir, f"no record files ('sample*' or '*.tfrecord'); found {found}")
    return files


class AutoDLSubset(Dataset):
    """One subset (train or test) of an official AutoDL dataset, read lazily.

    Parameters
    ----------
    subset_dir : path
        Folder holding ``metadata.textproto`` and the record files
        (``sample*``; several shards are read one after the other in sorted
        name order).
    on_corrupt : {"raise", "skip"}
        What to do with image bytes that cannot be decoded: raise an
        :class:`AutoDLInputError`, or replace the frame by zeros (the
        metadata frame size, else the size of the example's other frames,
        else 1x1) and ``warnings.warn`` naming the record; the example's
        index is then listed in :attr:`corrupt_rows`.

    Attributes
    ----------
    corrupt_rows : list of int
        Sorted indices of the examples decoded so far (by :meth:`take` or
        :meth:`example`) that had at least one undecodable image replaced by
        zeros (always empty with ``on_corrupt="raise"``). Only rows already
        read are known: the images are decoded lazily.

    Notes
    -----
    ``len()`` is the number of records found; ``metadata.sample_count`` is
    what the metadata file says (checked against it by :func:`load_dataset`
    for the test set). ``metadata.multilabel`` is left ``None``.
    """

    def __init__(self, subset_dir, *, on_corrupt: str = "raise") -> None:
        if on_corrupt not in ON_CORRUPT:
            raise AutoDLInputError("on_corrupt", f"got {on_corrupt!r}, expected one of {ON_CORRUPT}")
        self.subset_dir = Path(subset_dir)
        if not self.subset_dir.is_dir():
            raise AutoDLInputError(self.subset_dir, "subset folder not found")
        self.on_corrupt = on_corrupt
        self.metadata = read_metadata(self.subset_dir)
        self.files = find_record_files(self.subset_dir)
        self._index: Optional[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = None
        self._label_matrix: Optional[np.ndarray] = None
        self._has_labels: Optional[bool] = None
        self._corrupt: set[int] = set()

    def __repr__(self) -> str:
        return f"AutoDLSubset({str(self.subset_dir)!r})"

    # ----------------------------------------------------------------- index
    def _records(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(file number, record number in file, data offset, data length) of every record."""
        if self._index is None:
            parts = [index_records(path) for path in self.files]
            self._index = (
                np.concatenate([np.full(len(p), k, np.int64) for k, p in enumerate(parts)]),
                np.concatenate([np.arange(len(p), dtype=np.int64) for p in parts]),
                np.concatenate([p.offsets for p in parts]),
                np.concatenate([p.lengths for p in parts]),
            )
        return self._index

    def __len__(self) -> int:
        return len(self._records()[0])

    def _where(self, i: int) -> tuple[Path, str]:
        file_no, local = self._records()[:2]
        path = self.files[int(file_no[i])]
        return path, f"record {int(local[i])} (example {i})"

    def _fail(self, i: int, problem: str) -> AutoDLInputError:
        path, record = self._where(i)
        return AutoDLInputError(path, f"{record}: {problem}")

    @property
    def corrupt_rows(self) -> list[int]:
        """Sorted indices of the examples read so far whose images were replaced by zeros."""
        return sorted(self._corrupt)

    # ----------------------------------------------------------------- reads
    def record_bytes(self, i: int) -> bytes:
        """The serialized ``SequenceExample`` of example ``i`` (CRC-checked)."""
        file_no, local, offsets, lengths = self._records()
        path = self.files[int(file_no[i])]
        with open(path, "rb") as handle:
            return read_record_at(handle, path, int(local[i]), int(offsets[i]), int(lengths[i]))

    def take(self, start: int, stop: int) -> Batch:
        """Decode examples ``start:stop`` (slice semantics)."""
        lo, hi, _ = slice(start, stop).indices(len(self))
        file_no, local, offsets, lengths = self._records()
        records = []
        handles: dict[int, BinaryIO] = {}
        try:
            for i in range(lo, hi):
                k = int(file_no[i])
                if k not in handles:
                    handles[k] = open(self.files[k], "rb")
                records.append((i, read_record_at(handles[k], self.files[k], int(local[i]), int(offsets[i]),
                                                  int(lengths[i]))))
        finally:
            for handle in handles.values():
                handle.close()
        workers = min(DECODE_THREADS, os.cpu_count() or 1)
        if self.metadata.format == "COMPRESSED" and workers > 1 and len(records) >= 2 * PARALLEL_MIN_RECORDS:
            # JPEG/PNG decoding releases the GIL: threads decode in parallel (the bytes were read in order)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                decoded = list(pool.map(lambda r: self._decode(*r), records, chunksize=PARALLEL_MIN_RECORDS))
        else:
            decoded = [self._decode(i, data) for i, data in records]
        xs = [x for x, _ in decoded]
        ys = [y for _, y in decoded]
        if not self.has_labels:
            return xs, None
        k = self.metadata.output_dim
        return xs, (np.stack(ys) if ys else np.zeros((0, k), np.float32))

    def example(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Example ``i`` as ``(x, labels)``; labels are zeros for a test record."""
        if not 0 <= i < len(self):
            raise IndexError(f"example {i} out of range 0..{len(self) - 1}")
        return self._decode(i, self.record_bytes(i))

    # ---------------------------------------------------------------- labels
    def label_matrix(self) -> np.ndarray:
        """All label vectors ``(len, output_dim)`` float32, read from the contexts only.

        Test records (empty label lists, or ``label_score`` 0 as in mini1)
        give zero rows. Only the context bytes are read (TensorFlow writes
        the context first), so the record CRC is checked later, when the
        record is decoded. The result is cached.
        """
        if self._label_matrix is None:
            file_no = self._records()[0]
            rows = np.zeros((len(file_no), self.metadata.output_dim), np.float32)
            for k, path in enumerate(self.files):
                with open(path, "rb") as handle:
                    for i in np.flatnonzero(file_no == k):
                        rows[i] = self._labels(int(i), self._context(handle, path, int(i)))
            self._label_matrix = rows
        return self._label_matrix

    def _context(self, handle, path: Path, i: int):
        """Parse only the ``context`` of record ``i`` (a short read), else the whole record."""
        _, local, offsets, lengths = self._records()
        offset, length = int(offsets[i]), int(lengths[i])
        handle.seek(offset)
        span = context_span(handle.read(min(length, 11)))
        try:
            if span is not None and span[0] + span[1] <= length:
                handle.seek(offset + span[0])
                return Features.FromString(handle.read(span[1]))
            data = read_record_at(handle, path, int(local[i]), offset, length)
            return SequenceExample.FromString(data).context
        except DecodeError as exc:
            self.record_bytes(i)  # a damaged record is reported as such (CRC), not as a bad parse
            raise self._fail(i, f"not a serialized SequenceExample ({exc})") from None

    @property
    def has_labels(self) -> bool:
        """``False`` when every label vector is zero (a test set).

        Reads contexts in order until the first non-zero label, so a train
        set answers after one record; the answer is cached.
        """
        if self._has_labels is None:
            if self._label_matrix is not None:
                self._has_labels = bool(np.any(self._label_matrix))
            else:
                self._has_labels = False
                file_no = self._records()[0]
                for k, path in enumerate(self.files):
                    with open(path, "rb") as handle:
                        for i in np.flatnonzero(file_no == k):
                            if np.any(self._labels(int(i), self._context(handle, path, int(i)))):
                                self._has_labels = True
                                return True
        return self._has_labels

    def labels(self) -> Optional[np.ndarray]:
        """All labels (context only, no decoding), or ``None`` for a test set."""
        return self.label_matrix() if self.has_labels else None

    def _labels(self, i: int, context) -> np.ndarray:
        try:
            return decode_labels(context, self.metadata.output_dim)
        except RecordError as exc:
            self.record_bytes(i)  # the context was read without its CRC: a damaged record says so first
            raise self._fail(i, str(exc)) from None

    # ------------------------------------------------------------- decoding
    def _decode(self, i: int, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        try:
            example = SequenceExample.FromString(data)
            x, y, problems = decode_example(example, self.metadata, self.on_corrupt)
        except DecodeError as exc:
            raise self._fail(i, f"not a serialized SequenceExample ({exc})") from None
        except RecordError as exc:
            raise self._fail(i, str(exc)) from None
        if problems:
            self._corrupt.add(int(i))
            path, record = self._where(i)
            for problem in problems:
                warnings.warn(f"{path}: {record}: {problem}", stacklevel=3)
        return x, y


# ------------------------------------------------------------------ solution
def read_solution(path, expected_rows: Optional[int] = None, output_dim: Optional[int] = None) -> np.ndarray:
    """Read an ``X.solution`` file (``np.loadtxt`` semantics) as float64 ``(n, k)``.

    A 1-D file becomes ``(n, 1)`` as in the official scorer, except that a
    single row of exactly ``output_dim`` values (``output_dim > 1``) is read
    as ``(1, output_dim)``.

    Raises
    ------
    AutoDLInputError
        Naming the file when it is missing or not numeric, holds NaN, or the
        row / column counts differ from ``expected_rows`` / ``output_dim``.
    """
    path = Path(path)
    if not path.is_file():
        raise AutoDLInputError(path, "solution file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # loadtxt warns on an empty file
            solution = np.loadtxt(path, dtype=np.float64)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise AutoDLInputError(path, f"not a numeric matrix (one row per test example): {exc}") from None
    if solution.ndim == 0:
        solution = solution.reshape(1, 1)
    elif solution.ndim == 1:
        if solution.size == 0:
            solution = solution.reshape(0, output_dim or 0)
        elif output_dim is not None and output_dim > 1 and solution.size == output_dim and expected_rows in (None, 1):
            solution = solution.reshape(1, -1)
        else:
            solution = solution.reshape(-1, 1)
    if np.isnan(solution).any():
        row = int(np.argwhere(np.isnan(solution))[0, 0])
        raise AutoDLInputError(path, f"NaN in row {row}; expected 0/1 labels or confidences")
    if expected_rows is not None and solution.shape[0] != expected_rows:
        raise AutoDLInputError(path, f"{solution.shape[0]} rows, expected {expected_rows} "
                                     "(one per test example)")
    if output_dim is not None and solution.shape[0] and solution.shape[1] != output_dim:
        raise AutoDLInputError(path, f"{solution.shape[1]} columns, expected output_dim = {output_dim}")
    return solution


# ------------------------------------------------------------------ datasets
@dataclass
class AutoDLData:
    """An official AutoDL dataset: both subsets plus what lies beside them.

    Attributes
    ----------
    name : str
        ``X`` for ``X.data``.
    root : Path
        The dataset folder (the one holding ``X.data``).
    train, test : AutoDLSubset
        The two subsets (lazy).
    solution : ndarray of shape (n_test, output_dim) or None
        Test labels from ``X.solution`` when that file exists.
    solution_path : Path or None
        Where the solution was read from.
    label_names : list of str or None
        From ``X_label.name`` if present, else the metadata label map, else ``None``.
    """

    name: str
    root: Path
    train: AutoDLSubset
    test: AutoDLSubset
    solution: Optional[np.ndarray] = None
    solution_path: Optional[Path] = None
    label_names: Optional[list[str]] = None

    @property
    def metadata(self):
        """The train metadata (what the official ingestion gives ``Model``)."""
        return self.train.metadata

    @property
    def data_dir(self) -> Path:
        """The ``X.data`` folder."""
        return self.root / f"{self.name}.data"


def _data_dir(path: Path) -> Path:
    """The ``X.data`` folder that ``path`` names or contains (exactly one, as ingestion)."""
    if not path.exists():
        raise AutoDLInputError(path, "dataset not found")
    if path.is_dir() and path.name.endswith(".data") and (path / "train").is_dir():
        return path
    if not path.is_dir():
        raise AutoDLInputError(path, "expected a dataset folder holding one X.data folder, or X.data itself")
    found = sorted(p.name for p in path.glob("*.data"))
    if len(found) != 1:
        listing = sorted(p.name for p in path.iterdir())[:20]
        raise AutoDLInputError(path, f"expected exactly one '*.data' entry (as the official ingestion), "
                                     f"found {len(found)}: {found}; folder holds {listing}")
    return path / found[0]


def _label_names(root: Path, name: str, metadata) -> Optional[list[str]]:
    label_file = root / f"{name}_label.name"
    if label_file.is_file():
        try:
            lines = label_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise AutoDLInputError(label_file, f"cannot read class names: {exc}") from None
        while lines and not lines[-1].strip():
            lines.pop()
        if len(lines) != metadata.output_dim:
            raise AutoDLInputError(label_file, f"{len(lines)} class names, expected output_dim = "
                                               f"{metadata.output_dim} (one per line)")
        return lines
    if metadata.label_to_index:
        return metadata.class_names
    return None


def load_dataset(path, *, on_corrupt: str = "raise") -> AutoDLData:
    """Open an official AutoDL dataset.

    Parameters
    ----------
    path : path
        Either the dataset folder holding exactly one ``X.data`` entry (as
        the official ingestion's ``--dataset_dir``), with ``X.solution``
        beside it (optional), or the ``X.data`` folder itself (the solution
        is then looked up in its parent).
    on_corrupt : {"raise", "skip"}
        Passed to both :class:`AutoDLSubset`.

    Raises
    ------
    AutoDLInputError
        When the layout is wrong, a subset's record count differs from its
        metadata ``sample_count``, or the solution does not match.
    """
    data_dir = _data_dir(Path(path))
    root, name = data_dir.parent, data_dir.name[: -len(".data")]
    subsets = {}
    for kind in ("train", "test"):
        if not (data_dir / kind).is_dir():
            raise AutoDLInputError(data_dir, f"no '{kind}' subset folder (expected train/ and test/)")
        subsets[kind] = AutoDLSubset(data_dir / kind, on_corrupt=on_corrupt)
    train, test = subsets["train"], subsets["test"]
    for subset in (train, test):
        if len(subset) != subset.metadata.sample_count:
            empty = [p.name for p in subset.files if p.stat().st_size == 0]
            raise AutoDLInputError(subset.subset_dir / METADATA_FILE,
                                   f"sample_count is {subset.metadata.sample_count} but the "
                                   f"{subset.subset_dir.name} records hold {len(subset)} examples"
                                   + (f" ({', '.join(empty)}: empty file, 0 bytes)" if empty else "")
                                   + ("" if subset is train else
                                      " (predictions must have one row per test record)"))
    if train.metadata.output_dim != test.metadata.output_dim:
        raise AutoDLInputError(test.subset_dir / METADATA_FILE,
                               f"output_dim {test.metadata.output_dim} differs from the train "
                               f"metadata's {train.metadata.output_dim}")
    solution_file = root / f"{name}.solution"
    solution, solution_path = None, None
    if solution_file.is_file():
        solution = read_solution(solution_file, expected_rows=len(test), output_dim=test.metadata.output_dim)
        solution_path = solution_file
    return AutoDLData(name=name, root=root, train=train, test=test, solution=solution,
                      solution_path=solution_path, label_names=_label_names(root, name, train.metadata))
