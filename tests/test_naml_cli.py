"""``autodl-solver naml`` and the T-NAML prior: CLI help, bad input, outputs, prior -> solver settings."""
from __future__ import annotations

import json

import pytest

from autodl_solver import cli
from autodl_solver.errors import AutoDLInputError
from autodl_solver.naml.controller import Controller
from autodl_solver.naml.prior import build_prior_portfolio, export_prior, read_prior, solver_settings
from autodl_solver.naml.space import default_space_path, load_space
from autodl_solver.naml.tasks import synthetic_task

TINY = str(default_space_path(tiny=True))


def _tasks(tmp_path):
    return [str(synthetic_task(n, m, n=120, seed=s).save(tmp_path / f"{n}.npz"))
            for n, m, s in (("ta", "text", 0), ("tb", "text", 1), ("tc", "text", 2))]


@pytest.mark.parametrize("argv", [["naml", "--help"], ["naml", "search", "--help"], ["naml", "experiment", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 0 and "usage" in capsys.readouterr().out


def test_bad_input_exits_2(tmp_path, capsys):
    a, *_ = _tasks(tmp_path)
    assert cli.main(["naml", "search", str(tmp_path / "missing"), "--out", str(tmp_path / "o"), "--space", TINY]) == 2
    assert "missing" in capsys.readouterr().err
    assert cli.main(["naml", "search", a, "--out", str(tmp_path / "o"), "--space", str(tmp_path / "no.yaml")]) == 2
    assert "no.yaml" in capsys.readouterr().err
    assert cli.main(["naml", "search", a, "--out", str(tmp_path / "o"), "--trials", "0", "--space", TINY]) == 2
    assert "--trials" in capsys.readouterr().err
    assert cli.main(["naml", "search", a, "--out", str(tmp_path / "o"), "--reward-budget", "0", "--space", TINY]) == 2
    assert "--reward-budget" in capsys.readouterr().err
    assert cli.main(["naml", "transfer", a, "--out", str(tmp_path / "o"), "--controller", str(tmp_path),
                     "--space", TINY, "--executor", "serial"]) == 2
    assert "controller" in capsys.readouterr().err


@pytest.mark.slow
def test_search_multitask_transfer_round_trip(tmp_path, capsys):
    a, b, c = _tasks(tmp_path)
    common = ["--space", TINY, "--executor", "serial", "--lr", "0.01", "--quiet"]
    assert cli.main(["naml", "search", a, "--searcher", "random", "--trials", "10", "--out", str(tmp_path / "rs"),
                     *common]) == 0
    summary = json.loads((tmp_path / "rs" / "summary.json").read_text())
    assert summary["trials"] == 10 and summary["valid_top10"] is not None
    assert len((tmp_path / "rs" / "trials.jsonl").read_text().splitlines()) == 10
    assert cli.main(["naml", "multitask", a, b, "--trials", "8", "--out", str(tmp_path / "mt"), *common]) == 0
    assert (tmp_path / "mt" / "controller.pt").is_file()
    prior = tmp_path / "prior.json"
    assert cli.main(["naml", "transfer", c, "--controller", str(tmp_path / "mt"), "--trials", "10",
                     "--out", str(tmp_path / "tr"), "--prior-out", str(prior), "--reward", "cost_aware",
                     "--reward-budget", "30", *common]) == 0
    data = read_prior(prior)
    assert data["task"] == "tc" and data["modality"] == "text"
    assert data["reward"]["kind"] == "cost_aware" and data["reward"]["time_budget"] == 30.0
    assert data["measured"]["seconds"] >= 0  # what the controller knows of cost, for the scheduler's prior
    assert json.loads((tmp_path / "tr" / "controller.json").read_text())["tasks"][-1] == ["tc", "text"]


def test_prior_maps_onto_registered_learner_configs(tmp_path):
    from autodl_solver.domains.registry import load_config

    space = load_space()
    controller = Controller(space, [("t", "text"), ("i", "image")], seed=0)
    for task in ("t", "i"):
        prior = export_prior(tmp_path / f"{task}.json", controller, task)
        settings = solver_settings(prior)
        for learner, fields in settings["config_overrides"].items():
            config = load_config(learner, fields)  # real fields of the registered config dataclasses
            for key, value in fields.items():
                assert getattr(config, key) == value
    text = {**prior, "modality": "text", "config": {**prior["config"], "embedding": "minilm", "deep_reg": 0.001,
                                                    "wide_reg": "disable"}}
    assert solver_settings(text)["first"] == "text_embed_linear"
    assert solver_settings(text)["config_overrides"]["text_embed_linear"]["C"] == pytest.approx(1.0)
    text["config"]["deep_reg"] = "disable"
    assert solver_settings(text)["first"] == "text_linear"
    # λ = 0 is the top of the band around text_linear's C = 0.3, 3x (it was C = 100: 15 s instead of 4 s on
    # fortunes_categories), and the disabled deep tower sets nothing on fastText or the frozen embeddings
    text["config"].update(wide_reg=0.0, deep_lr=0.3, layer_size=32)
    assert solver_settings(text)["config_overrides"] == {"text_linear": {"C": pytest.approx(0.9)}}


@pytest.mark.slow
def test_prior_reorders_the_solver_portfolio(tmp_path):
    from autodl_solver.testing.datasets import make_dataset

    space = load_space()
    controller = Controller(space, [("t", "text")], seed=0)
    prior = export_prior(tmp_path / "p.json", controller, "t")
    prior["config"].update(embedding="fasttext", deep_reg=0.0, layer_size=32, deep_lr=0.3)
    (tmp_path / "p.json").write_text(json.dumps(prior))
    text_meta = make_dataset("text")[0].metadata
    learners, _ = build_prior_portfolio(tmp_path / "p.json", "solver", text_meta)
    names = [learner.name for learner in learners]
    assert names[:2] == ["text_linear", "text_fasttext"]  # after the cheap opener by default
    # the child's rate and size were chosen with its own optimiser: fastText keeps its own
    assert (learners[1].config.dim, learners[1].config.lr) == (64, 0.5)
    prior.update(placement="first", config={**prior["config"], "embedding": "minilm"})
    (tmp_path / "p.json").write_text(json.dumps(prior))
    learners, _ = build_prior_portfolio(tmp_path / "p.json", "solver", text_meta)
    assert learners[0].name == "text_embed_linear" and len(learners) == len(names) + 1  # built though not listed
    assert learners[0].config.C == pytest.approx(3.0)  # deep_reg 0: the top of the band around its C = 1
    assert build_prior_portfolio(tmp_path / "p.json", "baseline0", text_meta) is None  # only for the solver
    prior["placement"] = "middle"
    (tmp_path / "p.json").write_text(json.dumps(prior))
    with pytest.raises(AutoDLInputError, match="placement"):
        read_prior(tmp_path / "p.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(AutoDLInputError, match="bad.json"):
        read_prior(tmp_path / "bad.json")


@pytest.mark.slow
def test_model_applies_the_prior_from_the_environment(monkeypatch, tmp_path):
    from autodl_solver.challenge import model
    from autodl_solver.testing.datasets import make_dataset

    controller = Controller(load_space(), [("t", "text")], seed=0)
    prior = export_prior(tmp_path / "p.json", controller, "t")
    prior["config"].update(embedding="hashed", deep_reg=0.0, layer_size=32)
    (tmp_path / "p.json").write_text(json.dumps(prior))
    monkeypatch.setenv(model.PRIOR_ENV, str(tmp_path / "p.json"))
    assert model.load_settings()["prior"] == str(tmp_path / "p.json")
    built = model.Model(make_dataset("text")[0].metadata)
    assert built.engine.learner_names[:2] == ["text_linear", "text_fasttext"]
    assert built.engine.learners[1].config.dim == 64  # the child's layer_size 32 is not mapped
    # the controller's choice also reaches the scheduler: its learner is expected to reach the domain's best
    fasttext = built.engine.prior.get("text", "text_fasttext", "cpu")
    best = max(e.score(1) for e in built.engine.prior.entries.values() if e.domain == "text")
    assert fasttext.score(1) == pytest.approx(best) and "T-NAML" in built.engine.prior.source
    monkeypatch.delenv(model.PRIOR_ENV)
    assert model.Model(make_dataset("text")[0].metadata).engine.learner_names[0] == "text_linear"


def test_run_refuses_a_bad_prior_before_starting(tmp_path, capsys):
    bad = tmp_path / "prior.json"
    bad.write_text("[]")
    status = cli.main(["run", str(tmp_path / "nowhere"), "--prior", str(bad), "--output_dir", str(tmp_path / "o")])
    assert status == 2
