"""T-NAML controller: REINFORCE learns a toy reward, per-task normalisation, save/load, transfer embedding."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from autodl_solver.errors import AutoDLInputError
from autodl_solver.naml.controller import (Controller, ControllerConfig, Reinforce, TaskNormalizer, load_controller,
                                           save_controller)
from autodl_solver.naml.space import default_space_path, load_space


@pytest.fixture(scope="module")
def space():
    return load_space(default_space_path(tiny=True))


def test_starts_about_uniform_and_masks_modalities(space):
    c = Controller(space, [("t", "text"), ("i", "image")])
    probs = c.probabilities("t", c.most_likely("t"))
    # text: fasttext/hashed, never pixels nor the tabular, speech and video modules after it
    assert np.allclose(probs[0], [0.5, 0.5] + [0.0] * 6, atol=0.05)
    assert np.allclose(probs[5], 1 / 3, atol=0.05)
    rng = np.random.default_rng(0)
    assert all(c.sample("i", rng)[0] == 2 for _ in range(10))  # image: pixels only
    with pytest.raises(AutoDLInputError, match="unknown task"):
        c.sample("nope", rng)


def test_reinforce_learns_a_deterministic_reward(space):
    """Reward 1 when the 'normalization' decision picks 'layer', else 0: its probability must rise."""
    torch.manual_seed(0)
    c = Controller(space, [("t", "text")], ControllerConfig(lr=0.02), seed=1)
    trainer = Reinforce(c)
    rng = np.random.default_rng(0)
    k = space.names.index("normalization")
    before = np.mean([c.probabilities("t", c.sample("t", rng))[k][2] for _ in range(10)])
    for _ in range(80):
        actions = c.sample("t", rng)
        trainer.update("t", actions, 1.0 if actions[k] == 2 else 0.0)
    after = np.mean([c.probabilities("t", c.sample("t", rng))[k][2] for _ in range(10)])
    assert before < 0.45 and after > 0.8


def test_ema_is_bias_corrected():
    norm = TaskNormalizer(alpha=0.01)
    assert norm.advantage("a", 0.7) == 0.0  # no baseline before the first reward
    norm.update("a", 0.7)
    assert norm.baseline("a") == pytest.approx(0.7)  # not 0.007, as a raw EMA from 0 would say
    for r in (0.5, 0.9, 0.7):
        norm.update("a", r)
    assert norm.baseline("a") == pytest.approx(np.average([0.7, 0.5, 0.9, 0.7], weights=0.99 ** np.arange(3, -1, -1)))
    assert 0.05 < norm.std("a") < 0.3
    assert norm.advantage("a", 0.9) > 0 > norm.advantage("a", 0.5)


def test_advantages_are_normalised_per_task():
    norm = TaskNormalizer(alpha=0.01, min_std=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(200):
        norm.update("small", rng.normal(0.5, 0.01))
        norm.update("big", rng.normal(50, 10))
    a_small = norm.advantage("small", norm.baseline("small") + norm.std("small"))
    a_big = norm.advantage("big", norm.baseline("big") + norm.std("big"))
    assert a_small == pytest.approx(1.0, rel=1e-3) and a_big == pytest.approx(1.0, rel=1e-3)


def test_save_load_round_trip_and_fingerprint_refusal(space, tmp_path):
    c = Controller(space, [("t", "text"), ("i", "image")], seed=3)
    trainer = Reinforce(c)
    rng = np.random.default_rng(0)
    for _ in range(5):
        trainer.update("t", c.sample("t", rng), float(rng.random()))
    folder = save_controller(tmp_path / "ctl", c, trainer.normalizer)
    loaded, norm, meta = load_controller(folder, space)
    assert meta["space_fingerprint"] == space.fingerprint and loaded.task_names == ["t", "i"]
    for (k, v), (k2, v2) in zip(c.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    assert norm.baseline("t") == pytest.approx(trainer.normalizer.baseline("t"))
    other = load_space()  # the paper space: another fingerprint
    with pytest.raises(AutoDLInputError, match="fingerprint"):
        load_controller(folder, other)
    (folder / "controller.json").write_text("{")
    with pytest.raises(AutoDLInputError, match="controller.json"):
        load_controller(folder, space)


def test_add_task_keeps_shared_weights(space):
    c = Controller(space, [("t", "text")], seed=0)
    before = {k: v.clone() for k, v in c.state_dict().items()}
    idx = c.add_task("new", "image")
    assert idx == 1 and c.task_names == ["t", "new"]
    for k, v in before.items():
        assert torch.equal(c.state_dict()[k], v)
    assert not torch.equal(c.task_embeddings[0], c.task_embeddings[1])
    with pytest.raises(AutoDLInputError, match="already"):
        c.add_task("new", "image")
