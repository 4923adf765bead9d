"""The scoring program: file formats, figures, the HTML page, live and final runs, CLI."""
from __future__ import annotations

import base64
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from autodl_solver import cli
from autodl_solver.challenge import prediction_files as pf
from autodl_solver.challenge.learning_curve import LearningCurve, RunScorer
from autodl_solver.challenge.plots import plot_learning_curve, plot_learning_curves, real_time_ticks
from autodl_solver.challenge.report_html import render_detailed_results
from autodl_solver.challenge.score_program import run_scoring
from autodl_solver.challenge.scoring import nauc
from autodl_solver.errors import AutoDLInputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
START = 1700000000.5  # exact in binary, so start + 30 - start == 30.0


def _is_png(path: Path) -> bool:
    from PIL import Image

    data = Path(path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        return False
    with Image.open(path) as image:
        image.verify()
    return True


# ------------------------------------------------------------ a run by hand
def _labels():
    """10 positives, 10 negatives for one class; one-hot with a second column."""
    y = np.array([1] * 10 + [0] * 10, dtype=float)
    return np.column_stack([y, 1 - y])


def _prediction_with_nauc(counts):
    """Scores whose AUC is sum(counts)/100: positive i beats counts[i] negatives."""
    negatives = np.arange(10, dtype=float)  # 0 .. 9
    positives = np.array([c - 0.5 for c in counts])
    s = np.concatenate([positives, negatives])
    return np.column_stack([s, -s])  # column 1 (the negation) has the same AUC


COUNTS = {  # NAUC 0.5, 0.7, 0.8
    0: [10] * 7 + [5, 0, 0],
    1: [10] * 8 + [5, 0],
    2: [10] * 9 + [0],
}


def _make_run(root: Path, times=(30, 100, 400), budget="1200", end=True, success=1):
    """solution/, predictions/ written by hand in the official formats."""
    sol_dir, pred_dir = root / "ref", root / "res"
    sol_dir.mkdir(parents=True)
    pred_dir.mkdir(parents=True)
    np.savetxt(sol_dir / "tiny.solution", _labels(), fmt="%.0f")
    lines = [f"ingestion_pid: {os.getpid()}", "task_name: tiny", f"time_budget: {budget}", f"start_time: {START}"]
    for k, t in enumerate(times):
        lines.append(f"{k}: {START + t}")
        with open(pred_dir / f"tiny.predict_{k}", "w") as handle:
            for row in _prediction_with_nauc(COUNTS[k % 3]):
                handle.write(" ".join("{0:g}".format(float(v)) for v in row) + "\n")
    (pred_dir / "start.txt").write_text("\n".join(lines) + "\n")
    if end:
        (pred_dir / "end.txt").write_text(
            f"ingestion_duration: 401.5\ningestion_success: {success}\nend_time: {START + 401.5}\n"
        )
    return sol_dir, pred_dir, root / "scores"


def test_final_scoring_of_a_hand_built_run(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    result = run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert result["nauc_scores"] == pytest.approx([0.5, 0.7, 0.8], abs=1e-12)
    assert result["timestamps"] == [30.0, 100.0, 400.0]
    assert result["score"] == pytest.approx(0.60208, abs=1e-5)
    assert result["duration"] == 400.0 and result["ingestion_success"] == 1
    assert not result["time_limit_exceeded"]

    text = (score_dir / "scores.txt").read_text()
    lines = text.splitlines()
    assert lines[0].startswith("score: ")
    assert lines[1:4] == ["Duration: 400.0", "timestamps: [30.0, 100.0, 400.0]",
                          f"nauc_scores: {result['nauc_scores']}"]
    assert lines[4].startswith("accuracy: [")  # one-hot solution
    parsed = yaml.safe_load(text)
    assert parsed["score"] == result["score"]
    assert len(parsed["accuracy"]) == 3

    assert _is_png(score_dir / "learning-curve-tiny.png")
    page = (score_dir / "detailed_results.html").read_text()
    assert "refresh" not in page  # final write
    embedded = re.search(r'data:image/png;charset=utf-8;base64,([A-Za-z0-9+/=]+)"', page).group(1)
    assert base64.b64decode(embedded) == (score_dir / "learning-curve-tiny.png").read_bytes()
    assert "0.7000" in page and "400.00" in page  # the table


def test_multilabel_solution_has_no_accuracy_line(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=(30,))
    solution = _labels()
    solution[:3, 1] = 1  # rows with two labels
    np.savetxt(sol_dir / "tiny.solution", solution, fmt="%.0f")
    result = run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert result["accuracy"] is None
    assert "accuracy" not in (score_dir / "scores.txt").read_text()


def test_no_prediction_scores_zero(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=())
    result = run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert result["score"] == 0.0 and result["num_predictions"] == 0
    assert yaml.safe_load((score_dir / "scores.txt").read_text())["Duration"] == 0
    assert _is_png(score_dir / "learning-curve-tiny.png")


def test_failed_ingestion_still_writes_scores(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=(30, 100), success=0)
    result = run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert result["ingestion_success"] == 0
    assert (score_dir / "scores.txt").read_text().startswith("score: ")
    assert "ingestion_success: 0" in (score_dir / "detailed_results.html").read_text()


# ------------------------------------------------------------------ bad input
def test_no_solution_file(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    (sol_dir / "tiny.solution").unlink()
    with pytest.raises(AutoDLInputError, match="found 0") as info:
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert info.value.where == str(sol_dir)


def test_two_solution_files(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    np.savetxt(sol_dir / "other.solution", _labels(), fmt="%.0f")
    with pytest.raises(AutoDLInputError, match="found 2") as info:
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert info.value.where == str(sol_dir)


def test_prediction_with_wrong_row_count(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    pf.write_prediction(pred_dir / "tiny.predict_1", np.ones((19, 2)))
    with pytest.raises(AutoDLInputError) as info:
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    message = str(info.value)
    assert "tiny.predict_1" in message and "tiny.solution" in message and "19 rows" in message


def test_prediction_with_nan(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    prediction = np.ones((20, 2))
    prediction[3, 1] = np.nan
    pf.write_prediction(pred_dir / "tiny.predict_2", prediction)
    assert "nan" in (pred_dir / "tiny.predict_2").read_text()
    with pytest.raises(AutoDLInputError, match="NaN") as info:
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert info.value.where.endswith("tiny.predict_2")


def test_missing_start_file(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    (pred_dir / "start.txt").unlink()
    with pytest.raises(AutoDLInputError, match="start.txt"):
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    began = time.monotonic()
    with pytest.raises(AutoDLInputError, match="not written within") as info:
        run_scoring(sol_dir, pred_dir, score_dir, wait_start_s=0.3, poll_interval=0.05)
    assert info.value.where.endswith("start.txt")
    assert time.monotonic() - began < 10
    assert "Please be patient" in (score_dir / "detailed_results.html").read_text()


def test_prediction_without_timestamp_line(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=(30,))
    pf.write_prediction(pred_dir / "tiny.predict_1", _prediction_with_nauc(COUNTS[1]))
    with pytest.raises(AutoDLInputError, match="'1: <time>'") as info:
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert info.value.where.endswith("start.txt")


def test_timestamp_before_start_time(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=(30,))
    text = (pred_dir / "start.txt").read_text().replace(f"0: {START + 30}", f"0: {START - 30}")
    (pred_dir / "start.txt").write_text(text)
    with pytest.raises(AutoDLInputError, match="before start_time") as info:
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)
    assert info.value.where.endswith("start.txt")


def test_start_file_without_time_budget(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    text = (pred_dir / "start.txt").read_text().replace("time_budget: 1200\n", "")
    (pred_dir / "start.txt").write_text(text)
    with pytest.raises(AutoDLInputError, match="time_budget"):
        run_scoring(sol_dir, pred_dir, score_dir, final_only=True)


# ---------------------------------------------------------------- live scoring
def test_live_scoring_while_ingestion_writes(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=())
    (pred_dir / "start.txt").unlink()
    (pred_dir / "end.txt").unlink()
    seen = {}

    def ingestion():
        time.sleep(0.2)  # the scorer waits for start.txt meanwhile
        start = time.time()
        start_file = pred_dir / "start.txt"
        pf.write_start_file(start_file, ingestion_pid=os.getpid(), task_name="tiny", time_budget=60,
                            start_time=start)
        for k in range(3):
            time.sleep(0.1)
            pf.append_timestamp(start_file, k, time.time())
            pf.write_prediction(pred_dir / f"tiny.predict_{k}", _prediction_with_nauc(COUNTS[k]))
        deadline = time.monotonic() + 20
        while not (score_dir / "scores.txt").is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen["live_page"] = (score_dir / "detailed_results.html").read_text()
        pf.write_end_file(pred_dir / "end.txt", ingestion_duration=time.time() - start,
                          ingestion_success=True, end_time=time.time())

    thread = threading.Thread(target=ingestion)
    thread.start()
    try:
        result = run_scoring(sol_dir, pred_dir, score_dir, poll_interval=0.1, wait_start_s=20)
    finally:
        thread.join()
    assert 'http-equiv="refresh" content="5"' in seen["live_page"]
    assert result["num_predictions"] == 3 and result["ingestion_ended"]
    assert result["nauc_scores"] == pytest.approx([0.5, 0.7, 0.8])
    assert all(0 < t < 60 for t in result["timestamps"])
    assert result["timestamps"] == sorted(result["timestamps"])
    assert not result["time_limit_exceeded"]
    assert "refresh" not in (score_dir / "detailed_results.html").read_text()


def _start_budget_run(tmp_path, pid):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=(), end=False)
    start = time.time()
    pf.write_start_file(pred_dir / "start.txt", ingestion_pid=pid, task_name="tiny", time_budget=1.0,
                        start_time=start)
    pf.append_timestamp(pred_dir / "start.txt", 0, start + 0.1)
    pf.write_prediction(pred_dir / "tiny.predict_0", _prediction_with_nauc(COUNTS[2]))
    return sol_dir, pred_dir, score_dir


def test_time_limit_terminates_ingestion_process(tmp_path):
    process = subprocess.Popen(["sleep", "60"])
    try:
        sol_dir, pred_dir, score_dir = _start_budget_run(tmp_path, process.pid)
        result = run_scoring(sol_dir, pred_dir, score_dir, poll_interval=0.1, ingestion_process=process,
                             grace_s=2)
        assert process.poll() is not None  # stopped by the scorer
        assert result["time_limit_exceeded"] and result["num_predictions"] == 1
        assert result["nauc_scores"] == pytest.approx([0.8])
        assert "Time limit exceeded" in (score_dir / "detailed_results.html").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_time_limit_stops_child_pid_from_start_file(tmp_path):
    process = subprocess.Popen(["sleep", "60"])
    try:
        sol_dir, pred_dir, score_dir = _start_budget_run(tmp_path, process.pid)
        result = run_scoring(sol_dir, pred_dir, score_dir, poll_interval=0.1, grace_s=2)
        assert result["time_limit_exceeded"]
        process.poll()
        with pytest.raises(ProcessLookupError):
            os.kill(process.pid, 0)  # terminated and reaped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_time_limit_calls_kill_callable_and_never_kills_itself(tmp_path):
    calls = []
    sol_dir, pred_dir, score_dir = _start_budget_run(tmp_path, os.getpid())
    result = run_scoring(sol_dir, pred_dir, score_dir, poll_interval=0.1, kill_ingestion=lambda: calls.append(1))
    assert calls == [1] and result["time_limit_exceeded"]
    # Without a process or callable, our own pid (in-process ingestion) is left alone.
    result = run_scoring(sol_dir, pred_dir, tmp_path / "scores2", poll_interval=0.1)
    assert result["time_limit_exceeded"]
    assert "was stopped" not in (tmp_path / "scores2" / "detailed_results.html").read_text()


# ---------------------------------------------------------------------- CLI
def test_cli_score(tmp_path, capsys):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    status = cli.main(["score", "--solution_dir", str(sol_dir), "--prediction_dir", str(pred_dir),
                       "--score_dir", str(score_dir)])
    out = capsys.readouterr().out
    assert status == 0
    assert "ALC: 0.6021" in out
    assert "prediction 1: t=100.00 s  NAUC=0.7000" in out
    assert (score_dir / "scores.txt").is_file()


def test_cli_score_bad_input_is_one_line(tmp_path, capsys):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path)
    (sol_dir / "tiny.solution").unlink()
    status = cli.main(["score", "--solution_dir", str(sol_dir), "--prediction_dir", str(pred_dir),
                       "--score_dir", str(score_dir)])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("error: ") and "solution" in err


# ----------------------------------------------------------- prediction files
def test_write_prediction_matches_official_format(tmp_path):
    rng = np.random.default_rng(5)
    values = np.concatenate([rng.normal(size=(30, 4)) * 10.0 ** rng.integers(-8, 9, size=(30, 4)),
                             np.array([[0.0, -0.0, 1.0, 123456789.0], [1e-300, 5e20, -7.0, 0.1]])])
    path = tmp_path / "t.predict_0"
    pf.write_prediction(path, values.astype(np.float32))
    official = "".join(" ".join("{0:g}".format(float(v)) for v in row) + "\n"
                       for row in values.astype(np.float32))
    assert path.read_text() == official
    pf.write_prediction(path, [0.25, 0.5])  # 1-D: one value per line
    assert path.read_text() == "0.25\n0.5\n"
    assert pf.read_prediction(path).shape == (2, 1)
    assert [p.name for p in tmp_path.iterdir()] == ["t.predict_0"]  # no temporary file left


def test_read_prediction_errors_name_the_file(tmp_path):
    path = tmp_path / "t.predict_0"
    path.write_text("0.1 0.2\n0.3\n")
    with pytest.raises(AutoDLInputError, match="cannot be parsed") as info:
        pf.read_prediction(path)
    assert info.value.where == str(path)
    path.write_text("0.1 0.2\n0.3 abc\n")
    with pytest.raises(AutoDLInputError, match="cannot be parsed"):
        pf.read_prediction(path)
    path.write_text("0.1 0.2 0.3\n")
    assert pf.read_prediction(path).shape == (1, 3)
    with pytest.raises(AutoDLInputError, match="expected 2 rows of 3 values"):
        pf.read_prediction(path, expected_shape=(2, 3))
    path.write_text("")
    with pytest.raises(AutoDLInputError, match="empty"):
        pf.read_prediction(path)
    with pytest.raises(AutoDLInputError, match="not found"):
        pf.read_prediction(tmp_path / "missing")
    path.write_text("0 2\n1 0\n")
    with pytest.raises(AutoDLInputError, match="0/1"):
        pf.read_solution(path)


def test_list_predictions_sorted_by_integer_suffix(tmp_path):
    for k in (10, 2, 0, 1):
        (tmp_path / f"task.predict_{k}").write_text("1\n")
    for name in ("task.predict_x", ".task.predict_3.abc.tmp", "other.predict_5", "temp_prediction_file_12"):
        (tmp_path / name).write_text("1\n")
    found = pf.list_predictions(tmp_path, "task")
    assert [k for k, _ in found] == [0, 1, 2, 10]
    assert found[-1][1] == tmp_path / "task.predict_10"
    assert pf.list_predictions(tmp_path / "absent", "task") == []


def test_start_and_end_files(tmp_path):
    start = tmp_path / "start.txt"
    start.write_text("ingestion_pid: 31315\ntask_name: 007\ntime_budget: 1200\n"
                     "start_time: 1557269921.7939095\n0: 1557269953.5586617\n1: 1557269956.012751\n2: 155726")
    info = pf.read_start_file(start)
    assert info["ingestion_pid"] == 31315 and info["task_name"] == "007"
    assert info["time_budget"] == 1200.0 and info[1] == 1557269956.012751
    # The unterminated last line may be an append in progress; it still parses, so it is kept.
    assert pf.start_timestamps(info) == {0: 1557269953.5586617, 1: 1557269956.012751, 2: 155726.0}
    start.write_text("ingestion_pid: 1\ntime_budget: 10\nstart_time: 5\n0: 6\n1:")  # a half-written line
    assert pf.start_timestamps(pf.read_start_file(start)) == {0: 6.0}
    start.write_text("time_budget: 10\nstart_time: 5\ngarbage line\n0: 6\n")
    with pytest.raises(AutoDLInputError, match="line 3"):
        pf.read_start_file(start)
    start.write_text("time_budget: -1\nstart_time: 5\n")
    with pytest.raises(AutoDLInputError, match="time_budget"):
        pf.read_start_file(start)

    pf.write_start_file(start, ingestion_pid=7, task_name="x", time_budget=1200, start_time=100.5)
    pf.append_timestamp(start, 0, 130.25)
    assert yaml.safe_load(start.read_text()) == {"ingestion_pid": 7, "task_name": "x", "time_budget": 1200,
                                                 "start_time": 100.5, 0: 130.25}
    end = tmp_path / "end.txt"
    pf.write_end_file(end, ingestion_duration=12.5, ingestion_success=False, end_time=113.0)
    assert pf.read_end_file(end) == {"ingestion_duration": 12.5, "ingestion_success": 0, "end_time": 113.0}


def test_learning_curve_from_prediction_dir(tmp_path):
    sol_dir, pred_dir, _ = _make_run(tmp_path)
    curve = LearningCurve.from_prediction_dir(sol_dir, pred_dir)
    assert curve.task_name == "tiny" and curve.time_budget == 1200
    assert curve.alc() == pytest.approx(0.60208, abs=1e-5)
    scorer = RunScorer(sol_dir / "tiny.solution", pred_dir)
    info = pf.read_start_file(pred_dir / "start.txt")
    assert scorer.update(info) == 3 and scorer.update(info) == 0  # each file scored once
    assert scorer.nauc_scores[0] == pytest.approx(nauc(_labels(), _prediction_with_nauc(COUNTS[0])))


# ------------------------------------------------------------- figures / html
def test_plots(tmp_path):
    curve = LearningCurve([30, 100, 1250], [0.5, 0.7, 0.9], time_budget=1200, task_name="t")
    shown = plot_learning_curve(curve, tmp_path / "one.png")
    assert shown == pytest.approx(curve.alc(clip=True)) and shown != pytest.approx(curve.alc())
    assert _is_png(tmp_path / "one.png")
    other = LearningCurve([10, 600], [0.3, 0.6], time_budget=1200, task_name="t")
    values = plot_learning_curves({"ours": curve, "baseline": other}, tmp_path / "many.png")
    assert values == {"ours": pytest.approx(curve.alc(clip=True)), "baseline": pytest.approx(other.alc())}
    assert _is_png(tmp_path / "many.png")
    with pytest.raises(AutoDLInputError, match="time budget"):
        plot_learning_curves({"a": curve, "b": LearningCurve([1], [0.1], time_budget=60)}, tmp_path / "x.png")
    with pytest.raises(AutoDLInputError):
        plot_learning_curves({}, tmp_path / "x.png")
    assert real_time_ticks(1200) == [10, 60, 300, 600, 1200]
    assert real_time_ticks(7200) == [10, 60, 300, 600, 1200, 1800, 3600, 5400, 7200]
    assert real_time_ticks(100) == [10, 60]


def test_html_refresh_and_waiting_message():
    live = render_detailed_results([], running=True)
    assert 'http-equiv="refresh" content="5"' in live and "Please be patient" in live
    final = render_detailed_results([PNG_MAGIC], running=False, message="a <b>")
    assert "refresh" not in final and "a &lt;b&gt;" in final
    assert base64.b64encode(PNG_MAGIC).decode() in final


def test_live_loop_ends_when_ingestion_process_exits_without_end_file(tmp_path):
    sol_dir, pred_dir, score_dir = _make_run(tmp_path, times=(1,), end=False)
    now = time.time()
    pf.write_start_file(pred_dir / "start.txt", ingestion_pid=1, task_name="tiny", time_budget=60, start_time=now)
    pf.append_timestamp(pred_dir / "start.txt", 0, now + 1)
    process = subprocess.Popen(["true"])
    process.wait()
    began = time.monotonic()
    result = run_scoring(sol_dir, pred_dir, score_dir, poll_interval=0.1, ingestion_process=process)
    assert time.monotonic() - began < 30  # did not wait for the 60 s budget
    assert not result["time_limit_exceeded"] and not result["ingestion_ended"]
    (pred_dir / "start.txt").unlink()
    with pytest.raises(AutoDLInputError, match="exited"):
        run_scoring(sol_dir, pred_dir, score_dir, poll_interval=0.1, ingestion_process=process)
