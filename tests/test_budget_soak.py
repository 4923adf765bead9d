"""Tiny budgets, real runs: the packaged solver never makes a prediction after T.

``run`` (ingestion in a child process, live scoring beside it) of our own
``model.py`` on a tiny tabular dataset, at a few budgets of 2-4 s. For each
run: no error, every prediction's timestamp in ``start.txt`` is at most
``start + T`` and its file was complete by then (a write in progress at T
is allowed a few tenths of a second to land), the scorer did not have to
stop ingestion for running over, and what was scored is what is on disk.
"""
from __future__ import annotations

import pytest

from test_bad_input_battery import write_tiny

pytestmark = [pytest.mark.slow, pytest.mark.tensorflow]

BUDGETS = (2.0, 3.0, 4.0)
#: Seconds a prediction file may land after its timestamp (the write itself).
WRITE_SLACK_S = 0.25


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    pytest.importorskip("tensorflow")
    return write_tiny(tmp_path_factory.mktemp("soak") / "data", n_train=60, n_test=30)


@pytest.mark.parametrize("budget", BUDGETS)
def test_no_prediction_after_the_budget(dataset, tmp_path, budget):
    from autodl_solver.challenge.prediction_files import list_predictions, read_start_file
    from autodl_solver.challenge.runner import run_challenge

    result = run_challenge(dataset, tmp_path / "run", time_budget=budget, poll_interval=0.2, verbose=False)
    assert result["error"] is None, result["error"]
    info = read_start_file(result["prediction_dir"] / "start.txt")
    start = info["start_time"]
    assert info["time_budget"] == budget
    files = list_predictions(result["prediction_dir"], result["task"])
    stamps = [info[k] for k, _ in files]
    assert files, "the solver made no prediction"
    late = [(k, round(t - start, 3)) for (k, _), t in zip(files, stamps) if t - start > budget]
    assert not late, f"predictions stamped after T = {budget} s: {late}"
    for (k, path), stamp in zip(files, stamps):
        assert path.stat().st_mtime <= start + budget + WRITE_SLACK_S, (k, path.stat().st_mtime - start)
    assert not result["scores"]["time_limit_exceeded"]  # ingestion stopped itself before T
    assert len(result["scores"]["nauc_scores"]) == len(files)
