"""``autodl-solver run``: ingestion in a child process, live scoring beside it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from autodl_solver import cli
from autodl_solver.challenge.prediction_files import read_start_file

pytestmark = pytest.mark.tensorflow

MODELS = Path(__file__).parent / "fixtures" / "models"


@pytest.fixture
def tiny(tmp_path):
    pytest.importorskip("tensorflow")  # the fixture data is written with TF's protos
    from fixtures.tiny_autodl import write_tiny_dataset

    return write_tiny_dataset(tmp_path / "dataset", n_train=30, n_test=15)


def _scores(score_dir: Path) -> dict:
    import yaml

    return yaml.safe_load((score_dir / "scores.txt").read_text())


def _run(capsys, *argv) -> tuple[int, list[str], list[str]]:
    status = cli.main(["run", *map(str, argv)])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err.strip().splitlines()


@pytest.mark.slow
def test_run_end_to_end(tiny, tmp_path, capsys, monkeypatch):
    # Name X.data directly while a second dataset sits beside it: run must
    # show ingestion and the scorer only this one (and find its solution).
    from fixtures.tiny_autodl import write_tiny_dataset

    write_tiny_dataset(tiny["root"], "other", n_train=3, n_test=3)
    calls = tmp_path / "calls.jsonl"
    monkeypatch.setenv("FIXTURE_CALLS", str(calls))
    out = tmp_path / "run"
    status, lines, _ = _run(capsys, tiny["data_dir"], "--output_dir", out, "--code_dir", MODELS / "centroid",
                            "--time_budget", "60", "--method", "fixture-method")
    assert status == 0
    scores = _scores(out / "scores")
    assert lines[0] == f"ALC: {scores['score']:.6f}"
    assert scores["score"] > 0.5  # separable classes: the centroid model ranks them well
    assert len(scores["nauc_scores"]) == 2  # 2 rounds: done_training set in the 2nd train()
    assert any(line.startswith("first prediction at: ") for line in lines)
    assert sum(line.startswith("prediction ") for line in lines) == 2
    assert not any(line.startswith("warning") for line in lines)
    for name in ("scores.txt", "learning-curve-tiny.png", "detailed_results.html"):
        assert (out / "scores" / name).stat().st_size > 0
    assert sorted(p.name for p in (out / "predictions").iterdir()) == [
        "end.txt", "start.txt", "tiny.predict_0", "tiny.predict_1"]
    assert json.loads(calls.read_text().splitlines()[0])["method"] == "fixture-method"
    assert "[Ingestion terminated]" in (out / "ingestion.log").read_text()


@pytest.mark.slow
def test_run_stops_a_slow_model_at_the_budget(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    status, lines, _ = _run(capsys, "--dataset_dir", tiny["root"], "--output_dir", out,
                            "--code_dir", MODELS / "slow", "--time_budget", "3")
    assert status == 0
    assert lines[0].startswith("ALC: ")
    assert any(line.startswith("warning: ingestion was stopped at the time budget") for line in lines)
    assert not (out / "predictions" / "end.txt").exists()  # killed inside its 2nd train()
    scores = _scores(out / "scores")
    assert len(scores["nauc_scores"]) == 1  # the prediction made before T still counts
    info = read_start_file(out / "predictions" / "start.txt")
    assert info["time_budget"] == 3.0


@pytest.mark.slow
def test_run_reports_a_failed_ingestion_and_still_scores(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    status, lines, err = _run(capsys, tiny["root"], "--output_dir", out, "--code_dir", MODELS / "crash",
                              "--time_budget", "60")
    assert status == 1  # a failed ingestion is a failed run, with its cause on stderr
    assert err[0].startswith("[") and "prediction 0: NAUC" in err[0]  # the progress line (issue 15) ...
    assert err[-2].startswith("run: done at ")  # ... ends before the error line, the last
    errors = [line for line in err if line.startswith("error")]
    assert errors == err[-1:] and err[-1].startswith("error: ingestion failed: ")
    assert "fixture crash in train" in err[-1]
    assert any(line.startswith("warning: ingestion failed") for line in lines)
    assert len(_scores(out / "scores")["nauc_scores"]) == 1
    assert "fixture crash in train" in (out / "ingestion.log").read_text()


def test_run_bad_input_exits_2_with_one_line(tmp_path, capsys, tiny):
    empty = tmp_path / "empty"
    empty.mkdir()
    status, _, err = _run(capsys, empty, "--output_dir", tmp_path / "o", "--code_dir", MODELS / "constant")
    assert status == 2 and len(err) == 1 and "found 0" in err[0]

    two = tmp_path / "two"
    for name in ("a.data", "b.data"):
        shutil.copytree(tiny["data_dir"], two / name)
    status, _, err = _run(capsys, two, "--output_dir", tmp_path / "o", "--code_dir", MODELS / "constant")
    assert status == 2 and len(err) == 1 and "found 2" in err[0]

    status, _, err = _run(capsys, tiny["root"], "--output_dir", tmp_path / "o", "--time_budget", "-1",
                          "--code_dir", MODELS / "constant")
    assert status == 2 and err == ["error: time_budget: expected a positive number of seconds, got -1.0"]

    no_solution = tmp_path / "nosol"
    shutil.copytree(tiny["data_dir"], no_solution / "tiny.data")
    status, _, err = _run(capsys, no_solution, "--output_dir", tmp_path / "o", "--code_dir", MODELS / "constant")
    assert status == 2 and len(err) == 1 and "tiny.solution" in err[0]

    status, _, err = _run(capsys, "--output_dir", tmp_path / "o")
    assert status == 2 and len(err) == 1 and "DATASET" in err[0]
    assert not (tmp_path / "o").exists()
