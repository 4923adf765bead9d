"""Turn parsed AutoDL records into tensors: labels, DENSE, COMPRESSED, SPARSE.

The functions here know nothing of files: they raise :class:`RecordError`
with what is wrong, and :class:`~autodl_solver.data.reader.AutoDLSubset`
adds the file and record index. The parse follows the official reader
(docs/protocol.md §3.2); see the reader's module docstring for the
three formats and where we differ (sparse tabular is densified).

Images are decoded with Pillow, as TensorFlow would: the official reader
calls ``tf.image.decode_image(bytes, channels=C)`` then
``tf.image.convert_image_dtype(float32)``, so pixels become float32 in
[0, 1] (``uint8 * (1/255)``, or ``uint16 * (1/65535)`` for 16-bit PNG).

* ``C == 1`` -> mode ``L`` (ITU-R 601 luma, as libjpeg/libpng grayscale),
  ``C == 2`` -> ``LA``, ``C == 3`` -> ``RGB`` (alpha dropped, grey
  replicated), ``C == 4`` -> ``RGBA``. TensorFlow accepts only 1, 3 and 4;
  for any other count we decode RGB and repeat or cut the channels
  (documented "as close as possible").
* GIF: only the first frame (``decode_image`` would return all frames,
  which the official reader cannot reshape anyway).
* EXIF orientation is ignored, as in TensorFlow.
* A frame whose size differs from the first frame of its video is resized
  (bilinear) to the first frame's size, so the frames stack.

JPEG pixels may differ from TensorFlow's by a few grey levels (mean about
one): TensorFlow's default IDCT is libjpeg's fast integer one, Pillow's the
accurate one. For one channel, libjpeg decodes straight to greyscale in both.
PNG, GIF and BMP are exact.
"""
from __future__ import annotations

import io
import warnings
from typing import Optional

import numpy as np
from PIL import Image

from .metadata import Metadata
from .protos import float_feature_list_array

_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_SIXTEEN_BIT_GREY = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can decode."""


class RecordError(ValueError):
    """A record does not match its metadata; the message says what was expected."""


def decode_image(data: bytes, num_channels: int) -> np.ndarray:
    """Decode one encoded image into float32 ``(height, width, num_channels)`` in [0, 1].

    Parameters
    ----------
    data : bytes
        JPEG, PNG, GIF or BMP file bytes.
    num_channels : int
        Channels wanted (>= 1).

    Raises
    ------
    ImageDecodeError
        When the bytes cannot be decoded.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. truncated-file or palette warnings: we raise instead
            image = Image.open(io.BytesIO(data))
            if num_channels == 1 and image.format == "JPEG" and image.mode != "L":
                # let libjpeg output greyscale itself, as TensorFlow's decode_jpeg(channels=1) does
                image.draft("L", image.size)
            image.load()
    except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ValueError ...)
        reason = str(exc).split(" <_io.")[0] or type(exc).__name__  # drop the BytesIO repr
        raise ImageDecodeError(f"undecodable image bytes ({len(data)} bytes): {reason}") from None
    if image.mode in _SIXTEEN_BIT_GREY:
        # 16-bit greyscale PNG: TF keeps 16 bits and scales by 1/65535; convert("L") would clip.
        grey = np.asarray(image, dtype=np.float32) * np.float32(1.0 / 65535.0)
        return _fit_channels(grey[:, :, None], num_channels, grey_source=True)
    mode = _MODES.get(num_channels, "RGB")
    array = np.asarray(image.convert(mode), dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    pixels = array.astype(np.float32) * np.float32(1.0 / 255.0)
    return _fit_channels(pixels, num_channels)


def _fit_channels(pixels: np.ndarray, num_channels: int, grey_source: bool = False) -> np.ndarray:
    """Repeat or cut the channel axis to ``num_channels``."""
    have = pixels.shape[2]
    if have == num_channels:
        return pixels
    if grey_source and num_channels in (2, 4):
        # grey + opaque alpha, like an LA/RGBA conversion
        colour = np.repeat(pixels, num_channels - 1, axis=2)
        return np.concatenate([colour, np.ones_like(pixels)], axis=2)
    reps = -(-num_channels // have)
    return np.tile(pixels, (1, 1, reps))[:, :, :num_channels]


def resize_frame(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float ``(H, W, C)`` frame to ``(height, width, C)`` (bilinear, per channel).

    Used when the frames of one video differ in size: every frame is
    resized to the size of the first one so they stack into one tensor.
    """
    if frame.shape[:2] == (height, width):
        return frame
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(frame[:, :, c], np.float32))
                   .resize((width, height), Image.Resampling.BILINEAR))
        for c in range(frame.shape[2])
    ]
    return np.stack(channels, axis=2).astype(np.float32, copy=False)


# ------------------------------------------------------------------ records
def feature_values(features, key: str, kind: str) -> list:
    """Values of ``features[key]`` when it is a ``kind`` list; empty when absent or unset.

    Raises
    ------
    RecordError
        When the feature holds another kind of list.
    """
    if key not in features:
        return []
    feature = features[key]
    got = feature.WhichOneof("kind")
    if got not in (None, kind):
        raise RecordError(f"feature {key!r} is a {got}, expected a {kind}")
    return getattr(feature, kind).value if got else []


def _list_values(lists, key: str, kind: str) -> list:
    """Every value of every step of feature list ``key`` (the official ``VarLenFeature(...).values``)."""
    out: list = []
    if key in lists:
        for t, feature in enumerate(lists[key].feature):
            try:
                out.extend(feature_values({key: feature}, key, kind))
            except RecordError as exc:
                raise RecordError(f"step {t}: {exc}") from None
    return out


def decode_labels(context, output_dim: int) -> np.ndarray:
    """Dense ``(output_dim,)`` float32 labels from ``label_index``/``label_score``, like ``tf.sparse.to_dense``."""
    features = context.feature
    index = feature_values(features, "label_index", "int64_list")
    score = feature_values(features, "label_score", "float_list")
    if len(index) != len(score):
        raise RecordError(f"{len(index)} label_index values but {len(score)} label_score values; "
                          "expected one score per index")
    indices = np.asarray(index, np.int64)
    if indices.size and (indices.min() < 0 or indices.max() >= output_dim):
        bad = int(indices.max() if indices.max() >= output_dim else indices.min())
        raise RecordError(f"label index {bad} outside 0..{output_dim - 1} (output_dim is {output_dim})")
    y = np.zeros(output_dim, np.float32)
    y[indices] = np.asarray(score, np.float32)
    return y


def decode_example(example, metadata: Metadata, on_corrupt: str = "raise") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Decode a parsed ``SequenceExample`` into ``(x, labels, problems)``.

    Parameters
    ----------
    example : SequenceExample
        From :mod:`autodl_solver.data.protos`.
    metadata : Metadata
        Decides the format, shape and channels.
    on_corrupt : {"raise", "skip"}
        For undecodable image bytes: raise, or put a zero frame and report it
        in ``problems``.

    Returns
    -------
    x : float32 array ``(T, R, C, Ch)``
    labels : float32 array ``(output_dim,)``
    problems : list of str
        One line per image replaced by zeros (empty unless ``on_corrupt="skip"``).

    Raises
    ------
    RecordError
        When the record does not match the metadata.
    """
    y = decode_labels(example.context, metadata.output_dim)
    lists = example.feature_lists.feature_list
    problems: list[str] = []
    if metadata.format == "DENSE":
        x = _dense(lists, metadata)
    elif metadata.format == "COMPRESSED":
        x = _compressed(lists, metadata, on_corrupt, problems)
    else:
        x = _sparse(lists, metadata)
    return x, y, problems


def _check_steps(steps: int, metadata: Metadata, what: str) -> None:
    seq = int(metadata.sequence_size)
    if seq != -1 and steps != seq:
        raise RecordError(f"{steps} {what}, expected sequence_size = {seq} from the metadata")


def _dense(lists, metadata: Metadata) -> np.ndarray:
    _, rows, cols, channels = metadata.tensor_shape
    if rows < 1 or cols < 1:
        raise RecordError(f"DENSE data needs a fixed row_count and col_count, metadata has {rows} x {cols}")
    size = rows * cols * channels
    steps = lists["0_dense_input"].feature if "0_dense_input" in lists else []
    array = float_feature_list_array(lists["0_dense_input"]) if steps else np.zeros((0, size), np.float32)
    if array is None or (len(steps) and array.shape[1] != size):
        for t, feature in enumerate(steps):  # slow path: find the step that is wrong
            if feature.WhichOneof("kind") != "float_list":
                raise RecordError(f"0_dense_input step {t} is a {feature.WhichOneof('kind')}, expected a float_list")
            if len(feature.float_list.value) != size:
                raise RecordError(f"0_dense_input step {t} has {len(feature.float_list.value)} values, "
                                  f"expected row*col*channels = {rows}*{cols}*{channels} = {size}")
        raise RecordError("0_dense_input steps could not be read as float lists")
    _check_steps(len(array), metadata, "0_dense_input steps")
    return array.reshape(len(array), rows, cols, channels)


def _compressed(lists, metadata: Metadata, on_corrupt: str, problems: list[str]) -> np.ndarray:
    _, rows, cols, channels = metadata.tensor_shape
    blobs = _list_values(lists, "0_compressed", "bytes_list")
    _check_steps(len(blobs), metadata, "images (0_compressed values)")
    frames: list[Optional[np.ndarray]] = []
    for t, blob in enumerate(blobs):
        try:
            frames.append(decode_image(blob, channels))
        except ImageDecodeError as exc:
            if on_corrupt == "raise":
                raise RecordError(f"image {t}: {exc}") from None
            problems.append(f"image {t}: {exc}; replaced by zeros")
            frames.append(None)
    if rows > 0 and cols > 0:
        for t, frame in enumerate(frames):
            if frame is not None and frame.shape[:2] != (rows, cols):
                raise RecordError(f"image {t} is {frame.shape[0]}x{frame.shape[1]}, expected "
                                  f"{rows}x{cols} (row_count x col_count) from the metadata")
        height, width = rows, cols
    else:
        good = [f for f in frames if f is not None]
        height, width = good[0].shape[:2] if good else (1, 1)
    out = np.zeros((len(frames), height, width, channels), np.float32)
    for t, frame in enumerate(frames):
        if frame is not None:
            out[t] = resize_frame(frame, height, width)
    return out


def _sparse(lists, metadata: Metadata) -> np.ndarray:
    _, rows, cols, channels = metadata.tensor_shape
    channel = np.asarray(_list_values(lists, "0_sparse_channel_index", "int64_list"), np.int64)
    if not cols > channels:  # official "sparse text": the channel indices are the tokens
        return channel.astype(np.float32).reshape(-1, 1, 1, 1)
    col = np.asarray(_list_values(lists, "0_sparse_col_index", "int64_list"), np.int64)
    row = np.asarray(_list_values(lists, "0_sparse_row_index", "int64_list"), np.int64)
    value = np.asarray(_list_values(lists, "0_sparse_value", "float_list"), np.float32)
    if len(col) != len(value):
        raise RecordError(f"{len(col)} 0_sparse_col_index values but {len(value)} 0_sparse_value values; "
                          "expected one value per column index")
    row = row if len(row) else np.zeros_like(col)  # absent lists mean index 0 (toolkit back-compatibility)
    channel = channel if len(channel) else np.zeros_like(col)
    if len(row) != len(col) or len(channel) != len(col):
        raise RecordError(f"sparse index lists differ in length (col {len(col)}, row {len(row)}, "
                          f"channel {len(channel)}); expected equal lengths")
    if rows < 1:
        raise RecordError(f"sparse tabular data needs a fixed row_count, metadata has {rows}")
    for name, idx, bound in (("row", row, rows), ("col", col, cols), ("channel", channel, channels)):
        if idx.size and (idx.min() < 0 or idx.max() >= bound):
            bad = int(idx.max() if idx.max() >= bound else idx.min())
            raise RecordError(f"sparse {name} index {bad} outside 0..{bound - 1} from the metadata")
    dense = np.zeros((1, rows, cols, channels), np.float32)
    dense[0, row, col, channel] = value  # duplicates: the last entry wins
    return dense
