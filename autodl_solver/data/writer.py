"""Write official AutoDL datasets (the layout the formatting toolkit produces).

:func:`write_dataset` writes ``out_dir/name/``::

    name.data/test/metadata.textproto   name.data/test/sample-name-test.tfrecord
    name.data/train/metadata.textproto  name.data/train/sample-name-train.tfrecord
    name.solution                       test labels, one row per test record
    name_label.name                     class names (when known)
    name_public.info                    domain / sample_num / label_num

as ``utils/dataset_formatter.py`` of ``autodl-contrib`` does: test first,
then train; context ``id`` = ``i`` for test and ``n_test + i`` for train;
test records carry **empty** ``label_index``/``label_score`` lists (the labels
go only to the solution), train records the non-zero entries of each label
vector. The whole folder is built under a temporary name and renamed at the
end, so a failure leaves nothing half-written.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np
from PIL import Image

from ..errors import AutoDLInputError
from ..utils.atomic import atomic_dir
from .metadata import Metadata, extras_comment
from .protos import (BytesList, Feature, FeatureList, Features, FloatList, Int64List,
                     float_feature_list_bytes, len_field)
from .tfrecord import TFRecordWriter
from .textproto import METADATA_FILE, write_metadata

SPARSE_KEYS = ("col", "row", "channel", "value")


def _fail(subset: str, index: int, problem: str) -> AutoDLInputError:
    return AutoDLInputError(f"{subset} example {index}", problem)


def _check_labels(labels: Any, metadata: Metadata, subset: str, index: int) -> np.ndarray:
    y = np.asarray(labels, dtype=np.float64)
    if y.shape != (metadata.output_dim,):
        raise _fail(subset, index, f"labels have shape {y.shape}, expected ({metadata.output_dim},) "
                                   "(one value per class)")
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        raise _fail(subset, index, "labels must be finite and >= 0 (multi-hot or confidences)")
    return y


def _dense_steps(x: Any, metadata: Metadata, subset: str, index: int) -> np.ndarray:
    seq, rows, cols, channels = metadata.tensor_shape
    array = np.asarray(x, dtype=np.float32)
    if array.ndim != 4 or array.shape[1:] != (rows, cols, channels):
        raise _fail(subset, index, f"DENSE example has shape {array.shape}, expected "
                                   f"(T, {rows}, {cols}, {channels}) from the metadata")
    if seq != -1 and array.shape[0] != seq:
        raise _fail(subset, index, f"{array.shape[0]} time steps, expected sequence_size = {seq}")
    return array.reshape(array.shape[0], -1)


def _compressed_steps(x: Any, metadata: Metadata, subset: str, index: int) -> list[bytes]:
    seq, rows, cols, _ = metadata.tensor_shape
    if isinstance(x, (bytes, bytearray, memoryview)) or not isinstance(x, Sequence):
        raise _fail(subset, index, "COMPRESSED example must be a list of encoded images (bytes), one per step")
    blobs = []
    for t, blob in enumerate(x):
        if not isinstance(blob, (bytes, bytearray, memoryview)):
            raise _fail(subset, index, f"step {t} is a {type(blob).__name__}, expected encoded image bytes")
        try:  # header only: the bytes are stored as given, never re-encoded
            width, height = Image.open(io.BytesIO(bytes(blob))).size
        except Exception as exc:
            raise _fail(subset, index, f"step {t} is not a readable image ({type(exc).__name__})") from None
        if (rows != -1 and height != rows) or (cols != -1 and width != cols):
            raise _fail(subset, index, f"step {t} image is {height}x{width}, expected {rows}x{cols} "
                                       "(row_count x col_count, -1 = any)")
        blobs.append(bytes(blob))
    if seq != -1 and len(blobs) != seq:
        raise _fail(subset, index, f"{len(blobs)} images, expected sequence_size = {seq}")
    if not blobs:
        raise _fail(subset, index, "no image; expected at least one")
    return blobs


def _sparse_entries(x: Any, metadata: Metadata, subset: str, index: int) -> dict[str, np.ndarray]:
    _, rows, cols, channels = metadata.tensor_shape
    text = not cols > channels  # the official reader's test: sparse text uses only 'channel'
    required = ("channel",) if text else ("col", "value")
    if not isinstance(x, dict) or any(key not in x for key in required):
        raise _fail(subset, index, f"SPARSE example must be a dict with keys {SPARSE_KEYS} "
                                   f"(at least {required})")
    unknown = set(x) - set(SPARSE_KEYS)
    if unknown:
        raise _fail(subset, index, f"unknown SPARSE keys {sorted(unknown)}; expected {SPARSE_KEYS}")
    n = len(np.ravel(x[required[0]]))
    out = {}
    for key in SPARSE_KEYS:
        default = np.ones(n) if key == "value" else np.zeros(n)
        values = np.ravel(np.asarray(x.get(key, default), np.float32 if key == "value" else np.float64))
        if len(values) != n:
            raise _fail(subset, index, f"SPARSE '{key}' has {len(values)} entries, '{required[0]}' has {n}")
        if key != "value":
            if np.any(values != np.round(values)) or np.any(values < 0):
                raise _fail(subset, index, f"SPARSE '{key}' indices must be non-negative integers")
            values = values.astype(np.int64)
        out[key] = values
    if not text:  # sparse tabular: indices must fall inside the matrix
        for key, bound in (("row", rows), ("col", cols), ("channel", channels)):
            if bound != -1 and n and out[key].max() >= bound:
                raise _fail(subset, index, f"SPARSE '{key}' index {int(out[key].max())} outside 0..{bound - 1}")
    return out


def _feature_list_bytes(x: Any, metadata: Metadata, subset: str, index: int) -> bytes:
    """Serialized ``FeatureLists`` of one example."""
    if metadata.format == "DENSE":
        lists = {"0_dense_input": float_feature_list_bytes(_dense_steps(x, metadata, subset, index))}
    elif metadata.format == "COMPRESSED":
        blobs = _compressed_steps(x, metadata, subset, index)
        lists = {"0_compressed": FeatureList(
            feature=[Feature(bytes_list=BytesList(value=[b])) for b in blobs]).SerializeToString()}
    else:  # one step holding every entry, as the toolkit writes
        entries = _sparse_entries(x, metadata, subset, index)
        lists = {f"0_sparse_{key}_index": FeatureList(feature=[Feature(
            int64_list=Int64List(value=entries[key]))]).SerializeToString() for key in ("col", "row", "channel")}
        lists["0_sparse_value"] = FeatureList(
            feature=[Feature(float_list=FloatList(value=entries["value"]))]).SerializeToString()
    # FeatureLists: map<string, FeatureList> = repeated entry {1: key, 2: value}
    return b"".join(len_field(1, len_field(1, key.encode()) + len_field(2, value)) for key, value in lists.items())


def encode_example(x: Any, labels: np.ndarray, metadata: Metadata, *, example_id: int,
                   with_labels: bool, subset: str = "example", index: int = 0) -> bytes:
    """Serialize one example as the official ``SequenceExample`` record.

    Parameters
    ----------
    x : array, list of bytes or dict
        The example in the form :func:`write_dataset` documents for ``metadata.format``.
    labels : array of shape (output_dim,)
        Label vector; its non-zero entries become ``label_index``/``label_score``
        when ``with_labels`` (train), else both lists are left empty (test).
    """
    y = _check_labels(labels, metadata, subset, index)
    context = Features()
    context.feature["id"].int64_list.value.append(int(example_id))
    label_index = context.feature["label_index"].int64_list
    label_score = context.feature["label_score"].float_list
    label_index.SetInParent()
    label_score.SetInParent()
    if with_labels:
        nonzero = np.flatnonzero(y)
        label_index.value.extend(int(k) for k in nonzero)
        label_score.value.extend(float(v) for v in y[nonzero])
    body = _feature_list_bytes(x, metadata, subset, index)
    return len_field(1, context.SerializeToString()) + len_field(2, body)


def _write_subset(folder: Path, name: str, subset: str, metadata: Metadata, examples: Iterable,
                  first_id: int) -> tuple[int, list[np.ndarray]]:
    folder.mkdir(parents=True)
    labels: list[np.ndarray] = []
    with open(folder / f"sample-{name}-{subset}.tfrecord", "wb") as handle:
        writer = TFRecordWriter(handle)
        for i, item in enumerate(examples):
            try:
                x, y = item
            except (TypeError, ValueError):
                raise _fail(subset, i, "expected an (x, labels) pair") from None
            writer.write(encode_example(x, y, metadata, example_id=first_id + i,
                                        with_labels=subset == "train", subset=subset, index=i))
            if subset == "test":  # test labels go to the solution file only
                labels.append(np.asarray(y, np.float64))
    write_metadata(folder / METADATA_FILE, metadata.replace(sample_count=writer.count))
    extras = extras_comment(metadata)
    if extras:  # the sample rate: a comment the official parsers skip (metadata.EXTRAS_PREFIX)
        with open(folder / METADATA_FILE, "a", encoding="utf-8") as handle:
            handle.write(extras)
    return writer.count, labels


def _check_metadata(metadata: Metadata, name: str, label_names: Optional[Sequence[str]]) -> Metadata:
    if not name or name.startswith(".") or "/" in name or os.sep in name:
        raise AutoDLInputError("name", f"got {name!r}, expected a plain dataset name")
    if metadata.format == "DENSE" and (metadata.row_count < 1 or metadata.col_count < 1):
        raise AutoDLInputError("metadata", f"DENSE data needs a fixed row_count and col_count, got "
                                           f"{metadata.row_count} x {metadata.col_count}")
    sparse_tabular = metadata.format == "SPARSE" and metadata.col_count > metadata.num_channels
    if sparse_tabular and metadata.row_count < 1:
        raise AutoDLInputError("metadata", "sparse tabular data (col_count > num_channels) needs a fixed "
                                           f"row_count, got {metadata.row_count}")
    if label_names is not None:
        if len(label_names) != metadata.output_dim:
            raise AutoDLInputError("label_names", f"{len(label_names)} names, expected output_dim = "
                                                  f"{metadata.output_dim}")
        if any("\n" in str(n) or "\r" in str(n) for n in label_names):
            raise AutoDLInputError("label_names", "a class name contains a line break")
        if not metadata.label_to_index and len(set(label_names)) == len(label_names):
            metadata = metadata.replace(label_to_index={str(n): i for i, n in enumerate(label_names)})
    return metadata.replace(name=name)


def write_dataset(out_dir: str | os.PathLike, name: str, metadata: Metadata, train: Iterable,
                  test: Iterable, *, overwrite: bool = False,
                  label_names: Optional[Sequence[str]] = None) -> Path:
    """Write an official AutoDL dataset to ``out_dir/name``.

    Parameters
    ----------
    out_dir : path
        Parent folder; created if needed.
    name : str
        Dataset name ``X`` (files ``X.data``, ``X.solution`` ...).
    metadata : Metadata
        Shape, format and maps; ``sample_count`` is ignored (each subset
        records how many examples were written).
    train, test : iterable of (x, labels)
        Generators are fine (read once). ``labels`` is an ``(output_dim,)``
        multi-hot or confidence vector; ``x`` is, by ``metadata.format``:
        DENSE, a float array ``(T, R, C, Ch)`` (``T`` may vary when
        ``sequence_size`` is -1); COMPRESSED, a list of encoded image bytes,
        one per time step (stored as given, never re-encoded); SPARSE, a
        dict ``{"col", "row", "channel", "value"}`` of equal-length arrays.
    overwrite : bool
        Replace an existing ``out_dir/name``.
    label_names : sequence of str, optional
        Class names, written to ``X_label.name`` (and to the metadata label
        map when that is empty).

    Returns
    -------
    Path
        The dataset folder ``out_dir/name``.

    Raises
    ------
    AutoDLInputError
        Naming the subset and example index when an example does not match
        the metadata; nothing is left on disk.
    """
    from ..domains.inference import infer_domain

    metadata = _check_metadata(metadata, name, label_names)
    target = Path(out_dir) / name
    if target.exists() and not overwrite:
        raise AutoDLInputError(target, "already exists; pass overwrite=True to replace it")
    with atomic_dir(target) as tmp:
        data_dir = tmp / f"{name}.data"
        n_test, test_labels = _write_subset(data_dir / "test", name, "test", metadata, test, 0)
        n_train, _ = _write_subset(data_dir / "train", name, "train", metadata, train, n_test)
        solution = np.stack(test_labels) if test_labels else np.zeros((0, metadata.output_dim))
        binary = bool(np.all((solution == 0) | (solution == 1)))
        np.savetxt(tmp / f"{name}.solution", solution, fmt="%.0f" if binary else "%g")
        names = list(label_names) if label_names is not None else (
            metadata.class_names if metadata.label_to_index else None)
        if names is not None:
            (tmp / f"{name}_label.name").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
        (tmp / f"{name}_public.info").write_text(
            f"domain : {infer_domain(metadata)}\nsample_num : {n_train + n_test}\n"
            f"label_num : {metadata.output_dim}\n", encoding="utf-8")
    return target
