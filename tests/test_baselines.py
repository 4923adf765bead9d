"""The seed paper's Baselines 0/1/2 and the shape helpers they rely on."""
from __future__ import annotations

import numpy as np
import pytest

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.anytime.validation import validation_nauc
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.baselines.baselines import conv3d_stack
from autodl_solver.domains.registry import create
from autodl_solver.domains.core.shapes import (
    FixedShaper,
    ShapePlan,
    flatten_tabular,
    normalize_channels,
    pad_or_crop,
    plan_shape,
    resize_images,
    sample_frames,
    sequence_length,
)
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import make_dataset


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One torch thread while testing: on a shared, oversubscribed machine OpenMP's spin-waiting
    makes tiny steps 10-100x slower with 2 threads (measured: 40 ms vs 0.5 ms per step). The learners
    themselves never change the caller's setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _pool(dataset):
    return DataPool(dataset, EngineConfig(holdout=False), seed=0)


# ------------------------------------------------------------------ shapes
def test_flatten_tabular_layouts_inf_and_ragged_rows():
    a = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
    b = np.array([1, np.inf, -np.inf, 2], np.float32).reshape(1, 4, 1, 1)
    out = flatten_tabular([a, b])
    assert out.shape == (2, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0], [0, 1, 2, 3])
    assert np.isnan(out[1, 1]) and np.isnan(out[1, 2])
    ragged = flatten_tabular([a, np.ones((1, 1, 2, 1), np.float32)], n_features=3)
    assert ragged.shape == (2, 3) and np.isnan(ragged[1, 2]) and ragged[0, 2] == 2
    assert flatten_tabular([], n_features=5).shape == (0, 5)


def test_resize_images_bilinear_keeps_constants():
    batch = np.full((2, 3, 10, 20, 3), 0.25, np.float32)
    out = resize_images(batch, (112, 112))
    assert out.shape == (2, 3, 112, 112, 3)
    np.testing.assert_allclose(out, 0.25, atol=1e-6)


def test_sample_frames_consecutive_seeded_and_padded():
    video = np.arange(30, dtype=np.float32).reshape(30, 1, 1, 1)
    a = sample_frames(video, 10, np.random.default_rng(1))
    b = sample_frames(video, 10, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert np.all(np.diff(a.ravel()) == 1)  # consecutive
    short = sample_frames(video[:4], 10, np.random.default_rng(0))
    assert short.shape[0] == 10 and np.all(short[4:] == 0)


def test_pad_crop_sequence_length_and_channels():
    seq = np.ones((7, 1, 1, 1), np.float32)
    assert pad_or_crop(seq, 3).shape[0] == 3 and pad_or_crop(seq, 9)[7:].sum() == 0
    assert sequence_length(list(range(1, 101))) == 96
    assert sequence_length(list(range(1, 101)), cap=50) == 50 and sequence_length([]) == 1
    grey = np.ones((1, 2, 2, 1), np.float32)
    assert normalize_channels(grey, 3).shape[-1] == 3
    rgb = np.stack([np.zeros((2, 2)), np.ones((2, 2)), 2 * np.ones((2, 2))], -1)[None]
    np.testing.assert_allclose(normalize_channels(rgb, 1), 1.0)
    assert normalize_channels(rgb, 4)[..., 3].sum() == 0 and normalize_channels(rgb, 2).shape[-1] == 2


def test_plan_shape_follows_the_paper():
    image = Metadata(output_dim=2, row_count=-1, col_count=-1, raw_num_channels=3)
    assert plan_shape(image, []).shape == (1, 112, 112, 3)
    fixed = Metadata(output_dim=2, row_count=32, col_count=32, raw_num_channels=3)
    assert plan_shape(fixed, []).shape == (1, 32, 32, 3)  # fixed shapes are not resized
    video = Metadata(output_dim=2, sequence_size=-1, row_count=8, col_count=8, raw_num_channels=1)
    plan = plan_shape(video, [])
    assert plan.shape == (10, 8, 8, 1) and plan.time_mode == "frames"
    speech = Metadata(output_dim=2, sequence_size=-1)
    xs = [np.zeros((n, 1, 1, 1), np.float32) for n in range(1, 101)]
    plan = plan_shape(speech, xs)
    assert plan.shape == (96, 1, 1, 1) and plan.time_mode == "pad"


def test_plan_shape_caps_units():
    long_video = Metadata(output_dim=2, sequence_size=181, row_count=60, col_count=80, raw_num_channels=1)
    plan = plan_shape(long_video, [], max_units=1 << 16)
    assert plan.time == 10 and plan.time_mode == "frames" and plan.units <= 1 << 16 and plan.rows > 1
    speech = Metadata(output_dim=2, sequence_size=-1)
    plan = plan_shape(speech, [np.zeros((10 ** 5, 1, 1, 1), np.float32)], max_units=1000)
    assert plan.shape == (1000, 1, 1, 1)
    wide = Metadata(output_dim=2, col_count=5000)
    assert plan_shape(wide, [], max_units=1000).units <= 1000


def test_fixed_shaper_maps_variable_examples_and_fills_nan():
    plan = ShapePlan(time=4, rows=6, cols=6, channels=3, time_mode="frames")
    rng = np.random.default_rng(0)
    xs = [rng.random((t, h, w, c)).astype(np.float32) for t, h, w, c in ((3, 5, 7, 1), (9, 6, 6, 3), (4, 6, 6, 3))]
    xs[1][0, 0, 0, 0] = np.nan
    out = FixedShaper(plan, fill_nan=0.0).transform(xs, np.random.default_rng(0))
    assert out.shape == (3, 4, 6, 6, 3) and np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[2], xs[2])  # already the right shape: unchanged
    with pytest.raises(AutoDLInputError):
        FixedShaper(ShapePlan(1, 1, 1, 1, "stretch"))


# --------------------------------------------------------------- Baseline 0
def test_baseline0_predicts_zeros_once():
    train, test, y_test = make_dataset("image", n_train=20, n_test=10, output_dim=3)
    learner = create("baseline0", train.metadata)
    learner.fit(_pool(train), 0.0)
    assert not learner.done
    learner.fit(_pool(train), 1.0)
    assert learner.done and learner.next_cost_s() == 0.0
    pred = learner.predict(test.take(0, len(test))[0])
    assert pred.shape == (10, 3) and np.all(pred == 0) and validation_nauc(y_test, pred) == 0.0


# --------------------------------------------------------------- Baseline 1
def test_baseline1_doubles_steps_and_reads_only_what_they_need():
    train, _, _ = make_dataset("tabular", n_train=3000, n_test=5, output_dim=3)
    learner = create("baseline1", train.metadata)
    pool = _pool(train)
    steps = []
    for _ in range(3):
        learner.fit(pool, 30.0)
        steps.append(learner.state_dict()["steps_done"])
    assert steps == [10, 30, 70]
    assert pool.train_rows_read == 70 * 30  # (steps so far) x batch 30 rows
    layers = [type(m).__name__ for m in learner._net]
    assert layers == ["Flatten", "Linear"]


def test_baseline_stops_when_the_next_iteration_does_not_fit():
    train, _, _ = make_dataset("image", n_train=60, n_test=5, output_dim=2)
    learner = create("baseline1", train.metadata)
    pool = _pool(train)
    learner.fit(pool, 30.0)
    cost = learner.next_cost_s()
    assert cost > 0 and not learner.done
    learner.fit(pool, cost / 4)  # not enough for the next (doubled) iteration
    assert learner.done and learner.state_dict()["steps_done"] == 10


@pytest.mark.parametrize("name, domain, variable", [
    ("baseline1", "tabular", False), ("baseline1", "image", True), ("baseline1", "video", True),
    ("baseline2", "tabular", False), ("baseline2", "video", True),
    # 3-D convolutions on 112 x 112 images: about 8 s on 2 CPU cores
    pytest.param("baseline2", "image", True, marks=pytest.mark.slow),
])
def test_baselines_learn(name, domain, variable):
    train, test, y_test = make_dataset(domain, n_train=150, n_test=60, output_dim=3, variable_size=variable,
                                       seed=1)
    learner = create(name, train.metadata, seed=0)
    pool = _pool(train)
    for _ in range(4):  # 10 + 20 + 40 + 80 steps
        learner.fit(pool, 5.0)
    xs = test.take(0, len(test))[0]
    pred = learner.predict(xs)
    np.testing.assert_array_equal(pred, learner.predict(xs))  # seeded random frames: reproducible
    assert validation_nauc(y_test, pred) > 0.5


# --------------------------------------------------------------- Baseline 2
def _count(net, kind):
    return sum(type(m).__name__ == kind for m in net)


def test_conv3d_stack_shrinks_below_the_hidden_size():
    import torch

    net = conv3d_stack((3, 10, 112, 112), 5)
    assert _count(net, "Conv3d") >= 3
    hidden = net[:-1](torch.zeros(1, 3, 10, 112, 112))
    assert hidden.shape[1] < 1000 and net(torch.zeros(2, 3, 10, 112, 112)).shape == (2, 5)
    small = conv3d_stack((1, 1, 1, 20), 2)  # 20 values: straight to the linear layer
    assert _count(small, "Conv3d") == 0 and small(torch.zeros(1, 1, 1, 1, 20)).shape == (1, 2)
    seq = conv3d_stack((1, 5000, 1, 1), 2)  # speech-like: only the time axis is convolved and pooled
    pools = [m for m in seq if type(m).__name__ == "MaxPool3d"]
    assert pools and all(tuple(p.kernel_size)[1:] == (1, 1) for p in pools)
    assert seq(torch.zeros(1, 1, 5000, 1, 1)).shape == (1, 2)
    kit = conv3d_stack((1, 4, 16, 16), 3, hidden_units=64)
    assert _count(kit, "Linear") == 2 and _count(kit, "Dropout") == 1


@pytest.mark.parametrize("name", ["baseline0", "baseline1", "baseline2"])
@pytest.mark.parametrize("budget", [0.0, -2.0])
def test_non_positive_budget_returns_without_training(name, budget):
    train, test, _ = make_dataset("image", n_train=20, n_test=4, output_dim=2)
    learner = create(name, train.metadata)
    pool = _pool(train)
    learner.fit(pool, budget)
    assert pool.rows_read == 0 and not learner.done
    assert np.all(learner.predict(test.take(0, len(test))[0]) == 0)


@pytest.mark.parametrize("name", ["baseline1", "baseline2"])
def test_baselines_survive_bad_labels_and_features(name):
    train, test, _ = make_dataset("tabular", n_train=40, n_test=6, output_dim=3, seed=2)
    xs, y = train.take(0, len(train))
    xs = [x.copy() for x in xs]
    xs[0][0, 0, 0, 0], xs[1][0, 0, 1, 0] = np.nan, np.inf
    cases = {
        "all-zero labels": np.zeros_like(y),
        "a class without positives": np.eye(3, dtype=np.float32)[np.arange(40) % 2],
        "one example per class": None,
    }
    from autodl_solver.data.dataset import ArrayDataset

    for label, labels in cases.items():
        if labels is None:
            data = ArrayDataset(xs[:3], np.eye(3, dtype=np.float32), train.metadata)
        else:
            data = ArrayDataset(xs, labels, train.metadata)
        learner = create(name, train.metadata)
        learner.fit(_pool(data), 2.0)
        pred = learner.predict(test.take(0, len(test))[0])
        assert pred.shape == (6, 3) and np.all(np.isfinite(pred)), label


def test_next_row_count_schedule():
    from autodl_solver.domains.core.shapes import next_row_count

    assert next_row_count(0, 10_000, 500, 2.0) == 500
    assert next_row_count(500, 10_000, 500, 2.0) == 1000
    assert next_row_count(8000, 10_000, 500, 2.0) == 10_000   # capped at the set
    assert next_row_count(10_000, 10_000, 500, 2.0) == 10_000  # stays once everything is used
    assert next_row_count(0, 3, 500, 2.0) == 3
    assert next_row_count(100, 10_000, 500, 1.0) == 100        # never shrinks
