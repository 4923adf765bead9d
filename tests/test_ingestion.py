"""The official tf.data pipeline and ingestion program (v20191204 parity)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow

tf = pytest.importorskip("tensorflow")

from autodl_solver import cli  # noqa: E402
from autodl_solver.challenge import ingestion  # noqa: E402
from autodl_solver.challenge.ingestion import run_ingestion  # noqa: E402
from autodl_solver.challenge.prediction_files import read_end_file, read_start_file  # noqa: E402
from autodl_solver.challenge.tf_dataset import OfficialDataset, build_official_dataset  # noqa: E402
from autodl_solver.data.textproto import read_metadata  # noqa: E402
from autodl_solver.errors import AutoDLInputError  # noqa: E402
from fixtures.tiny_autodl import write_sparse_subset, write_tiny_dataset  # noqa: E402

MODELS = Path(__file__).parent / "fixtures" / "models"
REPO = Path(__file__).resolve().parents[1]


def _elements(subset_dir):
    dataset = build_official_dataset(subset_dir, read_metadata(subset_dir))
    return [(x.numpy(), y.numpy()) for x, y in dataset]


def _calls(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_dataset(tmp_path / "dataset")


# ------------------------------------------------------------------ tf.data
@pytest.mark.parametrize("fmt", ["DENSE", "COMPRESSED"])
def test_pipeline_yields_records_in_order(tmp_path, fmt):
    data = write_tiny_dataset(tmp_path, fmt=fmt, n_train=9, n_test=5)
    for subset in ("train", "test"):
        elements = _elements(data["data_dir"] / subset)
        assert len(elements) == len(data[f"{subset}_x"])
        for (x, y), want_x, want_y in zip(elements, data[f"{subset}_x"], data[f"{subset}_y"]):
            assert x.dtype == np.float32 and y.dtype == np.float32
            np.testing.assert_allclose(x, want_x, atol=1e-6)
            # Test records carry no labels: the official pipeline yields zeros.
            np.testing.assert_array_equal(y, want_y if subset == "train" else np.zeros_like(want_y))


def test_several_shards_are_interleaved(tmp_path):
    data = write_tiny_dataset(tmp_path, n_train=12, shards=3)
    xs = np.stack([x for x, _ in _elements(data["data_dir"] / "train")])
    # Every record comes out once (interleaving changes the order, not the set).
    assert xs.shape == data["train_x"].shape
    assert sorted(map(bytes, xs)) == sorted(map(bytes, data["train_x"]))


@pytest.mark.parametrize("kind", ["tabular", "text"])
def test_sparse_records_follow_the_official_parser(tmp_path, kind):
    expected = write_sparse_subset(tmp_path / "train", kind)
    elements = _elements(tmp_path / "train")
    assert len(elements) == len(expected)
    for (x, y), (want_x, want_y) in zip(elements, expected):
        np.testing.assert_array_equal(x, want_x)
        np.testing.assert_array_equal(y, want_y)


def test_dataset_object_is_cached(tiny):
    subset = tiny["data_dir"] / "train"
    meta = read_metadata(subset)
    assert build_official_dataset(subset, meta) is build_official_dataset(subset, read_metadata(subset))
    d = OfficialDataset(subset)
    assert d.get_dataset() is d.get_dataset()
    assert d.get_metadata().get_output_size() == 3


def test_pipeline_bad_input(tmp_path, tiny):
    empty = tmp_path / "empty"
    empty.mkdir()
    meta = read_metadata(tiny["data_dir"] / "train")
    with pytest.raises(AutoDLInputError, match="sample"):
        build_official_dataset(empty, meta)
    with pytest.raises(AutoDLInputError, match="DENSE data needs known row and col"):
        build_official_dataset(tiny["data_dir"] / "train", meta.replace(row_count=-1))


def test_pipeline_matches_our_reader_on_samples(sample_dataset):
    from autodl_solver.data.reader import load_dataset

    for name in ("mini1", "miniciao"):
        data = load_dataset(sample_dataset(name))
        for subset in (data.train, data.test):
            elements = _elements(subset.subset_dir)
            xs, _ = subset.take(0, len(subset))
            assert len(elements) == len(subset) == subset.metadata.size()
            for (x, _y), want in zip(elements, xs):
                assert x.shape == tuple(subset.metadata.get_tensor_shape())
                np.testing.assert_allclose(x, want, atol=1e-6)
        train_labels = np.stack([y for _, y in _elements(data.train.subset_dir)])
        np.testing.assert_array_equal(train_labels, data.train.labels())
        # mini1 test records keep label_index with score 0; miniciao has none: zeros both ways.
        assert not np.stack([y for _, y in _elements(data.test.subset_dir)]).any()


GRAPH_SCRIPT = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    tf.compat.v1.disable_v2_behavior()
    from autodl_solver.challenge.tf_dataset import build_official_dataset
    from autodl_solver.data.textproto import read_metadata
    out = {}
    for subset in sys.argv[1:]:
        dataset = build_official_dataset(subset, read_metadata(subset))
        assert dataset is build_official_dataset(subset, read_metadata(subset))
        next_element = dataset.make_one_shot_iterator().get_next()  # the TF 1.13 method
        xs, label_sum = [], 0.0
        with tf.compat.v1.Session() as session:
            while True:
                try:
                    x, y = session.run(next_element)
                except tf.errors.OutOfRangeError:
                    break
                xs.append(x.tolist())
                label_sum += float(y.sum())
        out[subset] = {"n": len(xs), "first": xs[0], "label_sum": label_sum}
    print(json.dumps(out))
""")


@pytest.mark.slow
def test_graph_mode_pipeline(tmp_path, shared_samples_or_none):
    data = write_tiny_dataset(tmp_path, fmt="COMPRESSED", n_train=6, n_test=3)
    subsets = [data["data_dir"] / "train"]
    if shared_samples_or_none is not None:
        subsets += [shared_samples_or_none / "miniciao/miniciao.data/train",
                    shared_samples_or_none / "mini1/mini1.data/train"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-c", GRAPH_SCRIPT, *map(str, subsets)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for subset in subsets:
        eager = _elements(subset)
        got = result[str(subset)]
        assert got["n"] == len(eager)
        np.testing.assert_allclose(np.array(got["first"], np.float32), eager[0][0], atol=1e-6)
        assert got["label_sum"] == pytest.approx(float(sum(y.sum() for _, y in eager)))


@pytest.fixture
def shared_samples_or_none():
    """The shared samples folder when mini1 and miniciao are there, else None (tiny data only)."""
    samples = Path(__file__).resolve().parents[2] / "shared" / "autodl_samples"
    return samples if (samples / "mini1").is_dir() and (samples / "miniciao").is_dir() else None


# ---------------------------------------------------------------- ingestion
def _ingest(data, out, model, monkeypatch=None, calls=None, **kwargs):
    if calls is not None:
        monkeypatch.setenv("FIXTURE_CALLS", str(calls))
    kwargs.setdefault("time_budget", 30.0)
    return run_ingestion(data["root"] if isinstance(data, dict) else data, out, MODELS / model, **kwargs)


def _check_start_file(out: Path, task: str, n: int, budget) -> dict:
    lines = (out / "start.txt").read_text().splitlines()
    assert [line.split(":")[0] for line in lines] == (
        ["ingestion_pid", "task_name", "time_budget", "start_time"] + [str(k) for k in range(n)]
    )
    info = read_start_file(out / "start.txt")
    assert info["task_name"] == task and info["time_budget"] == budget
    stamps = [info[k] for k in range(n)]
    assert stamps == sorted(stamps) and all(t >= info["start_time"] for t in stamps)
    return info


def test_constant_model_writes_official_files(tiny, tmp_path, monkeypatch):
    calls = tmp_path / "calls.jsonl"
    out, scores = tmp_path / "out", tmp_path / "scores"
    saved_path = list(sys.path)
    assert _ingest(tiny, out, "constant", monkeypatch, calls, score_dir=scores, time_budget=30.0) == 0
    # done_training is set inside the 3rd train(): test() still runs and is saved.
    info = _check_start_file(out, "tiny", 3, 30.0)
    assert info["ingestion_pid"] == os.getpid()
    for k in range(3):
        text = (out / f"tiny.predict_{k}").read_text()
        assert text == f"{0.1 * (k + 1):g} {0.1 * (k + 1):g} {0.1 * (k + 1):g}\n" * 12
    assert not (out / "tiny.predict_3").exists()
    end = read_end_file(out / "end.txt")
    assert end["ingestion_success"] == 1 and end["end_time"] >= info[2]
    assert sorted(p.name for p in scores.iterdir()) == sorted(p.name for p in out.iterdir())
    log = _calls(calls)
    assert [c["event"] for c in log] == ["init"] + ["train", "test"] * 3
    assert log[0]["shape"] == [1, 4, 4, 1] and log[0]["size"] == 24  # the train metadata
    assert {c["n"] for c in log if c["event"] == "train"} == {24}
    assert {c["n"] for c in log if c["event"] == "test"} == {12}
    assert len({c["dataset_id"] for c in log if c["event"] == "train"}) == 1  # same object each call
    assert all(isinstance(c["remaining"], float) and c["remaining"] <= 30 for c in log[1:])
    assert sum(c["label_sum"] for c in log if c["event"] == "test") == 0
    # The submission's folder and module do not leak into this process.
    assert sys.path == saved_path and "model" not in sys.modules


def test_constant_model_on_mini1(sample_dataset, tmp_path):
    out = tmp_path / "out"
    assert run_ingestion(sample_dataset("mini1"), out, MODELS / "constant", time_budget=1200) == 0
    assert "time_budget: 1200\n" in (out / "start.txt").read_text()  # an int stays an int
    _check_start_file(out, "mini1", 3, 1200)
    rows = (out / "mini1.predict_2").read_text().splitlines()
    assert len(rows) == 10 and rows[0] == " ".join(["0.3"] * 10)


def test_bad_shape_is_a_failure(tiny, tmp_path):
    out = tmp_path / "out"
    assert _ingest(tiny, out, "bad_shape") == 1
    assert read_end_file(out / "end.txt")["ingestion_success"] == 0
    _check_start_file(out, "tiny", 0, 30.0)
    assert not list(out.glob("*.predict_*"))


def test_crash_in_train_keeps_earlier_predictions(tiny, tmp_path):
    out = tmp_path / "out"
    assert _ingest(tiny, out, "crash") == 1
    assert [p.name for p in out.glob("*.predict_*")] == ["tiny.predict_0"]
    _check_start_file(out, "tiny", 1, 30.0)
    assert read_end_file(out / "end.txt")["ingestion_success"] == 0


def test_none_from_test_stops_the_loop(tiny, tmp_path):
    out = tmp_path / "out"
    assert _ingest(tiny, out, "none_stop") == 0
    assert [p.name for p in out.glob("*.predict_*")] == ["tiny.predict_0"]
    assert read_end_file(out / "end.txt")["ingestion_success"] == 1


def test_model_without_done_training_runs_until_the_budget(tiny, tmp_path):
    out = tmp_path / "out"
    assert _ingest(tiny, out, "no_flag", time_budget=1.0) == 0
    info = read_start_file(out / "start.txt")
    end = read_end_file(out / "end.txt")
    assert end["ingestion_success"] == 1
    assert len(list(out.glob("*.predict_*"))) >= 2
    assert end["end_time"] - info["start_time"] >= 1.0  # stopped by the budget, not before


def test_model_init_is_not_counted_in_the_budget(tiny, tmp_path, monkeypatch):
    calls = tmp_path / "calls.jsonl"
    out = tmp_path / "out"
    before = time.time()
    assert _ingest(tiny, out, "slow_init", monkeypatch, calls) == 0
    init_end = _calls(calls)[0]["time"]
    info = read_start_file(out / "start.txt")
    assert info["start_time"] >= init_end >= before + 2.0
    assert [p.name for p in out.glob("*.predict_*")] == ["tiny.predict_0"]


def test_init_timeout_is_logged_and_fails(tiny, tmp_path):
    out = tmp_path / "out"
    assert _ingest(tiny, out, "slow_init", init_time_budget=1) == 1
    assert (out / "start.txt").is_file()
    assert read_end_file(out / "end.txt")["ingestion_success"] == 0
    assert "model" not in sys.modules


def test_ingestion_bad_input(tmp_path, tiny):
    none = tmp_path / "none"
    none.mkdir()
    with pytest.raises(AutoDLInputError, match=r"exactly one '\*\.data'.*found 0"):
        run_ingestion(none, tmp_path / "o", MODELS / "constant")
    two = tmp_path / "two"
    write_tiny_dataset(two, "a", n_train=3, n_test=3)
    write_tiny_dataset(two, "b", n_train=3, n_test=3)
    with pytest.raises(AutoDLInputError, match=r"found 2 \(a.data, b.data\)"):
        run_ingestion(two, tmp_path / "o", MODELS / "constant")
    for budget in (-5, 0, float("nan")):
        with pytest.raises(AutoDLInputError, match="time_budget"):
            run_ingestion(tiny["root"], tmp_path / "o", MODELS / "constant", time_budget=budget)
    with pytest.raises(AutoDLInputError, match="code folder not found"):
        run_ingestion(tiny["root"], tmp_path / "o", tmp_path / "missing")
    assert not (tmp_path / "o").exists()  # nothing written before the input checks


def test_ingest_command(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    status = cli.main(["ingest", f"--dataset_dir={tiny['root']}", "--output_dir", str(out),
                       f"--code_dir={MODELS / 'constant'}", "--time_budget", "20"])
    assert status == 0
    assert len(list(out.glob("tiny.predict_*"))) == 3
    assert "time_budget: 20.0\n" in (out / "start.txt").read_text()  # a CLI float, as the official
    capsys.readouterr()  # the first run's log
    status = cli.main(["ingest", "--dataset_dir", str(tmp_path / "nowhere"), "--output_dir", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("error: ") and "nowhere" in err[0]


def test_ingestion_module_entry_point_reports_bad_input(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "autodl_solver.challenge.ingestion",
                           f"--dataset_dir={tmp_path}", f"--output_dir={tmp_path / 'o'}", "--time_budget=-1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: time_budget: expected a positive number of seconds, got -1.0"
    ]


def test_default_code_dir_is_the_packaged_solver():
    assert ingestion.default_code_dir() == Path(ingestion.__file__).resolve().parent


# ------------------------------------------------- failures a model only logs
_LOGGING_MODEL = '''"""Test model: catches its own exception in train() and logs it, as our model.py does."""
import logging

import numpy as np

from autodl_solver.errors import AutoDLInputError

logger = logging.getLogger("autodl_solver.challenge.model")
KIND = {kind!r}


class Model:
    def __init__(self, metadata):
        self.output_dim = metadata.get_output_size()
        self.done_training = False

    def train(self, dataset, remaining_time_budget=None):
        self.done_training = True
        try:
            if KIND == "data":
                raise AutoDLInputError("sample-x.tfrecord", "record 7: corrupt data (CRC mismatch)")
            if KIND == "tf":
                import tensorflow as tf
                raise tf.errors.DataLossError(None, None, "corrupted record at 48522")
            raise RuntimeError("out of ideas")
        except Exception:
            logger.exception("Model.train failed (1 in a row)")

    def test(self, dataset, remaining_time_budget=None):
        return np.zeros((sum(1 for _ in dataset), self.output_dim))
'''


@pytest.mark.parametrize("kind, status, message", [
    ("data", 2, "error: sample-x.tfrecord: record 7: corrupt data (CRC mismatch)"),
    ("tf", 2, "error: tf.data records: TensorFlow could not read the dataset: corrupted record at 48522"),
    ("other", 1, "error: ingestion failed: Model.train failed (1 in a row): RuntimeError: out of ideas"),
])
def test_an_error_the_model_only_logs_is_the_exit_status(tiny, tmp_path, capsys, kind, status, message):
    code = tmp_path / "code"
    code.mkdir()
    (code / "model.py").write_text(_LOGGING_MODEL.format(kind=kind))
    out = tmp_path / "out"
    got = cli.main(["ingest", f"--dataset_dir={tiny['root']}", f"--output_dir={out}", f"--code_dir={code}",
                    "--time_budget=20"])
    err = capsys.readouterr().err.strip().splitlines()
    assert got == status and err[-1] == message
    # The run itself finished as the official one would: end.txt and the prediction are there.
    assert read_end_file(out / "end.txt")["ingestion_success"] == 1
    assert (out / "tiny.predict_0").is_file()


def test_ingest_refuses_corrupt_records_before_the_model_is_built(tiny, tmp_path, capsys):
    record = next((tiny["data_dir"] / "train").glob("sample*"))
    data = bytearray(record.read_bytes())
    data[30] ^= 1
    record.write_bytes(bytes(data))
    out = tmp_path / "out"
    status = cli.main(["ingest", f"--dataset_dir={tiny['root']}", f"--output_dir={out}",
                       f"--code_dir={MODELS / 'constant'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and record.name in err[0] and "CRC mismatch" in err[0]
    assert not out.exists()
    # --no_data_check skips the check (run does it itself): TensorFlow then meets the damage in
    # the run, and that is still a data error (exit 2) in one line, after end.txt.
    status = cli.main(["ingest", f"--dataset_dir={tiny['root']}", f"--output_dir={out}",
                       f"--code_dir={MODELS / 'constant'}", "--no_data_check", "--time_budget=5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and err[-1] == ("error: tf.data records: TensorFlow could not read the dataset: "
                                       "corrupted record at 12")
    assert read_end_file(out / "end.txt")["ingestion_success"] == 0


@pytest.mark.slow
def test_graph_mode_ingestion_runs_our_solver_as_the_2019_platform(tmp_path):
    from autodl_solver.challenge.runner import run_challenge

    tiny = write_tiny_dataset(tmp_path / "dataset", n_train=40, n_test=20)
    result = run_challenge(tiny["root"], tmp_path / "run", time_budget=10, method="baseline0", verbose=False,
                           tf_mode="graph")
    log = Path(result["log"]).read_text()
    assert result["error"] is None and result["ingestion_success"], log[-3000:]
    assert "TensorFlow in graph mode" in log
    assert list((tmp_path / "run" / "predictions").glob("tiny.predict_*"))


def test_a_bad_tf_mode_is_one_line_before_anything_runs(tmp_path):
    from autodl_solver.challenge.runner import run_challenge

    tiny = write_tiny_dataset(tmp_path / "dataset")
    with pytest.raises(AutoDLInputError, match="--tf_mode.*eager, graph.*'tf2'"):
        run_challenge(tiny["root"], tmp_path / "run", time_budget=5, tf_mode="tf2", verbose=False)
    assert not (tmp_path / "run").exists()
