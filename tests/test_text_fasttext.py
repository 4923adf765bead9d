"""text_fasttext: the learner battery, learning, empty documents, NaN retries, temp files, saving."""
from __future__ import annotations

import io
import tempfile

import numpy as np
import pytest
import torch

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.challenge.scoring import nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.domains.text import text_fasttext
from autodl_solver.domains.registry import create
from autodl_solver.domains.text.text_fasttext import FastTextLearner
from autodl_solver.testing import check_learner, make_dataset

EMPTY = np.zeros((0, 1, 1, 1), np.float32)


def pool(dataset: ArrayDataset) -> DataPool:
    return DataPool(dataset, EngineConfig(holdout=False), seed=0)


def round_trip(learner, xs):
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh = create("text_fasttext", learner.metadata)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    return fresh.predict(xs)


def test_battery():
    result = check_learner(FastTextLearner, domain="text", budget_s=2.0, n_train=30, n_test=12)
    assert "state_dict round trip" in result["passed"]


@pytest.mark.parametrize("multilabel", [False, True])
def test_learns_the_tiny_text_task_and_saves(multilabel):
    train, test, y_test = make_dataset("text", n_train=80, n_test=40, multilabel=multilabel, seed=3)
    learner = create("text_fasttext", train.metadata)
    learner.fit(pool(train), 10.0)
    xs, _ = test.take(0, len(test))
    pred = learner.predict(xs)
    assert pred.shape == y_test.shape and pred.dtype == np.float32
    assert np.all((pred >= 0) & (pred <= 1))
    assert nauc(y_test, pred) > 0.5
    assert learner.done
    if not multilabel:  # softmax: one distribution per document
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-3)
    state = learner.state_dict()
    assert state["model"].dtype == torch.uint8  # fastText's own .bin bytes, no pickle
    np.testing.assert_array_equal(round_trip(learner, xs), pred)


def test_unfitted_round_trip_predicts_zeros():
    train, test, _ = make_dataset("text", n_train=10, n_test=4, seed=0)
    xs, _ = test.take(0, len(test))
    assert np.all(round_trip(create("text_fasttext", train.metadata), xs) == 0)


def test_empty_and_unknown_documents():
    train, test, _ = make_dataset("text", n_train=40, n_test=10, seed=1)
    xs, y = train.take(0, len(train))
    xs = [EMPTY if i % 5 == 0 else x for i, x in enumerate(xs)]
    learner = create("text_fasttext", train.metadata)
    learner.fit(pool(ArrayDataset(xs, y, train.metadata)), 5.0)
    weird = [EMPTY, np.full((4, 1, 1, 1), 1e6, np.float32), np.full((3, 1, 1, 1), -2, np.float32)]
    pred = learner.predict(weird + test.take(0, len(test))[0])
    assert pred.shape == (13, 3) and np.all(np.isfinite(pred))


def test_all_documents_empty():
    meta = make_dataset("text", n_train=2)[0].metadata
    xs = [EMPTY] * 6
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    learner = create("text_fasttext", meta)
    learner.fit(pool(ArrayDataset(xs, y, meta)), 5.0)
    pred = learner.predict(xs[:2])
    assert pred.shape == (2, 3) and np.all(np.isfinite(pred))


def test_documents_never_hold_labels_or_newlines():
    meta = make_dataset("text", n_train=2)[0].metadata.replace(
        channel_to_index={"__label__2": 0, "a\nb": 1, "ok": 2})
    learner = create("text_fasttext", meta)
    [doc] = learner.texts([np.array([0, 1, 2], np.float32).reshape(-1, 1, 1, 1)])
    assert "__label__" not in doc and "\n" not in doc and doc.endswith("ok")


def test_nan_is_retried_with_half_the_learning_rate(monkeypatch):
    real = text_fasttext.train_fasttext
    rates = []

    def flaky(path, **params):
        rates.append(params["lr"])
        if len(rates) == 1:
            raise RuntimeError("Encountered NaN.")
        return real(path, **params)

    monkeypatch.setattr(text_fasttext, "train_fasttext", flaky)
    train, test, y_test = make_dataset("text", n_train=60, n_test=20, seed=2)
    learner = create("text_fasttext", train.metadata, config={"lr": 0.4})
    learner.fit(pool(train), 10.0)
    assert rates == [0.4, 0.2] and learner.last_lr == 0.2
    assert not learner.failed
    assert nauc(y_test, learner.predict(test.take(0, len(test))[0])) > 0.5


def test_nan_every_time_marks_the_learner_failed(monkeypatch):
    rates = []

    def diverges(path, **params):
        rates.append(params["lr"])
        raise RuntimeError("Encountered NaN.")

    monkeypatch.setattr(text_fasttext, "train_fasttext", diverges)
    train, test, _ = make_dataset("text", n_train=20, n_test=5, seed=2)
    learner = create("text_fasttext", train.metadata, config={"lr": 0.4, "max_tries": 3})
    with pytest.raises(RuntimeError, match="NaN.*3 tries.*marked failed"):
        learner.fit(pool(train), 10.0)
    assert rates == [0.4, 0.2, 0.1]
    assert learner.failed and learner.done and "NaN" in learner.error
    learner.fit(pool(train), 10.0)  # a failed learner does nothing more
    assert len(rates) == 3
    assert np.all(learner.predict(test.take(0, len(test))[0]) == 0)


def test_other_errors_are_not_retried(monkeypatch):
    calls = []

    def broken(path, **params):
        calls.append(params["lr"])
        raise RuntimeError("out of memory")

    monkeypatch.setattr(text_fasttext, "train_fasttext", broken)
    train = make_dataset("text", n_train=20, seed=2)[0]
    with pytest.raises(RuntimeError, match="out of memory"):
        create("text_fasttext", train.metadata).fit(pool(train), 10.0)
    assert len(calls) == 1


def test_grows_rows_and_leaves_no_temp_files(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    train, test, _ = make_dataset("text", n_train=100, n_test=20, seed=5)
    learner = create("text_fasttext", train.metadata, config={"first_rows": 30, "epoch": 2})
    data = pool(train)
    rows = []
    while not learner.done:
        learner.fit(data, 5.0)
        rows.append(learner.state_dict()["rows"])
        assert learner.next_cost_s() >= 0
    assert rows == [30, 60, 100]
    assert np.all(np.isfinite(learner.predict(test.take(0, len(test))[0])))
    assert list(tmp_path.iterdir()) == []
