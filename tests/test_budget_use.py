"""benchmarks.budget_use: the unused share of T and which learners could still improve."""
from __future__ import annotations

import json

from benchmarks.budget_use import budget_rows


def kept_run(root, tag, dataset, learners, log_text="", T=30.0, last=24.0):
    folder = root / tag / dataset / "solver"
    folder.mkdir(parents=True)
    rounds = [{"elapsed_s": last / 2}, {"elapsed_s": last, "partial": True}]
    (folder / "rounds.json").write_text(json.dumps({"time_budget": T, "rounds": rounds, "learners": learners}))
    (folder / "row.json").write_text(json.dumps({"machine": {"git_commit": "abc1234"}}))
    (folder / "ingestion.log").write_text(log_text)


def test_a_learner_refused_for_time_is_open_though_ingestion_says_every_learner_is_done(tmp_path):
    # Model.train wrote "every learner is done" also when no round fitted before the deadline: the
    # learner summary's own "done" is what counts
    learners = [{"name": "mlp", "rounds": 3, "done": False}, {"name": "gbdt", "rounds": 2, "done": True},
                {"name": "never_ran", "rounds": 0, "done": False}]
    refusal = ("INFO autodl_solver.anytime.engine: no round fits before the deadline (1.9 s left): linear: next "
               "round 0.4 s > 0.1 s left after reserving 1.8 s, and it cannot be shortened; mlp: next round 4.2 s > "
               "-0.7 s left after reserving 2.6 s\n")
    kept_run(tmp_path, "t", "d", learners, refusal + "INFO Model.train: every learner is done\n")
    (row,) = budget_rows(["t"], tmp_path)
    assert row["learners_not_finished"] == ["mlp"]
    assert row["engine_left_s"] == 1.9 and row["kept_s"] == 1.8
    assert abs(row["unused"] - 0.2) < 1e-9 and row["shortened_rounds"] == 1 and row["commit"] == "abc1234"


def test_an_old_log_without_done_falls_back_to_ingestion_log(tmp_path):
    learners = [{"name": "mlp", "rounds": 3}, {"name": "linear", "rounds": 1, "retired": True}]
    kept_run(tmp_path, "t", "all_done", learners, "INFO Model.train: every learner is done\n")
    kept_run(tmp_path, "t", "open", learners, "")
    kept_run(tmp_path, "t", "running", learners, "")
    (tmp_path / "t" / "running" / "solver" / "row.json").unlink()  # a run still going has no row yet
    rows = {r["dataset"]: r for r in budget_rows(["t"], tmp_path)}
    assert set(rows) == {"all_done", "open"}
    assert rows["all_done"]["learners_not_finished"] == []
    assert rows["open"]["learners_not_finished"] == ["mlp"]
    assert rows["open"]["engine_left_s"] is None and rows["open"]["kept_s"] is None


def test_the_end_is_the_last_prediction_when_it_comes_after_the_last_round(tmp_path):
    # the test prediction after the last round uses the budget too; the reserve terms of the refusal line
    # (validation, test, partner, margin) do not change what is read
    learners = [{"name": "transformer", "rounds": 3, "done": False}]
    refusal = ("INFO autodl_solver.anytime.engine: no round fits before the deadline (10.8 s left): transformer: "
               "next round 29.0 s > -0.1 s left after reserving 10.9 s (validation 1.9, test 6.8, partner 0.8, "
               "margin 1.4)\n")
    kept_run(tmp_path, "t", "d", learners, refusal, T=60.0, last=44.0)
    row_path = tmp_path / "t" / "d" / "solver" / "row.json"
    row_path.write_text(json.dumps({"timestamps": [0.5, 44.1, 49.2], "machine": {"git_commit": "abc1234"}}))
    (row,) = budget_rows(["t"], tmp_path)
    assert row["last_round_end_s"] == 44.0 and row["last_prediction_s"] == 49.2 and row["end_s"] == 49.2
    assert abs(row["unused"] - (1 - 49.2 / 60.0)) < 1e-9
    assert row["engine_left_s"] == 10.8 and row["kept_s"] == 10.9 and row["tail_is_reserve"] is True
    assert row["learners_not_finished"] == ["transformer"]


def test_a_tail_with_room_for_a_round_is_not_all_reserve(tmp_path):
    learners = [{"name": "mlp", "rounds": 3, "done": False}]
    refusal = ("no round fits before the deadline (9.0 s left): mlp: next round 20.0 s > 7.0 s left after "
               "reserving 2.0 s\n")
    kept_run(tmp_path, "t", "d", learners, refusal)
    (row,) = budget_rows(["t"], tmp_path)
    assert row["tail_is_reserve"] is False and row["last_prediction_s"] is None and row["end_s"] == 24.0
