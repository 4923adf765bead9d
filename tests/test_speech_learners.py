"""The speech learners ``speech_linear`` and ``speech_cnn`` on tiny tone clips, and both in the engine.

Covers the learner battery (``check_learner``), learning a tiny task, the
``torch.load(weights_only=True)`` round trip, sample rates from the metadata,
several-minute and degenerate clips, the CNN's growing crops (drawn inside
each clip's own frames) and its valid-frame mask, and the two-learner
portfolio in the engine under a 10 s budget.
"""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.anytime.engine import Engine
from autodl_solver.anytime.validation import validation_nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.speech import speech_cnn, speech_linear
from autodl_solver.domains.registry import create
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import check_learner, make_dataset

NAMES = ("speech_linear", "speech_cnn")
#: Few steps per call: every CNN fit takes well under a second on 0.1-0.2 s clips.
FAST = {"speech_linear": None, "speech_cnn": {"first_steps": 10, "steps_growth": 1.0, "batch_size": 16}}
CLASSES = {"speech_linear": speech_linear.SpeechLinearLearner, "speech_cnn": speech_cnn.SpeechCNNLearner}


def _pool(train, holdout: bool = False) -> DataPool:
    return DataPool(train, EngineConfig(holdout=holdout), seed=0)


def _xs(dataset):
    return dataset.take(0, len(dataset))[0]


def _speech_set(clips, labels, sr: int, k: int) -> ArrayDataset:
    meta = Metadata(output_dim=k, sample_count=len(clips), sequence_size=-1, row_count=1, col_count=1,
                    raw_num_channels=1, sample_rate=sr)
    return ArrayDataset([np.asarray(c, np.float32).reshape(-1, 1, 1, 1) for c in clips],
                        np.eye(k, dtype=np.float32)[labels], meta)


@pytest.mark.parametrize("name", NAMES)
def test_check_learner_battery(name):
    result = check_learner(CLASSES[name], domain="speech", budget_s=1.0, n_train=30, n_test=12)
    assert "state_dict round trip" in result["passed"] and not result["skipped"]


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_learns_a_tiny_tone_task_above_chance(name, multilabel):
    train, test, y_test = make_dataset("speech", n_train=60, n_test=30, output_dim=3, multilabel=multilabel, seed=3)
    learner = create(name, train.metadata, FAST[name])
    pool = _pool(train)
    for _ in range(2):
        learner.fit(pool, 5.0)
    pred = learner.predict(_xs(test))
    assert validation_nauc(y_test, pred) > 0.6
    if not multilabel:
        assert (pred.argmax(1) == y_test.argmax(1)).mean() > 0.7  # chance: 1/3


@pytest.mark.parametrize("name", NAMES)
def test_weights_only_round_trip_predicts_the_same(name):
    train, test, _ = make_dataset("speech", n_train=30, n_test=10, seed=4)
    learner = create(name, train.metadata, FAST[name])
    learner.fit(_pool(train, holdout=True), 5.0)
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh = create(name, train.metadata, FAST[name])
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    xs = _xs(test)
    assert np.array_equal(learner.predict(xs), fresh.predict(xs))
    fresh.fit(_pool(train), 5.0)  # a loaded learner trains on
    assert np.isfinite(fresh.predict(xs)).all()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("sr", [8000, 22050])
def test_any_sample_rate_from_the_metadata(name, sr):
    rng = np.random.default_rng(5)
    labels = np.arange(24) % 2
    clips = [np.sin(2 * np.pi * (300 if c == 0 else 1800) * np.arange(sr // 5) / sr) + rng.normal(0, 0.2, sr // 5)
             for c in labels]
    data = _speech_set(clips, labels, sr, 2)
    learner = create(name, data.metadata, FAST[name])
    assert learner.spec.sample_rate == sr and abs(learner.spec.hop_length - sr / 100) <= 1
    learner.fit(_pool(data), 5.0)
    pred = learner.predict(_xs(data))
    assert pred.shape == (24, 2) and (pred.argmax(1) == labels).mean() > 0.8


@pytest.mark.parametrize("name", NAMES)
def test_degenerate_and_very_long_clips(name):
    sr = 16000
    rng = np.random.default_rng(6)
    odd = [np.zeros(sr // 5), np.ones(1), np.full(sr // 10, np.nan), np.clip(5 * rng.normal(size=sr // 5), -1, 1),
           rng.normal(0, 0.1, sr * 180)]  # silent, one sample, NaN, clipped, three minutes
    clips = odd + [rng.normal(0, 0.1, sr // 5) for _ in range(11)]
    labels = np.arange(len(clips)) % 2
    data = _speech_set(clips, labels, sr, 2)
    learner = create(name, data.metadata, FAST[name])
    learner.fit(_pool(data), 5.0)
    pred = learner.predict(_xs(data))
    assert pred.shape == (len(clips), 2) and np.isfinite(pred).all()
    if name == "speech_cnn":
        assert learner._plan.length <= learner.spec.samples(learner.config.max_seconds)


def test_cnn_crops_grow_with_the_calls_up_to_the_planned_length():
    train, _, _ = make_dataset("speech", n_train=20, n_test=4, seed=7)
    learner = create("speech_cnn", train.metadata, dict(FAST["speech_cnn"], first_crop_s=0.05, crop_growth=2.0))
    assert learner.next_cost_s() > 0
    pool = _pool(train)
    crops = []
    for _ in range(4):
        learner.fit(pool, 5.0)
        crops.append(learner.net.crop_frames)
    full = learner.spec.frames(learner._plan.length)
    assert crops[0] == 5 and crops[1] == 10 and crops == sorted(crops) and crops[-1] == full


def test_cnn_training_crops_stay_inside_each_clips_frames():
    net = speech_cnn.spectrogram_cnn(4, 2, (4,), 0.0)
    net.crop_frames = 10
    x = torch.randn(3, 1, 5, 40)
    x[:, 0, -1] = 0.0
    x[0, 0, -1, :6] = 1.0  # a short clip: 6 valid frames, shorter than the crop
    x[1, 0, -1, :25] = 1.0
    x[2, 0, -1, :] = 1.0
    torch.manual_seed(0)
    for _ in range(20):
        cropped, valid = net._augment(x[:, :, :-1], x[:, 0, -1] > 0.5)
        assert cropped.shape == (3, 1, 4, 10)
        assert valid[0].sum() == 6 and bool(valid[0, :6].all())  # the short clip keeps all its frames
        assert bool(valid[1:].all())  # a long clip's window never reaches its padding


def test_cnn_input_carries_the_valid_frame_mask():
    train, _, _ = make_dataset("speech", n_train=12, n_test=4, seed=8)
    learner = create("speech_cnn", train.metadata, FAST["speech_cnn"])
    learner.fit(_pool(train), 5.0)
    clip = np.zeros((800, 1, 1, 1), np.float32)  # 50 ms
    tensor = learner._cache.convert([clip])
    assert tensor.shape[2] == learner.spec.n_mels + 1
    mask = tensor[0, 0, -1].float()
    assert int(mask.sum()) == learner.spec.frames(800) and bool((mask[: int(mask.sum())] == 1).all())


def test_cnn_rejects_unknown_features():
    train, _, _ = make_dataset("speech", n_train=4, n_test=2, seed=9)
    with pytest.raises(AutoDLInputError, match="features"):
        create("speech_cnn", train.metadata, {"features": "wavelets"})
    learner = create("speech_cnn", train.metadata, dict(FAST["speech_cnn"], features="mfcc", n_mfcc=13))
    learner.fit(_pool(train), 5.0)
    assert learner._cache.convert(_xs(train)[:2]).shape[2] == 14


@pytest.mark.slow
def test_engine_with_both_speech_learners_stays_within_its_budget():
    train, test, y_test = make_dataset("speech", n_train=80, n_test=20, output_dim=4, seed=10)
    learners = [create(n, train.metadata, seed=0) for n in NAMES]
    budget = 10.0
    tic = time.perf_counter()
    engine = Engine(train.metadata, learners).fit(train, budget, test=test)
    took = time.perf_counter() - tic
    assert took <= budget + 0.5
    assert engine.learning_curve and engine.best_score is not None and engine.best_score > 0.5
    assert {r.learner for r in engine.history} >= set(NAMES)
    assert validation_nauc(y_test, engine.predict(_xs(test))) > 0.5
