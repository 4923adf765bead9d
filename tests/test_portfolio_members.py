"""benchmarks/portfolio_members.py: recorded single-learner rows stand in for members not re-run."""
from __future__ import annotations

import json

import pytest

from benchmarks import portfolio_members as pm


def _row(dataset, method, alc, commit):
    return {"dataset": dataset, "method": method, "alc": alc, "final_nauc": alc + 0.01, "first_prediction_s": 0.5,
            "timestamps": [0.5], "nauc_scores": [alc], "machine": {"git_commit": commit}}


def test_recorded_members_fill_in_and_kept_runs_win(tmp_path, monkeypatch):
    monkeypatch.setattr(pm, "WORK", tmp_path / "work")
    monkeypatch.setattr(pm, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(pm, "plot_dataset_curves", lambda *a, **k: None)
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"time_budget": 60, "results": [
        _row("wine", "learner:tabular_linear", 0.90, "aaa"), _row("wine", "learner:tabular_gbdt", 0.95, "aaa"),
        _row("wine", "solver", 0.10, "aaa")]}))  # the old solver row is never taken
    for method, alc in (("solver", 0.96), ("learner:tabular_gbdt", 0.93)):  # run under the new tag
        folder = tmp_path / "work" / "runs" / "t" / "wine" / method.replace(":", "_")
        folder.mkdir(parents=True)
        (folder / "row.json").write_text(json.dumps(_row("wine", method, alc, "bbb")))
    record = pm.report("t", ["wine"], 60.0, "cmd", [old])
    entry = record["summary"][0]
    assert entry["singles"] == {"learner:tabular_gbdt": 0.93, "learner:tabular_linear": 0.9}
    assert entry["solver_alc"] == 0.96 and entry["margin"] == pytest.approx(0.03)
    assert record["commits"] == ["aaa", "bbb"]
    text = (tmp_path / "results" / "t.md").read_text()
    assert "- wine learner:tabular_linear: old.json at aaa" in text and "tabular_gbdt: old.json" not in text


def test_a_members_file_of_another_budget_is_refused(tmp_path):
    other = tmp_path / "m300.json"
    other.write_text(json.dumps({"time_budget": 300, "results": []}))
    with pytest.raises(SystemExit, match="m300.json: time_budget 300"):
        pm.recorded_members([other], 60.0)


def test_a_missing_or_corrupt_members_file_is_named(tmp_path):
    with pytest.raises(SystemExit, match="nope.json: not a readable members results file"):
        pm.recorded_members([tmp_path / "nope.json"], 60.0)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(SystemExit, match="bad.json: not a readable"):
        pm.recorded_members([bad], 60.0)
