"""Planning and converting image/video examples (``autodl_solver/domains/core/vision_input.py``).

* :func:`plan_size`: caps, the wide-strip cap, the short-side floor, rounding;
* :func:`make_plan`: channels from the metadata, median size of variable
  shapes, the frame cap, per-channel statistics (NaN/inf cleaned), bad input;
* :func:`frame_indices`: evenly spread, short clips repeated, random offsets;
* :func:`convert`: shape, dtype, standardisation, mixed shapes, grey -> RGB;
* :class:`TensorCache`: the test/validation list is converted once (matched
  element by element, as the data pool hands out new lists of the same
  arrays), the training prefix only converts its new rows.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.core import vision_input
from autodl_solver.domains.core.feature_cache import same_examples
from autodl_solver.domains.core.vision_input import (TensorCache, VisionPlan, convert, frame_indices, make_plan,
                                                     plan_size)
from autodl_solver.errors import AutoDLInputError

SIZES = dict(max_side=64, max_side_wide=128, min_side=32)


def _meta(t=1, r=-1, c=-1, ch=3) -> Metadata:
    return Metadata(output_dim=2, sample_count=10, sequence_size=t, row_count=r, col_count=c, raw_num_channels=ch)


def _images(shapes, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0, 255, (1, h, w, channels)).astype(np.float32) for h, w in shapes]


# ------------------------------------------------------------------ plan_size
@pytest.mark.parametrize("rows, cols, want", [
    (28, 28, (32, 32)),     # MNIST: raised to the 32 px floor
    (8, 8, (32, 32)),       # digits: upsampled, a ResNet stem would reduce 8 px to nothing
    (400, 300, (64, 48)),   # capped at max_side, aspect kept
    (300, 400, (48, 64)),
    (64, 64, (64, 64)),     # already right
    (4, 300, (32, 128)),    # a strip: the wide cap (128, not 64) and the short-side floor
    (300, 4, (128, 32)),
    (10, 30, (32, 96)),     # aspect 3: raised until the short side reaches the floor, under the wide cap
    (1, 1, (32, 32)),
])
def test_plan_size_rules(rows, cols, want):
    assert plan_size(rows, cols, **SIZES) == want


def test_plan_size_never_lets_the_floor_push_the_long_side_past_its_cap():
    # 20 x 100 (aspect 5): raising 20 -> 32 would make the long side 160 > 128; the cap wins and the
    # short side alone is floored
    assert plan_size(20, 100, **SIZES) == (32, 128)


def test_plan_size_rounds_to_the_multiple_and_accepts_no_floor():
    h, w = plan_size(250, 333, max_side=64, max_side_wide=128, min_side=32, multiple=8)
    assert h % 8 == 0 and w % 8 == 0 and max(h, w) == 64
    # vision_linear's grid: no floor, no rounding, never upsampled
    assert plan_size(8, 8, max_side=16, max_side_wide=16, min_side=1, multiple=1) == (8, 8)
    assert plan_size(28, 28, max_side=16, max_side_wide=16, min_side=1, multiple=1) == (16, 16)
    assert plan_size(0, -3, **SIZES) == (32, 32)  # nonsense sizes count as 1 px


# ------------------------------------------------------------------ make_plan
def test_make_plan_takes_channels_from_the_metadata():
    xs = _images([(8, 8)] * 4, channels=1)
    plan = make_plan(_meta(r=8, c=8, ch=3), xs, max_frames=1, **SIZES)
    assert plan.channels == 3 and len(plan.mean) == len(plan.std) == 3
    assert plan.shape == (1, 3, 32, 32)


def test_make_plan_uses_the_median_size_of_variable_shapes():
    xs = _images([(10, 20), (12, 20), (300, 400), (12, 40), (11, 20)])
    plan = make_plan(_meta(), xs, max_frames=1, **SIZES)  # median 12 x 20 -> plan_size(12, 20)
    assert (plan.height, plan.width) == plan_size(12, 20, **SIZES)
    # a fixed side in the metadata wins over the examples
    plan = make_plan(_meta(r=64, c=-1), xs, max_frames=1, **SIZES)
    assert (plan.height, plan.width) == plan_size(64, 20, **SIZES)


@pytest.mark.parametrize("seq, lengths, max_frames, want", [
    (-1, [10, 12, 9], 4, 4),   # capped
    (-1, [2, 2, 3], 4, 2),     # short clips keep their (median) length
    (3, [3, 3, 3], 8, 3),      # the metadata's fixed length
    (1, [1, 1], 4, 1),         # images
])
def test_make_plan_caps_frames(seq, lengths, max_frames, want):
    xs = [np.ones((t, 6, 6, 1), np.float32) for t in lengths]
    plan = make_plan(_meta(t=seq, r=6, c=6, ch=1), xs, max_frames=max_frames, **SIZES)
    assert plan.frames == want


def test_make_plan_channel_statistics_pool_examples_of_different_sizes():
    rng = np.random.default_rng(1)
    xs = []
    for h, w in [(5, 7), (9, 3), (4, 4)]:
        x = np.empty((1, h, w, 2), np.float32)
        x[..., 0] = 5.0                                # constant channel: std falls back to 1
        x[..., 1] = rng.normal(100.0, 20.0, (1, h, w))
        xs.append(x)
    plan = make_plan(_meta(ch=2), xs, max_frames=1, **SIZES)
    pixels = np.concatenate([x.reshape(-1, 2) for x in xs]).astype(np.float64)
    np.testing.assert_allclose(plan.mean, pixels.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(plan.std, [1.0, pixels[:, 1].std()], rtol=1e-9)
    assert VisionPlan.from_dict(plan.to_dict()) == plan


def test_make_plan_cleans_nan_and_inf():
    clean = _images([(6, 6)] * 3)
    dirty = [x.copy() for x in clean]
    dirty[0][0, 0, 0, 0], dirty[1][0, 1, 1, 1], dirty[2][0, 2, 2, 2] = np.nan, np.inf, -np.inf
    zeroed = [x.copy() for x in clean]
    zeroed[0][0, 0, 0, 0] = zeroed[1][0, 1, 1, 1] = zeroed[2][0, 2, 2, 2] = 0.0
    plan = make_plan(_meta(), dirty, max_frames=1, **SIZES)
    assert np.all(np.isfinite(plan.mean)) and np.all(np.isfinite(plan.std))
    want = make_plan(_meta(), zeroed, max_frames=1, **SIZES)
    np.testing.assert_allclose(plan.mean, want.mean)
    np.testing.assert_allclose(plan.std, want.std)


def test_make_plan_bad_input_names_the_training_set():
    with pytest.raises(AutoDLInputError, match="train"):
        make_plan(_meta(), [], max_frames=1, **SIZES)
    # examples of another rank (here 3-D and mixed) are a clear error, not numpy's ragged-array one
    with pytest.raises(AutoDLInputError, match="train example 1.*time, row, col, channel"):
        make_plan(_meta(), [np.zeros((1, 4, 4, 3), np.float32), np.zeros((4, 4, 3), np.float32)],
                  max_frames=1, **SIZES)


# -------------------------------------------------------------- frame_indices
def test_frame_indices_are_evenly_spread_without_rng():
    idx = frame_indices(10, 4)
    assert idx.tolist() == [1, 3, 6, 8]
    assert frame_indices(8, 8).tolist() == list(range(8))
    assert frame_indices(100, 5).tolist() == [10, 30, 50, 70, 90]


def test_short_clips_repeat_their_frames():
    assert frame_indices(1, 4).tolist() == [0, 0, 0, 0]  # a still
    idx = frame_indices(3, 4)
    assert idx.tolist() == sorted(idx.tolist()) and set(idx.tolist()) == {0, 1, 2}


def test_random_offsets_stay_in_range_and_vary():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        idx = frame_indices(7, 3, rng)
        assert idx.min() >= 0 and idx.max() <= 6 and np.all(np.diff(idx) > 0)
        seen.add(tuple(idx.tolist()))
    assert len(seen) > 1
    with pytest.raises(AutoDLInputError, match="no frames"):
        frame_indices(0, 3)


# -------------------------------------------------------------------- convert
def _plan(frames=1, channels=3, h=8, w=8, mean=None, std=None):
    return VisionPlan(frames, channels, h, w, tuple(mean or [0.0] * channels), tuple(std or [1.0] * channels))


def test_convert_shape_dtype_and_standardisation():
    xs = _images([(8, 8)] * 6)
    plan = make_plan(_meta(r=8, c=8), xs, max_frames=1, max_side=8, max_side_wide=8, min_side=8)
    out = convert(xs, plan)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (6, 1, 3, 8, 8)
    per_channel = out.permute(2, 0, 1, 3, 4).reshape(3, -1).double()
    np.testing.assert_allclose(per_channel.mean(1).numpy(), 0.0, atol=1e-4)
    np.testing.assert_allclose(per_channel.std(1, unbiased=False).numpy(), 1.0, atol=1e-4)
    assert convert([], plan).shape == (0, 1, 3, 8, 8)


def test_convert_mixed_shapes_in_one_batch():
    xs = _images([(8, 8), (20, 10), (8, 8), (5, 30)])
    plan = _plan(h=16, w=16, mean=[100.0] * 3, std=[50.0] * 3)
    out = convert(xs, plan)
    assert out.shape == (4, 1, 3, 16, 16) and torch.isfinite(out).all()
    for i, x in enumerate(xs):  # grouping by shape changes nothing: each row is its own conversion
        torch.testing.assert_close(out[i], convert([x], plan)[0])
    # a constant image stays constant through the resize (shrinking is antialiased, not aliased)
    flat = np.full((1, 40, 24, 3), 150.0, np.float32)
    torch.testing.assert_close(convert([flat], plan), torch.full((1, 1, 3, 16, 16), 1.0))


def test_convert_grey_example_into_a_three_channel_plan_and_cleans_nan():
    grey = _images([(8, 8)], channels=1)[0]
    grey[0, 0, 0, 0] = np.nan
    out = convert([grey], _plan(channels=3))
    assert out.shape == (1, 1, 3, 8, 8) and torch.isfinite(out).all()
    torch.testing.assert_close(out[0, 0, 0], out[0, 0, 1])
    torch.testing.assert_close(out[0, 0, 0], out[0, 0, 2])
    assert out[0, 0, 0, 0, 0].item() == 0.0


def test_convert_video_frames():
    clip = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 4, 4, 1), np.float32)
    plan = _plan(frames=4, channels=1, h=4, w=4)
    out = convert([clip], plan)
    assert out[0, :, 0, 0, 0].tolist() == frame_indices(10, 4).astype(float).tolist()
    still = convert([clip[:1]], plan)  # a 1-frame video: the still repeated
    assert torch.all(still == 0.0)
    rng = np.random.default_rng(3)
    draws = {tuple(convert([clip], plan, rng)[0, :, 0, 0, 0].tolist()) for _ in range(20)}
    assert len(draws) > 1 and all(0 <= v <= 9 for d in draws for v in d)


# ---------------------------------------------------------------- TensorCache
@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = vision_input.convert

    def spy(xs, plan, rng=None):
        calls.append(len(xs))
        return real(xs, plan, rng)

    monkeypatch.setattr(vision_input, "convert", spy)
    return calls


def test_fixed_converts_a_list_once(counted):
    xs = _images([(8, 8)] * 5)
    cache = TensorCache(_plan(), torch.device("cpu"))
    first = cache.fixed(xs)
    assert cache.fixed(xs) is first
    # the data pool hands out a new list of the same arrays at each validation() call
    assert cache.fixed(list(xs)) is first
    assert counted == [5]
    other = list(xs)
    other[2] = other[2].copy()  # equal values, another array: converted anew
    assert cache.fixed(other) is not first and counted == [5, 5]
    torch.testing.assert_close(cache.fixed(other), first)
    cache.clear()
    cache.fixed(xs)
    assert counted == [5, 5, 5]


def test_same_examples_is_identity_element_by_element():
    xs = _images([(4, 4)] * 3)
    assert same_examples(xs, xs) and same_examples(xs, list(xs))
    assert not same_examples(xs, xs[:2]) and not same_examples(xs, [x.copy() for x in xs])


def test_train_prefix_converts_only_new_rows(counted):
    xs = _images([(8, 8)] * 8)
    plan = _plan()
    cache = TensorCache(plan, torch.device("cpu"))
    assert cache.train_prefix(xs[:5]).shape[0] == 5
    grown = cache.train_prefix(xs)
    assert counted == [5, 3]
    torch.testing.assert_close(grown, convert(xs, plan))  # the real convert (imported before the spy)
    # a shorter prefix (a smaller row window) is a slice of the cache; nothing is converted
    assert cache.train_prefix(xs[:4]).shape[0] == 4 and cache.train_prefix(xs).shape[0] == 8
    assert counted == [5, 3]
