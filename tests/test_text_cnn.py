"""Kim text CNN (autonlp_baseline1/2, text_cnn) and the word-vector helpers."""
from __future__ import annotations

import gzip
import io

import numpy as np
import pytest
import torch

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.challenge.scoring import nauc
from autodl_solver.data.dataset import ArrayDataset
from autodl_solver.data.metadata import Metadata
from autodl_solver.domains.text.text_cnn import (AutoNLPBaseline1, AutoNLPBaseline1Config, AutoNLPBaseline2,
                                            AutoNLPBaseline2Config, TextCNN, TextCNNConfig)
from autodl_solver.domains.text.text_embeddings import load_word_vectors, train_word_vectors
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import check_learner, make_dataset

EMPTY = np.zeros((0, 1, 1, 1), np.float32)
# small and fast variants of the three defaults (same code paths)
FAST = dict(filters=8, embedding_dim=16, vector_epochs=1)


def pool(dataset: ArrayDataset, holdout: bool = False) -> DataPool:
    return DataPool(dataset, EngineConfig(holdout=holdout), seed=0)


def test_xs(test: ArrayDataset) -> list[np.ndarray]:
    return test.take(0, len(test))[0]


def reload(learner):
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh = type(learner)(learner.metadata, learner.config, seed=learner.seed)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    return fresh


test_xs.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("cls,config", [
    (AutoNLPBaseline1, AutoNLPBaseline1Config()),
    (AutoNLPBaseline2, AutoNLPBaseline2Config(embedding_dim=32, vector_epochs=1)),
    (TextCNN, TextCNNConfig()),
])
def test_battery(cls, config):
    result = check_learner(cls, domain="text", config=config, budget_s=2.0, n_train=30, n_test=12)
    assert "state_dict round trip" in result["passed"]


@pytest.mark.parametrize("multilabel", [False, True])
def test_text_cnn_learns_the_toy_task_and_round_trips(multilabel):
    train, test, y_test = make_dataset("text", n_train=150, n_test=60, multilabel=multilabel, seed=3)
    learner = TextCNN(train.metadata, TextCNNConfig(max_epochs=15, patience_calls=0), seed=0)
    data = pool(train)
    while not learner.done:
        learner.fit(data, 20.0)
    pred = learner.predict(test_xs(test))
    assert pred.shape == y_test.shape and pred.dtype == np.float32
    assert np.all((pred >= 0) & (pred <= 1))
    assert nauc(y_test, pred) > 0.6
    if not multilabel:
        np.testing.assert_allclose(pred.sum(axis=1), 1.0, atol=1e-4)
    assert learner.vectors_source.startswith("trained") and learner.vectors_found > 0
    np.testing.assert_allclose(reload(learner).predict(test_xs(test)), pred, rtol=1e-5, atol=1e-6)


def test_same_seed_same_predictions():
    train, test, _ = make_dataset("text", n_train=60, n_test=20, seed=4)
    preds = []
    for _ in range(2):
        learner = AutoNLPBaseline1(train.metadata, AutoNLPBaseline1Config(**FAST), seed=7)
        learner.fit(pool(train), 10.0)
        preds.append(learner.predict(test_xs(test)))
    np.testing.assert_array_equal(preds[0], preds[1])


def test_baselines_are_done_after_max_epochs():
    train, _, _ = make_dataset("text", n_train=64, n_test=4, seed=5)
    learner = AutoNLPBaseline1(train.metadata, AutoNLPBaseline1Config(max_epochs=4, **FAST))
    data, calls = pool(train), 0
    while not learner.done:
        learner.fit(data, 30.0)
        calls += 1
        assert calls <= 3
    assert calls == 3  # epochs 1, 1, 2
    assert learner.epochs_done == pytest.approx(4.0)
    before = learner.state_dict()["net"]["fc.weight"].clone()
    learner.fit(data, 30.0)  # done: a no-op
    assert torch.equal(learner.state_dict()["net"]["fc.weight"], before)


def test_fit_respects_the_budget_and_the_row_window():
    train, _, _ = make_dataset("text", n_train=200, n_test=4, seed=6)
    data = pool(train)
    data.set_window(50)
    learner = TextCNN(train.metadata, TextCNNConfig(**FAST))
    learner.fit(data, 10.0)
    assert learner._rows == 50 and not learner.done
    first_words = len(learner.words)
    data.set_window(None)
    learner.fit(data, 10.0)
    assert learner._rows == 200 and len(learner.words) >= first_words
    assert learner.next_cost_s() > 0
    learner.fit(data, 1e-3)  # a tiny budget: at most one batch
    assert np.isfinite(learner.next_cost_s())


def test_masked_outputs_do_not_depend_on_padding():
    train, test, _ = make_dataset("text", n_train=40, n_test=10, seed=8)
    learner = TextCNN(train.metadata, TextCNNConfig(**FAST))
    learner.fit(pool(train), 5.0)
    xs = test_xs(test)
    long_doc = np.concatenate([xs[0]] * 5)
    together = learner.predict([xs[1], long_doc])
    alone = learner.predict([xs[1]])
    np.testing.assert_allclose(together[0], alone[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls,config", [(TextCNN, TextCNNConfig(**FAST)),
                                        (AutoNLPBaseline1, AutoNLPBaseline1Config(**FAST))])
def test_empty_and_unknown_documents(cls, config):
    train, test, _ = make_dataset("text", n_train=40, n_test=10, seed=1)
    xs, y = train.take(0, len(train))
    xs = [EMPTY if i % 4 == 0 else x for i, x in enumerate(xs)]
    learner = cls(train.metadata, config)
    learner.fit(pool(ArrayDataset(xs, y, train.metadata)), 5.0)
    weird = [EMPTY, np.full((4, 1, 1, 1), 1e6, np.float32), np.full((3, 1, 1, 1), -2, np.float32)]
    pred = learner.predict(weird + test_xs(test))
    assert pred.shape == (13, 3) and pred.dtype == np.float32 and np.all(np.isfinite(pred))


def test_all_documents_empty():
    meta = make_dataset("text", n_train=2)[0].metadata
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    learner = TextCNN(meta, TextCNNConfig(**FAST))
    learner.fit(pool(ArrayDataset([EMPTY] * 6, y, meta)), 5.0)
    pred = learner.predict([EMPTY, EMPTY])
    assert pred.shape == (2, 3) and np.all(np.isfinite(pred))


def test_chinese_is_split_per_character():
    chars = "猫狗鱼鸟马牛羊鸡虫龙"
    vocab = {c: i for i, c in enumerate(chars)}
    rng = np.random.default_rng(0)
    y = np.eye(2, dtype=np.float32)[rng.integers(0, 2, 80)]
    # class 0 uses the first five characters, class 1 the last five
    xs = [rng.integers(5 * int(r.argmax()), 5 * int(r.argmax()) + 5, 8).reshape(8, 1, 1, 1).astype(np.float32)
          for r in y]
    meta = Metadata(output_dim=2, sample_count=80, sequence_size=-1, row_count=1, col_count=1,
                    raw_num_channels=1, channel_to_index=vocab)
    learner = TextCNN(meta, TextCNNConfig(max_epochs=6, patience_calls=0, **FAST))
    assert learner.chinese
    data = pool(ArrayDataset(xs[:60], y[:60], meta))
    while not learner.done:
        learner.fit(data, 10.0)
    assert set(learner.words) <= set(chars)  # one token per character
    assert nauc(y[60:], learner.predict(xs[60:])) > 0.9


# ----------------------------------------------------------- word vectors
def write_vec(path, rows, dim=4, header=None):
    lines = [header or f"{len(rows)} {dim}"] + [w + " " + " ".join(f"{v:g}" for v in vec) for w, vec in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_word_vectors_from_vec(tmp_path):
    path = write_vec(tmp_path / "v.vec", [("w0", [1, 2, 3, 4]), ("other", [0, 0, 1, 0]), ("w3", [-1, 0.5, 0, 2])])
    matrix, found = load_word_vectors(path, ["w3", "nope", "w0"], 4)
    assert found == 2 and matrix.dtype == np.float32 and matrix.shape == (3, 4)
    np.testing.assert_array_equal(matrix, [[-1, 0.5, 0, 2], [0, 0, 0, 0], [1, 2, 3, 4]])
    gz = tmp_path / "v.vec.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    np.testing.assert_array_equal(load_word_vectors(gz, ["w3", "nope", "w0"], 4)[0], matrix)


@pytest.mark.parametrize("header,rows,problem", [
    ("not a header", [("w0", [1, 2, 3, 4])], "line 1"),
    (None, [("w0", [1, 2, 3])], "line 2 has 3 values"),
    ("1 8", [("w0", [1, 2, 3, 4])], "8-dimensional"),
    (None, [("w0", ["x", 2, 3, 4])], "not a number"),
])
def test_corrupt_vec_files_are_clear_errors(tmp_path, header, rows, problem):
    path = tmp_path / "bad.vec"
    lines = [header or "1 4"] + [w + " " + " ".join(str(v) for v in vec) for w, vec in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(AutoDLInputError, match=problem) as info:
        load_word_vectors(path, ["w0"], 4)
    assert str(path) in str(info.value)


def test_missing_and_corrupt_bin_files(tmp_path):
    with pytest.raises(AutoDLInputError, match="no such file"):
        load_word_vectors(tmp_path / "absent.vec", ["a"], 4)
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00not a fasttext model")
    with pytest.raises(AutoDLInputError, match="not a fastText .bin model"):
        load_word_vectors(bad, ["a"], 4)
    train, _, _ = make_dataset("text", n_train=10, n_test=2)
    with pytest.raises(AutoDLInputError, match="absent.vec"):  # the learner reports it at construction
        AutoNLPBaseline2(train.metadata, AutoNLPBaseline2Config(vectors_path=str(tmp_path / "absent.vec")))


def test_baseline2_uses_a_vectors_file(tmp_path):
    train, test, _ = make_dataset("text", n_train=40, n_test=10, seed=2)
    rng = np.random.default_rng(0)
    path = write_vec(tmp_path / "v.vec", [(f"w{i}", rng.normal(size=8)) for i in range(0, 30, 2)], dim=8)
    learner = AutoNLPBaseline2(train.metadata, AutoNLPBaseline2Config(vectors_path=str(path), embedding_dim=8,
                                                                      filters=8))
    learner.fit(pool(train), 5.0)
    assert learner.vectors_source == f"file {path}"
    indexed_with_vector = [w for w in learner.words if w in {f"w{i}" for i in range(0, 30, 2)}]
    assert learner.vectors_found == len(indexed_with_vector) > 0
    # the file's direction survives the rescaling into the embedding
    row = learner._index["w0"]
    fresh = AutoNLPBaseline2(train.metadata, learner.config)
    fresh._train_tokens = [["w0"]]
    fresh._grow_index()
    got = fresh.net.embedding.weight[fresh._index["w0"]].detach().numpy()
    want = load_word_vectors(path, ["w0"], 8)[0][0]
    assert np.corrcoef(got, want)[0, 1] > 0.999
    assert np.all(np.isfinite(learner.predict(test_xs(test)))) and row >= 2
    with pytest.raises(AutoDLInputError, match="8-dimensional vectors, expected 300"):
        AutoNLPBaseline2(train.metadata, AutoNLPBaseline2Config(vectors_path=str(path)))


def test_train_word_vectors():
    rng = np.random.default_rng(0)
    docs = [" ".join(rng.choice(["cat", "dog", "fish", "bird"], 12)) for _ in range(50)]
    matrix, found = train_word_vectors(docs, ["dog", "cat", "zebra"], dim=10, epochs=2, seed=0)
    assert matrix.shape == (3, 10) and matrix.dtype == np.float32 and found == 2
    assert np.all(np.isfinite(matrix)) and np.any(matrix[0]) and np.any(matrix[2])  # n-gram vector for zebra
    empty, none_found = train_word_vectors(["", "  "], ["dog"], dim=10, epochs=1)
    assert none_found == 0 and not np.any(empty)


def test_the_solver_cnn_asks_the_engine_for_a_short_patience():
    from autodl_solver.domains.registry import create

    train, _, _ = make_dataset("text", n_train=20, n_test=5, output_dim=2)
    assert create("text_cnn", train.metadata).patience == 3  # it overfits after about 2 epochs
    assert create("autonlp_baseline1", train.metadata).patience is None  # the engine's own
