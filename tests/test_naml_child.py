"""T-NAML child: proximal Adagrad, the two towers, every embedding module, task caches and loaders."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from autodl_solver.errors import AutoDLInputError
from autodl_solver.naml.child import ProximalAdagrad, train_child
from autodl_solver.naml.tasks import Task, image_task, synthetic_task, text_task

BASE = dict(embedding="fasttext", fine_tune=False, hidden_layers=1, layer_size=16, activation="relu",
            normalization="none", dropout=0.0, deep_lr=0.1, deep_reg=0.0, wide_lr=0.1, wide_reg=0.0,
            train_samples=1000)


def test_proximal_l1_step_zeroes_small_weights():
    w = torch.nn.Parameter(torch.tensor([0.001, -0.002, 0.5, -0.8]))
    opt = ProximalAdagrad([w], lr=0.1, l1=0.5, initial_accumulator=1.0)
    w.grad = torch.zeros(4)
    opt.step()  # lr_t = 0.1: shrink by 0.05
    assert w.detach().tolist()[:2] == [0.0, 0.0]
    assert w.detach().tolist()[2:] == pytest.approx([0.45, -0.75])


def test_proximal_l2_and_adagrad_step():
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = ProximalAdagrad([w], lr=0.5, l2=1.0, initial_accumulator=0.0)
    w.grad = torch.tensor([2.0])
    opt.step()  # acc 4, lr_t 0.25, v = 1 - 0.5 = 0.5, / (1 + 0.25)
    assert float(w.detach()) == pytest.approx(0.4)


@pytest.mark.parametrize("change", [{}, {"embedding": "hashed", "fine_tune": True}, {"fine_tune": True},
                                    {"normalization": "batch", "activation": "swish", "dropout": 0.2},
                                    {"normalization": "layer", "hidden_layers": 2},
                                    {"deep_reg": "disable"},
                                    {"wide_reg": "disable", "embedding": "hashed", "fine_tune": True,
                                     "train_samples": 3000, "deep_lr": 1.0}])
def test_text_child_learns(change):
    task = synthetic_task("t", "text", seed=1)
    result = train_child(task, {**BASE, **change}, seed=0)
    chance = np.bincount(task.y[task.split["valid"]]).max() / len(task.split["valid"])
    assert result["valid_accuracy"] > chance + 0.1
    cfg = {**BASE, **change}
    assert 0 <= result["test_accuracy"] <= 1 and result["steps"] == cfg["train_samples"] // 100


def test_image_child_and_bias_only_model():
    task = synthetic_task("i", "image", seed=2)
    assert train_child(task, {**BASE, "embedding": "pixels", "fine_tune": True}, seed=0)["valid_accuracy"] > 0.6
    both_off = train_child(task, {**BASE, "embedding": "pixels", "deep_reg": "disable", "wide_reg": "disable"})
    assert both_off["valid_accuracy"] < 0.6 and both_off["wide_zeros"] == -1.0


def test_wide_l1_makes_weights_sparse():
    task = synthetic_task("t", "text", seed=1)
    dense = train_child(task, {**BASE, "deep_reg": "disable", "wide_reg": 0.0})
    sparse = train_child(task, {**BASE, "deep_reg": "disable", "wide_reg": 0.1})
    assert sparse["wide_zeros"] > dense["wide_zeros"] + 0.3


def test_diverging_child_is_measured_not_raised():
    task = synthetic_task("t", "text", seed=1)
    result = train_child(task, {**BASE, "deep_lr": 1e6, "wide_lr": 1e6, "hidden_layers": 2})
    assert 0.0 <= result["valid_accuracy"] <= 1.0


def test_missing_module_is_an_input_error():
    task = synthetic_task("t", "text")
    with pytest.raises(AutoDLInputError, match="minilm"):
        train_child(task, {**BASE, "embedding": "minilm"})


def test_task_save_load(tmp_path):
    task = synthetic_task("t", "text", seed=4)
    loaded = Task.load(task.save(tmp_path / "t.npz"))
    assert loaded.name == "t" and loaded.modality == "text" and loaded.n_classes == task.n_classes
    assert np.array_equal(loaded.tokens, task.tokens) and np.array_equal(loaded.word_vectors, task.word_vectors)
    assert sorted(loaded.split) == ["test", "train", "valid"]
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(AutoDLInputError, match="bad.npz"):
        Task.load(tmp_path / "bad.npz")


def _text_dataset(tmp_path):
    from autodl_solver.data.converters.text import from_text_folder

    rng = np.random.default_rng(0)
    words = {"sport": ["goal", "match", "team", "ball"], "food": ["bread", "cheese", "soup", "apple"]}
    for label, vocab in words.items():
        (tmp_path / "src" / label).mkdir(parents=True)
        for i in range(30):
            text = " ".join(rng.choice(vocab + ["the", "a", "of"], 8))
            (tmp_path / "src" / label / f"{i}.txt").write_text(text)
    return from_text_folder(tmp_path / "src", tmp_path / "data", "words", language="EN").path


def test_text_task_from_autodl_dataset_is_cached(tmp_path):
    path = _text_dataset(tmp_path)
    task = text_task(path, "words", tmp_path / "cache", max_train=30, max_valid=10, max_test=10,
                     encoders=("fasttext", "hashed"))
    assert task.modality == "text" and task.n_classes == 2 and len(task.split["train"]) == 30
    assert sorted(task.modules()) == ["fasttext", "hashed"] and task.word_vectors.shape[0] == task.n_tokens
    again = text_task(path, "words", tmp_path / "cache", max_train=30, max_valid=10, max_test=10,
                      encoders=("fasttext", "hashed"))
    assert again.info["cache"] == task.info["cache"] and np.array_equal(again.tokens, task.tokens)
    assert train_child(task, {**BASE, "train_samples": 1000})["valid_accuracy"] >= 0.8


def test_image_task_from_autodl_dataset(tmp_path):
    from autodl_solver.data.converters import from_arrays

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    x = rng.random((80, 12, 12, 1)).astype(np.float32) * 0.3
    x[y == 1, :6] += 0.7  # class 1: a bright top half
    path = from_arrays(x, np.eye(2)[y], tmp_path, "blocks", test_size=0.25, seed=0).path
    task = image_task(path, "blocks", tmp_path / "cache", max_train=40, max_valid=10, max_test=20,
                      encoders=("pixels",), pixel_side=8)
    assert task.modality == "image" and task.dense["pixels"].shape[1] == 64 and task.tokens.shape[1] == 64
    assert train_child(task, {**BASE, "embedding": "pixels"})["valid_accuracy"] >= 0.8
