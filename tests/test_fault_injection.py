"""Kill ingestion (SIGKILL) at seeded random moments of short real runs: what is left stays sound.

A model that writes large predictions as fast as it can (so a kill often
lands inside a write) runs under the real ingestion program, in its own
process; it is killed at a few seeded random moments after ``start.txt``
appears. Whatever is left must be complete and scoreable: every visible
``<task>.predict_<k>`` has the full (n_test, output_dim) shape with finite
values, ``start.txt`` parses and holds a timestamp for each of them, the
scorer scores exactly those predictions, and only hidden temporaries
(``.<name>.*.tmp``, which the official glob never sees) may remain.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from test_bad_input_battery import write_tiny

pytestmark = [pytest.mark.slow, pytest.mark.tensorflow]

REPO = Path(__file__).resolve().parents[1]
N_TEST, OUTPUT_DIM = 1500, 3

FAST_WRITER = '''"""Test model: a fresh random prediction as fast as ingestion can write it."""
import numpy as np


class Model:
    def __init__(self, metadata):
        self.output_dim = metadata.get_output_size()
        self.rng = np.random.default_rng(0)
        self.n_test = None

    def train(self, dataset, remaining_time_budget=None):
        pass

    def test(self, dataset, remaining_time_budget=None):
        if self.n_test is None:
            self.n_test = sum(1 for _ in dataset)
        return self.rng.random((self.n_test, self.output_dim))
'''


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("fault")
    return write_tiny(root / "data", n_train=30, n_test=N_TEST)


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("code")
    (folder / "model.py").write_text(FAST_WRITER)
    return folder


def _ingest_and_kill(dataset: Path, code_dir: Path, out: Path, after: str, delay_s: float) -> None:
    """Start ingestion, SIGKILL it ``delay_s`` after the file ``after`` appears in ``out``."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    log = open(out.parent / f"{out.name}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "autodl_solver.challenge.ingestion", f"--dataset_dir={dataset}",
         f"--output_dir={out}", f"--code_dir={code_dir}", "--time_budget=60", "--no_data_check"],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / after).exists():
            assert process.poll() is None, (out.parent / f"{out.name}.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "ingestion never started"
            time.sleep(0.01)
        time.sleep(delay_s)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.close()
    assert process.returncode == -signal.SIGKILL


def _check_left_over(dataset: Path, out: Path, tmp_path: Path) -> int:
    from autodl_solver.challenge.prediction_files import read_prediction, read_start_file
    from autodl_solver.challenge.score_program import run_scoring

    visible = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    hidden = [p for p in out.iterdir() if p.name.startswith(".")]
    assert all(p.name.endswith(".tmp") for p in hidden), hidden  # only atomic-write temporaries
    predictions = sorted((p for p in visible if ".predict_" in p.name),
                         key=lambda p: int(p.name.rsplit("_", 1)[1]))
    ks = [int(p.name.rsplit("_", 1)[1]) for p in predictions]
    assert ks == list(range(len(ks)))  # no gap: prediction k exists only after k - 1
    for path in predictions:
        array = read_prediction(path, expected_shape=(N_TEST, OUTPUT_DIM))  # complete, finite
        assert np.all((array >= 0) & (array <= 1))
    info = read_start_file(out / "start.txt")  # parses even when killed mid-write
    stamps = [info[k] for k in range(len(ks))]  # a timestamp for each prediction left (written before it)
    assert stamps == sorted(stamps)
    result = run_scoring(dataset, out, tmp_path / f"scores_{out.name}", final_only=True)
    assert result["num_predictions"] == len(ks)
    assert len(result["nauc_scores"]) == len(ks)
    return len(ks)


def test_sigkill_at_random_moments_leaves_only_complete_scoreable_predictions(dataset, code_dir, tmp_path):
    rng = random.Random(14)  # seeded: the same moments on every run
    # One kill soon after the start (often before any prediction), two inside the write loop.
    moments = [("start.txt", rng.uniform(0.0, 0.3)), ("tiny.predict_0", rng.uniform(0.02, 0.6)),
               ("tiny.predict_0", rng.uniform(0.02, 0.6))]
    counts = []
    for i, (after, delay) in enumerate(moments):
        out = tmp_path / f"kill{i}"
        _ingest_and_kill(dataset, code_dir, out, after, delay)
        counts.append(_check_left_over(dataset, out, tmp_path))
    assert min(counts[1:]) >= 1, counts  # the kills in the loop left predictions to check
