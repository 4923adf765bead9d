"""Provenance of benchmark rows: git commit and dirtiness, the dirty-tree refusal, the round log in each row."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from autodl_solver.bench import machine, protocol_runner
from autodl_solver.bench.report import learner_failures, markdown_table, suite_markdown

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks/ scripts of the checkout

GIT = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "-c", "commit.gpgsign=false"]
MACHINE = {"cpu": "x", "cores": 2, "memory_gib": 1, "gpu": None, "python": "3", "versions": {},
           "git_commit": "abc", "git_dirty": False, "date": "now"}


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository with one commit, clean."""
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run([*GIT, "init", "-q", str(root)], check=True)
    (root / "a.txt").write_text("a\n")
    (root / ".gitignore").write_text("ignored/\n")
    subprocess.run([*GIT, "add", "a.txt", ".gitignore"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-q", "-m", "first"], cwd=root, check=True)
    return root


# ------------------------------------------------------------------- machine_info
def test_git_state_clean_then_dirty(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the repository: git must run in `repo`, not in the process's cwd
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert machine.git_state(repo) == {"git_commit": head, "git_dirty": False}
    (repo / "ignored").mkdir()
    (repo / "ignored" / "x.txt").write_text("ignored files do not count\n")
    assert machine.git_state(repo)["git_dirty"] is False
    (repo / "new.txt").write_text("untracked\n")
    assert machine.git_state(repo)["git_dirty"] is True
    (repo / "new.txt").unlink()
    (repo / "benchmarks" / "results").mkdir(parents=True)
    (repo / "benchmarks" / "results" / "run.json").write_text("{}\n")
    assert machine.git_state(repo)["git_dirty"] is False  # the benchmarks' own outputs are not code
    (repo / "a.txt").write_text("changed\n")
    info = machine.machine_info(repo)
    assert info["git_commit"] == head and info["git_dirty"] is True


def test_git_state_outside_a_checkout(tmp_path):
    assert machine.git_state(tmp_path) == {"git_commit": "", "git_dirty": None}


def test_machine_info_reads_the_benchmarks_checkout_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a repository
    info = machine.machine_info()
    assert "git_dirty" in info and "git_commit" in info
    assert info == {**info, **machine.git_state(machine.REPO_ROOT)}


def test_git_state_of_an_installed_package(monkeypatch, tmp_path):
    monkeypatch.setattr(machine, "REPO_ROOT", None)  # no checkout beside the package: a wheel
    monkeypatch.chdir(tmp_path)
    state = {"git_commit": None, "git_dirty": None, "installed_package": machine.package_version()}
    assert machine.git_state() == state
    info = machine.machine_info()
    assert info == {**info, **state}
    assert machine.git_state(tmp_path) == {"git_commit": "", "git_dirty": None}  # a named folder is still read


# ------------------------------------------------------------------- refusal
def test_require_clean_tree_refuses_a_dirty_tree(repo, capsys):
    assert protocol_runner.require_clean_tree(False, repo)["git_dirty"] is False
    (repo / "a.txt").write_text("changed\n")
    with pytest.raises(SystemExit) as info:
        protocol_runner.require_clean_tree(False, repo)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {repo}: ") and "--allow-dirty" in err[0]
    assert "uncommitted changes" in err[0]
    assert protocol_runner.require_clean_tree(True, repo)["git_dirty"] is True  # allowed: the rows record it


def test_require_clean_tree_refuses_an_unknown_state(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        protocol_runner.require_clean_tree(False, tmp_path)
    assert info.value.code == 2
    assert "not a git checkout" in capsys.readouterr().err


@pytest.mark.parametrize("runner", ["run_tabular", "run_vision", "run_speech", "run_text"])
def test_runners_refuse_a_dirty_tree_but_not_report_only(runner, monkeypatch, capsys, tmp_path):
    import importlib

    module = importlib.import_module(f"benchmarks.{runner}")
    monkeypatch.setattr(machine, "git_state", lambda repo=None: {"git_commit": "abc", "git_dirty": True})
    monkeypatch.setattr(protocol_runner, "git_state", machine.git_state)
    calls = []
    monkeypatch.setattr(protocol_runner, "run_tasks", lambda *a, **k: calls.append(k))
    with pytest.raises(SystemExit) as info:
        module.main(["--time_budget", "5"])
    assert info.value.code == 2 and not calls
    assert capsys.readouterr().err.count("\n") == 1
    assert module.main(["--time_budget", "5", "--report"]) == 0  # rebuilding a report needs no check
    assert calls[-1]["run"] is False
    assert module.main(["--time_budget", "5", "--allow-dirty"]) == 0
    assert calls[-1]["allow_dirty"] is True and calls[-1]["run"] is True


def test_an_installed_package_has_no_tree_to_refuse(monkeypatch, capsys):
    monkeypatch.setattr(machine, "REPO_ROOT", None)
    state = protocol_runner.require_clean_tree(False)
    assert state["git_commit"] is None and state["installed_package"] == machine.package_version()
    assert capsys.readouterr().err == ""  # the caller says it in its own words (bench: one stderr line)


def test_bench_refuses_a_dirty_tree(monkeypatch, capsys):
    from autodl_solver import cli

    if "bench" not in cli.COMMANDS:
        monkeypatch.setattr(cli, "COMMANDS", cli.COMMANDS + ("bench",))
    monkeypatch.setattr(protocol_runner, "git_state", lambda repo=None: {"git_commit": "abc", "git_dirty": True})
    assert cli.main(["bench", "--suite", "quick"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--allow-dirty" in err[0]


# ------------------------------------------------------------------- round log in the row
ROUND_LOG = {
    "format": 1, "domain": "tabular", "method": "solver", "time_budget": 5.0, "device": "cpu", "n_train": 40,
    "rounds": [{"index": 0, "learner": "tabular_linear", "elapsed_s": 0.1, "fit_s": 0.01, "budget_s": 1.0,
                "val_score": 0.9, "n_rows": 40, "improved": True, "best_score": 0.9,
                "best_learner": "tabular_linear", "error": None}],
    "learners": [{"name": "tabular_linear", "rounds": 1, "time_s": 0.01, "val_score": 0.9, "failed": False,
                  "retired": False, "error": None, "skipped": None},
                 {"name": "tabular_gbdt", "rounds": 1, "failed": True,
                  "error": "RuntimeError: " + "x" * 100}],  # keys missing: fine
}


def fake_run_challenge(seen: dict, write_log: bool = True):
    """A stand-in for run_challenge: writes what the real one does (scores.txt) and, like model.py, the round log."""
    import os

    def run(dataset_dir, output_dir, time_budget=1200.0, method=None, verbose=True, **kwargs):
        seen["env"] = os.environ.get(protocol_runner.ROUND_LOG_ENV)
        seen["cuda"] = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        score_dir = Path(output_dir) / "scores"
        score_dir.mkdir(parents=True, exist_ok=True)
        (score_dir / "scores.txt").write_text("score: 0.8\nDuration: 2.0\ntimestamps: [0.5, 2.0]\n"
                                              "nauc_scores: [0.7, 0.9]\n")
        if write_log and seen["env"]:
            Path(seen["env"]).write_text(json.dumps(ROUND_LOG))
        return {"score_dir": score_dir, "ingestion_success": True, "killed": False, "alc": 0.8}

    return run


def test_run_one_keeps_the_round_log(monkeypatch, tmp_path):
    from autodl_solver.challenge import runner

    seen: dict = {}
    monkeypatch.setattr(runner, "run_challenge", fake_run_challenge(seen))
    monkeypatch.delenv(protocol_runner.ROUND_LOG_ENV, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    out = tmp_path / "run"
    row = protocol_runner.run_one("d", "solver", tmp_path, out, 5.0, "cmd", verbose=False, machine=MACHINE,
                                  allow_dirty=True, env={"CUDA_VISIBLE_DEVICES": ""})
    assert seen["env"] == str((out / "rounds.json").resolve()) and seen["cuda"] == ""
    import os

    assert protocol_runner.ROUND_LOG_ENV not in os.environ  # restored after the run
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert row["learners"] == ROUND_LOG["learners"] and row["round_log"] == "rounds.json"
    assert row["device"] == "cpu" and row["alc"] == 0.8 and row["n_predictions"] == 2
    assert row["allow_dirty"] is True and row["git_dirty"] == row["machine"]["git_dirty"]
    assert isinstance(row["git_dirty"], (bool, type(None)))
    assert json.loads((out / "row.json").read_text()) == row


def test_run_one_without_a_round_log(monkeypatch, tmp_path):
    from autodl_solver.challenge import runner

    out = tmp_path / "run"
    out.mkdir()
    (out / "rounds.json").write_text(json.dumps(ROUND_LOG))  # a previous run's log must not count
    monkeypatch.setattr(runner, "run_challenge", fake_run_challenge({}, write_log=False))
    row = protocol_runner.run_one("d", "baseline1", tmp_path, out, 5.0, "cmd", verbose=False, machine=MACHINE)
    assert row["learners"] is None and row["round_log"] == "rounds.json" and row["allow_dirty"] is False
    (out / "rounds.json").write_text("{not json")
    assert protocol_runner.read_round_log(out / "rounds.json") is None


# ------------------------------------------------------------------- reports
def report_row(**extra) -> dict:
    base = {"dataset": "d1", "method": "solver", "alc": 0.8, "final_nauc": 0.9, "first_prediction_s": 0.5,
            "n_predictions": 2, "timestamps": [0.5, 2.0], "nauc_scores": [0.7, 0.9], "domain": "tabular"}
    return {**base, **extra}


def test_reports_flag_a_failed_learner():
    flag = learner_failures({"learners": ROUND_LOG["learners"]})
    assert flag.startswith(" (learner tabular_gbdt failed: RuntimeError: xxx")
    assert len(flag) < 100 and "tabular_linear" not in flag
    assert learner_failures({"learners": None}) == "" and learner_failures({}) == ""
    rows = [report_row(learners=ROUND_LOG["learners"]), report_row(dataset="d2", learners=None)]
    record = {"benchmark": "t", "suite": "t", "command": "c", "time_budget": 5.0, "machine": MACHINE,
              "results": rows}
    for md in (suite_markdown(record), markdown_table(record)):
        assert "| d1 | solver (learner tabular_gbdt failed: RuntimeError: xxx" in md
        assert "| d2 | solver |" in md


def test_reports_name_dirty_runs():
    rows = [report_row(git_dirty=True, allow_dirty=True), report_row(dataset="d2", git_dirty=False)]
    record = {"benchmark": "t", "suite": "t", "command": "c", "time_budget": 5.0,
              "machine": dict(MACHINE, git_dirty=True), "results": rows}
    for md in (suite_markdown(record), markdown_table(record)):
        assert "commit abc with uncommitted changes;" in md
        line = next(x for x in md.splitlines() if x.startswith("Run on a checkout with uncommitted changes"))
        assert line == "Run on a checkout with uncommitted changes: d1 / solver (--allow-dirty)  "


def test_reports_name_the_installed_package():
    machine_row = dict(MACHINE, git_commit=None, git_dirty=None, installed_package="0.1.0")
    record = {"benchmark": "t", "suite": "t", "command": "c", "time_budget": 5.0, "machine": machine_row,
              "results": [report_row(git_dirty=None)]}
    for md in (suite_markdown(record), markdown_table(record)):
        assert "installed package autodl_solver 0.1.0 (no git commit);" in md
        assert "uncommitted" not in md
