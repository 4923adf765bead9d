"""T-NAML on tabular, speech and video data: task builders, children in the tiny space, the solver mapping."""
from __future__ import annotations

import json

import numpy as np
import pytest

from autodl_solver.errors import AutoDLInputError
from autodl_solver.naml.child import train_child
from autodl_solver.naml.prior import learner_for, read_prior, solver_settings
from autodl_solver.naml.space import EMBEDDINGS, default_space_path, load_space, space_from_dict
from autodl_solver.naml.tasks import (TASK_BUILDERS, feature_bin_tokens, synthetic_task, tabular_task,
                                      tabular_task_from_table, task_builder)

BASE = dict(embedding="standardized", fine_tune=False, hidden_layers=1, layer_size=16, activation="relu",
            normalization="none", dropout=0.0, deep_lr=0.1, deep_reg=0.0, wide_lr=0.1, wide_reg=0.0,
            train_samples=1000)
SIZES = dict(max_train=200, max_valid=30, max_test=40)


def _write(root, domain: str, n_train: int = 90, n_test: int = 40, seed: int = 0):
    """A tiny AutoDL dataset of ``domain`` (``autodl_solver.testing.make_dataset``) written to ``root``."""
    from autodl_solver.data.writer import write_dataset
    from autodl_solver.testing.datasets import make_dataset

    train, test, y_test = make_dataset(domain, n_train=n_train, n_test=n_test, output_dim=3, seed=seed)
    xs, ys = train.take(0, len(train))
    txs, _ = test.take(0, len(test))
    return write_dataset(root, f"tiny_{domain}", train.metadata, list(zip(xs, ys)), list(zip(txs, y_test)))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Tasks of the three new modalities built from written datasets (and their cache folder)."""
    root = tmp_path_factory.mktemp("naml_modalities")
    cache = root / "cache"
    return {domain: task_builder(domain)(_write(root, domain), f"tiny_{domain}", cache, seed=0, **SIZES)
            for domain in ("tabular", "speech", "video")}, cache


def _learns(task, config, margin=0.15):
    result = train_child(task, config, seed=0)
    chance = np.bincount(task.y[task.split["valid"]]).max() / len(task.split["valid"])
    assert result["valid_accuracy"] >= chance + margin, (task.name, config["embedding"], result)
    return result


def test_builders_by_domain():
    assert set(TASK_BUILDERS) == set(EMBEDDINGS) == {"text", "image", "tabular", "speech", "video"}
    with pytest.raises(AutoDLInputError, match="domain"):
        task_builder("audio")


def test_tabular_task_inputs_tokens_and_cache(built):
    tasks, cache = built
    task = tasks["tabular"]
    n, width = len(task.y), 8  # make_dataset's tabular examples have max(8, 2k) features
    assert task.modality == "tabular" and task.n_classes == 3 and sorted(task.modules()) == ["quantiles",
                                                                                             "standardized"]
    assert task.dense["standardized"].shape == (n, width) and task.dense["quantiles"].shape == (n, width)
    assert task.tokens.shape == (n, width) and task.n_tokens == 1 + width * 5
    assert task.tokens.min() >= 1 and task.tokens.max() < task.n_tokens
    assert set(task.info["feature_seconds"]) == {"standardized", "quantiles"}
    again = tabular_task(task.info["source"], "tiny_tabular", cache, seed=0, **SIZES)
    assert again.info["cache"] == task.info["cache"] and np.array_equal(again.tokens, task.tokens)
    for module in ("standardized", "quantiles"):
        _learns(task, {**BASE, "embedding": module})
    _learns(task, {**BASE, "deep_reg": "disable"})  # the wide tower alone, on (feature, quartile) tokens


def test_missing_values_get_indicators_and_a_bin_of_their_own():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(40, 3))
    table[::4, 1] = np.nan  # gaps in the training rows of feature 1 only
    table[:, 2] = np.nan  # a column with no value at all
    split = {"train": np.arange(30), "valid": np.arange(30, 35), "test": np.arange(35, 40)}
    task = tabular_task_from_table("gaps", table, np.arange(40) % 2, split)
    assert task.dense["standardized"].shape == (40, 5)  # three features, indicators of features 1 and 2
    assert np.isfinite(task.dense["standardized"]).all() and np.isfinite(task.dense["quantiles"]).all()
    assert (task.tokens[::4, 1] == 1 + 1 * 5 + 4).all() and (task.tokens[:, 2] == 1 + 2 * 5 + 4).all()


def test_bin_tokens_keep_a_sparse_binary_column_apart():
    x = np.zeros((20, 1))
    x[:3, 0] = 1.0  # a one-hot column whose quartiles are all 0
    tokens, n_tokens = feature_bin_tokens(x, np.arange(20))
    assert n_tokens == 6 and tokens[0, 0] != tokens[10, 0]


def test_speech_task_reuses_the_speech_features(built):
    from autodl_solver.domains.speech.speech_features import FeatureSpec

    task = built[0]["speech"]
    spec = FeatureSpec()
    stats_width = 2 * spec.n_mels + 3 * spec.n_mfcc + 1  # clip_statistics with deltas: speech_linear's input
    assert task.modality == "speech" and sorted(task.modules()) == ["clip_stats", "logmel_grid"]
    assert task.dense["clip_stats"].shape[1] == stats_width and task.tokens.shape[1] == stats_width
    assert task.dense["logmel_grid"].shape[1] == spec.n_mels * task.info["time_segments"]
    assert task.info["sample_rate"] == 16000 and np.isfinite(task.dense["logmel_grid"]).all()
    for module in ("clip_stats", "logmel_grid"):
        _learns(task, {**BASE, "embedding": module})


def test_video_task_frames_and_differences(built):
    task = built[0]["video"]
    frames, channels, height, width = task.info["plan"]
    assert task.modality == "video" and task.modules() == ["frame_pixels"] and frames == 4
    # the frames and the differences of consecutive ones, as vision_linear's video input
    assert task.dense["frame_pixels"].shape[1] == (2 * frames - 1) * channels * height * width
    _learns(task, {**BASE, "embedding": "frame_pixels"})


def test_tiny_space_children_on_every_new_modality(built):
    space = load_space(default_space_path(tiny=True))
    rng = np.random.default_rng(0)
    for modality, task in built[0].items():
        for _ in range(4):
            config = space.decode(space.sample_uniform(rng, modality))
            assert config["embedding"] in EMBEDDINGS[modality]
            result = train_child(task, config, seed=1)
            assert 0.0 <= result["valid_accuracy"] <= 1.0 and 0.0 <= result["test_accuracy"] <= 1.0
            assert result["feature_seconds"] is not None  # the cost-aware reward can charge every module
    for modality in ("tabular", "speech", "video"):
        synthetic = synthetic_task(f"s_{modality}", modality, seed=3)
        assert sorted(synthetic.modules()) == sorted(EMBEDDINGS[modality])
        train_child(synthetic, {**BASE, "embedding": EMBEDDINGS[modality][-1]})


@pytest.mark.parametrize("modality, change, learner", [
    ("tabular", {"deep_reg": "disable"}, "tabular_linear"),
    ("tabular", {"embedding": "quantiles"}, "tabular_mlp"),
    ("speech", {"embedding": "clip_stats", "deep_reg": "disable"}, "speech_linear"),
    ("speech", {"embedding": "clip_stats"}, "speech_linear"),
    ("speech", {"embedding": "logmel_grid"}, "speech_cnn"),
    ("video", {"embedding": "frame_pixels", "deep_reg": "disable"}, "vision_linear"),
    ("video", {"embedding": "frame_pixels"}, "video_c3d"),
])
def test_learner_mapping_and_overrides_are_real_config_fields(modality, change, learner):
    from autodl_solver.domains.methods import solver_portfolio
    from autodl_solver.domains.registry import load_config

    config = {**BASE, "hidden_layers": 3, "layer_size": 64, "dropout": 0.2, "deep_reg": 0.001, "wide_reg": 0.002,
              **change}
    assert learner_for(modality, config) == learner and learner in solver_portfolio(modality)
    settings = solver_settings({"modality": modality, "config": config})
    assert settings["first"] == learner and settings["domain"] == modality
    for name, fields in settings["config_overrides"].items():
        assert name in solver_portfolio(modality)
        resolved = load_config(name, fields)  # an unknown field would raise here
        assert all(getattr(resolved, k) == v for k, v in fields.items())
    overrides = settings["config_overrides"]
    assert list(overrides) == [learner]  # only the configuration's own learner, only its penalties
    if learner == "tabular_mlp":  # its size stays the solver's: the child's was chosen with another optimiser
        assert overrides["tabular_mlp"] == {"dropout": 0.2, "weight_decay": 0.001}
    if learner == "tabular_linear":
        assert overrides["tabular_linear"]["C"] == pytest.approx(0.5)  # 1 / (0.002 * 1000), within 3x of 1.0
    if learner == "speech_linear":
        # the tower that reads the clip statistics sets speech_linear's C
        expected = 0.5 if config["deep_reg"] == "disable" else 1.0
        assert overrides["speech_linear"]["C"] == pytest.approx(expected)
    if learner in ("speech_cnn", "video_c3d"):
        assert overrides[learner] == {"weight_decay": 0.001}


def test_tabular_prior_file_and_portfolio(tmp_path):
    from autodl_solver.naml.prior import FORMAT, build_prior_portfolio
    from autodl_solver.testing.datasets import make_dataset

    config = {**BASE, "embedding": "quantiles", "hidden_layers": 2, "layer_size": 32, "dropout": 0.3}
    prior = {"format": FORMAT, "modality": "tabular", "task": "t", "config": config}
    path = tmp_path / "prior.json"
    path.write_text(json.dumps(prior))
    assert read_prior(path)["placement"] == "after_opener"
    learners, _ = build_prior_portfolio(path, "solver", make_dataset("tabular")[0].metadata)
    names = [learner.name for learner in learners]
    assert names[:2] == ["tabular_linear", "tabular_mlp"] and sorted(names) == sorted(
        ["tabular_linear", "tabular_gbdt", "tabular_mlp"])
    assert (learners[1].config.hidden, learners[1].config.layers) == (256, 2)  # the solver's size
    assert learners[1].config.dropout == config["dropout"]
    path.write_text(json.dumps({**prior, "config": {k: v for k, v in config.items() if k != "hidden_layers"}}))
    with pytest.raises(AutoDLInputError, match="hidden_layers"):
        read_prior(path)
    path.write_text(json.dumps({**prior, "config": {**config, "embedding": "pixels"}}))
    with pytest.raises(AutoDLInputError, match="embedding"):
        read_prior(path)


def test_a_controller_of_the_space_before_the_new_modalities_names_the_mismatch(tmp_path):
    from autodl_solver.naml.controller import Controller, load_controller, save_controller
    from autodl_solver.naml.searchers import Transfer

    space = load_space(default_space_path(tiny=True))
    raw = space.to_dict()
    raw["decisions"][0]["choices"] = {m: v for m, v in raw["decisions"][0]["choices"].items()
                                      if m in ("text", "image")}
    before = space_from_dict(raw)  # the same space as it was before tabular, speech and video
    assert before.name == space.name and before.fingerprint != space.fingerprint
    folder = save_controller(tmp_path / "old", Controller(before, [("t", "text")], seed=0))
    with pytest.raises(AutoDLInputError, match="fingerprint mismatch") as err:
        load_controller(folder, space)
    assert before.fingerprint[:12] in str(err.value) and space.fingerprint[:12] in str(err.value)
    assert "changed since" in str(err.value)
    with pytest.raises(AutoDLInputError, match="fingerprint mismatch"):
        Transfer(space, ("new", "tabular"), Controller(before, [("t", "text")], seed=0))


def test_experiment_over_five_modalities(tmp_path):
    from autodl_solver.naml.controller import ControllerConfig
    from autodl_solver.naml.experiment import ExperimentConfig, run_experiment
    from autodl_solver.utils.executors import make_executor

    space = load_space(default_space_path(tiny=True))
    specs = [("tx", "text"), ("im", "image"), ("tb", "tabular"), ("sp", "speech"), ("vd", "video")]
    paths = {n: str(synthetic_task(n, m, n=120, seed=i).save(tmp_path / f"{n}.npz"))
             for i, (n, m) in enumerate(specs)}
    cfg = ExperimentConfig(folds=[["tb", "sp"], ["vd"]], budget=10, pretrain_trials=8,
                           controller=ControllerConfig(lr=0.01))
    result = run_experiment(space, paths, cfg, make_executor("serial"), tmp_path / "exp.json")
    assert sorted(result["per_task"]) == ["sp", "tb", "vd"]
    for name, entry in result["per_task"].items():
        prior = read_prior(entry["prior_file"])
        assert prior["modality"] == dict(specs)[name]
        assert learner_for(prior["modality"], prior["config"]) in {
            "tabular": {"tabular_linear", "tabular_mlp"}, "speech": {"speech_linear", "speech_cnn"},
            "video": {"vision_linear", "video_c3d"}}[prior["modality"]]


def test_cli_search_takes_a_tabular_dataset(tmp_path, capsys):
    from autodl_solver import cli

    folder = _write(tmp_path / "data", "tabular")
    out = tmp_path / "rs"
    assert cli.main(["naml", "search", str(folder), "--searcher", "random", "--trials", "3", "--out", str(out),
                     "--space", str(default_space_path().parent / "tiny_space.yaml"), "--executor", "serial",
                     "--cache", str(tmp_path / "cache"), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trials"] == 3 and list(summary["tasks"]) == ["tiny_tabular"]
