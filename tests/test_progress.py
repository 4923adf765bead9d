"""The live progress line of ``autodl-solver run`` (issue 15): on stderr, silenced by ``--quiet``."""
from __future__ import annotations

import io
import json
import re
import textwrap
import time
from pathlib import Path

import pytest

from autodl_solver import cli
from autodl_solver.challenge import prediction_files as pf
from autodl_solver.challenge.learning_curve import PredictionScore, RunScorer, observe_scoring
from autodl_solver.challenge.runner import ROUND_LOG_ENV, ROUND_LOG_FILE, RunProgress, _child_env

MODELS = Path(__file__).parent / "fixtures" / "models"

#: A model.py that keeps a round log as our engine does (AUTODL_SOLVER_ROUND_LOG), two rounds.
ROUND_LOG_MODEL = textwrap.dedent('''
    import json, os
    import numpy as np

    class Model:
        def __init__(self, metadata):
            self.output_dim = metadata.get_output_size()
            self.done_training = False
            self.rounds = []

        def train(self, dataset, remaining_time_budget=None):
            learner = "first_learner" if not self.rounds else "second_learner"
            self.rounds.append({"index": len(self.rounds), "learner": learner, "best_learner": learner})
            path = os.environ.get("AUTODL_SOLVER_ROUND_LOG")
            if path:
                with open(path + ".tmp", "w") as handle:
                    json.dump({"format": 1, "rounds": self.rounds}, handle)
                os.replace(path + ".tmp", path)
            self.done_training = len(self.rounds) >= 2

        def test(self, dataset, remaining_time_budget=None):
            ys = np.array([y.numpy() for _, y in dataset], dtype=float)
            noise = np.random.default_rng(len(self.rounds)).normal(size=ys.shape)
            return ys * len(self.rounds) + noise
''')


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _started(prediction_dir: Path, start_time: float) -> None:
    prediction_dir.mkdir(parents=True, exist_ok=True)
    (prediction_dir / pf.START_FILE).write_text(f"ingestion_pid: 1\nstart_time: {start_time}\ntime_budget: 60\n")


def _point(k: int, t: float, nauc: float) -> PredictionScore:
    return PredictionScore(k, Path(f"t.predict_{k}"), t, nauc, None)


# ----------------------------------------------------------------- unit
def test_line_per_prediction_when_not_a_terminal(tmp_path):
    stream = io.StringIO()
    log = tmp_path / "rounds.json"
    log.write_text(json.dumps({"rounds": [{"learner": "tabular_gbdt", "best_learner": "tabular_linear"}]}))
    progress = RunProgress(60, tmp_path / "pred", round_log=log, stream=stream).start()
    assert progress.tty is False and progress._thread is None
    progress.close()
    assert stream.getvalue() == ""  # never started (an error line will say why): nothing
    _started(tmp_path / "pred", time.time() - 12)
    progress.on_scored(None, [_point(0, 3.25, 0.61), _point(1, 9.5, 0.55)])
    lines = stream.getvalue().splitlines()
    assert lines == ["[    3.2 s / 60 s] prediction 0: NAUC 0.6100 (best 0.6100, model tabular_linear, "
                     "training tabular_gbdt)",
                     "[    9.5 s / 60 s] prediction 1: NAUC 0.5500 (best 0.6100, model tabular_linear, "
                     "training tabular_gbdt)"]
    assert re.fullmatch(r"12\.\d s / 60 s, 2 predictions, best NAUC 0\.6100, training tabular_gbdt",
                        progress.status())
    progress.close()
    assert re.fullmatch(r"run: done at 1\d\.\d s / 60 s: 2 predictions, best NAUC 0\.6100",
                        stream.getvalue().splitlines()[-1])


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_one_line_redrawn_on_a_terminal(tmp_path, monkeypatch, with_tqdm):
    import builtins

    if not with_tqdm:  # the plain '\r' line when tqdm is not installed
        real_import = builtins.__import__

        def no_tqdm(name, *args, **kwargs):
            if name.startswith("tqdm"):
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        monkeypatch.setattr(builtins, "__import__", no_tqdm)
    stream = FakeTTY()
    progress = RunProgress(30, tmp_path / "pred", stream=stream, refresh_s=0.05).start()
    time.sleep(0.2)
    assert "starting ingestion" in stream.getvalue()
    _started(tmp_path / "pred", time.time() - 5)
    progress.on_scored(None, [_point(0, 4.0, 0.8125)])
    time.sleep(0.2)
    progress.close()
    text = stream.getvalue()
    assert "\r" in text and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "1 prediction" in last and "best NAUC 0.8125" in last and re.search(r"/ ?30 s", last)
    assert "prediction 0:" not in text  # no line per prediction on a terminal
    assert ("%|" in text) is with_tqdm


def test_observe_scoring_sees_each_prediction_once(tmp_path):
    import numpy as np

    pred, sol = tmp_path / "pred", tmp_path / "ref"
    sol.mkdir()
    truth = np.eye(2)[[0, 1, 0, 1]]
    np.savetxt(sol / "t.solution", truth, fmt="%d")
    _started(pred, 100.0)
    for k in range(2):
        np.savetxt(pred / f"t.predict_{k}", truth + (0.1 if k else -0.6) * np.arange(4)[:, None], fmt="%g")
        with open(pred / pf.START_FILE, "a") as handle:
            handle.write(f"{k}: {101.0 + k}\n")
    seen = []
    scorer = RunScorer(sol, pred)
    with observe_scoring(pred, lambda s, points: seen.extend((p.k, p.timestamp) for p in points)):
        with observe_scoring(pred, lambda s, points: 1 / 0):  # a failing observer never breaks scoring
            assert scorer.update() == 2
        assert scorer.update() == 0
    assert seen == [(0, 1.0), (1, 2.0)]
    (pred / "t.predict_2").write_text((pred / "t.predict_1").read_text())
    with open(pred / pf.START_FILE, "a") as handle:
        handle.write("2: 104.0\n")
    assert scorer.update() == 1 and seen == [(0, 1.0), (1, 2.0)]  # no observer any more


def test_the_child_gets_a_round_log_unless_one_is_set(tmp_path, monkeypatch):
    monkeypatch.delenv(ROUND_LOG_ENV, raising=False)
    assert ROUND_LOG_ENV not in _child_env(None)
    assert _child_env(None, round_log=tmp_path / ROUND_LOG_FILE)[ROUND_LOG_ENV] == str(tmp_path / ROUND_LOG_FILE)
    monkeypatch.setenv(ROUND_LOG_ENV, "/elsewhere.json")
    assert _child_env(None, round_log=tmp_path / ROUND_LOG_FILE)[ROUND_LOG_ENV] == "/elsewhere.json"


def test_round_log_name_matches_the_model():
    from autodl_solver.challenge import model

    assert model.ROUND_LOG_ENV == ROUND_LOG_ENV


# ----------------------------------------------------------------- end to end
@pytest.fixture
def tiny(tmp_path):
    pytest.importorskip("tensorflow")
    from fixtures.tiny_autodl import write_tiny_dataset

    return write_tiny_dataset(tmp_path / "dataset", n_train=30, n_test=15)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_run_shows_progress_and_quiet_hides_it(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(ROUND_LOG_ENV, raising=False)
    code = tmp_path / "code"
    code.mkdir()
    (code / "model.py").write_text(ROUND_LOG_MODEL)
    out = tmp_path / "run"
    argv = ["run", str(tiny["root"]), "--output_dir", str(out), "--code_dir", str(code), "--time_budget", "30"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    predictions = [line for line in err if re.match(r"\[ *\d+\.\d s / 30 s\] prediction \d: NAUC ", line)]
    assert len(predictions) == 2, err
    assert "training second_learner" in predictions[-1]
    assert re.fullmatch(r"run: done at \d+\.\d s / 30 s: 2 predictions, best NAUC [01]\.\d{4}", err[-1])
    assert captured.out.splitlines()[0].startswith("ALC: ")  # the summary is unchanged, on stdout
    assert json.loads((out / ROUND_LOG_FILE).read_text())["rounds"][-1]["learner"] == "second_learner"

    assert cli.main(argv + ["--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == ""
    assert captured.out.splitlines()[0].startswith("ALC: ")
    assert not (out / ROUND_LOG_FILE).exists()  # --quiet: nothing extra asked of the child
