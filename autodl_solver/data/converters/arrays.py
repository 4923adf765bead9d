"""Numpy arrays -> AutoDL dataset (DENSE records).

Accepted example layouts (``n`` examples first):

=====================  ==========================  ===========
``x`` shape            stored tensor (T, R, C, Ch)  domain
=====================  ==========================  ===========
``(n, F)``             ``(1, 1, F, 1)``             tabular
``(n, H, W)``          ``(1, H, W, 1)``             image
``(n, H, W, C)``       ``(1, H, W, C)``             image
``(n, T, R, C, Ch)``   as given                     any
list of 4-D arrays     as given, T may vary         any
=====================  ==========================  ===========

Values are stored as float32 exactly as given (no rescaling: uint8 images
stay in [0, 255]); NaN is allowed (tabular missing values), infinities are
not. Labels are class ids ``(n,)`` or a multi-hot / confidence matrix ``(n, k)``; a single
column ``(n, 1)`` is a column of class ids (0/1: two classes), as in :class:`~autodl_solver.AutoDLClassifier`.
The examples are read by :mod:`autodl_solver.data.inputs`, shared with the library.
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

from ...errors import AutoDLInputError
from ..inputs import examples_of, label_column
from ..metadata import Metadata
from .common import (ConversionResult, check_label_matrix, check_output, check_test_size,
                     class_ids_to_matrix, write)
from .split import DEFAULT_SEED, DEFAULT_TEST_SIZE, first_labels, split_indices


def as_examples(x, where: str = "x") -> list[np.ndarray]:
    """Examples of ``x`` as a list of float32 ``(T, R, C, Ch)`` arrays (see module table).

    The same conversion as the library's (:func:`autodl_solver.data.inputs.examples_of`).
    """
    return examples_of(x, where)


def as_labels(y, n: int, where: str, output_dim: Optional[int]) -> np.ndarray:
    """Labels as a float32 ``(n, output_dim)`` matrix from class ids or a matrix."""
    # a column of class ids (binary 0/1 becomes two classes, as in the toolkit): the rule the
    # library's AutoDLClassifier follows too (autodl_solver.data.inputs.label_column)
    y = label_column(np.asarray(y))
    if y.ndim == 1:
        if not np.issubdtype(y.dtype, np.number):
            raise AutoDLInputError(where, f"expected numeric class ids, got dtype {y.dtype}")
        y = class_ids_to_matrix(y, where, output_dim)
    else:
        y = check_label_matrix(y, where)
        if output_dim is not None and y.shape[1] != output_dim:
            raise AutoDLInputError(where, f"has {y.shape[1]} columns, expected {output_dim}")
    if len(y) != n:
        raise AutoDLInputError(where, f"has {len(y)} rows but there are {n} examples")
    return y


def _rate(sample_rate) -> int:
    try:
        rate = int(sample_rate)
    except (TypeError, ValueError):
        raise AutoDLInputError("sample_rate", f"expected a rate in Hz, got {sample_rate!r}") from None
    if rate < 1:
        raise AutoDLInputError("sample_rate", f"got {sample_rate}, expected a positive rate in Hz")
    return rate


def _tensor_shape(examples: Sequence[np.ndarray], where: str) -> tuple[int, int, int, int]:
    """Common (T, R, C, Ch) with -1 for a varying time axis; other axes must agree."""
    shapes = np.array([e.shape for e in examples])
    shape = [int(v) if (shapes[:, k] == v).all() else -1 for k, v in enumerate(shapes[0])]
    if -1 in shape[1:]:
        # DENSE records are parsed with a fixed per-step (R, C, Ch) shape
        # (docs/protocol.md §3.2): only the time axis may vary.
        raise AutoDLInputError(where, "examples differ in (row, col, channel) shape: "
                                      f"{sorted(set(map(tuple, shapes[:, 1:].tolist())))[:3]}")
    t, r, c, ch = shape
    return t, r, c, ch


def from_arrays(x, y, out_dir: str | os.PathLike, name: str, x_test=None, y_test=None, *,
                output_dim: Optional[int] = None, label_names: Optional[Sequence[str]] = None,
                test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
                overwrite: bool = False, sample_rate: Optional[int] = None) -> ConversionResult:
    """Write numpy examples and labels as an AutoDL dataset.

    Parameters
    ----------
    x : array or list of 4-D arrays
        Training examples (or all examples when ``x_test`` is not given);
        layouts as in the module table.
    y : array of shape (n,) or (n, k)
        Class ids or a multi-hot / confidence matrix.
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str
        Dataset name.
    x_test, y_test : optional
        A given test set (both or neither); without it a seeded stratified
        split of ``x`` is made (:func:`~.split.split_indices`).
    output_dim : int, optional
        Number of classes (default: from the labels).
    label_names : sequence of str, optional
        Class names, one per class.
    test_size, seed : float, int
        Split parameters when no test set is given.
    overwrite : bool
        Replace an existing ``out_dir/name``.
    sample_rate : int, optional
        Sample rate (Hz) of waveform examples ``(T, 1, 1, 1)``; recorded in the
        metadata file as a comment the official readers skip
        (:data:`~autodl_solver.data.metadata.EXTRAS_PREFIX`).

    Returns
    -------
    ConversionResult
    """
    check_output(out_dir, name, overwrite)
    if (x_test is None) != (y_test is None):
        raise AutoDLInputError("x_test/y_test", "give both the test examples and their labels, or neither")
    if label_names is not None:
        label_names = [str(s) for s in label_names]
        if output_dim is not None and output_dim != len(label_names):
            raise AutoDLInputError("label_names", f"has {len(label_names)} names, expected output_dim={output_dim}")
        output_dim = len(label_names)
    train_x = as_examples(x, "x")
    if x_test is None:
        train_y = as_labels(y, len(train_x), "y", output_dim)
        train_idx, test_idx = split_indices(len(train_x), check_test_size(test_size), seed,
                                            strata=first_labels(train_y))
        test_x, test_y = [train_x[i] for i in test_idx], train_y[test_idx]
        train_x, train_y = [train_x[i] for i in train_idx], train_y[train_idx]
    else:
        test_x = as_examples(x_test, "x_test")
        if output_dim is None:
            # Class ids in the test set may exceed the train maximum.
            ids = [np.asarray(v) for v in (y, y_test)]
            if all(v.ndim == 1 for v in ids):
                output_dim = int(max(v.max() for v in ids)) + 1 if all(v.size for v in ids) else None
        train_y = as_labels(y, len(train_x), "y", output_dim)
        test_y = as_labels(y_test, len(test_x), "y_test", train_y.shape[1])
    shape = _tensor_shape(train_x + test_x, "x")
    metadata = Metadata(output_dim=int(train_y.shape[1]), sequence_size=shape[0], row_count=shape[1],
                        col_count=shape[2], raw_num_channels=shape[3], format="DENSE", name=name,
                        is_sequence=shape[0] != 1,
                        has_locality_row=shape[1] > 1 and shape[2] > 1,
                        has_locality_col=shape[1] > 1 and shape[2] > 1,
                        sample_rate=None if sample_rate is None else _rate(sample_rate))
    if label_names:
        metadata.label_to_index = {n: i for i, n in enumerate(label_names)}
    return write(out_dir, name, metadata, zip(train_x, train_y), zip(test_x, test_y),
                 overwrite=overwrite, label_names=label_names)
