"""The official ``tf.data`` pipeline of an AutoDL subset (ingestion v20191204).

A ``model.py`` written for AutoDL 2019 receives, in ``train`` and ``test``, the
``tf.data.Dataset`` that the starting kit's ``AutoDLDataset`` builds
(``AutoDL_ingestion_program/dataset.py``). This module rebuilds that pipeline
step for step so such a model sees the same elements:

* files: ``<subset_dir>/sample*`` (sorted); one file is read with
  ``TFRecordDataset(files, num_parallel_reads=3)``, several are interleaved
  with ``cycle_length=3``;
* parse: ``parse_single_sequence_example`` with context ``label_index`` /
  ``label_score`` and, per format, ``0_dense_input`` (DENSE),
  ``0_compressed`` (COMPRESSED) or ``0_sparse_*`` (SPARSE);
* element: ``(example float32 [seq, row, col, ch], labels float32 [output_dim])``
  with ``None`` for the dimensions that are ``-1`` in the metadata; labels are
  the dense form of ``label_index``/``label_score`` (all zeros in test sets).

It works in TF2 eager mode and in graph mode (after
``tf.compat.v1.disable_v2_behavior()``, the 2019 reference environment); in
graph mode the dataset is a ``tf.compat.v1.data`` dataset, so 2019 code can call
``dataset.make_one_shot_iterator()`` on it as it did under TF 1.13.

Two deliberate differences from the official code, both on inputs where the
official pipeline crashes: images are decoded with ``expand_animations=False``
(a GIF yields its first frame instead of a rank error), and SPARSE data with an
unknown ``col_count`` is refused with :class:`AutoDLInputError` (the official
compares ``None > int`` and raises ``TypeError``).
"""
from __future__ import annotations

import glob
import os
import weakref
from pathlib import Path
from typing import Any, Optional

from ..errors import AutoDLInputError
from ..data.metadata import Metadata
from ..data.textproto import METADATA_FILE

#: Readers of the official ``AutoDLDataset(num_parallel_readers=3)``.
NUM_PARALLEL_READERS = 3

# Datasets already built, per TF graph (graph mode binds a dataset to the
# graph it was made in) and then per (subset, pipeline-defining metadata).
_EAGER_CACHE: dict[tuple, Any] = {}
_GRAPH_CACHE: "weakref.WeakKeyDictionary[Any, dict[tuple, Any]]" = weakref.WeakKeyDictionary()


def dataset_files(subset_dir: str | os.PathLike) -> list[str]:
    """The record files of a subset: ``sample*`` in ``subset_dir``, sorted.

    Raises
    ------
    AutoDLInputError
        If ``subset_dir`` holds no file named ``sample*``.
    """
    pattern = os.path.join(os.fspath(subset_dir), "sample*")
    files = sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
    if not files:
        raise AutoDLInputError(subset_dir, "no TFRecord file named 'sample*' found (expected at least one)")
    return files


def build_official_dataset(subset_dir: str | os.PathLike, metadata: Metadata):
    """The official ``tf.data.Dataset`` of one subset (``train`` or ``test``).

    The same object is returned for the same subset and metadata within one
    TF graph (or in eager mode), as the official ``get_dataset()`` returns a
    cached attribute: a model may rely on ``dataset is dataset``.

    Parameters
    ----------
    subset_dir : str or os.PathLike
        Folder with ``metadata.textproto`` and the ``sample*`` record files.
    metadata : Metadata
        The subset's metadata (see :func:`autodl_solver.data.textproto.read_metadata`).

    Returns
    -------
    tf.data.Dataset
        Elements ``(example, labels)``: ``tf.float32`` of shape
        ``metadata.shape`` (``None`` for variable dimensions; SPARSE as in the
        official code, see :func:`parse_function`) and ``tf.float32`` of shape
        ``(output_dim,)``. Not shuffled, batched nor repeated.

    Raises
    ------
    AutoDLInputError
        No ``sample*`` file, or a shape the official pipeline cannot parse
        (DENSE with a variable row/col count, SPARSE with a variable col count).
    """
    import tensorflow as tf

    key = (
        str(Path(subset_dir).resolve()),
        metadata.format,
        metadata.tensor_shape,
        int(metadata.output_dim),
    )
    if tf.executing_eagerly():
        cache = _EAGER_CACHE
    else:
        cache = _GRAPH_CACHE.setdefault(tf.compat.v1.get_default_graph(), {})
    if key not in cache:
        cache[key] = _build(subset_dir, metadata)
    return cache[key]


def clear_cache() -> None:
    """Forget every cached dataset (the next call builds new ones)."""
    _EAGER_CACHE.clear()
    _GRAPH_CACHE.clear()


def _build(subset_dir: str | os.PathLike, metadata: Metadata):
    import tensorflow as tf

    files = dataset_files(subset_dir)
    parse = parse_function(metadata, subset_dir)  # checks the shape before any TF op is made
    # Graph mode stands for TF 1.13: give 2019 code the V1 dataset API
    # (make_one_shot_iterator, output_shapes ...). V1 datasets are V2 datasets too.
    data = tf.data if tf.executing_eagerly() else tf.compat.v1.data
    if len(files) > 1:
        dataset = data.Dataset.from_tensor_slices(files).interleave(
            data.TFRecordDataset,
            cycle_length=NUM_PARALLEL_READERS,
            num_parallel_calls=tf.data.experimental.AUTOTUNE,
        )
    else:
        dataset = data.TFRecordDataset(files, num_parallel_reads=NUM_PARALLEL_READERS)
    # map keeps the record order (deterministic by default), so element i is record i.
    return dataset.map(parse, num_parallel_calls=tf.data.experimental.AUTOTUNE)


def parse_function(metadata: Metadata, where: str | os.PathLike = "metadata"):
    """The official ``_parse_function`` for one subset's metadata.

    Returns a function from a serialized ``SequenceExample`` to
    ``(example, labels)``. SPARSE records follow the official code: tabular
    data (``col_count > num_channels``) gives the ``(1, nnz, 2, 1)`` tensor of
    ``(col_index, value)`` pairs; text gives ``sparse_channel_index`` as a
    ``(-1, 1, 1, 1)`` sequence of token indices.
    """
    import tensorflow as tf

    seq, row, col, channels = metadata.tensor_shape
    output_dim = int(metadata.output_dim)
    fixed_matrix = row > 0 and col > 0
    if metadata.format == "DENSE" and not fixed_matrix:
        raise AutoDLInputError(
            where, f"DENSE data needs known row and col counts, got tensor shape {metadata.tensor_shape}"
        )
    if metadata.format == "SPARSE" and col <= 0:
        raise AutoDLInputError(
            where, f"SPARSE data needs a known col_count, got tensor shape {metadata.tensor_shape}"
        )

    if metadata.format == "SPARSE":
        sequence_features = {
            "0_sparse_col_index": tf.io.VarLenFeature(tf.int64),
            "0_sparse_row_index": tf.io.VarLenFeature(tf.int64),
            "0_sparse_channel_index": tf.io.VarLenFeature(tf.int64),
            "0_sparse_value": tf.io.VarLenFeature(tf.float32),
        }
    elif metadata.format == "COMPRESSED":
        sequence_features = {"0_compressed": tf.io.VarLenFeature(tf.string)}
    else:
        sequence_features = {
            "0_dense_input": tf.io.FixedLenSequenceFeature((row, col, channels), dtype=tf.float32)
        }
    context_features = {
        "label_index": tf.io.VarLenFeature(tf.int64),
        "label_score": tf.io.VarLenFeature(tf.float32),
    }
    static_shape = [None if d <= 0 else d for d in (seq, row, col, channels)]

    def decompress(image_bytes):
        # dataset_utils.decompress_image: uint8 decode, then [0, 1] floats.
        image = tf.image.decode_image(image_bytes, channels=channels, expand_animations=False)
        image = tf.image.convert_image_dtype(image, dtype=tf.float32)
        image.set_shape([None, None, channels])
        return image

    def parse(serialized):
        contexts, features = tf.io.parse_single_sequence_example(
            serialized, context_features=context_features, sequence_features=sequence_features
        )
        if metadata.format == "DENSE":
            # seq may be -1: reshape infers it (the official passes it as is).
            example = tf.reshape(features["0_dense_input"], [seq, row, col, channels])
        elif metadata.format == "COMPRESSED":
            example = tf.map_fn(
                decompress,
                features["0_compressed"].values,
                fn_output_signature=tf.TensorSpec([None, None, channels], tf.float32),
            )
            example.set_shape(static_shape)
        else:
            sparse_col = features["0_sparse_col_index"].values
            sparse_channel = features["0_sparse_channel_index"].values
            sparse_val = features["0_sparse_value"].values
            if col > channels:  # sparse tabular: rows of (column index, value)
                pairs = tf.concat(
                    [
                        tf.reshape(tf.cast(sparse_col, tf.float32), [-1, 1]),
                        tf.reshape(sparse_val, [-1, 1]),
                    ],
                    1,
                )
                example = tf.reshape(pairs, [1, -1, 2, 1])
            else:  # sparse text: the channel index is the token index
                example = tf.cast(tf.reshape(sparse_channel, [-1, 1, 1, 1]), tf.float32)
        indices = tf.reshape(contexts["label_index"].values, [-1, 1])
        sparse_labels = tf.sparse.SparseTensor(
            indices=indices, values=contexts["label_score"].values, dense_shape=(output_dim,)
        )
        labels = tf.sparse.to_dense(sparse_labels, validate_indices=False)
        return tf.cast(example, tf.float32), labels

    return parse


def sibling_test_count(metadata: Any) -> Optional[int]:
    """The size of the test subset beside a train subset, or ``None`` when it cannot be known.

    ``Model`` receives only the train metadata, but the official layout puts
    ``X.data/test/metadata.textproto`` beside ``X.data/train`` and the
    official metadata names its folder (``get_dataset_name()``). Knowing the
    test size lets ``Model.test`` predict a test set it has only partly read.

    Parameters
    ----------
    metadata : Metadata or official AutoDLMetadata
        The train subset's metadata.
    """
    folder = getattr(metadata, "subset_dir", None)
    if not folder:
        getter = getattr(metadata, "get_dataset_name", None)
        folder = getter() if callable(getter) else None
    if not folder:
        return None
    path = Path(str(folder))
    test = path.parent / "test"
    if path.name != "train" or not (test / METADATA_FILE).is_file():
        return None
    try:
        from ..data.textproto import read_metadata

        return int(read_metadata(test).sample_count)
    except Exception:  # noqa: BLE001 - an unreadable sibling: the count stays unknown (read to the end)
        return None


class OfficialDataset:
    """The official ``AutoDLDataset`` object: metadata plus a cached pipeline.

    Parameters
    ----------
    subset_dir : str or os.PathLike
        ``<name>.data/train`` or ``<name>.data/test``.
    metadata : Metadata, optional
        Read from ``subset_dir/metadata.textproto`` when not given.
    """

    def __init__(self, subset_dir: str | os.PathLike, metadata: Metadata | None = None) -> None:
        if metadata is None:
            from ..data.textproto import read_metadata

            metadata = read_metadata(subset_dir)
        self.subset_dir = Path(subset_dir)
        # get_dataset_name() is the subset folder, as in the official AutoDLMetadata
        self.metadata_ = metadata if metadata.subset_dir else metadata.replace(subset_dir=str(self.subset_dir))
        self.dataset_ = build_official_dataset(subset_dir, metadata)

    def get_dataset(self):
        """The ``tf.data.Dataset`` (the same object on every call)."""
        return self.dataset_

    def get_metadata(self) -> Metadata:
        """The subset's :class:`Metadata` (official ``AutoDLMetadata`` methods included)."""
        return self.metadata_
