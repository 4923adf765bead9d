"""The benchmark report reads scores.txt files and ranks methods by ALC."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.report import markdown_table, summarise_run  # noqa: E402


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
