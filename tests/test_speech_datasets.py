"""The espeak-ng speech benchmark datasets, built at a tiny size (skipped without espeak-ng)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

from autodl_solver.data.reader import load_dataset
from autodl_solver.bench import speech_datasets as sd

needs_espeak = pytest.mark.skipif(not sd.espeak_available(), reason="espeak-ng is not installed")

#: Tiny sizes: every class at least twice, so the stratified 70/30 split has both subsets.
TINY = {"spoken_words": 20, "voice_variant": 12}


def test_plans_are_seeded_balanced_and_valid():
    for name, n in (("spoken_words", 1200), ("voice_variant", 1000)):
        clips, classes = sd.PLANNERS[name](n, 0)
        again, _ = sd.PLANNERS[name](n, 0)
        assert clips == again and len(clips) == n
        counts = collections.Counter(c.label for c in clips)
        assert len(counts) == len(classes) and max(counts.values()) - min(counts.values()) <= 1
        assert all(c.voice in sd.ENGLISH_VOICES for c in clips)
        assert all(120 <= c.speed <= 220 for c in clips)
    words, _ = sd.spoken_words_clips(200, 0)
    assert all(c.text == sd.DIGIT_WORDS[c.label] and 20 <= c.pitch <= 80 for c in words)
    voices, classes = sd.voice_variant_clips(200, 0)
    assert classes == ["male", "female", "aged"]
    assert all(c.variant in sd.VARIANT_GROUPS[classes[c.label]] and 30 <= c.pitch <= 70 for c in voices)
    assert sd.spoken_words_clips(50, 1)[0] != sd.spoken_words_clips(50, 0)[0]


def test_missing_espeak_skips_cleanly(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(sd.shutil, "which", lambda name: None)
    assert sd.build("spoken_words", tmp_path, n=4) is None
    assert "espeak-ng is not installed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_unknown_dataset_is_an_input_error(tmp_path):
    from autodl_solver.errors import AutoDLInputError

    with pytest.raises(AutoDLInputError, match="expected one of"):
        sd.build("spoken_sentences", tmp_path)


@needs_espeak
def test_unknown_variant_is_refused(tmp_path):
    from autodl_solver.errors import AutoDLInputError

    clip = sd.Clip("one", "en", "no_such_variant", 150, 50, 0)
    with pytest.raises(AutoDLInputError, match="not installed"):
        sd.synthesise([clip], tmp_path)


@needs_espeak
@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_build_is_a_valid_16khz_dataset_and_deterministic(name, tmp_path):
    import soundfile

    n = TINY[name]
    path = sd.build(name, tmp_path / "a", n=n)
    assert path == tmp_path / "a" / f"{name}_n{n}"
    data = load_dataset(path)
    clips, classes = sd.PLANNERS[name](n, 42)
    assert data.label_names == classes
    assert data.metadata.effective_sample_rate == sd.SAMPLE_RATE and data.metadata.tensor_shape == (-1, 1, 1, 1)
    assert len(data.train) + len(data.test) == n and len(data.test) == data.solution.shape[0]
    xs, y = data.train.take(0, len(data.train))
    test_xs, _ = data.test.take(0, len(data.test))
    labels = np.concatenate([y, data.solution]).argmax(axis=1)
    assert sorted(labels.tolist()) == sorted(c.label for c in clips)  # the right classes, once per clip
    assert all(x.shape[1:] == (1, 1, 1) and x.dtype == np.float32 for x in xs + test_xs)
    # Resampled to 16 kHz: each clip is espeak-ng's 22.05 kHz output scaled by 16000 / 22050.
    wavs = sd.synthesise(clips, tmp_path)
    infos = [soundfile.info(str(tmp_path / w)) for w in wavs]
    assert {i.samplerate for i in infos} == {22050}
    expected = sorted(round(i.frames * sd.SAMPLE_RATE / 22050) for i in infos)
    got = sorted(len(x) for x in xs + test_xs)
    assert np.abs(np.array(got) - np.array(expected)).max() <= 1
    assert all(np.isfinite(x).all() and np.abs(x).max() > 0.01 for x in xs + test_xs)  # not silent
    # Cached: a second call reuses the dataset; a build elsewhere gives the same bytes.
    assert sd.build(name, tmp_path / "a", n=n) == path
    other = sd.build(name, tmp_path / "b", n=n)
    files = sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())
    assert f"{path.name}.solution" in {str(f) for f in files}
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    for rel in files:  # the solution, the records, the metadata: all identical
        assert (path / rel).read_bytes() == (other / rel).read_bytes(), rel
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # the WAV folder is gone
