"""Audio files -> AutoDL speech dataset (DENSE, one sample per time step).

Each file (WAV, or FLAC/OGG, read with ``soundfile``) becomes a ``(T, 1, 1, 1)``
tensor: channels averaged to mono, resampled to 16 kHz with ``soxr`` (the rate
the organisers' baseline assumes, docs/protocol.md §1.5), values as
floats in [-1, 1] (integer PCM scaled by ``soundfile``, then clipped because
resampling can overshoot a full-scale signal slightly). The toolkit instead
stored the raw ``scipy.io.wavfile`` samples (int16 values for PCM files) at
the original rate; we normalise so every dataset looks alike to a learner.
``metadata.sample_rate`` records the rate. Files are read while the dataset
is written (one at a time), so any size of corpus streams through.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from ...errors import AutoDLInputError
from ..metadata import DEFAULT_SAMPLE_RATE, Metadata
from .common import (ConversionResult, LabeledItem, check_output, collect_labeled_files, default_name,
                     label_vector, split_items, write)
from .split import DEFAULT_SEED, DEFAULT_TEST_SIZE

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg"}


def is_audio_file(path: Path) -> bool:
    """Whether ``path`` is a file with an audio suffix."""
    return path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES


def read_audio(path: Path, sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
    """Read one audio file as mono float32 in [-1, 1] at ``sample_rate``.

    Raises
    ------
    AutoDLInputError
        When the file cannot be read, is empty, or holds non-finite samples.
    """
    import soundfile

    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile.LibsndfileError, RuntimeError, OSError
        raise AutoDLInputError(path, f"is not a readable audio file: {exc}") from None
    if data.shape[0] == 0:
        raise AutoDLInputError(path, "holds no audio samples")
    if not np.all(np.isfinite(data)):
        raise AutoDLInputError(path, "holds non-finite samples")
    mono = data.mean(axis=1)
    if int(rate) != int(sample_rate):
        mono = resample(mono, int(rate), int(sample_rate))
    return np.clip(mono, -1.0, 1.0).astype(np.float32, copy=False)


def resample(wave: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Resample a mono float signal from ``rate`` to ``target`` Hz.

    ``soxr`` (a librosa dependency) when installed, else SciPy's polyphase
    filter; both give ``round(len * target / rate)``-ish lengths.
    """
    try:
        import soxr
    except ImportError:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, target)
        return resample_poly(wave, target // g, rate // g).astype(np.float32)
    return soxr.resample(wave, rate, target, quality="HQ").astype(np.float32, copy=False)


def _pairs(items: list[LabeledItem], output_dim: int, sample_rate: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for it in items:
        wave = read_audio(it.path, sample_rate)
        yield wave.reshape(-1, 1, 1, 1), label_vector(it.label_index, it.label_score, output_dim)


def from_audio_folder(src: str | os.PathLike, out_dir: str | os.PathLike, name: Optional[str] = None, *,
                      sample_rate: int = DEFAULT_SAMPLE_RATE, output_dim: Optional[int] = None,
                      test_size: float = DEFAULT_TEST_SIZE, seed: int = DEFAULT_SEED,
                      overwrite: bool = False) -> ConversionResult:
    """Convert a folder of labelled audio files into an AutoDL speech dataset.

    Parameters
    ----------
    src : path
        Folder with ``.wav`` files and a ``*labels*.csv`` (optionally
        ``label.name``), or one sub-folder of audio files per class.
    out_dir : path
        The dataset is written to ``out_dir/name``.
    name : str, optional
        Dataset name (default: the folder name).
    sample_rate : int
        Target rate in Hz (default 16000).
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
    if int(sample_rate) < 1:
        raise AutoDLInputError("sample_rate", f"got {sample_rate}, expected a positive rate in Hz")
    found = collect_labeled_files(src, is_audio_file, "audio files (.wav)", output_dim,
                                  accept_listed=lambda p: p.is_file())
    train, test = split_items(found.items, found.output_dim, test_size, seed, str(src))
    metadata = Metadata(output_dim=found.output_dim, sequence_size=-1, row_count=1, col_count=1,
                        raw_num_channels=1, format="DENSE", name=name, is_sequence=True,
                        sample_rate=int(sample_rate))
    if found.label_names:
        metadata.label_to_index = {n: i for i, n in enumerate(found.label_names)}
    return write(out_dir, name, metadata, _pairs(train, found.output_dim, sample_rate),
                 _pairs(test, found.output_dim, sample_rate), overwrite=overwrite,
                 label_names=found.label_names, stats={"sample_rate": int(sample_rate)})


#: The name the brief and the CLI use for this converter.
from_wav_folder = from_audio_folder
