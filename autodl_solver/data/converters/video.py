"""Video clips -> AutoDL dataset (COMPRESSED records, one image per frame).

A clip is either a video file (``.avi``, ``.mp4``, ``.mov``, ``.mkv``,
``.webm``, ...; decoded with PyAV, the ``av`` package) or a folder of
numbered frame images (always supported, no video decoder needed; frames are
ordered naturally, so ``f10`` follows ``f9``). Labels come from a toolkit
``*labels*.csv`` whose ``FileName`` names clip files or frame folders, or from
one sub-folder per class.

Encoding follows the toolkit's ``format_video.py`` (one JPEG per frame,
quality 95 like OpenCV's default) with its bug fixed: ``num_channels=1``
stores true luminance (ITU-R 601, Pillow's ``L``), not the blue channel of a
BGR frame. Frames of a frame folder that are already JPEG/PNG/BMP in the
right colour mode keep their original bytes. ``sequence_size`` is the frame
count when every clip has the same, else ``-1``; ``row_count``/``col_count``
are the frame height/width when all frames share one size, else ``-1``.

All clips are decoded and encoded before writing starts (so a bad clip stops
the conversion before anything is written); the encoded frames are held in
memory, which is the size of the compressed dataset.
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
from .common import (ConversionResult, check_output, collect_labeled_files, default_name, label_vector,
                     natural_key, split_items, write)
from .image import IMAGE_SUFFIXES
from .split import DEFAULT_SEED, DEFAULT_TEST_SIZE

VIDEO_SUFFIXES = {".avi", ".mp4", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv", ".flv", ".ogv", ".3gp"}
JPEG_QUALITY = 95
_MODES = {1: "L", 3: "RGB"}


def is_clip(path: Path) -> bool:
    """A video file, or a folder holding at least one image (a clip stored as frames)."""
    if path.is_file():
        return path.suffix.lower() in VIDEO_SUFFIXES
    return path.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())


def _encode(image: Image.Image, num_channels: int) -> bytes:
    """JPEG bytes of a frame in the colour mode the reader will decode to."""
    mode = _MODES.get(num_channels, "RGB")  # other counts: RGB, the reader adapts channels
    out = io.BytesIO()
    image.convert(mode).save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _frame_bytes(path: Path, num_channels: int) -> tuple[bytes, tuple[int, int]]:
    """Bytes to store for one frame image and its (height, width)."""
    try:
        data = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                size = (image.size[1], image.size[0])
                wanted = _MODES.get(num_channels)
                keep = image.format in ("JPEG", "PNG", "BMP") and (wanted is None or image.mode == wanted)
                return (data if keep else _encode(image, num_channels)), size
    except Exception as exc:  # Pillow raises many types for bad files
        raise AutoDLInputError(path, f"is not a readable frame image: {exc}") from None


def read_frame_folder(folder: Path, num_channels: int) -> tuple[list[bytes], set[tuple[int, int]]]:
    """Encoded frames of a clip stored as numbered images, and their sizes."""
    frames = sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                     and not p.name.startswith(".")), key=natural_key)
    if not frames:
        raise AutoDLInputError(folder, "holds no frame images")
    encoded = [_frame_bytes(p, num_channels) for p in frames]
    return [b for b, _ in encoded], {s for _, s in encoded}


def read_video_file(path: Path, num_channels: int) -> tuple[list[bytes], set[tuple[int, int]]]:
    """Decode a video file with PyAV into JPEG frames, and their sizes."""
    try:
        import av
    except ImportError:
        raise AutoDLInputError(path, "decoding video files needs PyAV (pip install av); "
                                     "or give each clip as a folder of frame images") from None
    frames, sizes = [], set()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise AutoDLInputError(path, "has no video stream")
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                rgb = frame.to_ndarray(format="rgb24")
                sizes.add(rgb.shape[:2])
                frames.append(_encode(Image.fromarray(rgb), num_channels))
    except AutoDLInputError:
        raise
    except Exception as exc:  # av.error.* (InvalidDataError, ...) and OSError
        raise AutoDLInputError(path, f"is not a readable video: {exc}") from None
    if not frames:
        raise AutoDLInputError(path, "has no decodable frame")
    return frames, sizes


def read_clip(path: Path, num_channels: int) -> tuple[list[bytes], set[tuple[int, int]]]:
    """Encoded frames and frame sizes of a clip (video file or frame folder)."""
    if path.is_dir():
        return read_frame_folder(path, num_channels)
    return read_video_file(path, num_channels)


def from_video_folder(src: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
                      num_channels: int = 3, output_dim: Optional[int] = None,
                      test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
                      overwrite: bool = False) -> ConversionResult:
    """Convert labelled video clips into an AutoDL video dataset.

    Parameters
    ----------
    src : path
        Folder with clips (video files or frame folders) and a
        ``*labels*.csv`` (optionally ``label.name``), or one sub-folder of
        clips per class.
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: the folder name).
    num_channels : int
        3 stores RGB frames, 1 grayscale (luminance) frames.
    output_dim : int, optional
        Number of classes when the labels do not say it.
    test_size, seed : float, int
        Seeded stratified split when the labels have no ``subset`` column.
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
    found = collect_labeled_files(src, is_clip, "video files or frame folders", output_dim,
                                  accept_listed=lambda p: p.is_file() or is_clip(p))
    train, test = split_items(found.items, found.output_dim, test_size, seed, str(src))
    clips = {id(it): read_clip(it.path, int(num_channels)) for it in train + test}
    lengths = {len(frames) for frames, _ in clips.values()}
    sizes = set().union(*(s for _, s in clips.values()))
    row_count, col_count = next(iter(sizes)) if len(sizes) == 1 else (-1, -1)
    metadata = Metadata(output_dim=found.output_dim, sequence_size=min(lengths) if len(lengths) == 1 else -1,
                        row_count=int(row_count), col_count=int(col_count), raw_num_channels=int(num_channels),
                        format="COMPRESSED", name=name, is_sequence=True,
                        has_locality_row=True, has_locality_col=True)
    if metadata.sequence_size == 1:
        # One frame per clip would be read as an image (official domain rule); say so.
        warnings.warn(f"{src}: every clip has a single frame; the dataset will be inferred as images")
    if found.label_names:
        metadata.label_to_index = {n: i for i, n in enumerate(found.label_names)}

    def pairs(items) -> Iterator[tuple[list[bytes], np.ndarray]]:
        for it in items:
            yield clips[id(it)][0], label_vector(it.label_index, it.label_score, found.output_dim)

    return write(out_dir, name, metadata, pairs(train), pairs(test), overwrite=overwrite,
                 label_names=found.label_names, stats={"frame_counts": sorted(lengths)})
