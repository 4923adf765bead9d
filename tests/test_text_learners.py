"""text_linear and autonlp_baseline0: the learner battery, learning, empty docs, Chinese, saving, O1."""
from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.challenge.scoring import nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.baselines import autonlp_baselines  # noqa: F401  (registers the learners)
from autodl_solver.domains.text import text_linear  # noqa: F401
from autodl_solver.domains.registry import create, get_entry
from autodl_solver.testing import check_learner, make_dataset

NAMES = ("text_linear", "autonlp_baseline0")
SHARED = Path(__file__).resolve().parents[2] / "shared" / "autodl_samples"


def pool(dataset: ArrayDataset) -> DataPool:
    return DataPool(dataset, EngineConfig(holdout=False), seed=0)


def round_trip(learner, xs):
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh = create(learner.name, learner.metadata)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    return fresh.predict(xs)


@pytest.mark.parametrize("name", NAMES)
def test_battery(name):
    result = check_learner(get_entry(name).cls, domain="text", budget_s=1.0, n_train=30, n_test=12)
    assert "state_dict round trip" in result["passed"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("multilabel", [False, True])
def test_learns_the_tiny_text_task(name, multilabel):
    train, test, y_test = make_dataset("text", n_train=80, n_test=40, multilabel=multilabel, seed=3)
    learner = create(name, train.metadata)
    learner.fit(pool(train), 10.0)
    xs, _ = test.take(0, len(test))
    pred = learner.predict(xs)
    assert pred.shape == y_test.shape and pred.dtype == np.float32
    assert nauc(y_test, pred) > 0.5
    assert learner.done
    # the saved state is plain tensors/lists and predicts identically
    np.testing.assert_allclose(round_trip(learner, xs), pred, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_empty_and_unknown_documents(name):
    train, test, _ = make_dataset("text", n_train=40, n_test=10, seed=1)
    xs, y = train.take(0, len(train))
    empty = np.zeros((0, 1, 1, 1), np.float32)
    xs = [empty if i % 5 == 0 else x for i, x in enumerate(xs)]
    learner = create(name, train.metadata)
    learner.fit(pool(ArrayDataset(xs, y, train.metadata)), 5.0)
    weird = [empty, np.full((4, 1, 1, 1), 1e6, np.float32), np.full((3, 1, 1, 1), -2, np.float32)]
    pred = learner.predict(weird + test.take(0, len(test))[0])
    assert pred.shape == (13, 3) and np.all(np.isfinite(pred))


@pytest.mark.parametrize("name", NAMES)
def test_all_documents_empty(name):
    meta = make_dataset("text", n_train=2)[0].metadata
    xs = [np.zeros((0, 1, 1, 1), np.float32)] * 6
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    learner = create(name, meta)
    learner.fit(pool(ArrayDataset(xs, y, meta)), 5.0)
    pred = learner.predict(xs[:2])
    assert pred.shape == (2, 3) and np.all(np.isfinite(pred))


def chinese_task(n: int, seed: int):
    """Two classes told apart by which characters occur (joined without spaces)."""
    chars = list("好棒喜欢赞坏差烂讨厌的了是我这电影很")
    vocab = {c: i for i, c in enumerate(chars)}
    vocab[""] = len(chars)  # the official empty-string token
    rng = np.random.default_rng(seed)
    xs, y = [], np.zeros((n, 2), np.float32)
    for i in range(n):
        c = i % 2
        words = rng.integers(10, len(chars), 8)
        keys = rng.integers(5 * c, 5 * c + 5, 3)
        ids = np.concatenate([words, keys, [len(chars)]])
        rng.shuffle(ids)
        xs.append(ids.astype(np.float32).reshape(-1, 1, 1, 1))
        y[i, c] = 1
    meta = Metadata(output_dim=2, sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1,
                    channel_to_index=vocab)
    return ArrayDataset(xs, y, meta), xs, y


@pytest.mark.parametrize("name", NAMES)
def test_chinese_per_character(name):
    train, _, _ = chinese_task(60, 0)
    _, x_test, y_test = chinese_task(30, 1)
    learner = create(name, train.metadata)
    assert learner.chinese
    assert "" not in learner.texts(x_test[:1])[0].split(" ")
    learner.fit(pool(train), 10.0)
    assert nauc(y_test, learner.predict(x_test)) > 0.5


def test_missing_vocabulary_still_learns():
    train, test, y_test = make_dataset("text", n_train=80, n_test=40, seed=4)
    meta = train.metadata.replace(channel_to_index={})
    xs, y = train.take(0, len(train))
    with pytest.warns(UserWarning, match="no text vocabulary"):
        learner = create("text_linear", meta)
    learner.fit(pool(ArrayDataset(xs, y, meta)), 5.0)
    assert nauc(y_test, learner.predict(test.take(0, len(test))[0])) > 0.5


def test_text_linear_grows_rows_and_truncates():
    train, test, y_test = make_dataset("text", n_train=100, n_test=20, seed=5)
    learner = create("text_linear", train.metadata, config={"first_rows": 30, "max_tokens": 4})
    assert all(len(d.split()) <= 4 for d in learner.texts(test.take(0, len(test))[0]))
    data = pool(train)
    rows = []
    while not learner.done:
        learner.fit(data, 5.0)
        rows.append(learner.state_dict()["rows"])
    assert rows == [30, 60, 100]
    assert np.all(np.isfinite(learner.predict(test.take(0, len(test))[0])))


def test_text_linear_adds_character_ngrams_after_its_first_fit():
    train, test, _ = make_dataset("text", n_train=100, n_test=20, seed=6)
    learner = create("text_linear", train.metadata, config={"first_rows": 30})
    data = pool(train)
    learner.fit(data, 5.0)  # the first prediction: words only, for speed
    assert learner._char_vectorizer is None and "char_vectorizer" not in learner.state_dict()
    learner.fit(data, 5.0)
    assert learner._char_vectorizer is not None
    xs = test.take(0, len(test))[0]
    np.testing.assert_allclose(round_trip(learner, xs), learner.predict(xs), atol=1e-6)
    off = create("text_linear", train.metadata, config={"first_rows": 30, "char_wb_ngrams": (0, 0)})
    off.fit(data, 5.0)
    off.fit(data, 5.0)
    assert off._char_vectorizer is None


def test_autonlp_cleaning_keeps_letters_and_digits_only():
    from autodl_solver.domains.text.text_vocab import clean_alphanumeric

    assert clean_alphanumeric("it's a 10/10 -- film_ok!") == "it s a 10 10 film ok"
    assert clean_alphanumeric("好，电影！", per_character=True) == "好 电 影"


@pytest.mark.slow
def test_o1_first_500_documents(tmp_path):
    if not (SHARED / "O1").is_dir():
        pytest.skip("../shared/autodl_samples/O1 is not available")
    from autodl_solver.data.converters.text import from_autonlp
    from autodl_solver.data.reader import load_dataset

    from_autonlp(SHARED / "O1", tmp_path, "O1")  # the sample is raw AutoNLP text
    data = load_dataset(tmp_path / "O1")
    x_test, _ = data.test.take(0, len(data.test))
    xs, y = data.train.take(0, 500)
    learner = create("text_linear", data.metadata)
    tic = time.perf_counter()
    learner.fit(pool(ArrayDataset(xs, y, data.metadata)), 30.0)
    took = time.perf_counter() - tic
    score = nauc(data.solution, learner.predict(x_test))
    print(f"O1 text_linear on 500 docs: fit {took:.3f} s, test NAUC {score:.3f}")
    assert score > 0.3


@pytest.mark.parametrize("solver", ["lbfgs", "linear_svm"])
@pytest.mark.parametrize("multilabel", [False, True])
def test_text_linear_solvers_learn_and_round_trip(solver, multilabel):
    train, test, y_test = make_dataset("text", n_train=80, n_test=40, multilabel=multilabel, seed=8)
    config = {"solver": solver, "C": 4.0 if solver == "lbfgs" else 0.3}
    learner = create("text_linear", train.metadata, config=config)
    data = pool(train)
    while not learner.done:
        learner.fit(data, 5.0)
    xs = test.take(0, len(test))[0]
    pred = learner.predict(xs)
    assert pred.dtype == np.float32 and np.all((pred >= 0) & (pred <= 1))
    if not multilabel:  # one softmax over the classes
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-5)
    assert nauc(y_test, pred) > 0.5
    fresh = create("text_linear", train.metadata, config=config)
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    np.testing.assert_allclose(fresh.predict(xs), pred, atol=1e-6)


def test_linear_svm_logits_are_scaled_margins():
    """The SVM's probabilities are the softmax of svm_scale x its margins: the scale sharpens, ranks stay."""
    train, test, _ = make_dataset("text", n_train=80, n_test=40, seed=9)
    xs = test.take(0, len(test))[0]
    preds = {}
    for scale in (1.0, 3.0):
        learner = create("text_linear", train.metadata, config={"solver": "linear_svm", "C": 0.3,
                                                                 "svm_scale": scale, "first_rows": 80})
        learner.fit(pool(train), 5.0)
        preds[scale] = learner.predict(xs).astype(np.float64)
    logits1, logits3 = np.log(preds[1.0]), np.log(preds[3.0])
    centred = lambda z: z - z.mean(axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(centred(logits3), 3.0 * centred(logits1), rtol=1e-3, atol=1e-3)


def test_unknown_linear_solver_is_a_clear_error():
    from autodl_solver.errors import AutoDLInputError

    train, _, _ = make_dataset("text", n_train=20, n_test=5, seed=1)
    with pytest.raises(AutoDLInputError, match="solver.*lbfgs.*linear_svm.*'newton'"):
        create("text_linear", train.metadata, config={"solver": "newton"})
