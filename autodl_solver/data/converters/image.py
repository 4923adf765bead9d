"""Image folder -> AutoDL dataset (COMPRESSED records, one image per example).

Layouts (see :mod:`.common`): image files plus a toolkit ``*labels*.csv``
(and optionally ``label.name``), or one sub-folder per class.

Encoding follows the official toolkit (``format_image.py``) with its bugs
fixed (docs/protocol.md §7.8):

* JPEG, PNG and BMP files are stored as their **original bytes** (no
  re-encoding, no quality loss). GIF files are re-encoded as PNG of their
  first frame (lossless): ``tf.image.decode_image`` returns a 4-D array for
  any GIF, which the official reader cannot reshape into one time step.
  Other formats Pillow reads (TIFF, WebP, ...) and CMYK JPEGs (which
  TensorFlow cannot decode) are re-encoded as PNG.
* ``row_count`` is the image **height** and ``col_count`` its **width**
  (the toolkit swapped them); both are ``-1`` unless all images share one size.
* ``num_channels`` (default 3) is written to the metadata; the reader converts
  each image to that many channels when decoding (1 = luminance).
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from PIL import Image

from ...errors import AutoDLInputError
from ..metadata import Metadata
from .common import (ConversionResult, LabeledItem, check_output, collect_labeled_files, default_name,
                     label_vector, split_items, write)
from .split import DEFAULT_SEED, DEFAULT_TEST_SIZE

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
#: Formats TensorFlow decodes from their own bytes (GIF excluded, see module doc).
_KEPT_FORMATS = {"JPEG", "PNG", "BMP"}


def is_image_file(path: Path) -> bool:
    """Whether ``path`` is a file with an image suffix."""
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES


def image_size(path: Path) -> tuple[int, int, str, str]:
    """``(height, width, format, mode)`` of an image from its header."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            return int(height), int(width), str(image.format), str(image.mode)
    except Exception as exc:  # Pillow raises many types for bad files
        raise AutoDLInputError(path, f"is not a readable image: {exc}") from None


def encoded_image(path: Path) -> bytes:
    """The bytes to store for one image file (original when possible), fully checked.

    Raises
    ------
    AutoDLInputError
        When the file cannot be read or decoded completely (truncated file).
    """
    try:
        data = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # a full decode: catches truncated files now, not at training time
                if image.format in _KEPT_FORMATS and not (image.format == "JPEG" and image.mode == "CMYK"):
                    return data
                frame = image.convert("RGB") if image.mode in ("CMYK", "YCbCr", "LAB", "HSV") else image
                out = io.BytesIO()
                frame.save(out, format="PNG")
                return out.getvalue()
    except Exception as exc:  # OSError, SyntaxError, ValueError ... from Pillow
        raise AutoDLInputError(path, f"is not a readable image: {exc}") from None


def _pairs(items: list[LabeledItem], output_dim: int) -> Iterator[tuple[list[bytes], np.ndarray]]:
    for it in items:
        yield [encoded_image(it.path)], label_vector(it.label_index, it.label_score, output_dim)


def from_image_folder(src: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
                      num_channels: int = 3, output_dim: Optional[int] = None,
                      test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
                      overwrite: bool = False) -> ConversionResult:
    """Convert a folder of labelled images into an AutoDL image dataset.

    Parameters
    ----------
    src : path
        Folder with images and a ``*labels*.csv`` (``FileName,Labels`` or
        ``FileName,LabelConfidencePairs``, optional ``subset``) and optional
        ``label.name``; or one sub-folder of images per class.
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: the folder name).
    num_channels : int
        Channels the reader decodes to (3 = RGB, 1 = grayscale).
    output_dim : int, optional
        Number of classes when neither ``label.name`` nor class folders say it.
    test_size, seed : float, int
        Seeded stratified split, used when the labels have no ``subset`` column.
    overwrite : bool
        Replace an existing ``out_dir/name``.

    Returns
    -------
    ConversionResult
    """
    name = name or default_name(src)
    check_output(out_dir, name, overwrite)
    if int(num_channels) < 1:
        raise AutoDLInputError("num_channels", f"got {num_channels}, expected >= 1")
    found = collect_labeled_files(src, is_image_file, "image files", output_dim,
                                  accept_listed=lambda p: p.is_file())
    train, test = split_items(found.items, found.output_dim, test_size, seed, str(src))
    # Header-only pass for the shape; full decodes happen while streaming.
    sizes = {image_size(it.path)[:2] for it in found.items}
    row_count, col_count = next(iter(sizes)) if len(sizes) == 1 else (-1, -1)
    metadata = Metadata(output_dim=found.output_dim, sequence_size=1, row_count=row_count, col_count=col_count,
                        raw_num_channels=int(num_channels), format="COMPRESSED", name=name,
                        has_locality_row=True, has_locality_col=True)
    if found.label_names:
        metadata.label_to_index = {n: i for i, n in enumerate(found.label_names)}
    stats = {"sizes": len(sizes)}
    return write(out_dir, name, metadata, _pairs(train, found.output_dim), _pairs(test, found.output_dim),
                 overwrite=overwrite, label_names=found.label_names, stats=stats)
