"""The seed's AutoSpeech baseline: the learner battery, learning, early stopping, state, bad input."""
from __future__ import annotations

import io

import numpy as np
import pytest

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.anytime.validation import validation_nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.domains.baselines import autospeech_baseline as asb
from autodl_solver.domains.registry import create
from autodl_solver.testing import check_learner, make_dataset

NAME = "autospeech_baseline"


def _pool(dataset, window=None):
    pool = DataPool(dataset, EngineConfig(holdout=False), seed=0)
    if window is not None:
        pool.set_window(window)
    return pool


def test_registered_for_speech_only():
    assert asb.AutoSpeechBaseline.name == NAME
    assert asb.AutoSpeechBaseline.domains == ("speech",)


@pytest.mark.slow  # about 7 s: five learners, librosa's first MFCC in the process
def test_passes_check_learner():
    result = check_learner(asb.AutoSpeechBaseline, domain="speech", budget_s=1.0, n_train=30, n_test=12)
    assert "state_dict round trip" in result["passed"]
    assert not result["skipped"]


def test_learns_tiny_speech_above_chance():
    train, test, y_test = make_dataset("speech", n_train=60, n_test=30, output_dim=3, seed=3)
    learner = create(NAME, train.metadata)
    pool = _pool(train)
    xs, _ = test.take(0, len(test))
    for _ in range(6):
        learner.fit(pool, 5.0)
    pred = learner.predict(xs)
    assert pred.shape == (30, 3) and pred.dtype == np.float32
    np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)  # softmax head for multi-class
    assert validation_nauc(y_test, pred) > 0.8
    assert (pred.argmax(1) == y_test.argmax(1)).mean() > 0.6  # chance is 1/3


def test_network_depth_follows_feature_size():
    cfg = asb.AutoSpeechBaselineConfig()
    import torch.nn as nn

    def blocks(frames, n_mfcc):
        net = asb.mfcc_cnn(frames, n_mfcc, 4, cfg)
        assert net(__import__("torch").zeros(2, 1, frames, n_mfcc)).shape == (2, 4)
        return sum(isinstance(m, nn.Conv2d) for m in net)

    assert blocks(32, 13) == 3  # min(32, 13) = 13 -> 6 -> 3 -> 1: three blocks, as the kit
    assert blocks(32, 40) == 5  # 32 -> 16 -> 8 -> 4 -> 2 -> 1
    assert blocks(256, 128) == 5  # would need 7 blocks: capped by max_blocks
    assert blocks(5, 13) == 2  # a short clip: 5 -> 2 -> 1
    assert blocks(1, 13) == 1  # a single frame still works (pooling never exceeds an axis)


def test_one_epoch_per_fit_and_early_stopping_sets_done():
    train, _, _ = make_dataset("speech", n_train=40, n_test=5, output_dim=2, seed=1)
    cfg = asb.AutoSpeechBaselineConfig(patience=2, max_epochs=50, min_val_rows=2, min_delta=0.01)
    learner = create(NAME, train.metadata, config=cfg)
    pool = _pool(train)
    fits = 0
    while not learner.done and fits < 50:
        learner.fit(pool, 5.0)
        fits += 1
        assert learner._epochs == fits  # each call trains exactly one epoch when the budget allows
    assert learner.done
    assert learner._stall == 2 and learner._epochs < 50  # stopped by patience, not by the epoch cap
    before = learner._epochs
    learner.fit(pool, 5.0)  # a done learner does nothing
    assert learner._epochs == before


def test_max_epochs_and_not_done_before_all_rows_are_in():
    train, _, _ = make_dataset("speech", n_train=40, n_test=5, output_dim=2, seed=2)
    cfg = asb.AutoSpeechBaselineConfig(max_epochs=2, patience=100)
    learner = create(NAME, train.metadata, config=cfg)
    pool = _pool(train, window=20)  # the engine's row window: half the rows for now
    for _ in range(3):
        learner.fit(pool, 5.0)
    assert not learner.done and len(learner._feats) == 20
    pool.set_window(None)
    learner.fit(pool, 5.0)  # all rows in: epochs so far count towards max_epochs
    assert len(learner._feats) == 40 and learner.done


def test_validation_split_is_held_out_of_training():
    train, _, _ = make_dataset("speech", n_train=100, n_test=5, output_dim=2, seed=4)
    learner = create(NAME, train.metadata, config={"val_fraction": 0.2})
    learner.fit(_pool(train), 5.0)
    val, fit_rows = set(learner._val_idx.tolist()), set(learner._train_idx.tolist())
    assert val and not (val & fit_rows) and len(val | fit_rows) == 100
    assert 8 <= len(val) <= 35


def test_state_dict_round_trip_and_resume():
    import torch

    train, test, _ = make_dataset("speech", n_train=30, n_test=10, output_dim=3, seed=5)
    learner = create(NAME, train.metadata, seed=7)
    pool = _pool(train)
    learner.fit(pool, 5.0)
    learner.fit(pool, 5.0)
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = create(NAME, train.metadata, seed=7)
    fresh.load_state_dict(state)
    xs, _ = test.take(0, len(test))
    np.testing.assert_allclose(fresh.predict(xs), learner.predict(xs), rtol=1e-5, atol=1e-6)
    assert fresh._frames == learner._frames and fresh._epochs == 2
    fresh.fit(pool, 5.0)  # training goes on from the loaded weights
    assert fresh._epochs == 3 and np.isfinite(fresh.predict(xs)).all()


def test_unfitted_state_and_predict():
    train, test, _ = make_dataset("speech", n_train=5, n_test=4, output_dim=3, seed=6)
    learner = create(NAME, train.metadata)
    assert learner.state_dict() == {"version": 1, "fitted": False}
    xs, _ = test.take(0, 4)
    assert learner.predict(xs).shape == (4, 3)
    assert learner.next_cost_s() == learner.config.prior_cost_s


def test_bad_clips_give_finite_predictions():
    rate = 16000
    rng = np.random.default_rng(0)
    clips = [np.zeros(rate, np.float32),  # silent
             np.array([0.3], np.float32),  # one sample
             np.full(8000, np.nan, np.float32),  # all NaN
             np.where(rng.random(8000) < 0.2, np.nan, rng.normal(0, 0.3, 8000)).astype(np.float32),  # some NaN
             np.clip(rng.normal(0, 3.0, 8000), -1, 1).astype(np.float32),  # clipped
             (rng.normal(0, 0.1, 3 * 60 * rate)).astype(np.float32)]  # three minutes
    xs = [c.reshape(-1, 1, 1, 1) for c in clips] * 2
    y = np.eye(2, dtype=np.float32)[np.arange(len(xs)) % 2]
    train, _, _ = make_dataset("speech", n_train=4, n_test=1, output_dim=2)
    dataset = ArrayDataset(xs, y, train.metadata.replace(sample_count=len(xs)))
    cfg = asb.AutoSpeechBaselineConfig(max_frames=200)
    learner = create(NAME, dataset.metadata, config=cfg)
    learner.fit(_pool(dataset), 10.0)
    assert learner._frames == 200  # the three-minute clip is cut to max_frames
    pred = learner.predict(xs)
    assert pred.shape == (len(xs), 2) and np.isfinite(pred).all()


def test_mfcc_frames_matches_librosa():
    cfg = asb.AutoSpeechBaselineConfig(max_frames=50)
    for n in (1, 2047, 2048, 5000, 16000, 25088, 25089, 100000):
        got = asb.clip_mfcc(np.ones(n, np.float32), 16000, cfg)
        assert got.shape == (asb.mfcc_frames(n, cfg), cfg.n_mfcc), n
        assert asb.pad_frames(got, 7).shape == (7, cfg.n_mfcc) and asb.pad_frames(got, 60).shape == (60, cfg.n_mfcc)


def test_other_sample_rate_from_metadata():
    train, _, _ = make_dataset("speech", n_train=6, n_test=2, output_dim=2)
    learner = create(NAME, train.metadata.replace(sample_rate=8000))
    assert learner.sample_rate == 8000
    learner.fit(_pool(ArrayDataset(*train.take(0, 6), train.metadata.replace(sample_rate=8000))), 5.0)
    assert np.isfinite(learner.predict(train.take(0, 6)[0])).all()


def test_multilabel_uses_sigmoid():
    train, test, _ = make_dataset("speech", n_train=30, n_test=8, output_dim=3, multilabel=True, seed=8)
    learner = create(NAME, train.metadata)
    learner.fit(_pool(train), 5.0)
    pred = learner.predict(test.take(0, 8)[0])
    assert ((pred >= 0) & (pred <= 1)).all() and not np.allclose(pred.sum(axis=1), 1.0)


def test_feature_extraction_respects_the_budget():
    rng = np.random.default_rng(0)
    xs = [rng.normal(0, 0.1, 32000).astype(np.float32).reshape(-1, 1, 1, 1) for _ in range(200)]  # 2 s each
    y = np.eye(2, dtype=np.float32)[np.arange(200) % 2]
    train, _, _ = make_dataset("speech", n_train=4, n_test=1, output_dim=2)
    dataset = ArrayDataset(xs, y, train.metadata.replace(sample_count=200))
    learner = create(NAME, dataset.metadata)
    pool = _pool(dataset)
    learner.fit(pool, 0.1)  # ~5 ms of MFCC per clip: half of 0.1 s covers a few of the 200
    assert 0 < len(learner._feats) < 200 and not learner.done
    assert learner._epochs == 1 or learner._pos > 0  # and it trained on those
    learner.fit(pool, 5.0)  # a larger budget takes the rest and starts a new epoch over all rows
    assert len(learner._feats) == 200 and len(learner._train_idx) + len(learner._val_idx) == 200
