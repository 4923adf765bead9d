"""The benchmark report reads scores.txt files and ranks methods by ALC."""
from pathlib import Path

import pytest

from autodl_solver.bench.report import markdown_table, summarise_run


def write_scores(path: Path, alc: float, timestamps, naucs):
    path.mkdir(parents=True)
    (path / "scores.txt").write_text(
        f"score: {alc}\nDuration: {timestamps[-1]}\ntimestamps: {list(timestamps)}\nnauc_scores: {list(naucs)}\n")


def test_summarise_and_rank(tmp_path):
    write_scores(tmp_path / "a", 0.9, [0.5, 3.0], [0.8, 0.95])
    write_scores(tmp_path / "b", 0.7, [2.0], [0.9])
    rows = [summarise_run("d1", "solver", tmp_path / "a"), summarise_run("d1", "baseline1", tmp_path / "b")]
    assert rows[0]["final_nauc"] == pytest.approx(0.95)
    assert rows[0]["first_prediction_s"] == pytest.approx(0.5)
    record = {"benchmark": "t", "command": "cmd", "time_budget": 10.0, "results": rows,
              "machine": {"cpu": "x", "cores": 2, "memory_gib": 1, "gpu": None, "python": "3", "versions": {},
                          "git_commit": "abc", "date": "now"}}
    md = markdown_table(record)
    assert "| d1 | solver | 0.9000 | 0.9500 | 0.50 | 2 |" in md
    assert "| solver | 0.9000 | 0.9500 | 0.50 | 1.00 |" in md
    assert "| baseline1 | 0.7000 | 0.9000 | 2.00 | 2.00 |" in md


def test_run_without_predictions(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "scores.txt").write_text("score: 0.0\nDuration: 0\ntimestamps: []\nnauc_scores: []\n")
    row = summarise_run("d", "baseline0", tmp_path / "s")
    assert row["alc"] == 0.0 and row["final_nauc"] == 0.0 and row["n_predictions"] == 0


def test_report_merges_runs_kept_per_task(tmp_path, monkeypatch):
    """Runs of one tag done in parts (baselines first, the solver later) end up in one table."""
    import json

    from autodl_solver.bench import protocol_runner

    monkeypatch.setattr(protocol_runner, "WORK", tmp_path / "work")
    monkeypatch.setattr(protocol_runner, "RESULTS", tmp_path / "results")
    machine = {"cpu": "x", "cores": 2, "memory_gib": 1, "gpu": None, "python": "3", "versions": {},
               "git_commit": "abc", "date": "now", "cpus_used": [0], "thread_caps": {"OMP_NUM_THREADS": "1"}}
    for dataset, method, alc, command in (("d1", "baseline1", 0.5, "cmd-a"), ("d1", "solver", 0.9, "cmd-b"),
                                          ("d2", "solver", 0.8, "cmd-b")):
        run = tmp_path / "work" / "runs" / "tag" / dataset / method
        run.mkdir(parents=True)
        row = {"dataset": dataset, "method": method, "alc": alc, "final_nauc": alc, "first_prediction_s": 0.1,
               "n_predictions": 1, "timestamps": [0.1], "nauc_scores": [alc], "command": command,
               "machine": machine}
        (run / "row.json").write_text(json.dumps(row))
    record = protocol_runner.run_tasks("tag", ["d1"], ["solver"], 10.0, build=None, command="cmd-c", run=False)
    assert [(r["dataset"], r["method"]) for r in record["results"]] == [("d1", "solver"), ("d1", "baseline1")]
    assert record["command"] == "cmd-b ; cmd-a"
    md = (tmp_path / "results" / "tag.md").read_text()
    assert "runs pinned to CPU 0, OMP_NUM_THREADS=1" in md and "| d1 | solver | 0.9000 |" in md
    assert (tmp_path / "results" / "tag_d1.png").is_file()


def test_merge_keeps_rows_of_an_earlier_result_file(tmp_path, monkeypatch):
    """A later session (no work/ folder) adds a method; the rows already recorded stay in the table."""
    import json

    from autodl_solver.bench import protocol_runner

    monkeypatch.setattr(protocol_runner, "WORK", tmp_path / "work")
    monkeypatch.setattr(protocol_runner, "RESULTS", tmp_path / "results")
    (tmp_path / "results").mkdir()
    old = {"dataset": "d1", "method": "baseline1", "alc": 0.5, "final_nauc": 0.5, "first_prediction_s": 0.1,
           "n_predictions": 1, "timestamps": [0.1], "nauc_scores": [0.5]}
    machine = {"cpu": "x", "cores": 2, "memory_gib": 1, "gpu": None, "python": "3", "versions": {},
               "git_commit": "old", "date": "then"}
    (tmp_path / "results" / "tag.json").write_text(json.dumps({"command": "cmd-old", "machine": machine,
                                                               "results": [old]}))
    run = tmp_path / "work" / "runs" / "tag" / "d1" / "solver"
    run.mkdir(parents=True)
    new = dict(old, method="solver", alc=0.9, command="cmd-new", machine=dict(machine, git_commit="new"))
    (run / "row.json").write_text(json.dumps(new))
    record = protocol_runner.run_tasks("tag", ["d1"], ["solver"], 10.0, build=None, command="x", merge=True, run=False)
    assert [(r["method"], r["alc"]) for r in record["results"]] == [("solver", 0.9), ("baseline1", 0.5)]
    assert record["commits"] == {"solver": ["new"], "baseline1": ["old"]}
    again = protocol_runner.run_tasks("tag", ["d1"], ["solver"], 10.0, build=None, command="x", run=False)
    assert len(again["results"]) == 2  # rebuilding from its own output is stable
