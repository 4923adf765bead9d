"""Waveforms -> log-mel and MFCC features, batched, at any sample rate.

AutoDL speech examples are float32 ``(T, 1, 1, 1)`` waveforms whose length
``T`` varies; the sample rate comes from the metadata (16 kHz when unknown).
Everything here works on lists of such clips:

* **Cleaning** (:func:`waveform`): NaN and infinities become 0, absurd
  amplitudes are clipped to ``±max_abs`` (so the power spectrum cannot
  overflow float32), several channels are averaged, and clips are cropped to
  a cap *before* any spectral work (a clip of several minutes costs what the
  cap costs). Clipped (saturated) samples, silent clips and one-sample clips
  need nothing special: lengths are raised to one FFT window by zero
  padding, and decibels have a floor (``10 * log10(max(power, 1e-10))``,
  i.e. -100 dB, and at most 80 dB below the clip's loudest bin) instead of
  ``-inf``.
* **Frames** (:class:`FeatureSpec`): a ~25 ms Hann window and a ~10 ms hop,
  converted to samples at the clip's rate; the FFT size is the next power of
  two (a 16 kHz clip gets a 400-sample window, 160-sample hop, 512-point FFT).
* **Batching**: clips are padded/cropped to one length and go through one
  ``librosa.stft`` call per chunk (:func:`log_mel_fixed`); for per-clip
  statistics (:func:`clip_statistics`) clips are grouped into length buckets
  (at most 25 % padding) and the statistics only see each clip's own frames.
* **Plan** (:class:`SpeechPlan`, :func:`make_speech_plan`): the fixed length
  of a CNN's input — the 95th percentile of the first clips' lengths, capped —
  and per-mel-band mean/std for standardisation. :func:`crop_or_pad` takes a
  random window for training and the first (or centre) window for prediction.
* **Warm-up** (:func:`warm_up`): librosa's numba kernels and lazy imports
  cost about 2 s on the first call in a process (about 20 s the first time
  ever, when numba compiles and caches them); learners call it from their
  constructor, which the AutoDL protocol does not time.
"""
from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ...data.metadata import Metadata
from ...errors import AutoDLInputError

#: Decibel floor: power below 1e-10 (silence, zero padding) maps here, never to -inf.
DB_FLOOR = -100.0
#: Dynamic range kept below each clip's loudest time-frequency bin, in dB.
TOP_DB = 80.0
#: Waveform samples are clipped to this magnitude (|x|^2 summed over a window must fit in float32).
MAX_ABS = 1e6
#: Samples per ``librosa.stft`` call (bounds the complex spectrogram's memory to ~100 MB).
CHUNK_SAMPLES = 1 << 23
CROP_MODES = ("first", "center", "random")

_warm = False


@dataclass(frozen=True)
class FeatureSpec:
    """Frame and filter-bank settings, in seconds and Hz, turned into samples for one rate.

    Attributes
    ----------
    sample_rate : int
        Samples per second of the clips.
    n_mels : int
        Mel bands of the log-mel spectrogram.
    n_mfcc : int
        MFCC coefficients (DCT of the log-mel bands; at most ``n_mels``).
    win_ms, hop_ms : float
        Window and hop length in milliseconds.
    fmin : float
        Lowest mel frequency in Hz (the top is the Nyquist frequency).
    """

    sample_rate: int = 16000
    n_mels: int = 40
    n_mfcc: int = 20
    win_ms: float = 25.0
    hop_ms: float = 10.0
    fmin: float = 20.0

    def __post_init__(self) -> None:
        if int(self.sample_rate) < 100:
            raise AutoDLInputError("sample_rate", f"got {self.sample_rate}, expected a rate in Hz (>= 100)")
        if self.n_mels < 1 or not 1 <= self.n_mfcc <= self.n_mels:
            raise AutoDLInputError("n_mfcc", f"expected 1 <= n_mfcc ({self.n_mfcc}) <= n_mels ({self.n_mels})")
        if self.win_ms <= 0 or self.hop_ms <= 0:
            raise AutoDLInputError("win_ms", f"expected positive window/hop, got {self.win_ms}/{self.hop_ms} ms")

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return max(4, int(round(self.win_ms * 1e-3 * self.sample_rate)))

    @property
    def hop_length(self) -> int:
        """Hop length in samples."""
        return max(1, int(round(self.hop_ms * 1e-3 * self.sample_rate)))

    @property
    def n_fft(self) -> int:
        """FFT size: the next power of two of the window."""
        return 1 << int(math.ceil(math.log2(self.win_length)))

    def frames(self, samples: int) -> int:
        """Frames of a clip of ``samples`` samples (centred frames, as ``librosa.stft``)."""
        return 1 + max(int(samples), self.n_fft) // self.hop_length

    def samples(self, seconds: float) -> int:
        """``seconds`` in samples (at least one window)."""
        return max(self.n_fft, int(round(float(seconds) * self.sample_rate)))


def warm_up() -> float:
    """Run the feature pipeline once on a dummy batch; returns the seconds it took (0 when already warm).

    Pays librosa's lazy imports and numba-compiled kernels (and sklearn's import) once per process.
    """
    global _warm
    if _warm:
        return 0.0
    tic = time.perf_counter()
    spec = FeatureSpec()
    rng = np.random.default_rng(0)
    batch = rng.normal(0.0, 0.1, (2, spec.sample_rate // 4)).astype(np.float32)
    mel = log_mel(batch, spec)
    mfcc_from_log_mel(mel, spec.n_mfcc)
    _warm = True
    return time.perf_counter() - tic


# ------------------------------------------------------------------ waveforms
def waveform(x: Any, max_samples: Optional[int] = None, where: str = "example") -> np.ndarray:
    """One clip as a clean 1-D float32 waveform (see the module docstring), cropped to ``max_samples``.

    Accepts ``(T, 1, 1, C)`` arrays (channels averaged) and 1-D arrays.
    """
    x = np.asarray(x)
    if x.ndim == 4:
        t = x.shape[0]
        if max_samples is not None:
            x = x[: int(max_samples)]  # crop before any copy: a long clip costs what the cap costs
            t = x.shape[0]
        if x.size == 0:
            return np.zeros(0, np.float32)  # an empty clip: padded to one window downstream
        x = x.reshape(t, -1)
        x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1)
    elif x.ndim == 1:
        x = x[: int(max_samples)] if max_samples is not None else x
    else:
        raise AutoDLInputError(where, f"expected a (time, 1, 1, channels) waveform, got shape {x.shape}")
    x = np.array(x, dtype=np.float32)  # a copy: callers' arrays (the data pool's cache) stay untouched
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(x, -MAX_ABS, MAX_ABS, out=x)
    return x


def crop_or_pad(x: np.ndarray, length: int, mode: str = "first",
                rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """``x`` (1-D) cropped to ``length`` samples (``first``/``center``/``random`` window) or zero-padded at the end."""
    if mode not in CROP_MODES:
        raise AutoDLInputError("crop", f"got {mode!r}, expected one of {CROP_MODES}")
    n = len(x)
    if n == length:
        return x
    if n < length:
        return np.pad(x, (0, length - n))
    if mode == "first":
        start = 0
    elif mode == "center":
        start = (n - length) // 2
    else:
        start = int((rng if rng is not None else np.random.default_rng(0)).integers(0, n - length + 1))
    return x[start:start + length]


# ------------------------------------------------------------------- spectra
@functools.lru_cache(maxsize=16)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float) -> np.ndarray:
    import librosa

    with warnings.catch_warnings():
        # low rates with many bands leave a few bands without an FFT bin: they read DB_FLOOR, harmlessly
        warnings.filterwarnings("ignore", message=".*[Ee]mpty filters.*")
        return librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=min(fmin, sample_rate / 4),
                                   fmax=sample_rate / 2.0).astype(np.float32)


def log_mel(batch: np.ndarray, spec: FeatureSpec) -> np.ndarray:
    """Log-mel spectrogram in dB of equal-length clips: ``(n, L)`` -> ``(n, n_mels, spec.frames(L))`` float32.

    Clips shorter than one FFT window are zero-padded to it.
    """
    import librosa

    batch = np.asarray(batch, np.float32)
    if batch.ndim != 2:
        raise AutoDLInputError("batch", f"expected (clips, samples), got shape {batch.shape}")
    n, length = batch.shape
    if length < spec.n_fft:
        batch = np.pad(batch, ((0, 0), (0, spec.n_fft - length)))
        length = spec.n_fft
    basis = _mel_basis(int(spec.sample_rate), spec.n_fft, spec.n_mels, float(spec.fmin))
    out = np.empty((n, spec.n_mels, spec.frames(length)), np.float32)
    step = max(1, CHUNK_SAMPLES // length)
    for lo in range(0, n, step):
        stft = librosa.stft(batch[lo:lo + step], n_fft=spec.n_fft, hop_length=spec.hop_length,
                            win_length=spec.win_length, center=True, pad_mode="constant")
        power = stft.real ** 2 + stft.imag ** 2  # (k, F, frames)
        k, f, t = power.shape
        # one (M, F) x (F, k*frames) product: much faster than a broadcast batched matmul
        mel = basis @ power.transpose(1, 0, 2).reshape(f, k * t)
        out[lo:lo + k] = mel.reshape(spec.n_mels, k, t).transpose(1, 0, 2)
    np.maximum(out, 1e-10, out=out)
    np.log10(out, out=out)
    out *= 10.0
    # each clip's dynamic range is capped at TOP_DB below its loudest bin (as librosa's power_to_db), so
    # zero padding and digital silence sit just below the quietest sound instead of 100 dB further down
    np.maximum(out, out.max(axis=(1, 2), keepdims=True) - TOP_DB, out=out)
    return out


def mfcc_from_log_mel(mel_db: np.ndarray, n_mfcc: int) -> np.ndarray:
    """MFCC (orthonormal DCT-II over the mel axis) of ``(n, n_mels, frames)`` dB spectrograms."""
    from scipy.fft import dct

    return dct(np.asarray(mel_db, np.float32), type=2, axis=-2, norm="ortho")[:, :n_mfcc].astype(np.float32)


def log_mel_fixed(xs: Sequence[Any], spec: FeatureSpec, length: int, crop: str = "first",
                  rng: Optional[np.random.Generator] = None, mfcc: bool = False) -> np.ndarray:
    """Clips padded/cropped to ``length`` samples -> ``(n, bands, spec.frames(length))`` float32.

    ``bands`` is ``n_mels`` (log-mel, dB) or ``n_mfcc`` when ``mfcc`` is True.
    Longer clips lose everything outside the ``crop`` window (see :func:`crop_or_pad`).
    """
    length = max(int(length), spec.n_fft)
    bands = spec.n_mfcc if mfcc else spec.n_mels
    if len(xs) == 0:
        return np.zeros((0, bands, spec.frames(length)), np.float32)
    cap = length if crop == "first" else None  # the other windows need the whole clip
    batch = np.stack([crop_or_pad(waveform(x, cap, f"example {i}"), length, crop, rng) for i, x in enumerate(xs)])
    mel = log_mel(batch, spec)
    return mfcc_from_log_mel(mel, spec.n_mfcc) if mfcc else mel


def _bucket(length: int, spec: FeatureSpec) -> int:
    """Padded length of a clip's bucket: rounded up to a quarter of the power of two below it."""
    length = max(int(length), spec.n_fft)
    step = max(spec.hop_length, (1 << (length.bit_length() - 1)) // 4)
    return int(math.ceil(length / step) * step)


def clip_statistics(xs: Sequence[Any], spec: FeatureSpec, max_samples: Optional[int] = None,
                    deltas: bool = True) -> np.ndarray:
    """Per-clip summary ``(n, F)`` float32 of log-mel and MFCC frames (the fast linear model's input).

    Columns: log-mel mean and std per band, MFCC mean and std per
    coefficient, with ``deltas`` the std of the frame-to-frame MFCC
    difference (how fast the spectrum moves), and the log duration in
    seconds. Statistics cover each clip's own frames only (not the padding of
    its length bucket); clips are first cropped to ``max_samples``.
    """
    width = 2 * spec.n_mels + (3 if deltas else 2) * spec.n_mfcc + 1
    out = np.zeros((len(xs), width), np.float32)
    if len(xs) == 0:
        return out
    waves = [waveform(x, max_samples, f"example {i}") for i, x in enumerate(xs)]
    groups: dict[int, list[int]] = {}
    for i, w in enumerate(waves):
        groups.setdefault(_bucket(len(w), spec), []).append(i)
    for length, idx in groups.items():
        batch = np.stack([crop_or_pad(waves[i], length) for i in idx])
        mel = log_mel(batch, spec)
        cep = mfcc_from_log_mel(mel, spec.n_mfcc)
        valid = np.array([spec.frames(len(waves[i])) for i in idx])
        mask = (np.arange(mel.shape[-1])[None, :] < valid[:, None]).astype(np.float32)[:, None, :]
        parts = [*_masked_mean_std(mel, mask, valid), *_masked_mean_std(cep, mask, valid)]
        if deltas:
            diff_mask = mask[..., 1:] * mask[..., :-1]
            parts.append(_masked_mean_std(np.diff(cep, axis=-1), diff_mask, np.maximum(valid - 1, 1))[1])
        seconds = np.array([max(len(waves[i]), 1) / spec.sample_rate for i in idx], np.float32)
        parts.append(np.log(seconds)[:, None])
        out[idx] = np.concatenate(parts, axis=1)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def _masked_mean_std(values: np.ndarray, mask: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = np.maximum(counts, 1).astype(np.float32)[:, None]
    mean = (values * mask).sum(axis=-1) / counts
    var = (((values - mean[..., None]) * mask) ** 2).sum(axis=-1) / counts
    return mean, np.sqrt(np.maximum(var, 0.0))


# ----------------------------------------------------------------------- plan
@dataclass
class SpeechPlan:
    """The fixed input of a spectrogram network, planned once from the first training clips.

    Attributes
    ----------
    sample_rate : int
        The clips' rate (from the metadata).
    length : int
        Samples every clip is padded/cropped to.
    mean, std : tuple of float
        Per-band statistics of the planning clips' features (for standardisation).
    """

    sample_rate: int
    length: int
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for a learner's ``state_dict``)."""
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SpeechPlan":
        """Inverse of :meth:`to_dict`."""
        return cls(int(data["sample_rate"]), int(data["length"]), tuple(float(v) for v in data["mean"]),
                   tuple(float(v) for v in data["std"]))


def plan_length(lengths: Sequence[int], sample_rate: int, percentile: float = 95.0, max_seconds: float = 10.0,
                min_seconds: float = 0.1) -> int:
    """Fixed clip length in samples: the ``percentile`` of ``lengths``, within ``[min_seconds, max_seconds]``."""
    if len(lengths) == 0:
        raise AutoDLInputError("train", "no training clips to plan the input length from")
    value = float(np.percentile(np.asarray(lengths, np.float64), percentile))
    low, high = int(min_seconds * sample_rate), int(max_seconds * sample_rate)
    return max(1, min(high, max(low, int(math.ceil(value)))))


def make_speech_plan(metadata: Metadata, xs: Sequence[Any], spec: FeatureSpec, *, percentile: float = 95.0,
                     max_seconds: float = 10.0, min_seconds: float = 0.1, mfcc: bool = False,
                     stats_examples: int = 200) -> SpeechPlan:
    """Plan the fixed length and per-band statistics from the metadata and the first training clips ``xs``."""
    if int(spec.sample_rate) != int(metadata.effective_sample_rate):
        raise AutoDLInputError("sample_rate", f"the feature spec has {spec.sample_rate} Hz, the metadata "
                                              f"{metadata.effective_sample_rate} Hz")
    for i, x in enumerate(xs[:stats_examples]):
        if np.ndim(x) not in (1, 4):
            raise AutoDLInputError(f"train example {i}", f"expected a (time, 1, 1, 1) waveform, got {np.shape(x)}")
    length = plan_length([np.shape(x)[0] for x in xs], spec.sample_rate, percentile, max_seconds, min_seconds)
    feats = log_mel_fixed(list(xs[:stats_examples]), spec, length, mfcc=mfcc)
    mean = feats.mean(axis=(0, 2))
    std = feats.std(axis=(0, 2))
    std = np.where(std > 1e-3, std, 1.0)
    return SpeechPlan(int(spec.sample_rate), int(length), tuple(mean.tolist()), tuple(std.tolist()))
