"""Speech feature extraction (``domains/speech/speech_features.py``): shapes at any rate, bad clips, crops, the plan."""
from __future__ import annotations

import numpy as np
import pytest

from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.speech import speech_features as sf
from autodl_solver.errors import AutoDLInputError

RATES = [8000, 16000, 22050]


def _clip(samples: np.ndarray) -> np.ndarray:
    return np.asarray(samples, np.float32).reshape(-1, 1, 1, 1)


def _tone(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return _clip(amp * np.sin(2 * np.pi * freq * t))


def _metadata(sr: int) -> Metadata:
    return Metadata(output_dim=2, sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1, sample_rate=sr)


def test_warm_up_runs_once_per_process():
    sf.warm_up()
    assert sf.warm_up() == 0.0


@pytest.mark.parametrize("sr", RATES)
def test_frames_scale_with_the_sample_rate(sr):
    spec = sf.FeatureSpec(sample_rate=sr)
    assert abs(spec.win_length / sr - 0.025) < 1e-3 and abs(spec.hop_length / sr - 0.010) < 1e-3
    assert spec.n_fft >= spec.win_length and spec.n_fft & (spec.n_fft - 1) == 0
    rng = np.random.default_rng(0)
    xs = [_clip(rng.normal(0, 0.1, n)) for n in (sr // 3, sr, 2 * sr)]
    mel = sf.log_mel_fixed(xs, spec, sr)
    assert mel.shape == (3, spec.n_mels, spec.frames(sr)) and mel.dtype == np.float32
    assert spec.frames(sr) == 1 + sr // spec.hop_length  # ~101 frames per second at every rate
    mfcc = sf.log_mel_fixed(xs, spec, sr, mfcc=True)
    assert mfcc.shape == (3, spec.n_mfcc, spec.frames(sr)) and np.isfinite(mfcc).all()
    stats = sf.clip_statistics(xs, spec)
    assert stats.shape == (3, 2 * spec.n_mels + 3 * spec.n_mfcc + 1) and np.isfinite(stats).all()


@pytest.mark.parametrize("sr", RATES)
def test_a_higher_tone_lights_a_higher_mel_band(sr):
    spec = sf.FeatureSpec(sample_rate=sr)
    mel = sf.log_mel_fixed([_tone(300, 0.5, sr), _tone(1500, 0.5, sr)], spec, sr // 2)
    low, high = mel.mean(axis=2).argmax(axis=1)
    assert high > low + 5


def test_silent_clip_sits_on_the_floor_not_minus_infinity():
    spec = sf.FeatureSpec()
    mel = sf.log_mel_fixed([_clip(np.zeros(16000))], spec, 16000)
    assert np.isfinite(mel).all() and np.allclose(mel, sf.DB_FLOOR, atol=1e-3)
    stats = sf.clip_statistics([_clip(np.zeros(16000)), _tone(440, 1, 16000)], spec)
    assert np.isfinite(stats).all()
    assert not np.allclose(stats[0], stats[1])


@pytest.mark.parametrize("length", [0, 1, 7])
def test_one_sample_and_empty_clips_are_padded_to_a_window(length):
    spec = sf.FeatureSpec()
    xs = [_clip(np.full(length, 0.3)), _tone(440, 0.2, 16000)]
    stats = sf.clip_statistics(xs, spec)
    assert stats.shape[0] == 2 and np.isfinite(stats).all()
    mel = sf.log_mel_fixed(xs, spec, length=1)  # raised to one FFT window
    assert mel.shape == (2, spec.n_mels, spec.frames(spec.n_fft)) and np.isfinite(mel).all()


def test_nan_and_inf_samples_become_zeros():
    spec = sf.FeatureSpec()
    wave = np.random.default_rng(1).normal(0, 0.1, 8000).astype(np.float32)
    dirty = wave.copy()
    dirty[::50], dirty[1::97], dirty[2::89] = np.nan, np.inf, -np.inf
    clean = np.where(np.isfinite(dirty), dirty, 0.0)
    got = sf.clip_statistics([_clip(dirty)], spec)
    want = sf.clip_statistics([_clip(clean)], spec)
    assert np.isfinite(got).all() and np.allclose(got, want, atol=1e-4)
    assert np.isfinite(sf.log_mel_fixed([_clip(np.full(4000, np.nan))], spec, 4000)).all()


def test_clipped_and_absurdly_loud_samples_stay_finite():
    spec = sf.FeatureSpec()
    saturated = np.clip(10 * _tone(440, 0.5, 16000), -1.0, 1.0)
    loud = _tone(440, 0.5, 16000, amp=1e30)
    stats = sf.clip_statistics([saturated, loud], spec)
    mel = sf.log_mel_fixed([saturated, loud], spec, 8000)
    assert np.isfinite(stats).all() and np.isfinite(mel).all()


def test_a_clip_of_minutes_is_cropped_before_extraction():
    spec = sf.FeatureSpec()
    rng = np.random.default_rng(2)
    long = _clip(rng.normal(0, 0.1, 16000 * 180))  # three minutes
    cap = spec.samples(2.0)
    got = sf.clip_statistics([long], spec, max_samples=cap)
    want = sf.clip_statistics([long[:cap]], spec)
    assert np.allclose(got, want)
    assert np.isclose(got[0, -1], np.log(2.0))  # the log duration is the cropped one


def test_statistics_ignore_the_padding_of_their_length_bucket():
    spec = sf.FeatureSpec()
    short, longer = _tone(440, 0.70, 16000), _tone(880, 0.74, 16000)  # same bucket, different lengths
    assert sf._bucket(len(short), spec) == sf._bucket(len(longer), spec)
    alone = sf.clip_statistics([short], spec)
    together = sf.clip_statistics([short, longer], spec)
    assert np.allclose(alone[0], together[0], atol=1e-4)


def test_channels_are_averaged_and_other_ranks_are_refused():
    stereo = np.stack([np.ones(100), -np.ones(100) * 3], axis=1).reshape(100, 1, 1, 2).astype(np.float32)
    assert np.allclose(sf.waveform(stereo), -1.0)
    with pytest.raises(AutoDLInputError, match="waveform"):
        sf.waveform(np.zeros((10, 2), np.float32))
    with pytest.raises(AutoDLInputError, match="sample_rate"):
        sf.FeatureSpec(sample_rate=0)
    with pytest.raises(AutoDLInputError, match="n_mfcc"):
        sf.FeatureSpec(n_mels=10, n_mfcc=20)


def test_crop_modes():
    x = np.arange(10, dtype=np.float32)
    assert np.array_equal(sf.crop_or_pad(x, 4), [0, 1, 2, 3])
    assert np.array_equal(sf.crop_or_pad(x, 4, "center"), [3, 4, 5, 6])
    starts = {int(sf.crop_or_pad(x, 4, "random", np.random.default_rng(s))[0]) for s in range(30)}
    assert len(starts) > 2 and min(starts) >= 0 and max(starts) <= 6
    assert np.array_equal(sf.crop_or_pad(x[:3], 5), [0, 1, 2, 0, 0])
    with pytest.raises(AutoDLInputError, match="crop"):
        sf.crop_or_pad(x, 4, "middle")
    spec = sf.FeatureSpec()
    wave = _clip(np.random.default_rng(3).normal(0, 0.1, 32000))
    first = sf.log_mel_fixed([wave], spec, 16000, crop="first")
    centre = sf.log_mel_fixed([wave], spec, 16000, crop="center")
    assert np.allclose(first, sf.log_mel_fixed([wave[:16000]], spec, 16000))
    assert np.allclose(centre, sf.log_mel_fixed([wave[8000:24000]], spec, 16000))


def test_plan_takes_the_95th_percentile_within_the_caps():
    sr = 16000
    lengths = list(range(1000, 101000, 1000))  # 100 clips, 1000 .. 100000 samples
    assert sf.plan_length(lengths, sr) == int(np.ceil(np.percentile(lengths, 95)))
    assert sf.plan_length(lengths, sr, max_seconds=2.0) == 2 * sr
    assert sf.plan_length([1, 2, 3], sr, min_seconds=0.5) == sr // 2
    with pytest.raises(AutoDLInputError):
        sf.plan_length([], sr)
    spec = sf.FeatureSpec(sample_rate=8000)
    xs = [_tone(200 + 50 * i, 0.3 + 0.01 * i, 8000) for i in range(20)]
    plan = sf.make_speech_plan(_metadata(8000), xs, spec)
    assert plan.sample_rate == 8000 and len(plan.mean) == len(plan.std) == spec.n_mels
    assert all(s > 0 for s in plan.std)
    assert sf.SpeechPlan.from_dict(plan.to_dict()) == plan
    with pytest.raises(AutoDLInputError, match="sample_rate"):
        sf.make_speech_plan(_metadata(16000), xs, spec)
